"""Imports: a file becomes layer version N+1, activated atomically, or nothing changes."""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from app.catalog import LayerLimits, LayerSpec
from app.config import get_settings
from app.errors import ImportRejected, RedlineError
from app.io.normalize import NormalizedLayer, normalize
from app.io.readers import read_vector
from app.store.catalog_epoch import mark_changed
from app.store.db import long_statements
from app.store.layers import active_version, get_layer, next_version_number, sync_catalog
from app.store.models import AuditLog, Layer, LayerVersion
from app.store.regions import region_prefix, sync_regions
from app.store.scope import (
    RegionCounts,
    assign_counties,
    check_inside,
    check_region_known,
    copy_outside,
    counts,
    coverage_after,
)
from app.store.unit_cover import fill_after_import

Progress = Callable[[str, int, int], None]
CHUNK = 500
ANALYZE_FEATURES = 2000
# Area losses below this are measurement noise, as in the 面积不减少 check of summaries.
AREA_TOLERANCE_M2 = 1.0

_INSERT = text(
    "INSERT INTO feature (version_id, ordinal, attributes, geom) VALUES "
    "(:version_id, :ordinal, CAST(:attributes AS jsonb), ST_GeomFromWKB(:wkb, 4490))"
)
_MEASURE = text(
    "UPDATE feature SET "
    "area_m2 = CASE WHEN ST_Dimension(geom) = 2 THEN ST_Area(geom::geography) END, "
    "length_m = CASE WHEN ST_Dimension(geom) = 1 THEN ST_Length(geom::geography) END "
    "WHERE version_id = :v"
)
_SUBDIVIDE = text(
    "INSERT INTO feature_part (feature_id, version_id, geom) "
    "SELECT id, version_id, ST_Subdivide(geom, :n) FROM feature WHERE version_id = :v"
)
# The union area is summed over clusters of features whose boxes touch: features of
# different clusters cannot overlap, so the sum is the area of the union, and many small
# unions are far cheaper than one (a province's townships 3×, its farmland patches 5×).
_TOTALS = text("""
SELECT coalesce(sum(n), 0)::int, sum(area), sum(length), sum(union_area) FROM (
  SELECT count(*) AS n, sum(area_m2) AS area, sum(length_m) AS length,
         ST_Area((ST_Union(geom) FILTER (WHERE ST_Dimension(geom) = 2))::geography)
           AS union_area
  FROM (SELECT geom, area_m2, length_m, ST_ClusterDBSCAN(ST_Envelope(geom), 0, 1) OVER () AS cluster
        FROM feature WHERE version_id = :v) f
  GROUP BY cluster) c
""")


@dataclass
class ImportRequest:
    """What to import: layer, file, optional CRS / encoding override, note, who, display name."""

    layer_id: str
    path: Path
    crs: str | None = None
    encoding: str | None = None
    note: str | None = None
    actor: str | None = None
    source_name: str | None = None
    # The editor confirmed a sharp shrink (or, for the redline, any loss of area).
    confirm: bool = False
    # A 6-digit region code: replace the layer only inside that region (None: whole layer).
    region: str | None = None


