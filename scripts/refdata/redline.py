"""Synthetic ecological protection redline (total 1673 km², 001:L500).

Redline = all nature reserves and forest/wetland parks + irregular "ecologically important"
patches grown by one common scale until the dissolved area matches; then cut into named
features per county by the Voronoi cells of a few cluster centres (so features never overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon
from shapely.geometry.base import BaseGeometry

from .directory import COUNTIES, REDLINE_KM2
from .geo import area_km2, bisect, blob_ll, inter, to_lonlat, union, xy_metric

APPROVED = "2023-09-28"  # plausible date of the provincial redline approval (synthetic)


@dataclass(frozen=True)
class Cluster:
    county: str
    name: str
    function: str
    centre: tuple[float, float]
    weight: float  # relative size of the extra patch grown at the centre


CLUSTERS = [
    Cluster("南江县", "米仓山—光雾山水源涵养生态保护红线", "水源涵养", (106.80, 32.60), 1.15),
    Cluster("南江县", "大小兰沟生物多样性维护生态保护红线", "生物多样性维护", (107.00, 32.44), 0.8),
    Cluster("南江县", "神门水土保持生态保护红线", "水土保持", (106.66, 32.22), 0.9),
    Cluster("通江县", "诺水河—空山生物多样性维护生态保护红线", "生物多样性维护",
            (107.25, 32.36), 1.15),
    Cluster("通江县", "五台山生物多样性维护生态保护红线", "生物多样性维护", (107.55, 32.26), 0.9),
    Cluster("通江县", "大通江上游水源涵养生态保护红线", "水源涵养", (107.42, 32.46), 0.6),
    Cluster("巴州区", "天马山水土保持生态保护红线", "水土保持", (106.735, 31.80), 0.22),
    Cluster("巴州区", "巴州区北部水土流失防治生态保护红线", "水土流失防治", (106.93, 32.00), 0.2),
    Cluster("恩阳区", "章怀山水土保持生态保护红线", "水土保持", (106.56, 31.74), 0.2),
    Cluster("平昌县", "镇龙山水土流失防治生态保护红线", "水土流失防治", (107.45, 31.76), 0.3),
    Cluster("平昌县", "驷马河水土保持生态保护红线", "水土保持", (107.03, 31.68), 0.12),
]

# Extra patches (lon, lat, weight) on northern ridges, where eco-function townships lie.
RIDGES = [
    ("南江县", (106.95, 32.68), 0.55), ("南江县", (106.72, 32.44), 0.5),
    ("通江县", (107.60, 32.40), 0.55), ("通江县", (107.05, 32.38), 0.45),
    ("南江县", (107.05, 32.60), 0.45),
]


def _patches(counties: dict[str, MultiPolygon], clusters: list[Cluster],
             ridges: list) -> list[tuple[BaseGeometry, tuple, float, int]]:
    items = [(counties[c.county], c.centre, c.weight) for c in clusters]
    items += [(counties[cty], at, w) for cty, at, w in ridges]
    return [(region, at, w, 900 + i) for i, (region, at, w) in enumerate(items)]


def build_redline(counties: dict[str, MultiPolygon], base: BaseGeometry,
                  clusters: list[Cluster] | None = None, ridges: list | None = None,
                  target_km2: float = REDLINE_KM2) -> MultiPolygon:
    """Dissolved redline whose geodesic area matches ``target_km2`` (Bazhong: 1673 km²);
    always contains ``base``."""
    patches = _patches(counties, CLUSTERS if clusters is None else clusters,
                       RIDGES if ridges is None else ridges)

    def make(scale: float) -> MultiPolygon:
        blobs = [inter(blob_ll(at[0], at[1], scale * w, seed, angle=1.1), region)
                 for region, at, w, seed in patches]
        return union([base, *blobs])

    scale = bisect(lambda s: area_km2(make(s)), target_km2, 100.0, 20000.0)
    return make(scale)


def _cells(county: str, county_ll: MultiPolygon,
           clusters: list[Cluster]) -> list[tuple[Cluster, MultiPolygon]]:
    cl = [c for c in clusters if c.county == county]
    if len(cl) == 1:
        return [(cl[0], county_ll)]
    pts = np.array([xy_metric(*c.centre) for c in cl])
    env = MultiPoint(pts).envelope.buffer(300000)
    vor = shapely.voronoi_polygons(MultiPoint(pts), extend_to=env, ordered=True)
    return [(c, inter(to_lonlat(v), county_ll)) for c, v in zip(cl, vor.geoms, strict=True)]


def redline_features(redline: MultiPolygon, counties: dict[str, MultiPolygon],
                     clusters: list[Cluster] = CLUSTERS,
                     codes: dict[str, str] = COUNTIES) -> list[dict]:
    """Named redline features: the redline cut by each county's cluster cells."""
    code_of = {v: k for k, v in codes.items()}
    feats = []
    for name in codes.values():
        serial = 0
        for cluster, cell in _cells(name, counties[name], clusters):
            geom = inter(redline, cell)
            if geom.is_empty:
                continue
            serial += 1
            feats.append({"props": {"code": f"HX{code_of[name]}-{serial:03d}",
                                    "name": cluster.name, "county": name,
                                    "function": cluster.function, "approved": APPROVED},
                          "geom": geom})
    return feats


def cluster_cells(counties: dict[str, MultiPolygon], clusters: list[Cluster] = CLUSTERS,
                  codes: dict[str, str] = COUNTIES) -> dict[str, list[MultiPolygon]]:
    """Per-county zoning cells, reused to split the control units."""
    return {name: [cell for _, cell in _cells(name, counties[name], clusters)]
            for name in codes.values()}
