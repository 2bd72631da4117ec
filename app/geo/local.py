"""Local metric work around a site: buffers in an azimuthal equidistant projection, GK zones."""

from functools import lru_cache

import numpy as np
import pyproj
import shapely

from app.geo.crs import gk_zone_epsg, gk_zone_of


@lru_cache(maxsize=256)
def _aeqd(lon: float, lat: float) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=GRS80 +units=m")
    return (
        pyproj.Transformer.from_crs(4490, local, always_xy=True),
        pyproj.Transformer.from_crs(local, 4490, always_xy=True),
    )


def _apply(transformer: pyproj.Transformer, geom: shapely.Geometry) -> shapely.Geometry:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def geodesic_buffer(geom: shapely.Geometry, metres: float) -> shapely.Geometry:
    """Buffer by `metres` on the ground (exact to centimetres within tens of km of the site)."""
    c = geom.centroid
    # Round the centre so nearby sites share a cached projection.
    forward, back = _aeqd(round(c.x, 3), round(c.y, 3))
    return _apply(back, _apply(forward, geom).buffer(metres, quad_segs=16))


@lru_cache(maxsize=32)
def _to_gk(epsg: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(4490, epsg, always_xy=True)


def gk_coordinates(lon: float, lat: float) -> dict:
    """Surveyor coordinates in the point's CGCS2000 3° zone: X northing, Y zone-prefixed easting."""
    return gk_coordinates_many(np.array([lon]), np.array([lat]))[0]


def gk_coordinates_many(lon: np.ndarray, lat: np.ndarray) -> list[dict]:
    """`gk_coordinates` of many points, each zone's points transformed at once."""
    zones = np.array([gk_zone_of(x) for x in lon.tolist()], dtype=int)
    out: list[dict] = [{} for _ in range(len(lon))]
    for zone in np.unique(zones).tolist():
        mine = np.flatnonzero(zones == zone)
        epsg = gk_zone_epsg(zone, 3, zone_prefixed=True)
        easting, northing = _to_gk(epsg).transform(lon[mine], lat[mine])
        for i, x, y in zip(mine.tolist(), northing.tolist(), easting.tolist(), strict=True):
            out[i] = {
                "epsg": epsg,
                "zone": zone,
                "x_northing": round(x, 3),
                "y_easting": round(y, 3),
            }
    return out