class ShrinkNeedsConfirm(RedlineError):
    """The new version shrinks the layer sharply: it needs an explicit confirm (409)."""

    status = 409
    type = "https://redline.example.org/problems/shrink-needs-confirm"
    title = "The import shrinks the layer sharply and needs confirm=true; nothing was changed"


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that ignores progress (the default)."""
    pass


def import_file(
    session: Session, req: ImportRequest, progress: Progress = no_progress
) -> LayerVersion:
    """Read, validate and store a file as the new active version of a layer.

    Runs inside the caller's transaction: any exception leaves the database unchanged.
    """
    spec, _ = get_layer(session, req.layer_id)
    if req.region is not None:
        check_region_known(session, spec, req.region)
    long_statements(session)
    progress("read", 0, 1)
    data = read_vector(req.path, req.encoding)
    check_size(data.geometries, spec.id, spec.limits)
    progress("read", 1, 1)
    normalized = normalize(data, spec, req.crs, progress)
    return write_version(session, spec, normalized, req, data.format, progress)


def write_version(
    session: Session,
    spec: LayerSpec,
    data: NormalizedLayer,
    req: ImportRequest,
    source_format: str,
    progress: Progress = no_progress,
) -> LayerVersion:
    """Store normalized features as version N+1 and activate it, superseding the old one."""
    # Row lock on the layer serializes concurrent imports of the same layer.
    layer = session.get(Layer, spec.id, with_for_update=True)
    if layer is None:
        sync_catalog(session)
        layer = session.get(Layer, spec.id, with_for_update=True)
    previous = active_version(session, layer)
    version = LayerVersion(
        layer_id=spec.id,
        version=next_version_number(session, spec.id),
        status="loading",
        source_name=req.source_name or req.path.name,
        source_format=source_format,
        source_crs=data.source_crs,
        note=req.note,
        created_by=req.actor,
        feature_count=0,
        report={"repaired": data.repaired, "warnings": data.warnings},
        region_code=req.region,
        coverage_codes=coverage_after(previous, req.region) if req.region else None,
    )
    session.add(version)
    session.flush()
    _insert_features(session, version.id, data, progress)
    progress("index", 0, 1)
    # Measured and subdivided before any copy: copies keep their measures and parts.
    session.execute(_MEASURE, {"v": version.id})
    session.execute(_SUBDIVIDE, {"v": version.id, "n": get_settings().subdivide_vertices})
    if len(data.geometries) >= ANALYZE_FEATURES:
        # Statistics that count this transaction's new rows: without them the planner takes
        # a big new version for a few rows and probes all of it once per county or township
        # (a province's imports went from minutes to hours).
        session.execute(text("ANALYZE feature, feature_part"))
    assign_counties(session, spec, version)
    old_side = new_side = None
    if req.region is not None:
        check_inside(session, spec, version, req.region)
        new_side = counts(session, version.id)
        version.feature_count = new_side.count
        if previous is not None:
            old_side = counts(session, previous.id, region_prefix(req.region))
            copied = copy_outside(session, previous.id, version, req.region)
        else:
            copied = 0
        version.report = {
            **version.report,
            "scope": {
                "region_code": req.region,
                "added": new_side.count,
                "copied": copied,
                "replaced": old_side.count if old_side else 0,
            },
        }
    count, area, length, union_area = session.execute(_TOTALS, {"v": version.id}).one()
    version.feature_count, version.total_area_m2, version.total_length_m = count, area, length
    version.report = {**version.report, "union_area_m2": union_area}
    if not req.confirm:
        if req.region is None:
            _check_shrink(session, spec, layer, version)
        elif old_side is not None and new_side is not None:
            _check_region_shrink(spec, version, req.region, old_side, new_side)
    _activate(session, layer, version)
    session.add(
        AuditLog(
            actor=req.actor,
            action="import",
            layer_id=spec.id,
            version_id=version.id,
            detail={
                "version": version.version,
                "features": count,
                "source": version.source_name,
                "crs": data.source_crs,
                "region": req.region,
            },
        )
    )
    if spec.id in ("admin_county", "township", "village"):
        sync_regions(session)
    session.flush()
    progress("index", 1, 1)
    # Summaries by county / township / village then only read these figures.
    progress("summaries", 0, 1)
    fill_after_import(session, version)
    progress("summaries", 1, 1)
    return version


def check_size(geometries: np.ndarray, layer_id: str, limits: LayerLimits) -> None:
    """Refuse a file over the layer's feature or vertex limits, before the expensive work."""
    if len(geometries) > limits.max_features:
        raise ImportRejected(
            f"The file has {len(geometries)} features; layer {layer_id} allows at most "
            f"{limits.max_features} per import (catalog limits.max_features). Split the file."
        )
    counts = shapely.get_num_coordinates(geometries)
    if len(counts) and counts.max() > limits.max_vertices_per_feature:
        index = int(counts.argmax())
        raise ImportRejected(
            f"Feature {index + 1} has {int(counts[index])} vertices; layer {layer_id} allows at "
            f"most {limits.max_vertices_per_feature} per feature "
            "(catalog limits.max_vertices_per_feature). Simplify or split it.",
            feature=index + 1,
        )
    if counts.sum() > limits.max_vertices:
        raise ImportRejected(
            f"The file has {int(counts.sum())} vertices; layer {layer_id} allows at most "
            f"{limits.max_vertices} per import (catalog limits.max_vertices). Split the file."
        )


