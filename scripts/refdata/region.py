"""Generic builder for the added reference regions (达州市, 巫山县).

A region is a table (``RegionSpec``) of counties, township directory, protected areas, rivers,
water sources and redline clusters; the geometry comes from the shared builders (townships,
protected, redline, rivers, water, control). Only the county boundaries are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from shapely.geometry.base import BaseGeometry

from .control import build_control_units
from .counties import load_counties
from .directory import ECO, FARM, URBAN, ProtectedArea, River, Township, WaterSource
from .geo import area_km2, diff, union
from .output import write_geojson
from .protected import build_protected_areas
from .redline import Cluster, build_redline, cluster_cells, redline_features
from .rivers import build_rivers, river_features
from .townships import build_county_townships
from .water import build_water_sources

GEOMETRY = {"river": "MultiLineString"}
UNIT_BASE = {"街道": 0, "镇": 100, "乡": 200}  # 9-digit code serial blocks, as for Bazhong


@dataclass(frozen=True)
class RegionSpec:
    """Everything region-specific the shared builders need, plus provenance texts."""

    key: str  # output directory under layers/data/
    code: str  # region code (GB/T 2260)
    level: str  # city | county
    name: str
    city: str  # ``city`` attribute of the counties
    city_code: str
    province: str
    province_code: str
    counties: dict[str, str]  # code -> name, output order
    positioning: dict[str, str]  # county -> 县级主体功能定位
    seats: dict[str, tuple[float, float]]
    directory: dict[str, list[Township]]  # county -> townships, code order
    anchors: dict[tuple[str, str], tuple[float, float]]
    protected_areas: list[ProtectedArea]
    rivers: list[River]
    basin: str
    water_sources: list[WaterSource]
    clusters: list[Cluster]
    ridges: list[tuple[str, tuple[float, float], float]]
    redline_km2: float
    parks: dict[str, str]
    extras: dict[str, str]
    notes: dict[str, str]  # layer -> manifest note
    notes_zh: dict[str, str]  # layer -> the same note in Chinese (the version note)
    readme: str  # README.md text; {table} is replaced by the measurements
    seed: int
    overlap_ok: dict[str, set[str]] = field(default_factory=dict)


def township_codes(county_code: str, ts: list[Township]) -> dict[str, str]:
    """9-digit code: county + 001.. for 街道, 101.. for 镇, 201.. for 乡 (directory order)."""
    seen = dict.fromkeys(UNIT_BASE, 0)
    codes = {}
    for t in ts:
        seen[t.unit_type] += 1
        codes[t.name] = f"{county_code}{UNIT_BASE[t.unit_type] + seen[t.unit_type]:03d}"
    return codes


def _townships(spec: RegionSpec, counties: dict, pas: dict) -> list[dict]:
    hosts: dict[str, dict] = {}
    for pa in spec.protected_areas:
        if pa.host:
            hosts.setdefault(pa.counties[0], {})[pa.host] = pas[pa.name]
    feats = []
    for i, (ccode, name) in enumerate(spec.counties.items()):
        ts = spec.directory[name]
        polys = build_county_townships(name, counties[name], hosts.get(name, {}),
                                       seed=spec.seed + i, anchors=spec.anchors, ts=ts,
                                       seat=spec.seats[name])
        codes = township_codes(ccode, ts)
        for t in ts:
            feats.append({"props": {
                "code": codes[t.name], "name": t.name, "county": name, "unit_type": t.unit_type,
                "zone_type": t.zone_type, "county_positioning": spec.positioning[name],
                "county_code": ccode}, "geom": polys[t.name]})
    feats.sort(key=lambda f: f["props"]["code"])
    return feats


def _protected(spec: RegionSpec, pas: dict) -> list[dict]:
    return [{"props": {"name": pa.name, "counties": "、".join(pa.counties),
                       "category": pa.category, "subtype": pa.subtype, "level": pa.level,
                       "zone": None, "official_area_km2": None},
             "geom": pas[pa.name]} for pa in spec.protected_areas]


def build_layers(spec: RegionSpec) -> tuple[dict[str, list[dict]], BaseGeometry, dict]:
    """All vector layers of the region, the region polygon and the county check numbers."""
    counties, region, checks = load_counties(spec.counties, spec.code)
    rivers_m = build_rivers(spec.rivers)
    pas = build_protected_areas(counties, rivers_m, None, spec.protected_areas, spec.overlap_ok)
    tw = _townships(spec, counties, pas)
    base = union(g for n, g in pas.items() if "风景名胜区" not in n)
    redline = build_redline(counties, base, spec.clusters, spec.ridges, spec.redline_km2)
    rl = redline_features(redline, counties, spec.clusters, spec.counties)
    ws = build_water_sources(counties, rivers_m, spec.water_sources)
    ws12 = union(f["geom"] for f in ws if f["props"]["grade"] in ("一级", "二级"))
    priority = union([redline, union(pas.values()), ws12])
    urban = {n: union(f["geom"] for f in tw if f["props"]["county"] == n
                      and f["props"]["zone_type"] == URBAN) for n in spec.counties.values()}
    cu = build_control_units(counties, priority, urban,
                             cluster_cells(counties, spec.clusters, spec.counties),
                             spec.counties, spec.parks, spec.extras)
    layers = {
        "admin_county": [{"props": {"code": c, "name": n, "city": spec.city,
                                    "city_code": spec.city_code, "province": spec.province,
                                    "province_code": spec.province_code},
                          "geom": counties[n]} for c, n in spec.counties.items()],
        "township": tw,
        "protected_area": _protected(spec, pas),
        "redline": rl,
        "water_source": ws,
        "control_unit": cu,
        "river": river_features(rivers_m, region, spec.rivers, spec.basin),
    }
    checks["redline_km2"] = area_km2(redline)
    checks["eco_km2"] = area_km2(union(f["geom"] for f in tw if f["props"]["zone_type"] == ECO))
    checks["township_gap_km2"] = area_km2(diff(region, union(f["geom"] for f in tw)))
    checks["pa_km2"] = {pa.name: area_km2(pas[pa.name]) for pa in spec.protected_areas}
    checks["county_km2"] = {n: area_km2(counties[n]) for n in spec.counties.values()}
    return layers, region, checks


def write_manifest(spec: RegionSpec, path: Path, layers: dict[str, list[dict]]) -> None:
    """Same format as Bazhong's manifest, plus the region keys."""
    doc = {"city": spec.city, "city_code": spec.city_code, "region_code": spec.code,
           "region_level": spec.level, "region_name": spec.name, "province": spec.province,
           "province_code": spec.province_code, "crs": "EPSG:4490", "layers": {}}
    for layer, feats in layers.items():
        doc["layers"][layer] = {
            "file": f"{layer}.geojson", "crs": "EPSG:4490",
            "geometry": GEOMETRY.get(layer, "MultiPolygon"),
            "source": "real" if layer == "admin_county" else "synthetic",
            "features": len(feats), "note": spec.notes[layer],
            "note_zh": spec.notes_zh[layer]}
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    path.write_text("# Generated by scripts/build_reference_data.py - do not edit.\n" + text,
                    encoding="utf-8")


