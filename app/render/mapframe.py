"""Where a site map looks: its Gauss-Krüger zone, its extent and a round scale-bar length.

Pure geometry: maps are drawn in the site's CGCS2000 3° Gauss-Krüger zone so that a metre is
a metre on both axes and a scale bar means something.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj
import shapely

from app.geo.crs import STORAGE_EPSG, gk_zone_epsg, gk_zone_of

Bounds = tuple[float, float, float, float]

MIN_REACH_M = 1000.0  # a finding's parts within this of its nearest point to the site are shown
MIN_SIZE_M = 1500.0  # a point site still gets a map of the land around it
PAD_SHARE = 0.08  # of the larger side, on every side
# Height / width of the map area: a 50 km north-south road gets a tall (portrait) map, an
# east-west one a wide map, but never a strip too thin to read.
MIN_ASPECT, MAX_ASPECT = 0.6, 1.35


@dataclass(frozen=True)
class GkFrame:
    """A CGCS2000 3° Gauss-Krüger zone (EPSG without zone prefix) and its transforms."""

    zone: int
    epsg: int

    @property
    def label(self) -> str:
        """How the report names it."""
        # The site table gives the zone-prefixed code (EPSG:45xx-) of surveyors' coordinates;
        # the map's axes carry no prefix, so say which of the two the map uses.
        return (
            f"CGCS2000 / 3° 高斯-克吕格 第 {self.zone} 带（中央经线 {self.zone * 3}°E，"
            f"EPSG:{self.epsg}，横坐标不加带号）"
        )

    def project(self, geom: shapely.Geometry) -> shapely.Geometry:
        """Lon/lat (EPSG:4490) → easting/northing in metres."""
        return _apply(_transformer(STORAGE_EPSG, self.epsg), geom)

    def unproject_bounds(self, bounds: Bounds) -> Bounds:
        """A projected box as the lon/lat box that covers it."""
        return _transformer(self.epsg, STORAGE_EPSG).transform_bounds(*bounds, densify_pts=21)


def gk_frame(lon: float) -> GkFrame:
    """The 3° zone of a longitude (the site's centroid), clamped to China's zones 25-45."""
    zone = min(max(gk_zone_of(lon), 25), 45)
    return GkFrame(zone, gk_zone_epsg(zone, 3, zone_prefixed=False))


@lru_cache(maxsize=32)
def _transformer(source: int, target: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _apply(transformer: pyproj.Transformer, geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(
        geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def near_parts(site: shapely.Geometry, feature: shapely.Geometry) -> shapely.Geometry:
    """The part of a feature that a map of the site must show: what lies within its distance
    to the site plus MIN_REACH_M of the site's bounding box (projected metres)."""
    reach = site.distance(feature) + MIN_REACH_M
    x0, y0, x1, y1 = site.bounds
    return feature.intersection(shapely.box(x0 - reach, y0 - reach, x1 + reach, y1 + reach))


def map_extent(site: shapely.Geometry, features: Sequence[shapely.Geometry]) -> Bounds:
    """The box a site map shows (projected metres): the site and every finding feature's parts
    near it, padded, then widened on its short side to an aspect between MIN and MAX_ASPECT."""
    shown = [site, *(near_parts(site, f) for f in features if not f.is_empty)]
    return framed(shapely.total_bounds([g for g in shown if not g.is_empty]), MIN_SIZE_M)


def framed(bounds: Bounds, min_size: float) -> Bounds:
    """Bounds grown to at least `min_size`, padded, and widened on the short side to an
    aspect (height / width) between MIN_ASPECT and MAX_ASPECT, about the same centre."""
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max(x1 - x0, min_size)
    h = max(y1 - y0, min_size)
    pad = PAD_SHARE * max(w, h)
    w, h = w + 2 * pad, h + 2 * pad
    w = max(w, h / MAX_ASPECT)
    h = max(h, w * MIN_ASPECT)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def nice_length(width_m: float, share: float = 0.22) -> float:
    """A round scale-bar length (1, 2 or 5 × 10ⁿ metres) near `share` of the map's width."""
    target = width_m * share
    exponent = math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * 10**exponent <= target:
            return float(step * 10**exponent)
    return float(10**exponent)


def length_label(metres: float) -> str:
    """500 米, 2 千米, 1.5 千米."""
    if metres >= 1000:
        return f"{metres / 1000:g} 千米"
    return f"{metres:g} 米"
