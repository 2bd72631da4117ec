"""Synthetic urban development boundaries (城镇开发边界), one multipolygon per county.

An irregular blob at the county seat plus smaller blobs at the townships hosting the county's
industrial parks (001:L1236), all clipped to the county's 城镇化地区 townships minus the
redline, protected areas and every water-source zone; one common scale per county is found by
bisection so the geodesic area matches a bureau-scale figure (the plan gives none).
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .directory import CODE_OF, COUNTIES, SEATS
from .geo import area_km2, bisect, blob_metric, diff, inter, to_lonlat, union, xy_metric

# Plausible sizes (km²) for cities of this scale; synthetic, not from the plan.
URBAN_KM2 = {"巴州区": 45.0, "恩阳区": 25.0, "南江县": 15.0, "通江县": 15.0, "平昌县": 18.0}
# Townships that host an industrial park (001:L1236) get a satellite blob of this weight.
SATELLITES = {
    "巴州区": (("曾口镇", 0.32), ("清江镇", 0.3)),
    "恩阳区": (),
    "南江县": (),
    "通江县": (("春在镇", 0.35),),
    "平昌县": (("金宝街道", 0.35), ("驷马镇", 0.3)),
}
MIN_PART_KM2 = 0.2  # drop clipping crumbs


def _centres(county: str, townships: dict[str, BaseGeometry]) -> list[tuple[float, float, float]]:
    """(x, y, weight) in metres: the seat, then the park townships' interior points."""
    out = [(*xy_metric(*SEATS[county]), 1.0)]
    for name, weight in SATELLITES[county]:
        p = townships[name].point_on_surface()
        out.append((*xy_metric(p.x, p.y), weight))
    return out


def build_urban_boundary(county: str, region: MultiPolygon, townships: dict[str, BaseGeometry],
                         seed: int) -> MultiPolygon:
    """``region`` = the county's 城镇化地区 townships minus everything the boundary must avoid."""
    centres = _centres(county, townships)
    rngs = [np.random.default_rng(seed + i) for i in range(len(centres))]
    shapes = [(r.uniform(1.0, 1.5), r.uniform(0, np.pi), r.integers(1 << 30)) for r in rngs]

    def make(scale: float) -> MultiPolygon:
        blobs = [to_lonlat(blob_metric(x, y, scale * w, np.random.default_rng(s),
                                       stretch=st, angle=ang))
                 for (x, y, w), (st, ang, s) in zip(centres, shapes, strict=True)]
        clipped = inter(union(blobs), region)
        return MultiPolygon([p for p in clipped.geoms if area_km2(p) >= MIN_PART_KM2])

    scale = bisect(lambda s: area_km2(make(s)), URBAN_KM2[county], 200.0, 8000.0)
    return make(scale)


def urban_features(tw: list[dict], avoid: BaseGeometry, urban_zone: str) -> list[dict]:
    feats = []
    for i, name in enumerate(COUNTIES.values()):
        mine = {f["props"]["name"]: f["geom"] for f in tw if f["props"]["county"] == name}
        urban = [f["geom"] for f in tw
                 if f["props"]["county"] == name and f["props"]["zone_type"] == urban_zone]
        region = diff(union(urban), avoid)
        geom = build_urban_boundary(name, region, mine, seed=4100 + 10 * i)
        feats.append({"props": {"code": f"CZKFBJ{CODE_OF[name]}", "county": name},
                      "geom": geom})
    return feats
