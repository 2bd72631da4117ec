"""Area summaries per province / city / county / township / village, cached per set of
layer versions and region."""

import datetime as dt

from sqlalchemy.orm import Session

from app.cache import LockedLRU
from app.catalog import catalog, get_layer_spec
from app.errors import InvalidInput
from app.geo.measure import area_units
from app.raster.stats import rasters_in_force, stats_for
from app.store.models import LayerVersion
from app.summary.coverage import layer_coverage
from app.summary.units import UNIT_LAYERS, unit_geometries, unit_rows, unit_set
from app.summary.versions import versions_in_force

NOTES = {
    "area_km2": "union of the layer's features within the unit: overlaps are counted once",
    "listed_sum_km2": "plain sum of the listed (official) areas of the features touching the "
    "unit, each counted in full, as the plan's tables add them up",
    "share": "covered area / the unit's own geodesic area",
}
NO_UNITS = "no {by} data is loaded: import the unit layer to get rows"
_CACHE: LockedLRU[dict] = LockedLRU(max_items=128)


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


def _figures(cover: dict | None, unit_m2: float, kind: str, listed: bool) -> dict:
    """Area figures for polygon layers, length for lines, a count for every kind."""
    cover = cover or {"area_m2": 0.0, "length_m": 0.0, "count": 0, "listed_km2": 0.0}
    out: dict = {"count": cover["count"]}
    if kind == "polygon":
        area = cover["area_m2"] or 0.0
        units = area_units(area)
        out.update(
            {
                "area_km2": units["km2"],
                "area_ha": units["ha"],
                "area_mu": units["mu"],
                "share": area / unit_m2 if unit_m2 else None,
            }
        )
    elif kind == "line":
        out["length_km"] = (cover["length_m"] or 0.0) / 1e3
    if listed:
        out["listed_sum_km2"] = cover.get("listed_km2") or 0.0
    return out


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
        covers = {
            i: layer_coverage(session, units, get_layer_spec(i), versions[i]) if rows else {}
            for i in ids
        }
        kinds = {i: get_layer_spec(i).geometry_type for i in ids}
        listed = {i: bool(get_layer_spec(i).summary.listed_area_attribute) for i in ids}
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
                    "layers": {
                        i: _figures(covers[i].get(r["code"]), r["area_m2"], kinds[i], listed[i])
                        for i in ids
                    },
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
    result = _CACHE.get_or_compute(key, compute_with_rasters)
    return {
        "by": by,
        "region": region,
        "as_of": as_of.isoformat() if as_of else None,
        **result,
    }
