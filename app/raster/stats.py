"""Raster statistics over the active raster versions, for summaries and screenings."""

import shapely
from sqlalchemy.orm import Session

from app.catalog import get_raster_spec
from app.errors import InvalidInput
from app.raster.zonal import Projected, zonal_stats
from app.store.models import RasterVersion
from app.store.rasters import active_rasters


def rasters_in_force(session: Session, ids: list[str] | None) -> dict[str, RasterVersion]:
    """The active versions of the asked rasters (all when ids is None); 422 if one has none."""
    active = active_rasters(session)
    if ids is None:
        return active
    for raster_id in ids:
        get_raster_spec(raster_id)
        if raster_id not in active:
            raise InvalidInput(f"Raster {raster_id} has no active version; upload one first.")
    return {i: active[i] for i in ids}


def stats_for(
    versions: dict[str, RasterVersion], geoms: list[shapely.Geometry]
) -> list[dict[str, dict]]:
    """Per geometry: {raster id: statistics with title and version}."""
    out: list[dict[str, dict]] = [{} for _ in geoms]
    projected: Projected = {}  # rasters in one CRS project the geometries once
    for raster_id, version in versions.items():
        spec = get_raster_spec(raster_id)
        for i, s in enumerate(zonal_stats(version.path, spec, geoms, projected)):
            out[i][raster_id] = {
                "title_zh": spec.title_zh,
                "version": version.version,
                "kind": spec.kind,
                **s.as_dict(),
            }
    return out