def _check_shrink(session: Session, spec: LayerSpec, layer: Layer, new: LayerVersion) -> None:
    """A sharp shrink (or any loss of redline area) against the active version needs confirm."""
    old = session.get(LayerVersion, layer.active_version_id) if layer.active_version_id else None
    if old is None:
        return
    _refuse_shrink(
        spec,
        f"Version {new.version} of {spec.id} would shrink it against active version {old.version}",
        RegionCounts(old.feature_count, float(old.total_area_m2 or 0)),
        RegionCounts(new.feature_count, float(new.total_area_m2 or 0)),
    )


def _check_region_shrink(
    spec: LayerSpec, new: LayerVersion, region: str, old: RegionCounts, fresh: RegionCounts
) -> None:
    """A scoped import compares the region's features before and after, not the layer."""
    _refuse_shrink(
        spec, f"Version {new.version} of {spec.id} would shrink region {region}", old, fresh
    )


def _refuse_shrink(spec: LayerSpec, what: str, old: RegionCounts, new: RegionCounts) -> None:
    keep = 1 - spec.limits.shrink_confirm_ratio
    shrinks: list[str] = []
    if new.count < old.count * keep:
        shrinks.append(f"features {old.count} → {new.count}")
    old_area, new_area = old.area_m2, new.area_m2
    if new_area < old_area * keep or (
        not spec.limits.area_may_shrink and new_area < old_area - AREA_TOLERANCE_M2
    ):
        lost = 100 * (old_area - new_area) / old_area
        shrinks.append(f"area {old_area / 1e6:.6f} → {new_area / 1e6:.6f} km² (−{lost:.1f}%)")
    if shrinks:
        rule = "" if spec.limits.area_may_shrink else " 面积不减少 requires the area to stay."
        raise ShrinkNeedsConfirm(
            f"{what}: {'; '.join(shrinks)}.{rule} If this is intended, upload again "
            "with the form field confirm=true (CLI: redline import --confirm). "
            "新版本将明显缩小该图层；如确属有意，请加 confirm=true 重新上传。",
            shrinks=shrinks,
        )


def _insert_features(
    session: Session, version_id: int, data: NormalizedLayer, progress: Progress
) -> None:
    total = len(data.geometries)
    wkbs = shapely.to_wkb(data.geometries)
    for start in range(0, total, CHUNK):
        rows = [
            {
                "version_id": version_id,
                "ordinal": i + 1,
                "attributes": json.dumps(data.attributes[i], ensure_ascii=False, default=str),
                "wkb": wkbs[i],
            }
            for i in range(start, min(start + CHUNK, total))
        ]
        session.execute(_INSERT, rows)
        progress("write", min(start + CHUNK, total), total)


def _activate(session: Session, layer: Layer, version: LayerVersion) -> None:
    session.execute(
        update(LayerVersion)
        .where(LayerVersion.layer_id == layer.id, LayerVersion.status == "active")
        .values(status="superseded")
    )
    session.flush()
    version.status = "active"
    version.activated_at = dt.datetime.now(dt.UTC)
    layer.active_version_id = version.id
    mark_changed(session)
