"""Synthetic township polygons that exactly partition each real county.

Voronoi cells of Lloyd-relaxed seeds, clipped to the county; townships hosting a protected
area get the whole area (it is carved out of the free region first).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from .directory import ANCHORS, ECO, SEATS, URBAN, Township, townships
from .geo import diff, inter, polygonal, to_lonlat, to_metric, union

LLOYD_STEPS = 10


def _random_points(region: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    pts: list[np.ndarray] = []
    while sum(len(p) for p in pts) < n:
        cand = rng.uniform((x0, y0), (x1, y1), size=(4 * n, 2))
        pts.append(cand[shapely.contains_xy(region, cand[:, 0], cand[:, 1])])
    return np.vstack(pts)[:n]


def _voronoi(seeds: np.ndarray, region: BaseGeometry) -> list[Polygon]:
    env = region.envelope.buffer(20000)
    vor = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=env, ordered=True)
    return list(vor.geoms)


def _lloyd(seeds: np.ndarray, fixed: np.ndarray, region: BaseGeometry) -> np.ndarray:
    """Move free seeds to the centroids of their clipped cells (evens out cell sizes)."""
    for _ in range(LLOYD_STEPS):
        cells = _voronoi(seeds, region)
        for i, cell in enumerate(cells):
            if fixed[i]:
                continue
            clipped = cell.intersection(region)
            if clipped.is_empty:
                continue
            c = clipped.centroid
            if not region.contains(c):
                c = clipped.point_on_surface()
            seeds[i] = (c.x, c.y)
    return seeds


def _shared_length(a: BaseGeometry, b: BaseGeometry) -> float:
    if not a.envelope.intersects(b.envelope):
        return 0.0
    return a.boundary.intersection(b.boundary).length


def absorb_fragments(cells: list[MultiPolygon]) -> list[MultiPolygon]:
    """Give every detached piece of a cell to the neighbour sharing most boundary with it,
    so townships are single polygons (county exclaves with no neighbour stay put)."""
    cells = list(cells)
    moved = True
    while moved:
        moved = False
        for i, cell in enumerate(cells):
            parts = sorted(cell.geoms, key=lambda p: -p.area)
            for p in parts[1:]:
                lengths = [(_shared_length(p, c) if j != i else 0.0) for j, c in enumerate(cells)]
                j = int(np.argmax(lengths))
                if lengths[j] <= 0:
                    continue
                cells[j] = union([cells[j], p])
                cells[i] = MultiPolygon([q for q in cells[i].geoms if not q.equals(p)])
                moved = True
    return cells


def _assign(ts: list[Township], cells_ll: list[MultiPolygon], preset: dict[str, int],
            county: str, anchors: dict[tuple[str, str], tuple[float, float]],
            seat_at: tuple[float, float]) -> dict[str, int]:
    """Township name -> cell index (anchors, then urban near seat, eco north, farm rest)."""
    taken = dict(preset)
    used = set(preset.values())
    cents = [c.centroid for c in cells_ll]
    for (cty, name), (lon, lat) in anchors.items():
        if cty != county or name in taken:
            continue
        free = [i for i in range(len(cells_ll)) if i not in used]
        inside = [i for i in free if cells_ll[i].contains(Point(lon, lat))]
        i = inside[0] if inside else min(free, key=lambda k: cents[k].distance(Point(lon, lat)))
        taken[name] = i
        used.add(i)
    seat = Point(*seat_at)
    urban = [t.name for t in ts if t.zone_type == URBAN and t.name not in taken]
    urban.sort(key=lambda n: 0 if n.endswith("街道") else 1)  # streets nearest the seat
    eco = [t.name for t in ts if t.zone_type == ECO and t.name not in taken]
    farm = [t.name for t in ts if t.name not in taken and t.name not in urban + eco]
    free = sorted((i for i in range(len(cells_ll)) if i not in used),
                  key=lambda k: cents[k].distance(seat))
    for name in urban:
        taken[name] = free.pop(0)
    free.sort(key=lambda k: -cents[k].y)  # mountainous north first
    for name in eco:
        taken[name] = free.pop(0)
    free.sort(key=lambda k: (cents[k].y, cents[k].x))
    for name in farm:
        taken[name] = free.pop(0)
    return taken


def build_county_townships(county: str, county_ll: MultiPolygon, hosted: dict[str, BaseGeometry],
                           seed: int, anchors: dict | None = None,
                           ts: list[Township] | None = None,
                           seat: tuple[float, float] | None = None) -> dict[str, MultiPolygon]:
    """Township name -> polygon; ``anchors`` overrides/extends directory.ANCHORS; other regions
    pass their own township list ``ts`` and county ``seat`` (default: Bazhong's directory)."""
    anchors = {**ANCHORS, **(anchors or {})}
    ts = ts if ts is not None else townships(county)
    seat = seat if seat is not None else SEATS[county]
    hosted = {n: inter(g, county_ll) for n, g in hosted.items()}
    free_ll = diff(county_ll, union(hosted.values())) if hosted else county_ll
    free_m = to_metric(free_ll)
    rng = np.random.default_rng(seed)
    fixed_pts = [to_metric(g).centroid for g in hosted.values()]
    n_free = len(ts) - len(fixed_pts)
    seeds = np.vstack([np.array([(p.x, p.y) for p in fixed_pts]).reshape(-1, 2),
                       _random_points(free_m, n_free, rng)])
    fixed = np.array([True] * len(fixed_pts) + [False] * n_free)
    seeds = _lloyd(seeds, fixed, free_m)
    cells_ll = [inter(to_lonlat(c), free_ll) for c in _voronoi(seeds, free_m)]
    preset = {name: i for i, name in enumerate(hosted)}
    for name, i in preset.items():
        cells_ll[i] = union([cells_ll[i], hosted[name]])
    cells_ll = absorb_fragments(cells_ll)
    names = _assign(ts, cells_ll, preset, county, anchors, seat)
    return {t.name: polygonal(cells_ll[names[t.name]]) for t in ts}

