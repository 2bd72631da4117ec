"""The generic versioned layer store: layer → layer_version → feature (+ feature_part)."""

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

SRID = 4490
MERCATOR_SRID = 3857  # Web Mercator, the vector tiles' grid


class Base(DeclarativeBase):
    """Declarative base of every table; dict columns are JSONB."""

    type_annotation_map = {dict[str, Any]: JSONB}


class Layer(Base):
    """A catalog entry: one row per layer kind, its spec snapshot and active version."""

    __tablename__ = "layer"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    geometry_type: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("layer_version.id", use_alter=True, name="fk_layer_active_version")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class LayerVersion(Base):
    """One import of a layer: loading → active → superseded, or failed; counts and totals."""

    __tablename__ = "layer_version"
    __table_args__ = (
        UniqueConstraint("layer_id", "version"),
        # The database itself guarantees at most one active version per layer.
        Index(
            "one_active_version",
            "layer_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[str] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # loading | active | superseded | failed
    source_name: Mapped[str | None] = mapped_column(Text)
    source_format: Mapped[str | None] = mapped_column(String(32))
    source_crs: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    total_area_m2: Mapped[float | None] = mapped_column(Float)
    total_length_m: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # A region-scoped import names its region (a 6-digit code); NULL = the whole layer.
    region_code: Mapped[str | None] = mapped_column(String(12))
    # The regions whose data this version holds; NULL = wherever its data lies.
    coverage_codes: Mapped[list[str] | None] = mapped_column(ARRAY(Text))


class Feature(Base):
    """One feature of a version: EPSG:4490 geometry, catalog attributes, geodesic measures.

    Indexed version first (migration 0014): one version's features in a box (tiles, bbox
    filters) and in file order (OGC items pages)."""

    __tablename__ = "feature"
    __table_args__ = (
        Index("ix_feature_version_geom", "version_id", "geom", postgresql_using="gist"),
        Index("ix_feature_version_order", "version_id", "ordinal", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("layer_version.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)  # position in the source file, 1-based
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    geom = mapped_column(Geometry(srid=SRID, spatial_index=False), nullable=False)
    # The geometry in Web Mercator, kept by PostgreSQL itself (migration 0019): a tile
    # otherwise transforms every feature it draws, a fifth of a low-zoom tile's time.
    # Deferred: only tiles read it.
    geom_mercator = mapped_column(
        Geometry(srid=MERCATOR_SRID, spatial_index=False),
        Computed(f"ST_Transform(geom, {MERCATOR_SRID})", persisted=True),
        deferred=True,
    )
    area_m2: Mapped[float | None] = mapped_column(Float)  # geodesic, on the GRS80 ellipsoid
    length_m: Mapped[float | None] = mapped_column(Float)
    # The active county containing a point on the feature at import (NULL: none).
    county_code: Mapped[str | None] = mapped_column(String(12), index=True)
    # The version number that introduced the feature (copies keep their origin).
    origin_version: Mapped[int | None] = mapped_column(Integer)


class FeaturePart(Base):
    """ST_Subdivide pieces: small boxes make GiST lookups and point-in-polygon tests fast.

    Every lookup asks for one version's parts near a place: one GiST index on (version, geometry)
    answers both at once (migration 0011)."""

    __tablename__ = "feature_part"
    __table_args__ = (
        Index("ix_feature_part_version_geom", "version_id", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feature_id: Mapped[int] = mapped_column(
        ForeignKey("feature.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("layer_version.id", ondelete="CASCADE"), index=True
    )
    geom = mapped_column(Geometry(srid=SRID, spatial_index=False), nullable=False)


class UnitCover(Base):
    """What one layer version covers in each unit of an admin layer version (computed once:
    both versions are immutable). figures: {unit code: [count, area_m2, length_m, listed_km2]};
    shown: {unit code: the figures a summary shows}."""

    __tablename__ = "unit_cover"

    unit_version_id: Mapped[int] = mapped_column(
        ForeignKey("layer_version.id", ondelete="CASCADE"), primary_key=True
    )
    layer_version_id: Mapped[int] = mapped_column(
        ForeignKey("layer_version.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Leading code digits a feature's county shares with the unit to count there.
    home: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The same per unit (every unit, covered or not) as a summary shows them.
    shown: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Region(Base):
    """One administrative unit: official code, level, name and its parent's code."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # province | city | county | township | village
    name: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


class AuditLog(Base):
    """Who did what to which target, when, from where and with what outcome."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    actor: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64), index=True)
    layer_id: Mapped[str | None] = mapped_column(String(64))
    version_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(32), server_default="ok")


@dataclass(frozen=True)
class RequestInfo:
    """The request being served: its id and the client's address."""

    request_id: str
    client_addr: str | None


# Set by the API's request middleware; the CLI leaves it unset.
current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


@event.listens_for(AuditLog, "before_insert")
def _stamp(_mapper: Any, _connection: Any, row: AuditLog) -> None:
    """Every entry, wherever it is written, carries the request it came from."""
    info = current_request.get()
    if info is not None:
        row.request_id = row.request_id or info.request_id
        row.client_addr = row.client_addr or info.client_addr
    if row.target is None and row.layer_id is not None:
        version = (row.detail or {}).get("version")
        row.target = f"{row.layer_id} v{version}" if version is not None else row.layer_id
    if row.outcome is None:
        row.outcome = "ok"


class ApiKey(Base):
    """An API key: its owner and role; only a hash of the secret is kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))  # viewer | officer | editor | admin
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Screening(Base):
    """A filed screening: inputs, normalized site, the result and the data versions used."""

    __tablename__ = "screening"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    created_by: Mapped[str | None] = mapped_column(Text)
    project_name: Mapped[str | None] = mapped_column(Text)
    project_category: Mapped[str | None] = mapped_column(Text, index=True)
    buffer_m: Mapped[float] = mapped_column(Float, default=0.0)
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    # The JSON columns keep the text as filed (`json`, migration 0020): nothing queries
    # inside them, and building `jsonb` was most of what filing a batch cost the database.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    # As filed: a batch row refers to the parts it shares with other rows (ScreeningPart).
    # Read only when asked for: readers want `result`.
    filed_result: Mapped[dict[str, Any]] = mapped_column("result", JSON, deferred=True)
    layer_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    geom = mapped_column(Geometry(srid=SRID, spatial_index=True), nullable=False)
    # 经办人: the officer named on the screening (the map page asks once), not the key owner.
    officer: Mapped[str | None] = mapped_column(Text, index=True)
    # The whole result, its shared parts put back by the database (migration 0015).
    result: Mapped[dict[str, Any]] = column_property(
        func.screening_result(filed_result, type_=JSONB)
    )


class ScreeningPart(Base):
    """A part of filed results shared by many screenings (context, coverage, a finding…),
    stored once under the hash of its JSON."""

    __tablename__ = "screening_part"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Job(Base):
    """A long-running task (batch screening) with progress for polling clients."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The key owner who submitted it: officers see only their own jobs.
    created_by: Mapped[str | None] = mapped_column(Text)
    result_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The process running the job ("host pid start-token") and until when its claim holds;
    # the owner renews the lease while it works, so another process can tell a live job
    # from one whose process died.
    owner: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RasterVersion(Base):
    """A raster layer version: the GeoTIFF stays on disk, its metadata lives here."""

    __tablename__ = "raster_version"
    __table_args__ = (
        UniqueConstraint("raster_id", "version"),
        Index(
            "one_active_raster_version",
            "raster_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raster_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # active | superseded
    path: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(Text)
    crs: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    resolution_m: Mapped[float | None] = mapped_column(Float)
    bounds_4490: Mapped[list[float]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
