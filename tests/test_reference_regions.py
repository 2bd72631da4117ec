"""File-level checks of the added reference regions (达州市, 巫山县), no database.

Attributes go through the import-time validation (``app.io.attributes.validate_record``) with
the catalog; areas are measured independently of the builder, ring by ring with pyproj.Geod.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import shapely
import yaml
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from app.catalog import get_layer_spec
from app.io.attributes import validate_record

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "layers" / "data"
PLANS = ROOT / "layers" / "plans"
LAYERS = ["admin_county", "township", "protected_area", "redline", "water_source",
          "control_unit", "river"]
GEOD = Geod(ellps="GRS80")
EDGE_M = 50.0  # synthetic layers may not stray further than this outside their counties

# Official totals (public figures: the seeds state no area). Amap's generalised boundaries
# come within a fraction of a percent.
REGIONS = {
    "dazhou": {"code": "511700", "level": "city", "province_code": "510000", "km2": 16591.0,
               "counties": {"511702", "511703", "511722", "511723", "511724", "511725",
                            "511781"},
               "max_bytes": 15_000_000},
    "wushan": {"code": "500237", "level": "county", "province_code": "500000", "km2": 2958.0,
               "counties": {"500237"}, "max_bytes": 5_000_000},
}
CASES = [(r, layer) for r in REGIONS for layer in LAYERS]


@cache
def feats(region: str, layer: str) -> list[tuple[dict, BaseGeometry]]:
    doc = json.loads((DATA / region / f"{layer}.geojson").read_text(encoding="utf-8"))
    return [(f["properties"], shape(f["geometry"])) for f in doc["features"]]


def km2(g: BaseGeometry) -> float:
    g = shapely.orient_polygons(g)
    return abs(GEOD.geometry_area_perimeter(g)[0]) / 1e6


@cache
def counties_union(region: str) -> BaseGeometry:
    return shapely.union_all([g for _, g in feats(region, "admin_county")])


@pytest.mark.parametrize("region", REGIONS)
def test_manifest_files_and_size(region: str) -> None:
    manifest = yaml.safe_load((DATA / region / "manifest.yaml").read_text(encoding="utf-8"))
    want = REGIONS[region]
    assert manifest["region_code"] == want["code"]
    assert manifest["region_level"] == want["level"]
    assert manifest["province_code"] == want["province_code"]
    for layer in LAYERS:
        entry = manifest["layers"][layer]
        assert (DATA / region / entry["file"]).is_file()
        assert entry["features"] == len(feats(region, layer))
        assert entry["source"] == ("real" if layer == "admin_county" else "synthetic")
        assert "SYNTHETIC" in entry["note"] or layer == "admin_county"
    readme = (DATA / region / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "REAL" in readme
    total = sum(p.stat().st_size for p in (DATA / region).iterdir())
    assert total < want["max_bytes"], total


@pytest.mark.parametrize(("region", "layer"), CASES)
def test_attributes_pass_import_validation(region: str, layer: str) -> None:
    spec = get_layer_spec(layer)
    names = {a.name for a in spec.attributes}
    for props, g in feats(region, layer):
        assert set(props) <= names, set(props) - names
        _, problems = validate_record(props, spec)
        assert not problems, (props, problems)
        assert g.is_valid and not g.is_empty, props


@pytest.mark.parametrize("region", REGIONS)
def test_counties_codes_and_area(region: str) -> None:
    want = REGIONS[region]
    rows = feats(region, "admin_county")
    assert {p["code"] for p, _ in rows} == want["counties"]
    for p, _ in rows:
        assert p["province_code"] == want["province_code"]
        assert len(p["city_code"]) == 6 and p["province"]
    total = sum(km2(g) for _, g in rows)
    assert abs(total / want["km2"] - 1) < 0.005, total


@pytest.mark.parametrize("region", REGIONS)
def test_townships_partition_counties(region: str) -> None:
    counties = {p["code"]: g for p, g in feats(region, "admin_county")}
    by_county: dict[str, list[BaseGeometry]] = {}
    for p, g in feats(region, "township"):
        assert p["county_code"] in counties, p
        assert p["code"].startswith(p["county_code"]) and len(p["code"]) == 9, p
        by_county.setdefault(p["county_code"], []).append(g)
    codes = [p["code"] for p, _ in feats(region, "township")]
    assert len(codes) == len(set(codes))
    assert set(by_county) == set(counties)
    for code, parts in by_county.items():
        whole = counties[code]
        u = shapely.union_all(parts)
        overlap = sum(km2(g) for g in parts) - km2(u)
        gap = km2(shapely.symmetric_difference(u, whole))
        assert overlap < 1e-4 * km2(whole), (code, overlap)
        assert gap < 1e-4 * km2(whole), (code, gap)


@pytest.mark.parametrize(("region", "layer"), [c for c in CASES if c[1] != "admin_county"])
def test_synthetic_layers_stay_inside_region(region: str, layer: str) -> None:
    # ~50 m in degrees at these latitudes (a degree of latitude is ~111 km)
    allowed = counties_union(region).buffer(EDGE_M / 111_000)
    shapely.prepare(allowed)
    for p, g in feats(region, layer):
        assert allowed.contains(g), p


def test_no_region_overlaps_another() -> None:
    bazhong = shapely.union_all([g for _, g in feats("bazhong", "admin_county")])
    dazhou, wushan = counties_union("dazhou"), counties_union("wushan")
    assert km2(shapely.intersection(bazhong, dazhou)) < 0.5
    assert dazhou.distance(wushan) > 0.5


@pytest.mark.parametrize("code", ["511900", "511700", "500237"])
def test_plans(code: str) -> None:
    plan = yaml.safe_load((PLANS / f"{code}.yaml").read_text(encoding="utf-8"))
    assert plan["code"] == code
    assert plan["title"] and plan["short_title"]


def test_bazhong_plan_lives_only_in_plans() -> None:
    assert not (DATA / "bazhong" / "plan.yaml").exists()
    plan = yaml.safe_load((PLANS / "511900.yaml").read_text(encoding="utf-8"))
    assert plan["title"] == plan["source"]
