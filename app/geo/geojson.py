"""GeoJSON geometry dicts from shapely geometries, built from coordinate arrays.

shapely's `mapping` builds a tuple per vertex in Python (milliseconds for a 1 000-vertex site);
this reads each ring's coordinates as one array. Same coordinates, exactly: lists where
`mapping` gives tuples, which JSON does not tell apart.
"""

from typing import Any

import shapely
from shapely.geometry import mapping


def _coords(geom: shapely.Geometry) -> list:
    return shapely.get_coordinates(geom, include_z=shapely.has_z(geom)).tolist()


def _polygon(geom: shapely.Polygon) -> list:
    return [_coords(geom.exterior), *(_coords(ring) for ring in geom.interiors)]


def geojson(geom: shapely.Geometry) -> dict[str, Any]:
    """The GeoJSON geometry of a (multi)point, line or polygon; others as `mapping` does."""
    kind = geom.geom_type
    if kind == "Point":
        return {"type": kind, "coordinates": tuple(_coords(geom)[0]) if not geom.is_empty else ()}
    if kind == "LineString":
        return {"type": kind, "coordinates": _coords(geom)}
    if kind == "Polygon":
        return {"type": kind, "coordinates": _polygon(geom) if not geom.is_empty else []}
    if kind == "MultiPoint":
        return {"type": kind, "coordinates": _coords(geom)}
    if kind == "MultiLineString":
        return {"type": kind, "coordinates": [_coords(line) for line in geom.geoms]}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [_polygon(part) for part in geom.geoms]}
    return mapping(geom)
