"""The plan's own statistics reproduced from the data, each beside the figure the plan gives."""

from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.summary.crosstab import by_own_attributes
from app.summary.service import summarize


def read_plan(directory: Path) -> dict:
    """The plan figures of a reference dataset (plan.yaml), or NotFound."""
    path = directory / "plan.yaml"
    if not path.exists():
        raise NotFound(f"No plan figures for this dataset ({path.name} is missing).")
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def plan_figures(session: Session, plan: dict) -> dict:
    """Plan figures (plain sums, as published) and the data's union figures, labelled."""
    city = summarize(session, "city", ["protected_area", "redline"])["rows"][0]
    data_city_km2 = city["area_km2"]
    plan_city_km2 = plan["city_area_km2"]["value"]
    pa, red = city["layers"]["protected_area"], city["layers"]["redline"]
    zones = by_own_attributes(session, "township", "zone_type", None)
    by_zone = {c["row"]: c["count"] for c in zones["cells"]}
    pa_plan = plan["protected_areas"]
    return {
        "source": plan.get("source"),
        "city_area_km2": {
            "plan": plan_city_km2,
            "data": data_city_km2,
            "difference_pct": 100 * (data_city_km2 / plan_city_km2 - 1),
            "cite": plan["city_area_km2"]["cite"],
        },
        "protected_areas": {
            "plan_listed_sum_km2": pa_plan["listed_sum_km2"]["value"],
            "plan_share_pct": pa_plan["share_pct"]["value"],
            "listed_sum_km2": pa["listed_sum_km2"],
            "listed_sum_share_pct": 100 * pa["listed_sum_km2"] / plan_city_km2,
            "union_km2": pa["area_km2"],
            "union_share_pct": 100 * pa["area_km2"] / data_city_km2,
            "count": pa["count"],
            "note": "listed_sum_km2 adds the official areas as the plan does (overlaps counted "
            "twice), its share taken of the plan's city area; union_km2 dissolves "
            "overlaps, its share taken of the data's city area",
            "cite": pa_plan["listed_sum_km2"]["cite"],
        },
        "redline": {
            "plan_km2": plan["redline_km2"]["value"],
            "union_km2": red["area_km2"],
            "share_pct": 100 * red["area_km2"] / data_city_km2,
            "cite": plan["redline_km2"]["cite"],
        },
        "townships": {
            "plan": plan["townships"]["by_zone_type"],
            "plan_total": plan["townships"]["total"]["value"],
            "data": by_zone,
            "data_total": sum(by_zone.values()),
            "cite": plan["townships"]["cite"],
        },
    }
