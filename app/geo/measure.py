"""Geodesic measures on the CGCS2000 ellipsoid (GRS80) and area units."""

import shapely
from pyproj import Geod

GEOD = Geod(ellps="GRS80")
M2_PER_MU = 10000 / 15


def area_m2(geom: shapely.Geometry) -> float:
    """Ellipsoidal area of a lon/lat geometry in m².

    pyproj sums signed ring areas, so holes must wind against their shell: orient first.
    """
    area, _ = GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))
    return abs(area)


def length_m(geom: shapely.Geometry) -> float:
    """Ellipsoidal length of a lon/lat line (perimeter for polygons: the exterior ring's, as
    pyproj's `geometry_length`) in metres, part after part; coordinates read as arrays."""
    total = 0.0
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.GeometryCollection):
            total += length_m(part)
            continue
        line = part.exterior if isinstance(part, shapely.Polygon) else part
        xy = shapely.get_coordinates(line)
        total += GEOD.line_length(xy[:, 0], xy[:, 1]) if len(xy) else 0.0
    return total


def area_units(m2: float) -> dict[str, float]:
    """The same area in m², km², 公顷 (ha) and 亩 (mu)."""
    return {"m2": m2, "km2": m2 / 1e6, "ha": m2 / 1e4, "mu": m2 / M2_PER_MU}
