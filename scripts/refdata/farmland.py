"""Synthetic permanent basic farmland (永久基本农田) patches.

Candidate sites are a jittered 1.45 km grid over the city; each site's patch is an irregular,
elongated 12-vertex blob clipped to the site's Voronoi cell shrunk by a margin, so patches can
never overlap. A patch must lie inside its county and clear of the redline, protected areas,
water-source zones and urban development boundaries (with a margin); if not it is shrunk
towards its site, and dropped when that fails. Sites are weighted by the township's main
function (农产品主产区 highest; elsewhere only the southern part of a township, standing in
for the lower land), and patches are taken in weighted random order (Efraimidis-Spirakis)
until the total reaches the target area. The plan gives no farmland figure; the target is of
the order of Bazhong's real 永久基本农田.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

from .directory import CODE_OF, COUNTIES, ECO, FARM, URBAN
from .geo import area_km2, blob_metric, to_lonlat, to_metric, union

FARMLAND_KM2 = 1900.0  # synthetic target, order of the real figure
SPACING_M = 1450.0  # candidate grid
MARGIN_M = 40.0  # gap to the cell edge, the avoided layers and the county border
PATCH_KM2 = (0.05, 1.5)  # kept patch sizes
VERTICES = 12
ZONE_WEIGHT = {FARM: 1.0, URBAN: 0.5, ECO: 0.35}
SEED = 5119


def _sites(city_m: BaseGeometry, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = city_m.bounds
    xs = np.arange(x0, x1 + SPACING_M, SPACING_M)
    ys = np.arange(y0, y1 + SPACING_M, SPACING_M)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts += rng.uniform(-0.35, 0.35, pts.shape) * SPACING_M
    shapely.prepare(city_m)
    return pts[shapely.contains_xy(city_m, pts[:, 0], pts[:, 1])]


def _weights(pts: np.ndarray, tw_m: list[tuple[dict, BaseGeometry]]) -> tuple[np.ndarray, list]:
    """Site weight and county; outside 农产品主产区 townships the weight falls from the
    township's southern edge to zero at its middle latitude."""
    w = np.zeros(len(pts))
    county: list[str | None] = [None] * len(pts)
    _, ymin_city, _, ymax_city = union(g for _, g in tw_m).bounds
    for props, g in tw_m:
        shapely.prepare(g)
        inside = np.flatnonzero(shapely.contains_xy(g, pts[:, 0], pts[:, 1]))
        if inside.size == 0:
            continue
        y = pts[inside, 1]
        if props["zone_type"] == FARM:  # mild city-wide north-south gradient
            f = 1.0 - 0.6 * (y - ymin_city) / (ymax_city - ymin_city)
        else:
            _, y0, _, y1 = g.bounds
            f = np.clip(1.0 - 2.0 * (y - y0) / (y1 - y0), 0.0, 1.0)
        w[inside] = ZONE_WEIGHT[props["zone_type"]] * f
        for i in inside:
            county[i] = props["county"]
    return w, county


def _patch(site: np.ndarray, cell: Polygon, allowed: BaseGeometry,
           rng: np.random.Generator) -> Polygon | None:
    target = PATCH_KM2[0] + 1.38 * rng.beta(2.6, 1.3)  # km², ~1 on average
    blob = blob_metric(0.0, 0.0, 1.0, rng, n=VERTICES, stretch=rng.uniform(1.1, 2.0),
                       angle=rng.uniform(0, np.pi))
    k = (target * 1e6 / blob.area) ** 0.5
    blob = affinity.affine_transform(blob, [k, 0, 0, k, site[0], site[1]])
    shape = blob.intersection(cell.buffer(-MARGIN_M, join_style="mitre"))
    if shape.is_empty or shape.geom_type != "Polygon":
        return None
    for factor in (1.0, 0.75, 0.55):
        p = affinity.scale(shape, factor, factor, origin=(site[0], site[1]))
        if allowed.contains(p):
            return p
    return None


def build_farmland(counties: dict[str, BaseGeometry], tw: list[dict],
                   avoid: BaseGeometry) -> list[dict]:
    """``avoid`` = redline ∪ protected areas ∪ water-source zones ∪ urban boundaries."""
    rng = np.random.default_rng(SEED)
    city_m = to_metric(union(counties.values()))
    tw_m = [(f["props"], to_metric(f["geom"])) for f in tw]
    pts = _sites(city_m, rng)
    w, county_of = _weights(pts, tw_m)
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=city_m.envelope.buffer(1e4),
                                     ordered=True).geoms
    avoid_m = to_metric(avoid).buffer(MARGIN_M)
    allowed = {n: to_metric(g).buffer(-MARGIN_M).difference(avoid_m)
               for n, g in counties.items()}
    for g in allowed.values():
        shapely.prepare(g)
    # weighted order without replacement: key u^(1/w), largest first
    keys = rng.uniform(size=len(pts)) ** (1.0 / np.maximum(w, 1e-9))
    keys[w <= 0] = -1.0
    patch_rngs = [np.random.default_rng(SEED + 1 + i) for i in range(len(pts))]
    chosen: list[tuple[str, Polygon, float]] = []
    total = 0.0
    for i in np.argsort(-keys, kind="stable"):
        if total >= FARMLAND_KM2 or keys[i] < 0:
            break
        name = county_of[i]
        p = _patch(pts[i], cells[i], allowed[name], patch_rngs[i])
        if p is None:
            continue
        p_ll = to_lonlat(p)
        if not p_ll.is_valid or p_ll.geom_type != "Polygon":
            continue
        a = area_km2(p_ll)
        if not PATCH_KM2[0] <= a <= PATCH_KM2[1]:
            continue
        chosen.append((name, p_ll, a))
        total += a
    return _features(chosen)


def _features(chosen: list[tuple[str, Polygon, float]]) -> list[dict]:
    """Codes JBNT + county code + serial, numbered north to south, then west to east."""
    feats = []
    for name in COUNTIES.values():
        mine = [p for n, p, _ in chosen if n == name]
        mine.sort(key=lambda p: (-round(p.centroid.y, 3), p.centroid.x))
        for serial, p in enumerate(mine, start=1):
            feats.append({"props": {"code": f"JBNT{CODE_OF[name]}-{serial:04d}",
                                    "county": name}, "geom": p})
    return feats
