"""Names and attributes from the Bazhong plan (plan 001, docs/domain.md) plus approximate locations.

Locations (lon, lat) are approximate and only steer the synthetic geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY = "巴中市"
CITY_AREA_KM2 = 12296.93  # 001:L6
REDLINE_KM2 = 1673.0  # 001:L500

# code -> name; order fixes output order
COUNTIES: dict[str, str] = {
    "511902": "巴州区",
    "511903": "恩阳区",
    "511922": "南江县",
    "511921": "通江县",
    "511923": "平昌县",
}
CODE_OF = {v: k for k, v in COUNTIES.items()}

# 001:L1176
POSITIONING = {
    "巴州区": "国家级城市化地区",
    "恩阳区": "省级城市化地区",
    "南江县": "国家级重点生态功能区",
    "通江县": "国家级重点生态功能区",
    "平昌县": "国家级农产品主产区",
}

SEATS = {
    "巴州区": (106.77, 31.86),
    "恩阳区": (106.64, 31.79),
    "南江县": (106.84, 32.35),
    "通江县": (107.24, 31.91),
    "平昌县": (107.10, 31.56),
}

FARM, ECO, URBAN = "农产品主产区", "重点生态功能区", "城镇化地区"

# Township directory, 001:L1829-L1871; "○" marks 历史文化资源富集区 (all carry ●).
_DIRECTORY = {
    "巴州区": {
        FARM: "平梁镇 大茅坪镇 梁永镇 凤溪镇 大罗镇 大和乡 白庙乡",
        ECO: "",
        URBAN: "回风街道○ 西城街道○ 东城街道○ 江北街道 时新街道 兴文街道 玉堂街道○ 宕梁街道 "
        "奇章街道 光辉镇 三江镇 曾口镇 清江镇 化成镇 天马山镇 水宁寺镇○ 鼎山镇 枣林镇",
    },
    "恩阳区": {
        FARM: "花丛镇 上八庙镇 关公镇 九镇 双胜镇 尹家镇 群乐镇",
        ECO: "",
        URBAN: "登科街道○ 文治街道○ 司城街道○ 明阳镇 兴隆镇○ 柳林镇 玉山镇 渔溪镇 下八庙镇 "
        "雪山镇 茶坝镇",
    },
    "南江县": {
        FARM: "沙河镇 八庙镇 高塔镇 长赤镇 赤溪镇 红光镇 正直镇 石滩镇 下两镇 云顶镇 元潭镇",
        ECO: "光雾山镇 关坝镇 贵民镇 神门乡 桥亭镇 杨坝镇 团结乡 关路镇 兴马镇 关门镇 大河镇 "
        "高桥镇 仁和镇 天池镇 侯家镇 和平镇 双流镇",
        URBAN: "集州街道 公山镇 赶场镇 坪河镇",
    },
    "通江县": {
        FARM: "陈河镇○ 涪阳镇○ 新场镇○ 火炬镇○ 兴隆镇○ 唱歌镇○ 杨柏镇○ 铁佛镇○ 三溪镇○ "
        "麻石镇○ 民胜镇○",
        ECO: "诺水河镇○ 空山镇○ 永安镇○ 长坪镇○ 胜利乡○ 两河口镇○ 板桥口镇○ 青峪镇○ 烟溪镇○ "
        "瓦室镇○ 毛浴镇○ 至诚镇○ 沙溪镇○ 洪口镇○ 松溪乡○ 泥溪镇○ 龙凤场镇○",
        URBAN: "壁州街道○ 诺江镇○ 春在镇○ 广纳镇○ 铁溪镇○",
    },
    "平昌县": {
        FARM: "笔山镇 西兴镇○ 元山镇 涵水镇 岳家镇 邱家镇 龙岗镇○ 土垭镇 佛楼镇○ 大寨镇 青云镇 "
        "兰草镇 澌岸镇 得胜镇○ 灵山镇○ 土兴镇 云台镇 三十二梁镇 板庙镇 泥龙镇 岩口镇 望京镇 "
        "江家口镇",
        ECO: "镇龙镇",
        URBAN: "同州街道○ 江口街道 金宝街道 驷马镇 粉壁镇 响滩镇 白衣镇○",
    },
}


@dataclass(frozen=True)
class Township:
    county: str
    name: str
    zone_type: str
    heritage: bool

    @property
    def unit_type(self) -> str:
        for suffix in ("街道", "乡", "镇"):
            if self.name.endswith(suffix):
                return suffix
        raise ValueError(self.name)


def townships(county: str) -> list[Township]:
    out = []
    for zone, text in _DIRECTORY[county].items():
        for token in text.split():
            name = token.rstrip("○")
            out.append(Township(county, name, zone, token.endswith("○")))
    return out


def township_codes(county: str) -> dict[str, str]:
    """9-digit code: county + 001.. for 街道, 101.. for 镇, 201.. for 乡 (directory order)."""
    base = {"街道": 0, "镇": 100, "乡": 200}
    seen = {"街道": 0, "镇": 0, "乡": 0}
    codes = {}
    for t in townships(county):
        seen[t.unit_type] += 1
        codes[t.name] = f"{CODE_OF[county]}{base[t.unit_type] + seen[t.unit_type]:03d}"
    return codes


# Approximate real locations of townships that must host / be near named features.
ANCHORS = {
    ("南江县", "光雾山镇"): (106.86, 32.63),
    ("南江县", "贵民镇"): (106.98, 32.52),
    ("南江县", "神门乡"): (106.63, 32.18),
    ("巴州区", "天马山镇"): (106.735, 31.805),
    ("通江县", "诺水河镇"): (107.22, 32.42),
    ("通江县", "空山镇"): (107.13, 32.25),
    ("平昌县", "镇龙镇"): (107.45, 31.76),
    ("平昌县", "驷马镇"): (107.04, 31.66),  # refined to the 驷马河 crossing at build time
}


@dataclass(frozen=True)
class ProtectedArea:
    name: str
    counties: tuple[str, ...]
    km2: float
    category: str
    subtype: str
    level: str
    centres: tuple[tuple[float, float], ...]  # one blob per centre
    host: str | None = None  # township that must contain it
    river: str | None = None  # corridor along this river instead of a blob
    stretch: float = 1.0


RESERVE, PARK = "自然保护区", "自然公园"

# 001:L1719-L1828 (pre-plan data of June 2023); placement order matters (earlier wins).
PROTECTED_AREAS = [
    ProtectedArea("四川光雾山自然保护区", ("南江县",), 88.89, RESERVE, "自然保护区", "地方级",
                  ((106.86, 32.64),), host="光雾山镇"),
    ProtectedArea("四川诺水河自然保护区", ("通江县",), 216.46, RESERVE, "自然保护区", "地方级",
                  ((107.27, 32.43),), host="诺水河镇"),
    ProtectedArea("四川诺水河珍稀水生动物国家级自然保护区", ("通江县",), 11.27, RESERVE,
                  "自然保护区", "国家级", ((107.22, 32.40),), river="诺水河"),
    ProtectedArea("四川大小兰沟自然保护区", ("南江县",), 69.54, RESERVE, "自然保护区", "地方级",
                  ((107.03, 32.47),), stretch=1.4),
    ProtectedArea("四川五台山猕猴自然保护区", ("通江县",), 197.71, RESERVE, "自然保护区", "地方级",
                  ((107.52, 32.24),)),
    ProtectedArea("四川米仓山国家级森林公园", ("南江县",), 84.74, PARK, "森林公园", "国家级",
                  ((106.72, 32.60),)),
    ProtectedArea("四川空山国家级森林公园", ("通江县",), 128.84, PARK, "森林公园", "国家级",
                  ((107.13, 32.24),), host="空山镇"),
    ProtectedArea("四川天马山国家级森林公园", ("巴州区",), 16.21, PARK, "森林公园", "国家级",
                  ((106.735, 31.80),), host="天马山镇"),
    ProtectedArea("四川镇龙山国家级森林公园", ("平昌县",), 8.51, PARK, "森林公园", "国家级",
                  ((107.45, 31.76),), host="镇龙镇"),
    ProtectedArea("四川省章怀山森林公园", ("恩阳区",), 5.11, PARK, "森林公园", "地方级",
                  ((106.56, 31.74),)),
    ProtectedArea("四川平昌驷马河国家湿地公园", ("巴州区", "平昌县"), 3.48, PARK, "湿地公园",
                  "国家级", ((107.04, 31.70),), river="驷马河"),
    ProtectedArea("神门风景名胜区", ("南江县",), 277.98, PARK, "风景名胜区", "地方级",
                  ((106.64, 32.17),), stretch=1.3),
    # Spans both counties and overlaps parts of the two reserves, as in reality.
    ProtectedArea("光雾山—诺水河国家级风景名胜区", ("南江县", "通江县"), 451.33, PARK, "风景名胜区",
                  "国家级", ((106.93, 32.58), (107.24, 32.36))),
]
# Only these may overlap each other (scenic area over the two reserves).
OVERLAP_OK = {"光雾山—诺水河国家级风景名胜区": {"四川光雾山自然保护区", "四川诺水河自然保护区"}}
# The plan lists them in this order (001:L1719-L1828); output keeps the plan order.
PLAN_ORDER = [
    "四川诺水河珍稀水生动物国家级自然保护区", "四川大小兰沟自然保护区", "四川诺水河自然保护区",
    "四川五台山猕猴自然保护区", "四川光雾山自然保护区", "四川平昌驷马河国家湿地公园",
    "四川天马山国家级森林公园", "四川镇龙山国家级森林公园", "四川米仓山国家级森林公园",
    "四川空山国家级森林公园", "四川省章怀山森林公园", "光雾山—诺水河国家级风景名胜区",
    "神门风景名胜区",
]


@dataclass(frozen=True)
class River:
    name: str
    alias: str | None
    yangtze_class: str
    points: tuple[tuple[float, float], ...]  # source -> mouth


BASIN = "渠江—嘉陵江—长江"
# Main rivers, 001:L1708 (plus 驷马河, 诺水河 named at 001:L1206 / 001:L1185).
# Courses are plausible sketches through the real county seats, not surveyed lines.
RIVERS = [
    River("巴河", "南江河", "重要支流", (
        (106.83, 32.70), (106.86, 32.58), (106.83, 32.46), (106.845, 32.35), (106.80, 32.20),
        (106.82, 32.05), (106.77, 31.95), (106.77, 31.86), (106.83, 31.76), (106.90, 31.68),
        (107.00, 31.61), (107.10, 31.56), (107.16, 31.46), (107.14, 31.36), (107.20, 31.22))),
    River("通江河", "大通江", "重要支流", (
        (107.40, 32.56), (107.36, 32.40), (107.38, 32.22), (107.30, 32.08), (107.26, 31.98),
        (107.24, 31.91), (107.22, 31.80), (107.18, 31.68), (107.10, 31.56))),
    River("小通江", "小通江河", "支流", (
        (107.02, 32.50), (107.08, 32.40), (107.12, 32.30), (107.14, 32.18), (107.18, 32.04),
        (107.24, 31.91))),
    River("诺水河", None, "支流", (
        (107.40, 32.52), (107.30, 32.47), (107.22, 32.40), (107.16, 32.34), (107.12, 32.30))),
    River("恩阳河", None, "支流", (
        (106.40, 31.90), (106.50, 31.84), (106.64, 31.79), (106.72, 31.76), (106.83, 31.76))),
    River("焦家河", None, "支流", (
        (107.52, 31.66), (107.40, 31.58), (107.28, 31.50), (107.16, 31.46))),
    River("神潭河", None, "支流", (
        (106.56, 32.14), (106.64, 32.10), (106.74, 32.06), (106.82, 32.05))),
    River("澌滩河", None, "支流", (
        (106.91, 31.55), (106.93, 31.45), (106.96, 31.35), (106.97, 31.24))),
    River("月滩河", None, "支流", (
        (107.72, 32.16), (107.58, 32.10), (107.44, 32.07), (107.30, 32.08))),
    River("驷马河", None, "支流", (
        (107.05, 31.86), (107.03, 31.78), (107.04, 31.70), (107.05, 31.64), (107.00, 31.61))),
]


@dataclass(frozen=True)
class WaterSource:
    name: str
    county: str
    water_type: str  # 河流 / 湖库
    at: tuple[float, float]  # intake (on the river) or reservoir centre
    river: str | None = None
    lake_km2: float = 0.0
    note: str = ""


# The plan counts 7 county-level sources plus the 红鱼洞水库 backup (001:L1203, L1404) but does
# not name the 7: these names are plausible placeholders.
WATER_SOURCES = [
    WaterSource("巴中市巴河城区段饮用水水源地", "巴州区", "河流", (106.775, 31.93), river="巴河"),
    WaterSource("巴中市化成水库饮用水水源地", "巴州区", "湖库", (106.92, 31.95), lake_km2=2.2),
    WaterSource("恩阳区恩阳河饮用水水源地", "恩阳区", "河流", (106.56, 31.82), river="恩阳河"),
    WaterSource("恩阳区柳林水库饮用水水源地", "恩阳区", "湖库", (106.55, 31.70), lake_km2=1.1),
    WaterSource("南江县南江河饮用水水源地", "南江县", "河流", (106.84, 32.42), river="巴河"),
    WaterSource("通江县通江河饮用水水源地", "通江县", "河流", (107.28, 32.02), river="通江河"),
    WaterSource("平昌县通江河饮用水水源地", "平昌县", "河流", (107.17, 31.66), river="通江河"),
    WaterSource("南江县红鱼洞水库饮用水水源地", "南江县", "湖库", (106.95, 32.28), lake_km2=3.0,
                note="备用水源，保护区尚待划分（001:L1203）"),
]
