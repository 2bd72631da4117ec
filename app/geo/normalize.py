"""One path from source coordinates to valid EPSG:4490 geometries: reproject, range check, repair.

Pure geometry: the coverage box is an argument, so geo stays free of settings. Callers word
the problems for their own users (an import lists them, a site raises, a batch row says why).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from app.geo.crs import SourceCrs, to_storage
from app.geo.repair import repair

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
FAMILY_OF_DIMENSION = {0: "point", 1: "line", 2: "polygon"}
# Geographic CRSs whose input may come with latitude and longitude swapped.
_LON_LAT_EPSG = (4490, 4326, 4610, 4214)


@dataclass
class StoredGeometries:
    """Input geometries in EPSG:4490, checked against the coverage box and made valid."""

    geometries: list[shapely.Geometry | None]  # None where out of range or beyond repair
    bounds: np.ndarray  # (n, 4) EPSG:4490 bounds of every input, for messages
    out_of_range: list[int]  # outside the coverage box, or not finite: wrong CRS or axes
    unrepairable: dict[int, str]  # index → why no valid geometry of the family is left
    repaired: dict[int, str]  # index → what was repaired

    def box(self, index: int | None = None) -> BBox:
        """Bounds of one input, or of them all when index is None."""
        if index is not None:
            return tuple(float(v) for v in self.bounds[index])
        b = self.bounds
        return (
            float(np.nanmin(b[:, 0])),
            float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])),
            float(np.nanmax(b[:, 3])),
        )


def normalize_geometries(
    geoms: Sequence[shapely.Geometry], source: SourceCrs, bbox: BBox, kind: str | None = None
) -> StoredGeometries:
    """Convert non-empty geometries from `source` to EPSG:4490, flag those outside `bbox`
    and repair the others for `kind` (None: each keeps the family of its own dimension)."""
    with np.errstate(all="ignore"):  # failed transforms give inf, caught by the range check
        stored = to_storage(np.asarray(geoms, dtype=object), source)
        bounds = shapely.bounds(stored).reshape(-1, 4)
    minx, miny, maxx, maxy = bbox
    x0, y0, x1, y1 = bounds.T
    with np.errstate(invalid="ignore"):
        inside = (
            np.isfinite(bounds).all(axis=1)
            & (x0 >= minx)
            & (x1 <= maxx)
            & (y0 >= miny)
            & (y1 <= maxy)
        )
    out = StoredGeometries([None] * len(stored), bounds, np.flatnonzero(~inside).tolist(), {}, {})
    valid = shapely.is_valid(stored)
    for i in np.flatnonzero(inside):
        g = stored[i]
        if valid[i]:
            out.geometries[i] = g
            continue
        fixed = repair(g, kind or FAMILY_OF_DIMENSION[shapely.get_dimensions(g)])
        if fixed.geometry is None:
            out.unrepairable[int(i)] = fixed.note
        else:
            out.geometries[i] = fixed.geometry
            out.repaired[int(i)] = fixed.note
    return out


def _swap_xy(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


def orient_surveyor_axes(geoms: list, source: SourceCrs, axis_order: str) -> list:
    """GK coordinates written as surveyors do (X northing first) are put easting-first."""
    if (
        source.kind != "epsg"
        or not 4491 <= (source.epsg or 0) <= 4554
        or axis_order == "east_north"
    ):
        return geoms
    if axis_order == "north_east":
        return [_swap_xy(g) for g in geoms]
    out = []
    for g in geoms:
        a, b = shapely.get_coordinates(g)[0]
        prefixed_easting = max(a, b) >= 1e7
        # Northing (~2-6e6 m in China) is below a zone-prefixed easting (>1e7) and above a
        # plain easting (<1e6): that tells which axis comes first.
        first_is_northing = a < b if prefixed_easting else a > b
        out.append(_swap_xy(g) if first_is_northing else g)
    return out


def looks_like_lat_lon(geoms: list, source: SourceCrs) -> bool:
    """True when lon/lat input has every point at a plausible Chinese latitude, longitude."""
    if source.kind == "epsg" and source.epsg not in _LON_LAT_EPSG:
        return False
    xy = np.vstack([shapely.get_coordinates(g) for g in geoms])
    return bool(((xy[:, 0] >= 3) & (xy[:, 0] <= 54) & (xy[:, 1] >= 73) & (xy[:, 1] <= 136)).all())
