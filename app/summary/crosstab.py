"""Cross-tabulations: a layer's area by its own attributes (category × level), or by an
attribute of the units it falls in (redline km² by township zone type)."""

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import get_layer_spec
from app.errors import InvalidInput
from app.summary.service import summarize
from app.summary.units import UNIT_LAYERS
from app.summary.versions import versions_in_force

_BY_ATTRIBUTES = """
SELECT {groups}, count(*) AS count, ST_Area(ST_Union(geom)::geography) / 1e6 AS area_km2,
       sum((attributes->>:listed)::float8) AS listed_sum_km2
FROM feature WHERE version_id = :v GROUP BY {group_by} ORDER BY {group_by}
"""


def _check_attribute(layer: str, name: str) -> None:
    if get_layer_spec(layer).attribute(name) is None:
        names = ", ".join(a.name for a in get_layer_spec(layer).attributes)
        raise InvalidInput(f"Layer {layer} has no attribute {name!r}; it has: {names}.")


def by_own_attributes(
    session: Session, layer: str, rows: str, cols: str | None, as_of: dt.date | None = None
) -> dict:
    """Union area, count and listed sum per (rows, cols) value pair of the layer's features."""
    spec = get_layer_spec(layer)
    for name in filter(None, (rows, cols)):
        _check_attribute(layer, name)
    version = versions_in_force(session, as_of).get(layer)
    if version is None:
        raise InvalidInput(f"Layer {layer} has no version in force.")
    listed = spec.summary.listed_area_attribute or ""
    groups = ["attributes->>:rows AS row"] + (["attributes->>:cols AS col"] if cols else [])
    sql = _BY_ATTRIBUTES.format(
        groups=", ".join(groups), group_by=", ".join(str(i + 1) for i in range(len(groups)))
    )
    result = session.execute(
        text(sql), {"rows": rows, "cols": cols, "listed": listed, "v": version.id}
    ).all()
    cells = [
        {
            "row": r.row,
            "col": getattr(r, "col", None),
            "count": r.count,
            "area_km2": r.area_km2,
            **({"listed_sum_km2": r.listed_sum_km2} if listed else {}),
        }
        for r in result
    ]
    (total,) = session.execute(
        text("SELECT ST_Area(ST_Union(geom)::geography) / 1e6 FROM feature WHERE version_id = :v"),
        {"v": version.id},
    ).one()
    return {
        "layer": layer,
        "version": version.version,
        "rows": rows,
        "cols": cols,
        "cells": cells,
        "total_area_km2": total,
        "note": "area_km2 is the union within each cell; cells may overlap each other",
    }


def by_unit_attribute(
    session: Session, layer: str, unit_attr: str, as_of: dt.date | None = None
) -> dict:
    """Layer area grouped by an attribute of townships or counties ('township.zone_type')."""
    unit_layer, _, attr = unit_attr.partition(".")
    by = next((k for k, v in UNIT_LAYERS.items() if v == unit_layer and k != "city"), None)
    if by is None or not attr:
        raise InvalidInput(
            "rows must be an attribute of the layer, or township.<attribute> / "
            "admin_county.<attribute> (e.g. township.zone_type)."
        )
    _check_attribute(unit_layer, attr)
    summary = summarize(session, by, [layer], as_of)
    attrs = _unit_attributes(session, unit_layer, summary["layer_versions"][unit_layer], attr)
    groups: dict[str, dict] = {}
    for row in summary["rows"]:
        key = attrs.get(row["code"])
        g = groups.setdefault(key, {"row": key, "units": 0, "unit_area_km2": 0.0, "area_km2": 0.0})
        figures = row["layers"][layer]
        g["units"] += 1
        g["unit_area_km2"] += row["area_km2"]
        # Units partition the city, so per-unit union areas add up without double counting.
        g["area_km2"] += figures.get("area_km2", 0.0)
    for g in groups.values():
        g["share_of_units"] = g["area_km2"] / g["unit_area_km2"] if g["unit_area_km2"] else None
    total = sum(g["area_km2"] for g in groups.values())
    for g in groups.values():
        g["share_of_layer"] = g["area_km2"] / total if total else None
    return {
        "layer": layer,
        "rows": unit_attr,
        "cells": sorted(groups.values(), key=lambda g: str(g["row"])),
        "total_area_km2": total,
        "layer_versions": summary["layer_versions"],
    }


def _unit_attributes(session: Session, unit_layer: str, version: int, attr: str) -> dict:
    rows = session.execute(
        text(
            "SELECT f.attributes->>'code' AS code, f.attributes->>:attr AS value FROM feature f "
            "JOIN layer_version v ON v.id = f.version_id WHERE v.layer_id = :layer "
            "AND v.version = :version"
        ),
        {"attr": attr, "layer": unit_layer, "version": version},
    )
    return {r.code: r.value for r in rows}
