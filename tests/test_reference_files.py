"""File-level checks of the Bazhong reference dataset (layers/data/bazhong), no database.

Areas are measured here independently of the builder: ring by ring with pyproj.Geod (GRS80).
Raster statistics are computed independently too: vectors reprojected with geopandas, zones
rasterized with rasterio, counted with numpy.bincount.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from pyproj import Geod
from rasterio import features
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "layers" / "data" / "bazhong"
LAYERS = [
    "admin_county",
    "township",
    "protected_area",
    "redline",
    "water_source",
    "control_unit",
    "river",
    "urban_boundary",
    "farmland",
]
GEOD = Geod(ellps="GRS80")

CITY_KM2 = 12296.93  # 001:L6
REDLINE_KM2 = 1673.0  # 001:L500
# docs/domain.md §3 township directory: county -> (农产品主产区, 重点生态功能区, 城镇化地区)
ZONE_COUNTS = {
    "巴州区": (7, 0, 18),
    "恩阳区": (7, 0, 11),
    "南江县": (11, 17, 4),
    "通江县": (11, 17, 5),
    "平昌县": (23, 1, 7),
}
COUNTY_CODES = {
    "巴州区": "511902",
    "恩阳区": "511903",
    "南江县": "511922",
    "通江县": "511921",
    "平昌县": "511923",
}
# docs/domain.md §3 protected-area table (001:L1719-L1828)
PA_TABLE = {
    "四川诺水河珍稀水生动物国家级自然保护区": ("通江县", 11.27, "自然保护区", "国家级"),
    "四川大小兰沟自然保护区": ("南江县", 69.54, "自然保护区", "地方级"),
    "四川诺水河自然保护区": ("通江县", 216.46, "自然保护区", "地方级"),
    "四川五台山猕猴自然保护区": ("通江县", 197.71, "自然保护区", "地方级"),
    "四川光雾山自然保护区": ("南江县", 88.89, "自然保护区", "地方级"),
    "四川平昌驷马河国家湿地公园": ("巴州区、平昌县", 3.48, "自然公园", "国家级"),
    "四川天马山国家级森林公园": ("巴州区", 16.21, "自然公园", "国家级"),
    "四川镇龙山国家级森林公园": ("平昌县", 8.51, "自然公园", "国家级"),
    "四川米仓山国家级森林公园": ("南江县", 84.74, "自然公园", "国家级"),
    "四川空山国家级森林公园": ("通江县", 128.84, "自然公园", "国家级"),
    "四川省章怀山森林公园": ("恩阳区", 5.11, "自然公园", "地方级"),
    "光雾山—诺水河国家级风景名胜区": ("南江县、通江县", 451.33, "自然公园", "国家级"),
    "神门风景名胜区": ("南江县", 277.98, "自然公园", "地方级"),
}
PA_SUM_KM2 = 1560.07  # 001:L1183
# synthetic urban boundaries: bureau-scale sizes (km²) and county seats (lon, lat)
URBAN_KM2 = {"巴州区": 45.0, "恩阳区": 25.0, "南江县": 15.0, "通江县": 15.0, "平昌县": 18.0}
SEATS = {
    "巴州区": (106.77, 31.86),
    "恩阳区": (106.64, 31.79),
    "南江县": (106.84, 32.35),
    "通江县": (107.24, 31.91),
    "平昌县": (107.10, 31.56),
}
FARMLAND_KM2 = (1500.0, 2500.0)  # order of Bazhong's real 永久基本农田 (synthetic here)
PATCH_KM2 = (0.05, 1.5)
HOSTS = {  # protected area -> (county, township that must hold most of it)
    "四川光雾山自然保护区": ("南江县", "光雾山镇"),
    "四川天马山国家级森林公园": ("巴州区", "天马山镇"),
    "四川镇龙山国家级森林公园": ("平昌县", "镇龙镇"),
    "四川空山国家级森林公园": ("通江县", "空山镇"),
    "四川诺水河自然保护区": ("通江县", "诺水河镇"),
}


# ---------------------------------------------------------------- helpers


def _ring_km2(coords) -> float:
    if len(coords) < 4:
        return 0.0
    lons, lats = zip(*coords, strict=True)
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0]) / 1e6


def km2(geom: BaseGeometry) -> float:
    """Geodesic area: outer rings minus holes, whatever their orientation."""
    total = 0.0
    for p in shapely.get_parts(geom):
        if isinstance(p, Polygon):
            total += _ring_km2(p.exterior.coords)
            total -= sum(_ring_km2(r.coords) for r in p.interiors)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            total += km2(p)  # lines and points have no area
    return total


@cache
def raw(layer: str) -> dict:
    return json.loads((DATA / f"{layer}.geojson").read_text(encoding="utf-8"))


@cache
def feats(layer: str) -> tuple[tuple[dict, BaseGeometry], ...]:
    return tuple((f["properties"], shape(f["geometry"])) for f in raw(layer)["features"])


@cache
def counties() -> dict[str, BaseGeometry]:
    return {p["name"]: g for p, g in feats("admin_county")}


@cache
def city() -> BaseGeometry:
    return shapely.union_all(list(counties().values()))


def union(geoms) -> BaseGeometry:
    return shapely.union_all(list(geoms))


def township(county: str, name: str) -> BaseGeometry:
    return next(g for p, g in feats("township") if p["county"] == county and p["name"] == name)


def assert_partition(parts: list[BaseGeometry], whole: BaseGeometry, label: str) -> None:
    u = union(parts)
    overlap = sum(km2(p) for p in parts) - km2(u)
    gap = km2(shapely.symmetric_difference(u, whole))
    assert abs(overlap) < 0.01, f"{label}: parts overlap by {overlap:.4f} km2"
    assert gap < 0.01, f"{label}: union differs from whole by {gap:.4f} km2"


# ---------------------------------------------------------------- files and catalog


def test_files_and_manifest() -> None:
    manifest = yaml.safe_load((DATA / "manifest.yaml").read_text(encoding="utf-8"))
    for layer in LAYERS:
        entry = manifest["layers"][layer]
        assert entry["file"] == f"{layer}.geojson"
        assert entry["crs"] == "EPSG:4490"
        assert entry["note"]
        assert (DATA / entry["file"]).is_file()
    assert (DATA / "README.md").is_file()
    total = sum(p.stat().st_size for p in DATA.iterdir())
    assert total < 5_000_000, total


@pytest.mark.parametrize("layer", LAYERS)
def test_attributes_match_catalog(layer: str) -> None:
    catalog = yaml.safe_load((ROOT / "layers" / f"{layer}.yaml").read_text(encoding="utf-8"))
    spec = {a["name"]: a for a in catalog["attributes"]}
    for props, _ in feats(layer):
        assert set(props) <= set(spec), set(props) - set(spec)
        for name, a in spec.items():
            value = props.get(name)
            if value is None:
                assert not a.get("required"), f"{layer}.{name} missing in {props}"
                continue
            kind = a["type"]
            if kind == "string":
                assert isinstance(value, str)
            elif kind == "number":
                assert isinstance(value, int | float) and not isinstance(value, bool)
            elif kind == "boolean":
                assert isinstance(value, bool)
            elif kind == "date":
                assert date.fromisoformat(value).isoformat() == value
            if "allowed" in a:
                assert value in a["allowed"], f"{layer}.{name}={value!r}"
            if "pattern" in a:
                assert re.fullmatch(a["pattern"], value), f"{layer}.{name}={value!r}"


@pytest.mark.parametrize("layer", LAYERS)
def test_geometry_valid_lonlat_rounded(layer: str) -> None:
    for props, g in feats(layer):
        assert not g.is_empty and g.is_valid, props
        x0, y0, x1, y1 = g.bounds  # lon, lat order inside Bazhong
        assert x0 > 106.3 and x1 < 107.8 and y0 > 31.2 and y1 < 32.8, (props, g.bounds)
    text = (DATA / f"{layer}.geojson").read_text(encoding="utf-8")
    assert not re.search(r"\d\.\d{8,}", text), "coordinates must be rounded to 7 decimals"


# ---------------------------------------------------------------- counties / city


def test_city_area_and_counties() -> None:
    assert set(counties()) == set(COUNTY_CODES)
    for p, _ in feats("admin_county"):
        assert p["code"] == COUNTY_CODES[p["name"]] and p["city"] == "巴中市"
    area = km2(city())
    print(f"city area {area:.2f} km2")
    assert abs(area / CITY_KM2 - 1) < 0.002, area
    assert_partition(list(counties().values()), city(), "counties")


# ---------------------------------------------------------------- townships


def test_township_counts() -> None:
    tw = [p for p, _ in feats("township")]
    assert len(tw) == 139
    zone = Counter(p["zone_type"] for p in tw)
    assert zone == {"农产品主产区": 59, "重点生态功能区": 35, "城镇化地区": 45}
    per_county = Counter(p["county"] for p in tw)
    assert per_county == {"巴州区": 25, "恩阳区": 18, "南江县": 32, "通江县": 33, "平昌县": 31}
    for county, (farm, eco, urban) in ZONE_COUNTS.items():
        c = Counter(p["zone_type"] for p in tw if p["county"] == county)
        assert (c["农产品主产区"], c["重点生态功能区"], c["城镇化地区"]) == (farm, eco, urban)
    assert sum(p["overlay_heritage"] for p in tw) == 49
    assert all(p["overlay_energy"] is True for p in tw)
    units = Counter(p["unit_type"] for p in tw)
    assert units["镇"] + units["乡"] == 122 and units["街道"] == 17  # 001:L527
    assert all(p["name"].endswith(p["unit_type"]) for p in tw)
    assert all(p["code"].startswith(COUNTY_CODES[p["county"]]) for p in tw)
    assert len({p["code"] for p in tw}) == 139
    assert len({(p["county"], p["name"]) for p in tw}) == 139
    assert {p["county"] for p in tw if p["name"] == "兴隆镇"} == {"恩阳区", "通江县"}
    assert all(p["county"] == "通江县" for p in tw if p["name"] in ("诺水河镇", "空山镇"))


@pytest.mark.parametrize("county", list(COUNTY_CODES))
def test_townships_partition_county(county: str) -> None:
    parts = [g for p, g in feats("township") if p["county"] == county]
    assert_partition(parts, counties()[county], county)
    assert min(km2(g) for g in parts) > 10  # no slivers


# ---------------------------------------------------------------- protected areas


def test_protected_areas() -> None:
    pa = feats("protected_area")
    assert {p["name"] for p, _ in pa} == set(PA_TABLE)
    total = 0.0
    for p, g in pa:
        cty, area, category, level = PA_TABLE[p["name"]]
        assert (p["counties"], p["category"], p["level"]) == (cty, category, level)
        assert p["official_area_km2"] == area
        measured = km2(g)
        total += measured
        assert abs(measured / area - 1) < 0.005, (p["name"], measured, area)
        allowed = union(counties()[c] for c in cty.split("、"))
        assert km2(shapely.difference(g, allowed)) < 0.01, p["name"]
    dissolved = km2(union(g for _, g in pa))
    print(f"protected areas: sum {total:.2f} km2, dissolved union {dissolved:.2f} km2")
    assert abs(total / PA_SUM_KM2 - 1) < 0.005
    assert dissolved < total - 1  # the scenic area overlaps the reserves


def test_protected_area_places() -> None:
    pa = {p["name"]: g for p, g in feats("protected_area")}
    for name, (county, host) in HOSTS.items():
        share = km2(shapely.intersection(pa[name], township(county, host))) / km2(pa[name])
        assert share > 0.5, (name, host, share)
    scenic = pa["光雾山—诺水河国家级风景名胜区"]
    for county in ("南江县", "通江县"):
        assert km2(shapely.intersection(scenic, counties()[county])) > 50
    for reserve in ("四川光雾山自然保护区", "四川诺水河自然保护区"):
        assert km2(shapely.intersection(scenic, pa[reserve])) > 1
    wetland = pa["四川平昌驷马河国家湿地公园"]
    for county in ("巴州区", "平昌县"):
        assert km2(shapely.intersection(wetland, counties()[county])) > 0.1


# ---------------------------------------------------------------- redline


def test_redline() -> None:
    rl = feats("redline")
    geoms = [g for _, g in rl]
    u = union(geoms)
    area = km2(u)
    overlap = sum(km2(g) for g in geoms) - area
    eco = union(g for p, g in feats("township") if p["zone_type"] == "重点生态功能区")
    share = km2(shapely.intersection(u, eco)) / area
    print(f"redline {area:.2f} km2, overlap {overlap:.5f}, share in eco townships {share:.3f}")
    assert abs(area / REDLINE_KM2 - 1) < 0.01
    assert abs(overlap) < 0.01
    assert share > 0.6
    reserves = union(g for p, g in feats("protected_area") if p["category"] == "自然保护区")
    assert km2(shapely.difference(reserves, u)) < 0.1
    for p, g in rl:
        assert km2(shapely.difference(g, counties()[p["county"]])) < 0.01, p["code"]
        assert p["code"].startswith(f"HX{COUNTY_CODES[p['county']]}-")
        assert p["approved"].startswith("2023-")
    assert len({p["code"] for p, _ in rl}) == len(rl)
    assert {p["county"] for p, _ in rl} == set(COUNTY_CODES)


# ---------------------------------------------------------------- water sources


def test_water_sources() -> None:
    ws = feats("water_source")
    by_source: dict[str, dict[str, BaseGeometry]] = {}
    for p, g in ws:
        by_source.setdefault(p["source_name"], {})[p["grade"]] = g
        assert p["level"] == "县级及以上"
        assert km2(shapely.difference(g, counties()[p["county"]])) < 0.01
    assert len(by_source) >= 7
    assert any("红鱼洞水库" in n for n in by_source)
    for name, zones in by_source.items():
        assert set(zones) == {"一级", "二级", "准保护区"}, name
        one, two, quasi = zones["一级"], zones["二级"], zones["准保护区"]
        for a, b in ((one, two), (one, quasi), (two, quasi)):
            assert km2(shapely.intersection(a, b)) < 1e-4, name
        # rings: the 二级 zone wraps the 一级 zone
        assert one.distance(two) < 1e-6 and two.distance(quasi) < 1e-6, name


# ---------------------------------------------------------------- control units


def test_control_units_partition_city() -> None:
    cu = feats("control_unit")
    assert_partition([g for _, g in cu], city(), "control units")
    digit = {"优先保护单元": "1", "重点管控单元": "2", "一般管控单元": "3"}
    for p, g in cu:
        assert p["code"][2:8] == COUNTY_CODES[p["county"]]
        assert p["code"][8] == digit[p["unit_class"]]
        assert p["name"].startswith(p["county"] + p["unit_class"])
        for text in (
            "spatial_constraints",
            "emission_controls",
            "risk_controls",
            "resource_efficiency",
        ):
            assert len(p[text]) > 20
        assert km2(shapely.difference(g, counties()[p["county"]])) < 0.01
    assert len({p["code"] for p, _ in cu}) == len(cu)
    # redline and nature reserves fall in priority units
    priority = union(g for p, g in cu if p["unit_class"] == "优先保护单元")
    redline = union(g for _, g in feats("redline"))
    assert km2(shapely.difference(redline, priority)) < 0.1


# ---------------------------------------------------------------- rivers


def test_rivers() -> None:
    rv = feats("river")
    names = {p["name"] for p, _ in rv}
    assert {"巴河", "恩阳河", "焦家河", "神潭河", "通江河", "小通江", "澌滩河", "月滩河"} <= names
    area = city().buffer(1e-6)
    for p, g in rv:
        assert g.geom_type in ("LineString", "MultiLineString")
        assert area.contains(g), p["name"]
        assert len(shapely.get_coordinates(g)) > 20, p["name"]  # not straight segments
        expected = "重要支流" if p["name"] in ("巴河", "通江河") else "支流"
        assert p["yangtze_class"] == expected
        assert p["basin"] == "渠江—嘉陵江—长江"


# ---------------------------------------------------------------- urban boundary / farmland


@cache
def avoided() -> BaseGeometry:
    """Redline, protected areas and water-source zones (all grades)."""
    layers = ("redline", "protected_area", "water_source")
    return union(g for layer in layers for _, g in feats(layer))


def zone_union(zone_type: str, county: str | None = None) -> BaseGeometry:
    return union(
        g
        for p, g in feats("township")
        if p["zone_type"] == zone_type and county in (None, p["county"])
    )


def test_urban_boundary() -> None:
    ub = feats("urban_boundary")
    assert sorted(p["county"] for p, _ in ub) == sorted(COUNTY_CODES)
    assert len({p["code"] for p, _ in ub}) == len(ub)
    total = 0.0
    for p, g in ub:
        county = p["county"]
        assert p["code"] == f"CZKFBJ{COUNTY_CODES[county]}"
        area = km2(g)
        total += area
        assert abs(area / URBAN_KM2[county] - 1) < 0.2, (county, area)
        assert km2(shapely.difference(g, city())) < 0.01, county
        assert km2(shapely.difference(g, counties()[county])) < 0.01, county
        share = km2(shapely.intersection(g, zone_union("城镇化地区", county))) / area
        assert share > 0.95, (county, share)
        overlap = km2(shapely.intersection(g, avoided()))
        assert overlap < 0.01, (county, overlap)
        assert g.distance(shapely.Point(SEATS[county])) < 0.01, county  # around the seat
        # irregular, not a circle: Polsby-Popper compactness of the largest part below 0.95
        main = max(shapely.get_parts(g), key=lambda q: q.area)
        perimeter = GEOD.geometry_length(main.exterior) / 1000
        assert 4 * 3.141592653589793 * km2(main) / perimeter**2 < 0.95, county
    urban_townships = km2(zone_union("城镇化地区"))
    print(f"urban boundary {total:.2f} km2 vs 城镇化地区 townships {urban_townships:.2f} km2")
    assert 95 < total < 145
    assert total < 0.1 * urban_townships


def test_farmland() -> None:
    fl = feats("farmland")
    geoms = [g for _, g in fl]
    assert 300 <= len(fl) <= 3000, len(fl)
    assert len({p["code"] for p, _ in fl}) == len(fl)
    for p, g in fl:
        assert re.fullmatch(rf"JBNT{COUNTY_CODES[p['county']]}-\d{{4}}", p["code"]), p
        assert PATCH_KM2[0] <= km2(g) <= PATCH_KM2[1], (p["code"], km2(g))
        assert 4 <= len(shapely.get_coordinates(g)) <= 26, p["code"]  # simple shapes
        assert km2(shapely.difference(g, counties()[p["county"]])) < 0.001, p["code"]
    # no two patches even touch
    tree = shapely.STRtree(geoms)
    pairs = tree.query(geoms, predicate="intersects")
    clashes = [(fl[i][0]["code"], fl[j][0]["code"]) for i, j in pairs.T if i < j]
    assert not clashes, clashes[:5]
    u = union(geoms)
    total = km2(u)
    assert abs(sum(km2(g) for g in geoms) - total) < 0.01
    assert km2(shapely.difference(u, city())) < 0.01
    overlap = km2(shapely.intersection(u, avoided()))
    urban = union(g for _, g in feats("urban_boundary"))
    overlap_urban = km2(shapely.intersection(u, urban))
    farm_share = km2(shapely.intersection(u, zone_union("农产品主产区"))) / total
    print(
        f"farmland {len(fl)} patches, {total:.2f} km2, {farm_share:.1%} in 农产品主产区, "
        f"overlap redline/PA/water {overlap:.6f} km2, urban {overlap_urban:.6f} km2"
    )
    assert FARMLAND_KM2[0] <= total <= FARMLAND_KM2[1], total
    assert overlap < 0.01
    assert overlap_urban < 0.01
    assert farm_share > 0.6
    assert {p["county"] for p, _ in fl} == set(COUNTY_CODES)
    assert (DATA / "farmland.geojson").stat().st_size < 1_500_000


# ---------------------------------------------------------------- rasters (synthetic)

RASTERS = ["landcover", "eco_importance"]
RASTER_CRS = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
FOREST_COVER = 63.18  # 森林覆盖率, %, 001:L11
FOREST, CROP, BUILT = 1, 2, 5  # landcover classes
EXTREME = 1  # eco_importance: 极重要
ZONE_TYPES = ("重点生态功能区", "农产品主产区", "城镇化地区")


@cache
def raster_catalog(name: str) -> dict:
    return yaml.safe_load((ROOT / "layers" / "rasters" / f"{name}.yaml").read_text("utf-8"))


@cache
def raster(name: str) -> tuple[np.ndarray, dict]:
    with rasterio.open(DATA / f"{name}.tif") as src:
        return src.read(1), dict(src.profile)


@cache
def gk(layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / f"{layer}.geojson").to_crs(RASTER_CRS)


def burn(layer: str, values=None, dtype: str = "uint8", **grid) -> np.ndarray:
    """Rasterize a layer (pixel centres) on the landcover grid unless another is given."""
    if not grid:
        _, prof = raster("landcover")
        grid = {"out_shape": (prof["height"], prof["width"]), "transform": prof["transform"]}
    geoms = gk(layer).geometry
    values = [1] * len(geoms) if values is None else values
    return features.rasterize(zip(geoms, values, strict=True), fill=0, dtype=dtype, **grid)


@cache
def township_ids() -> np.ndarray:
    """1-based row number of township.geojson per pixel, 0 outside."""
    return burn("township", list(range(1, len(gk("township")) + 1)), dtype="uint16")


def township_shares(data: np.ndarray, value: int, ids: np.ndarray | None = None) -> np.ndarray:
    ids = township_ids() if ids is None else ids
    n = len(gk("township")) + 1
    total = np.bincount(ids.ravel(), minlength=n)
    hits = np.bincount(ids.ravel(), weights=(data.ravel() == value), minlength=n)
    assert total[1:].min() > 0
    return (hits / np.maximum(total, 1))[1:]


def mean_by_zone(shares: np.ndarray) -> dict[str, float]:
    zone = gk("township")["zone_type"].to_numpy()
    return {z: float(shares[zone == z].mean()) for z in ZONE_TYPES}


def test_raster_files_manifest_catalog() -> None:
    manifest = yaml.safe_load((DATA / "manifest.yaml").read_text(encoding="utf-8"))
    assert not set(RASTERS) & set(manifest["layers"])  # rasters are not vector layers
    city_gk = shapely.union_all(gk("admin_county").geometry.to_numpy())
    for name in RASTERS:
        entry = manifest["rasters"][name]
        assert entry["file"] == f"{name}.tif"
        assert entry["crs"] == RASTER_CRS and entry["resolution_m"] == 100
        assert entry["kind"] == "categorical" and entry["source"] == "synthetic"
        assert "SYNTHETIC" in entry["note"]
        catalog = raster_catalog(name)
        assert catalog["id"] == name and catalog["kind"] == "categorical"
        assert catalog["nodata"] == 0 and catalog["title_zh"] and catalog["title_en"]
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c["color"]) for c in catalog["classes"].values())
        path = DATA / entry["file"]
        assert path.stat().st_size < 1_500_000, path.stat().st_size
        with rasterio.open(path) as src:
            assert src.crs.to_epsg() == 4545
            assert src.res == (100.0, 100.0)
            assert src.nodata == 0 and src.dtypes == ("uint8",) and src.count == 1
            assert src.profile["tiled"] and src.block_shapes == [(256, 256)]
            assert src.compression.name.lower() == "deflate"
            t = src.transform
            assert t.b == 0 and t.d == 0 and t.c % 100 == 0 and t.f % 100 == 0
            x0, y0, x1, y1 = city_gk.bounds  # the grid covers the city, with < 1 pixel spare
            assert src.bounds.left <= x0 < src.bounds.left + 100
            assert src.bounds.top - 100 < y1 <= src.bounds.top
            assert src.bounds.right - 100 < x1 <= src.bounds.right
            assert src.bounds.bottom <= y0 < src.bounds.bottom + 100
            tags = src.tags(1)
            cmap = src.colormap(1)
            for value, c in catalog["classes"].items():
                assert tags[f"CLASS_{value}"] == c["label"]
                rgb = tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5))
                assert cmap[value][:3] == rgb, (name, value)


@pytest.mark.parametrize("name", RASTERS)
def test_raster_values_in_catalog(name: str) -> None:
    data, _ = raster(name)
    allowed = {0} | set(raster_catalog(name)["classes"])
    assert set(np.unique(data).tolist()) <= allowed
    # nodata exactly outside the city (townships rasterized independently)
    inside = township_ids() > 0
    mismatch = int(((data > 0) != inside).sum())
    assert mismatch <= 0.0001 * inside.sum(), mismatch
    counts = np.bincount(data[data > 0], minlength=max(allowed) + 1)
    print(name, {v: f"{counts[v] / counts.sum():.2%}" for v in sorted(allowed - {0})})


def test_forest_cover() -> None:
    lc, _ = raster("landcover")
    valid = lc != 0
    share = 100 * float((lc[valid] == FOREST).sum() / valid.sum())
    area = valid.sum() * 0.01  # km² of 100 m cells
    print(f"landcover: city forest share {share:.2f}% over {area:.2f} km2 of pixels")
    assert abs(share - FOREST_COVER) <= 0.3, share
    assert abs(area / km2(city()) - 1) < 0.005  # grid cells vs geodesic area (GK scale)
    forest = township_shares(lc, FOREST)
    by_zone = mean_by_zone(forest)
    print("mean township forest share", {z: f"{v:.1%}" for z, v in by_zone.items()})
    assert by_zone["重点生态功能区"] > by_zone["农产品主产区"] + 0.2
    assert by_zone["重点生态功能区"] > by_zone["城镇化地区"] + 0.2
    assert forest.min() > 0.02, forest.min()  # every township has some woodland
    # the mountainous north is more forested than the south
    north = gk("township").geometry.centroid.y.to_numpy()
    upper = north > np.median(north)
    assert forest[upper].mean() > forest[~upper].mean() + 0.15


def test_landcover_consistent_with_vectors() -> None:
    lc, _ = raster("landcover")
    checks = {  # layer: (class, minimum share of the layer's pixels)
        "redline": (FOREST, 0.85),
        "protected_area": (FOREST, 0.85),
        "farmland": (CROP, 0.70),
        "urban_boundary": (BUILT, 0.60),
    }
    for layer, (value, minimum) in checks.items():
        mask = burn(layer).astype(bool)
        share = float((lc[mask] == value).mean())
        print(f"{layer}: {share:.1%} of {mask.sum()} pixels are class {value}")
        assert share >= minimum, (layer, share)
    # water along the rivers: most river-line pixels are water
    on_river = features.rasterize(
        gk("river").geometry,
        out_shape=lc.shape,
        transform=raster("landcover")[1]["transform"],
        all_touched=True,
    ).astype(bool) & (lc > 0)
    assert (lc[on_river] == 4).mean() > 0.8


def test_eco_importance() -> None:
    eco, _ = raster("eco_importance")
    lc, _ = raster("landcover")
    assert ((eco == 0) == (lc == 0)).all()  # same grid, same nodata
    extreme = township_shares(eco, EXTREME)
    by_zone = mean_by_zone(extreme)
    print("mean township 极重要 share", {z: f"{v:.1%}" for z, v in by_zone.items()})
    assert by_zone["重点生态功能区"] > 2 * by_zone["农产品主产区"]
    assert by_zone["重点生态功能区"] > 2 * by_zone["城镇化地区"]
    redline = burn("redline").astype(bool)
    forest = float((lc[redline] == FOREST).mean())
    rl_extreme = float((eco[redline] == EXTREME).mean())
    print(f"redline pixels: {forest:.1%} forest, {rl_extreme:.1%} 极重要")
    assert forest >= 0.85 and rl_extreme >= 0.9
    pa = burn("protected_area").astype(bool)
    assert (eco[pa] == EXTREME).mean() >= 0.9
    # cropland and built-up land are never 极重要 outside the redline and protected areas
    plain = ~(redline | pa) & np.isin(lc, (CROP, BUILT))
    assert not (eco[plain] == EXTREME).any()
