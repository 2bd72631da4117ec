"""Area summaries per province / city / county / township / village.

Counties, townships and villages aggregate figures stored per pair of versions at import;
cities and provinces intersect at request time. Results are cached per set of versions, and
encoded JSON bodies per request under the catalog epoch (a warm request reads no database).
"""

import datetime as dt
from collections.abc import Hashable
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.cache import LockedLRU
from app.catalog import catalog, get_layer_spec
from app.config import get_settings
from app.errors import InvalidInput
from app.raster.stats import rasters_in_force, stats_for
from app.store.catalog_epoch import EpochCache
from app.store.models import LayerVersion
from app.store.unit_cover import unit_figures
from app.summary.coverage import layer_coverage, stored_coverage
from app.summary.units import (
    FEATURE_LEVELS,
    UNIT_LAYERS,
    unit_geometries,
    unit_rows,
    unit_set,
)
from app.summary.versions import versions_in_force

NOTES = {
    "area_km2": "union of the layer's features within the unit: overlaps are counted once",
    "listed_sum_km2": "plain sum of the listed (official) areas of the features touching the "
    "unit, each counted in full, as the plan's tables add them up",
    "share": "covered area / the unit's own geodesic area",
}
NO_UNITS = "no {by} data is loaded: import the unit layer to get rows"


@lru_cache(maxsize=2)
def _caches(entries: int) -> tuple[LockedLRU[dict], EpochCache]:
    """Results per set of versions, and encoded bodies per request (REDLINE_SUMMARY_CACHE_ENTRIES
    of each; a new size gets new caches)."""
    return LockedLRU(entries), EpochCache(entries)


def default_layers(versions: dict[str, LayerVersion]) -> list[str]:
    """Layers summarized when none are named: every versioned layer but the unit layers."""
    units = set(UNIT_LAYERS.values()) | {"township"}
    return [k for k in catalog() if k in versions and k not in units]


def _layer_ids(requested: list[str] | None, versions: dict[str, LayerVersion]) -> list[str]:
    ids = requested if requested is not None else default_layers(versions)
    for layer_id in ids:
        get_layer_spec(layer_id)  # unknown layer → 404 problem
        if layer_id not in versions:
            raise InvalidInput(f"Layer {layer_id} has no version in force for this summary.")
    return ids


def _cached(cache: Any, session: Session, key: Hashable, compute: Any) -> Any:
    """compute() through a cache, or straight when caching is off (0 entries)."""
    if not get_settings().summary_cache_entries:
        return compute()
    if isinstance(cache, EpochCache):
        return cache.get_or_compute(session, key, compute)
    return cache.get_or_compute(key, compute)


def summarize(
    session: Session,
    by: str,
    layers: list[str] | None = None,
    as_of: dt.date | dt.datetime | None = None,
    pins: dict[str, int] | None = None,
    rasters: list[str] | None = None,
    region: str | None = None,
) -> dict:
    """{by, region, rows: [{code, name, parent_code, parent_name, area_km2, layers}], ...}.

    Rows are the units of level `by` within `region` (a code); none loaded gives no rows."""
    versions = versions_in_force(session, as_of, pins)
    units = unit_set(session, by, versions, region)
    ids = _layer_ids(layers, versions)
    raster_versions = rasters_in_force(session, rasters) if rasters else {}
    key = (
        by,
        region,
        tuple(ids),
        units.version.id if units.version else None,
        tuple(versions[i].id for i in ids),
        tuple((k, v.id) for k, v in raster_versions.items()),
    )

    def compute() -> dict:
        rows = unit_rows(session, units)
        shown: dict[str, dict[str, dict]] = {i: {} for i in ids}
        covers: dict[str, dict[str, list]] = {i: {} for i in ids}
        if rows and units.by in FEATURE_LEVELS:
            shown = stored_coverage(session, units, {i: versions[i] for i in ids})
        elif rows:
            covers = {
                i: layer_coverage(session, units, get_layer_spec(i), versions[i]) for i in ids
            }
        kinds = {i: get_layer_spec(i).geometry_type for i in ids}
        listed = {i: bool(get_layer_spec(i).summary.listed_area_attribute) for i in ids}

        def cells(code: str, unit_m2: float) -> dict:
            return {
                i: shown[i].get(code)
                or unit_figures(covers[i].get(code), unit_m2, kinds[i], listed[i])
                for i in ids
            }

        unit_layer = [UNIT_LAYERS[by]] if units.version else []
        return {
            "layer_versions": {i: versions[i].version for i in [*unit_layer, *ids]},
            "notes": NOTES if units.version else {**NOTES, "rows": NO_UNITS.format(by=by)},
            "rows": [
                {
                    "code": r["code"],
                    "name": r["name"],
                    "parent": r["parent"],
                    "parent_code": r["parent_code"],
                    "parent_name": r["parent_name"],
                    "area_km2": r["area_m2"] / 1e6,
                    **({"zone_type": r["attributes"].get("zone_type")} if by == "township" else {}),
                    "layers": cells(r["code"], r["area_m2"]),
                }
                for r in rows
            ],
        }

    def compute_with_rasters() -> dict:
        result = compute()
        if raster_versions:
            geoms = unit_geometries(session, units)
            stats = stats_for(raster_versions, [geoms[r["code"]] for r in result["rows"]])
            for row, st in zip(result["rows"], stats, strict=True):
                row["rasters"] = st
            result["raster_versions"] = {k: v.version for k, v in raster_versions.items()}
        return result

    # as_of is not part of the key (equal versions give equal figures): echo it per request.
    results = _caches(get_settings().summary_cache_entries)[0]
    result = _cached(results, session, key, compute_with_rasters)
    return {
        "by": by,
        "region": region,
        "as_of": as_of.isoformat() if as_of else None,
        **result,
    }


def _encode_default(value: Any) -> Any:
    """numpy scalars (raster statistics) as Python numbers."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__}")


def summary_json(
    session: Session,
    by: str,
    layers: list[str] | None = None,
    as_of: dt.date | None = None,
    pins: dict[str, int] | None = None,
    rasters: list[str] | None = None,
    region: str | None = None,
) -> bytes:
    """The summary as JSON bytes; a repeated request under the same catalog epoch is one
    lookup (no database), any version change anywhere recomputes it."""
    key = (
        by,
        region,
        tuple(layers) if layers is not None else None,
        as_of,
        tuple(sorted((pins or {}).items())),
        tuple(rasters or ()),
    )

    def encode() -> bytes:
        result = summarize(session, by, layers, as_of, pins, rasters, region)
        return orjson.dumps(result, default=_encode_default)

    return _cached(_caches(get_settings().summary_cache_entries)[1], session, key, encode)
