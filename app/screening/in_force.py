"""The layer and raster versions a screening reads, cached per process by catalog epoch.

A snapshot holds what a screening needs of each active version (id, number, activation date,
coverage) and the search plan derived from them, so a screening asks the database nothing
but its one statement. That statement also returns the ids active when it ran: a snapshot
that no longer matches (a version changed in another process, its notification still on
the way) is replaced and the statement run again, so a screening never reports versions
other than those it read.
"""

import datetime as dt
import os
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import LayerSpec, catalog, raster_catalog
from app.screening.lookup import Layer, Looked
from app.store.catalog_epoch import EpochCache
from app.store.models import Layer as LayerRow
from app.store.models import LayerVersion, RasterVersion


@dataclass(frozen=True)
class VersionInfo:
    """What a screening reads of an active layer version."""

    id: int
    layer_id: str
    version: int
    activated_at: dt.datetime | None
    coverage_codes: list[str] | None


@dataclass(frozen=True)
class RasterInfo:
    """What a screening reads of an active raster version."""

    id: int
    raster_id: str
    version: int
    path: str


@dataclass(frozen=True)
class InForce:
    """The active versions, the layers screened (catalog order) and how far each is searched."""

    versions: dict[str, VersionInfo]
    rasters: dict[str, RasterInfo]
    specs: list[LayerSpec] = field(default_factory=list)

    @property
    def layers(self) -> list[Layer]:
        """The statement's layers, in the order of `specs`."""
        return [Layer(self.versions[s.id].id, search_radius(s)) for s in self.specs]

    def rasters_on_disk(self) -> dict[str, RasterInfo]:
        """The active rasters whose file is present (a missing file is left out, as before)."""
        return {k: r for k, r in self.rasters.items() if os.path.exists(r.path)}

    def matches(self, looked: Looked) -> bool:
        """Whether the statement ran on these versions (catalog layers and rasters)."""
        layers = {k: v for k, v in looked.active_layers.items() if k in catalog()}
        rasters = {k: v for k, v in looked.active_rasters.items() if k in raster_catalog()}
        return layers == {k: v.id for k, v in self.versions.items()} and rasters == {
            k: r.id for k, r in self.rasters.items()
        }


def search_radius(spec: LayerSpec) -> float:
    """How far around a site a layer is searched: context layers only where the site is."""
    return 0.0 if spec.screening_role == "context" else spec.search_radius_m


def screened_specs(versions: dict) -> list[LayerSpec]:
    """The catalog layers a screening reads: screened ones with an active version."""
    return [
        spec
        for layer_id, spec in catalog().items()
        if spec.screening_role != "none" and layer_id in versions
    ]


def _read(session: Session) -> InForce:
    """The snapshot, read from the database (two small queries)."""
    known = catalog()
    versions = {
        r.layer_id: VersionInfo(r.id, r.layer_id, r.version, r.activated_at, r.coverage_codes)
        for r in session.execute(
            select(
                LayerVersion.id,
                LayerVersion.layer_id,
                LayerVersion.version,
                LayerVersion.activated_at,
                LayerVersion.coverage_codes,
            ).join(LayerRow, LayerRow.active_version_id == LayerVersion.id)
        )
        if r.layer_id in known
    }
    rasters = {
        r.raster_id: RasterInfo(r.id, r.raster_id, r.version, r.path)
        for r in session.execute(
            select(
                RasterVersion.id, RasterVersion.raster_id, RasterVersion.version, RasterVersion.path
            ).where(RasterVersion.status == "active")
        )
        if r.raster_id in raster_catalog()
    }
    return InForce(versions, rasters, screened_specs(versions))


_cache: EpochCache = EpochCache(2)


def in_force(session: Session, fresh: bool = False) -> InForce:
    """The versions in force: cached under the catalog epoch, or read afresh (FRESH)."""
    if fresh:
        return _read(session)
    return _cache.get_or_compute(session, "in force", lambda: _read(session))
