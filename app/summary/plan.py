"""A region's plan statistics reproduced from that region's data, beside the plan's own figures.

The region is the union of the active counties whose code starts with the plan's prefix
(511900 → 5119…), so other cities' data loaded in the same service never count.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.cache import LockedLRU
from app.catalog import PlanSpec, get_layer_spec, plan_for, plans, region_prefix
from app.errors import InvalidInput, NotFound
from app.store.models import LayerVersion
from app.summary.versions import versions_in_force

_CACHE: LockedLRU[dict] = LockedLRU(max_items=32)

_REGION = """
SELECT ST_Multi(ST_Union(geom)) AS geom, count(*) AS counties,
       min(attributes->>'province') AS province, min(attributes->>'city') AS city,
       min(attributes->>'name') AS county
FROM feature WHERE version_id = :county_v AND attributes->>'code' LIKE :prefix || '%'
"""
_HAS_REGION = text(
    "SELECT EXISTS (SELECT 1 FROM feature WHERE version_id = :county_v "
    "AND attributes->>'code' LIKE :prefix || '%')"
)
# As the per-unit summaries: parts wholly inside the region are taken as they are, the
# others clipped; the union removes overlaps, the listed sum adds each feature in full.
# A feature belongs to the region of its county: another city's feature that reaches a few
# metres over the border (the cities' outlines come from different surveys) does not count.
_COVER = text(f"""
WITH r AS ({_REGION}),
touching AS (
  SELECT p.feature_id,
         CASE WHEN ST_CoveredBy(p.geom, r.geom) THEN p.geom
              ELSE ST_Intersection(p.geom, r.geom) END AS g
  FROM r JOIN feature_part p ON p.version_id = :layer_v AND p.geom && r.geom
   AND ST_Intersects(p.geom, r.geom)
  JOIN feature f ON f.id = p.feature_id
   AND (f.county_code IS NULL OR f.county_code LIKE :prefix || '%')
)
SELECT count(DISTINCT feature_id) AS count,
       coalesce(ST_Area(ST_UnaryUnion(ST_Collect(ST_CollectionExtract(g, 3)))::geography), 0)
         AS area_m2,
       (SELECT sum((f.attributes->>:listed)::float8) FROM feature f
         WHERE f.id IN (SELECT feature_id FROM touching)) AS listed_km2
FROM touching
""")
_ZONES = text(f"""
WITH r AS ({_REGION})
SELECT t.attributes->>'zone_type' AS zone_type, count(*) AS count
FROM r JOIN feature t ON t.version_id = :township_v AND t.geom && r.geom
 AND ST_Intersects(ST_PointOnSurface(t.geom), r.geom)
