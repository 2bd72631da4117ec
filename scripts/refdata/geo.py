"""Geometry helpers: fixed-precision overlay, projection, geodesic area, shapes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely import ops
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

# 1e-7 degree (~1 cm) grid: every overlay snaps to it, so shared edges stay shared.
GRID = 1e-7
GEOD = Geod(ellps="GRS80")
# Local transverse Mercator on GRS80 (= CGCS2000 ellipsoid) for metre-based shapes.
_LOCAL = "+proj=tmerc +lat_0=0 +lon_0=107 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
_TO_M = Transformer.from_crs("EPSG:4490", _LOCAL, always_xy=True)
_TO_LL = Transformer.from_crs(_LOCAL, "EPSG:4490", always_xy=True)


def to_metric(g: BaseGeometry) -> BaseGeometry:
    return shapely.transform(g, lambda c: np.column_stack(_TO_M.transform(c[:, 0], c[:, 1])))


def to_lonlat(g: BaseGeometry) -> BaseGeometry:
    """Back to lon/lat, snapped to the output grid."""
    g = shapely.transform(g, lambda c: np.column_stack(_TO_LL.transform(c[:, 0], c[:, 1])))
    return shapely.set_precision(g, GRID)


def xy_metric(lon: float, lat: float) -> tuple[float, float]:
    x, y = _TO_M.transform(lon, lat)
    return float(x), float(y)


def polygonal(g: BaseGeometry | None) -> MultiPolygon:
    """Keep only the polygonal parts (overlays may emit stray lines/points)."""
    if g is None or g.is_empty:
        return MultiPolygon()
    parts = shapely.get_parts(g)
    polys: list[Polygon] = []
    for p in parts:
        if isinstance(p, Polygon) and not p.is_empty:
            polys.append(p)
        elif isinstance(p, MultiPolygon):
            polys.extend(q for q in p.geoms if not q.is_empty)
        elif p.geom_type == "GeometryCollection":
            polys.extend(polygonal(p).geoms)
    return MultiPolygon(polys)


def inter(a: BaseGeometry, b: BaseGeometry) -> MultiPolygon:
    return polygonal(shapely.intersection(a, b, grid_size=GRID))


def diff(a: BaseGeometry, b: BaseGeometry) -> MultiPolygon:
    return polygonal(shapely.difference(a, b, grid_size=GRID))


def union(geoms: Iterable[BaseGeometry]) -> MultiPolygon:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return MultiPolygon()
    return polygonal(shapely.union_all(geoms, grid_size=GRID))


def area_km2(g: BaseGeometry) -> float:
    """Geodesic area on GRS80 (exteriors oriented CCW so holes subtract)."""
    if g.is_empty:
        return 0.0
    g = shapely.orient_polygons(g)
    return abs(GEOD.geometry_area_perimeter(g)[0]) / 1e6


def bisect(fn: Callable[[float], float], target: float, lo: float, hi: float,
           steps: int = 48) -> float:
    """Smallest-error scale for a monotone increasing fn (e.g. area of a growing blob)."""
    while fn(hi) < target:
        hi *= 2
    for _ in range(steps):
        mid = (lo + hi) / 2
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def blob_metric(cx: float, cy: float, scale: float, rng: np.random.Generator,
                n: int = 96, stretch: float = 1.0, angle: float = 0.0) -> Polygon:
    """Irregular star-shaped polygon; radius is linear in scale so areas grow monotonically."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rng.uniform(0.03, 0.22 / k ** 0.5) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.45, None)
    x, y = r * np.cos(theta) * stretch, r * np.sin(theta)
    ca, sa = np.cos(angle), np.sin(angle)
    pts = np.column_stack([cx + scale * (ca * x - sa * y), cy + scale * (sa * x + ca * y)])
    return Polygon(pts)


def blob_ll(lon: float, lat: float, scale_m: float, seed: int, **kw: float) -> Polygon:
    cx, cy = xy_metric(lon, lat)
    return to_lonlat(blob_metric(cx, cy, scale_m, np.random.default_rng(seed), **kw))


def meander(points: list[tuple[float, float]], seed: int, amp: float = 0.06,
            step_m: float = 1500.0) -> LineString:
    """Smooth, wiggly metric line through lon/lat control points (deterministic noise)."""
    rng = np.random.default_rng(seed)
    ctrl = np.array([xy_metric(x, y) for x, y in points])
    out = [ctrl[0]]
    for a, b in zip(ctrl[:-1], ctrl[1:], strict=True):
        seg = b - a
        length = float(np.hypot(*seg))
        n = max(int(length / step_m), 2)
        normal = np.array([-seg[1], seg[0]]) / length
        t = np.linspace(0, 1, n + 1)[1:]
        # low-frequency sine sum, zero at both ends so control points are kept
        wig = np.zeros_like(t)
        for k in (1, 2, 3, 5):
            wig += rng.uniform(-1, 1) / k * np.sin(np.pi * k * t)
        wig += rng.normal(0, 0.08, t.size) * np.sin(np.pi * t)
        for ti, wi in zip(t, wig, strict=True):
            out.append(a + seg * ti + normal * wi * amp * length)
    pts = np.array(out)
    for _ in range(3):  # Chaikin corner cutting, keeping the end points
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[0], mid, pts[-1]])
    return LineString(pts)


def nearest_on(line: BaseGeometry, lon: float, lat: float) -> Point:
    """Nearest point (metric) on a metric line to a lon/lat target."""
    return ops.nearest_points(line, Point(xy_metric(lon, lat)))[0]


def substring(line: LineString, start: float, end: float) -> LineString:
    start, end = max(start, 0.0), min(end, line.length)
    return ops.substring(line, start, end)


def largest_part(g: BaseGeometry) -> Polygon:
    parts = list(polygonal(g).geoms)
    return max(parts, key=lambda p: p.area)