def _table(layers: dict[str, list[dict]], checks: dict) -> str:
    rows = ["| county | area km² (GRS80 geodesic) | townships |", "|---|---:|---:|"]
    for name, km2 in checks["county_km2"].items():
        n = sum(1 for f in layers["township"] if f["props"]["county"] == name)
        rows.append(f"| {name} | {km2:.2f} | {n} |")
    rows.append(f"| **total** | **{checks['city_km2']:.2f}** | **{len(layers['township'])}** |")
    rows += ["", "| protected area | built km² (synthetic) |", "|---|---:|"]
    rows += [f"| {n} | {a:.2f} |" for n, a in checks["pa_km2"].items()]
    rows += ["", f"Redline (dissolved): {checks['redline_km2']:.2f} km² (synthetic target). "
             f"Union of counties vs the source's own {checks['code']} boundary: symmetric "
             f"difference {checks['city_vs_511900_symdiff_km2']:.4f} km²."]
    return "\n".join(rows)


def build(spec: RegionSpec, out: Path) -> None:
    """Write the region's GeoJSON layers, manifest.yaml and README.md into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    layers, _, checks = build_layers(spec)
    checks["code"] = spec.code
    for layer, feats in layers.items():
        write_geojson(out / f"{layer}.geojson", feats)
    write_manifest(spec, out / "manifest.yaml", layers)
    (out / "README.md").write_text(spec.readme.replace("{table}", _table(layers, checks)),
                                   encoding="utf-8")
    print(f"{spec.name}: {checks['city_km2']:.2f} km2, redline {checks['redline_km2']:.2f} km2, "
          f"township gap {checks['township_gap_km2']:.6f} km2, "
          f"{sum(len(v) for v in layers.values())} features")


def synthetic_directory(county: str, counts: tuple[int, int, int], urban: int,
                        eco: int) -> list[Township]:
    """Clearly synthetic township names (``<county>合成01镇``): all 街道 and the first ``urban``
    towns are 城镇化地区, the next ``eco`` towns/乡 重点生态功能区, the rest 农产品主产区."""
    out: list[Township] = []
    for unit, n in zip(("街道", "镇", "乡"), counts, strict=True):
        for i in range(1, n + 1):
            out.append(Township(county, f"{county}合成{i:02d}{unit}", URBAN, False))
    rest = out[counts[0]:]
    zones = [URBAN] * urban + [ECO] * eco + [FARM] * (len(rest) - urban - eco)
    return out[:counts[0]] + [Township(county, t.name, z, False)
                              for t, z in zip(rest, zones, strict=True)]