GROUP BY 1 ORDER BY 1
""")
NOTES = {
    "region": "the plan's region: the union of the loaded counties whose code starts with "
    "its code's prefix; data of other regions never count",
    "plan": "figures under plan* are the plan's own, with their citations; a figure the plan "
    "does not state is absent, the data's figure is shown beside it anyway",
    "data": "figures without plan* are measured from the layers in force: geodesic areas, "
    "union within the region (overlaps counted once) unless named listed_sum",
}


def _has_data(session: Session, county: LayerVersion, code: str) -> bool:
    return bool(
        session.execute(
            _HAS_REGION, {"county_v": county.id, "prefix": region_prefix(code)}
        ).scalar()
    )


def choose_plan(session: Session, region: str | None) -> PlanSpec:
    """The plan of REGION (walking up its codes), or the only plan whose region has data."""
    known = plans()
    if region is not None:
        plan = plan_for(region)
        if plan is None:
            raise NotFound(
                f"No plan covers region {region}; plans are loaded for: {', '.join(known)}."
            )
        return plan
    county = versions_in_force(session).get("admin_county")
    loaded = [c for c in known if county is not None and _has_data(session, county, c)]
    if len(loaded) != 1:
        listed = ", ".join(loaded or known) or "none"
        raise InvalidInput(
            f"Name the region: /summaries/plan?region=CODE; regions with a plan and data: {listed}."
        )
    return known[loaded[0]]


def _figure(figure: Any) -> Any:
    return figure.value if figure is not None else None


def _cover(
    session: Session, params: dict[str, Any], layer: str, version: LayerVersion
) -> dict[str, Any]:
    listed = get_layer_spec(layer).summary.listed_area_attribute or ""
    row = session.execute(_COVER, {**params, "layer_v": version.id, "listed": listed}).one()
    return {"count": row.count, "area_km2": row.area_m2 / 1e6, "listed_km2": row.listed_km2}


def plan_figures(session: Session, plan: PlanSpec) -> dict[str, Any]:
    """The plan's figures (plain sums, as published) and the region's data figures, labelled."""
    versions = versions_in_force(session)
    needed = ["admin_county", "protected_area", "redline", "township"]
    missing = [layer for layer in needed if layer not in versions]
    if missing:
        raise NotFound(f"The plan figures need the layers {', '.join(missing)}; import them.")
    county = versions["admin_county"]
    if not _has_data(session, county, plan.code):
        raise NotFound(f"No counties of region {plan.code} ({plan.short_title}) are loaded.")
    key = (plan.code, *(versions[layer].id for layer in needed))
    return _CACHE.get_or_compute(key, lambda: _compute(session, plan, versions))


def _compute(session: Session, plan: PlanSpec, versions: dict[str, LayerVersion]) -> dict:
    params = {"county_v": versions["admin_county"].id, "prefix": region_prefix(plan.code)}
    region = session.execute(
        text(f"WITH r AS ({_REGION}) SELECT ST_Area(r.geom::geography) AS m2, r.* FROM r"),
        params,
    ).one()
    data_km2 = region.m2 / 1e6
    pa = _cover(session, params, "protected_area", versions["protected_area"])
    red = _cover(session, params, "redline", versions["redline"])
    zones = session.execute(_ZONES, {**params, "township_v": versions["township"].id}).all()
    by_zone = {r.zone_type: r.count for r in zones}
    plan_km2 = _figure(plan.city_area_km2)
    pa_plan, towns = plan.protected_areas, plan.townships
    listed_sum = pa["listed_km2"] or 0.0
    return {
        "region": plan.code,
        "region_name": _region_name(plan.code, region),
        "title": plan.title,
        "short_title": plan.short_title,
        "source": plan.source,
        "city_area_km2": {
            "plan": plan_km2,
            "data": data_km2,
            "difference_pct": 100 * (data_km2 / plan_km2 - 1) if plan_km2 else None,
            "cite": plan.city_area_km2.cite if plan.city_area_km2 else None,
        },
        "protected_areas": {
            "plan_listed_sum_km2": _figure(pa_plan and pa_plan.listed_sum_km2),
            "plan_share_pct": _figure(pa_plan and pa_plan.share_pct),
            "plan_named": pa_plan.named if pa_plan else None,
            "listed_sum_km2": listed_sum,
            # As the plan does: the listed sum's share of the plan's own area (data's if none).
            "listed_sum_share_pct": 100 * listed_sum / (plan_km2 or data_km2),
            "union_km2": pa["area_km2"],
            "union_share_pct": 100 * pa["area_km2"] / data_km2,
            "count": pa["count"],
            "note": "listed_sum_km2 adds the official areas as the plan does (overlaps counted "
            "twice), its share taken of the plan's city area; union_km2 dissolves "
            "overlaps, its share taken of the data's city area",
            "cite": _cite(pa_plan and pa_plan.listed_sum_km2, pa_plan),
        },
        "redline": {
            "plan_km2": _figure(plan.redline_km2),
            "union_km2": red["area_km2"],
            "share_pct": 100 * red["area_km2"] / data_km2,
            "cite": plan.redline_km2.cite if plan.redline_km2 else None,
        },
        "townships": {
            "plan": towns.by_zone_type if towns else None,
            "plan_total": _figure(towns and towns.total),
            "data": by_zone,
            "data_total": sum(by_zone.values()),
            "cite": towns.cite if towns else None,
        },
        "other_figures": plan.other_figures(),
        "notes": NOTES,
    }


def _region_name(code: str, region: Any) -> str | None:
    """The province, city or county name the region's counties carry, by the code's level."""
    if code[2:] == "0000":
        return region.province
    return region.city if code[4:] == "00" else region.county


def _cite(figure: Any, group: Any) -> str | None:
    """The citation of a figure, else of its group."""
    if figure is not None and figure.cite:
        return figure.cite
    return group.cite if group is not None else None
