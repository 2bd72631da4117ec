"""Validity repair that keeps the geometry family of the target layer."""

from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

FAMILIES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "line": {"LineString", "MultiLineString"},
    "point": {"Point", "MultiPoint"},
}


@dataclass
class Repair:
    """A repaired geometry, or None with the reason it could not be repaired."""

    geometry: BaseGeometry | None
    note: str | None = None  # what was repaired, or why it could not be


def keep_family(geom: BaseGeometry, kind: str) -> BaseGeometry:
    """Drop parts of another dimension (e.g. slivers collapsed to lines by make_valid)."""
    if geom.geom_type in FAMILIES[kind]:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in FAMILIES[kind]]
    if not parts:
        return shapely.Polygon() if kind == "polygon" else shapely.GeometryCollection()
    return shapely.union_all(parts) if kind != "point" else shapely.MultiPoint(parts)


def repair(geom: BaseGeometry, kind: str) -> Repair:
    """Make a geometry valid for a layer of `kind`; None with a reason when impossible."""
    if geom.is_valid:
        return Repair(geom)
    reason = shapely.is_valid_reason(geom)
    fixed = keep_family(shapely.make_valid(geom), kind)
    if fixed.is_empty:
        return Repair(None, f"invalid geometry ({reason}) has no {kind} part left after repair")
    return Repair(fixed, f"repaired invalid geometry ({reason})")
