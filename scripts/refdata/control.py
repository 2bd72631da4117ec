"""Environmental control units (三线一单): a partition of each county into
优先保护 / 重点管控 / 一般管控 units, with access-list texts drawing on the plan's wording."""

from __future__ import annotations

from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .directory import COUNTIES
from .geo import area_km2, diff, inter, union

PRIORITY, KEY, GENERAL = "优先保护单元", "重点管控单元", "一般管控单元"
CLASS_DIGIT = {PRIORITY: 1, KEY: 2, GENERAL: 3}
MIN_PIECE_KM2 = 1.0  # smaller pieces join the county's largest unit of the same class

# Industrial parks per county, 001:L1236.
PARKS = {
    "巴州区": "巴中经开区、巴州工业园（清江）、巴中曾口—金堂化工园区、巴州循环经济产业园",
    "恩阳区": "恩阳食品工业园",
    "南江县": "南江东榆工业园",
    "通江县": "通江春在食品医药工业园",
    "平昌县": "平昌石龙门化工园区、驷马清洁能源产业园区、平昌金宝工业园、平昌星光工业园",
}

TEXTS = {
    PRIORITY: {
        "spatial_constraints": (
            "以生态保护红线、自然保护地和饮用水水源保护区为主体，严守生态保护红线“面积不减少、"
            "性质不改变、功能不降低”。自然保护地核心保护区原则上禁止人为活动；其他区域禁止开发性、"
            "生产性建设活动，仅允许对生态功能不造成破坏的有限人为活动和经不可避让论证的国家重大项目。"
            "饮用水水源一级保护区禁止新建、改建、扩建与供水设施和保护水源无关的建设项目，"
            "二级保护区禁止新建、改建、扩建排放污染物的建设项目。{extra}"),
        "emission_controls": (
            "不得新增工业污染源，现有不符合管控要求的排污设施依法限期关闭或搬迁；"
            "旅游及生活服务设施污水须收集处理达标，禁止向水体排放、倾倒工业废渣、城镇垃圾和其他废弃物。"),
        "risk_controls": (
            "禁止新建尾矿库和危险废物贮存、处置设施；加强森林火灾、外来物种入侵和地质灾害风险防控；"
            "水源保护区设置隔离防护和风险源应急防护设施，管控危险化学品运输，定期开展应急演练。"),
        "resource_efficiency": (
            "严格林地、湿地用途管制，加强天然林、公益林保护，停止商业性采伐；保障河湖生态流量，"
            "水电站落实生态流量泄放和监测；规范河道砂石采挖，保持岸线自然形态。"),
    },
    KEY: {
        "spatial_constraints": (
            "城镇化地区和产业集聚区。工业项目原则上进入{parks}等依法设立的园区，"
            "引导园区差异化、集约化发展；禁止在长江干支流岸线一公里范围内新建、扩建化工园区和化工项目；"
            "严格控制在城镇建成区及周边新建大气污染较重的项目。"),
        "emission_controls": (
            "严格执行污染物排放总量控制和行业排放标准，新建项目主要污染物实行等量或倍量替代；"
            "推进砖瓦窑、水泥、商砼、建材等重点行业超低排放改造和VOCs综合治理；补齐城镇污水管网短板，"
            "提高城市污水收集率，园区污水集中处理达标排放，规范入河排污口设置。"),
        "risk_controls": (
            "建立企业、园区、区域三级环境风险防控体系，涉危险化学品企业编制突发环境事件应急预案并储备"
            "应急物资；强化危险废物规范化管理和土壤污染重点监管单位自行监测、隐患排查；"
            "科学选址加油站等设施，防范地下水污染。"),
        "resource_efficiency": (
            "落实用水总量和强度双控，推进工业节水和再生水利用；推进园区循环化改造，"
            "提高一般工业固体废物综合利用率；提高建设用地集约节约利用水平。"),
    },
    GENERAL: {
        "spatial_constraints": (
            "落实生态环境保护基本要求，执行区域产业准入政策；永久基本农田集中区域不得新建可能造成"
            "土壤污染的建设项目；畜禽养殖场选址避开禁养区。"),
        "emission_controls": (
            "加强农业面源污染治理，推进化肥农药减量增效和畜禽粪污资源化利用；"
            "按“3445”模式推进农村生活污水治理，完善农村生活垃圾收运处置体系。"),
        "risk_controls": (
            "加强受污染耕地安全利用和风险管控；排查矿山、尾矿库等环境风险隐患；"
            "加强农村饮用水水源地保护和规范化建设。"),
        "resource_efficiency": (
            "推广节水灌溉，提高农田灌溉水有效利用系数；推进秸秆综合利用和农膜回收；"
            "合理开发利用土地资源，推进土地综合整治。"),
    },
}
ECO_EXTRA = "强化秦巴山区生物多样性保护，重点保护四川黑熊、豹猫和南方红豆杉、银杏等珍稀动植物。"
BAZHONG_EXTRAS = {"南江县": ECO_EXTRA, "通江县": ECO_EXTRA}


def _texts(unit_class: str, county: str, parks: dict[str, str],
           extras: dict[str, str]) -> dict[str, str]:
    return {k: v.format(parks=parks[county], extra=extras.get(county, ""))
            for k, v in TEXTS[unit_class].items()}


def _pieces(geom: MultiPolygon, cells: list[MultiPolygon]) -> list[MultiPolygon]:
    """Split one class area by the county's zoning cells; tiny pieces join the largest."""
    pieces = [p for p in (inter(geom, c) for c in cells) if not p.is_empty]
    if not pieces:
        return []
    areas = [area_km2(p) for p in pieces]
    big = [p for p, a in zip(pieces, areas, strict=True) if a >= MIN_PIECE_KM2]
    small = [p for p, a in zip(pieces, areas, strict=True) if a < MIN_PIECE_KM2]
    if not big:
        return [union(pieces)]
    if small:
        k = max(range(len(big)), key=lambda i: area_km2(big[i]))
        big[k] = union([big[k], *small])
    return big


def build_control_units(counties: dict[str, MultiPolygon], priority: BaseGeometry,
                        urban: dict[str, BaseGeometry],
                        cells: dict[str, list[MultiPolygon]], codes: dict[str, str] = COUNTIES,
                        parks: dict[str, str] = PARKS,
                        extras: dict[str, str] | None = None) -> list[dict]:
    """Partition each county into 优先保护 / 重点管控 / 一般管控 units; ``extras`` adds a
    county-specific sentence to the priority units' spatial constraints."""
    extras = BAZHONG_EXTRAS if extras is None else extras
    code_of = {v: k for k, v in codes.items()}
    feats = []
    for name in codes.values():
        county = counties[name]
        p = inter(priority, county)
        k = diff(inter(urban[name], county), p)
        g = diff(county, union([p, k]))
        for unit_class, geom in ((PRIORITY, p), (KEY, k), (GENERAL, g)):
            for serial, piece in enumerate(_pieces(geom, cells[name]), start=1):
                code = f"ZH{code_of[name]}{CLASS_DIGIT[unit_class]}{serial:04d}"
                feats.append({"props": {"code": code, "name": f"{name}{unit_class}{serial:02d}",
                                        "county": name, "unit_class": unit_class,
                                        **_texts(unit_class, name, parks, extras)},
                              "geom": piece})
    return feats
