"""GET /layers/{id}/diff: feature changes, geodesic gained/lost areas, townships, 面积不减少."""

import itertools
from pathlib import Path

import pytest
import shapely

from tests.factories import GEOD, SQUARE, SQUARE_B, frame, write

LAYER = "test_parcel"
PROBLEM = "application/problem+json"
_files = itertools.count(1)

# SQUARE grows east by 0.01°, SQUARE_B goes, NEW_C arrives, 地块D only changes its grade.
SQUARE_BIG = shapely.box(106.74, 31.84, 106.77, 31.86)
NEW_C = shapely.box(106.90, 31.95, 106.91, 31.96)
PARCEL_D = shapely.box(106.70, 31.80, 106.71, 31.81)
PARCEL_E = shapely.box(106.85, 31.80, 106.86, 31.81)


def geod_m2(geom: shapely.Geometry) -> float:
    """Independent of PostGIS: pyproj on GRS80, holes wound against their shell."""
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


def upload(client, tmp_path: Path, geoms: list, names: list[str], grades: list[str]) -> int:
    path = tmp_path / f"parcels{next(_files)}.geojson"
    write(frame(geoms, names=names, grade=grades), path)
    with path.open("rb") as fh:
        resp = client.post(f"/layers/{LAYER}/versions", files={"file": (path.name, fh)})
    assert resp.status_code == 201, resp.text
    return resp.json()["version"]


def diff(client, **params) -> dict:
    resp = client.get(f"/layers/{LAYER}/diff", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def versions(client, tmp_path_factory) -> tuple[int, int]:
    tmp = tmp_path_factory.mktemp("diff")
    v1 = upload(
        client, tmp, [SQUARE, SQUARE_B, PARCEL_D, PARCEL_E],
        ["地块A", "地块B", "地块D", "地块E"], ["一级", "一级", "一级", "二级"],
    )
    v2 = upload(
        client, tmp, [SQUARE_BIG, NEW_C, PARCEL_D, PARCEL_E],
        ["地块A", "地块C", "地块D", "地块E"], ["一级", "二级", "二级", "二级"],
    )
    return v1, v2


def test_features_are_matched_by_catalog_key(client, versions):
    v1, v2 = versions
    body = diff(client, **{"from": v1, "to": v2})
    assert (body["from"]["version"], body["to"]["version"]) == (v1, v2)
    assert body["from"]["feature_count"] == 4
    features = body["features"]
    assert [f["name"] for f in features["added"]] == ["地块C"]
    assert [f["key"] for f in features["removed"]] == [{"name": "地块B"}]
    assert features["unchanged_count"] == 1
    changed = {c["name"]: c for c in features["changed"]}
    assert changed["地块A"]["aspects"] == ["geometry"]
    assert changed["地块A"]["area_m2_to"] > changed["地块A"]["area_m2_from"]
    assert changed["地块A"]["area_m2_from"] == pytest.approx(geod_m2(SQUARE), rel=1e-3)
    assert changed["地块D"]["aspects"] == ["attributes"]
    assert changed["地块D"]["attribute_changes"] == {"grade": ["一级", "二级"]}
    assert body["binding_check"]["properties_changed"] == 1


def test_gained_and_lost_areas_match_an_independent_geodesic_computation(client, versions):
    v1, v2 = versions
    area = diff(client, **{"from": v1, "to": v2})["area"]
    gained = geod_m2(SQUARE_BIG.difference(SQUARE)) + geod_m2(NEW_C)
    lost = geod_m2(SQUARE_B)
    assert area["gained_km2"] == pytest.approx(gained / 1e6, rel=1e-3)
    assert area["lost_km2"] == pytest.approx(lost / 1e6, rel=1e-3)
    assert area["net_km2"] == pytest.approx(area["to_km2"] - area["from_km2"], rel=1e-6)
    before = sum(geod_m2(g) for g in (SQUARE, SQUARE_B, PARCEL_D, PARCEL_E))
    assert area["from_km2"] == pytest.approx(before / 1e6, rel=1e-3)


def test_geojson_pieces_add_up_to_gained_plus_lost(client, versions):
    v1, v2 = versions
    body = diff(client, **{"from": v1, "to": v2})
    pieces = body["geojson"]["features"]
    assert {p["properties"]["change"] for p in pieces} == {"gained", "lost"}
    total = sum(geod_m2(shapely.geometry.shape(p["geometry"])) for p in pieces)
    expected = body["area"]["gained_km2"] + body["area"]["lost_km2"]
    assert total / 1e6 == pytest.approx(expected, rel=1e-3)
    lost = [p for p in pieces if p["properties"]["change"] == "lost"]
    assert len(lost) == 1 and lost[0]["properties"]["change_zh"] == "减少"


def test_binding_check_fails_when_area_shrinks_and_passes_when_it_grows(client, versions):
    v1, v2 = versions
    shrink = diff(client, **{"from": v1, "to": v2})["binding_check"]
    assert shrink["rule"] == "面积不减少" and shrink["passed"] is False
    assert shrink["change_km2"] < 0
    assert "不符合“面积不减少”要求" in shrink["message"]
    assert f"{shrink['from_km2']:.6f}" in shrink["message"]
    grow = diff(client, **{"from": v2, "to": v1})["binding_check"]
    assert grow["passed"] is True and grow["change_km2"] > 0
    assert "增加" in grow["message"] and "不符合" not in grow["message"]


def test_defaults_compare_the_active_version_with_the_one_before(client, tmp_path):
    v1 = upload(client, tmp_path, [SQUARE], ["地块A"], ["一级"])
    v2 = upload(client, tmp_path, [SQUARE_BIG], ["地块A"], ["一级"])
    body = diff(client)
    assert (body["from"]["version"], body["to"]["version"]) == (v1, v2)


def test_reuploading_the_same_data_changes_nothing(client, tmp_path):
    geoms, names, grades = [SQUARE, SQUARE_B], ["地块A", "地块B"], ["一级", "一级"]
    v1 = upload(client, tmp_path, geoms, names, grades)
    v2 = upload(client, tmp_path, geoms, names, grades)
    body = diff(client, **{"from": v1, "to": v2})
    assert body["features"] == {"added": [], "removed": [], "changed": [], "unchanged_count": 2}
    assert body["area"]["gained_km2"] == 0 and body["area"]["lost_km2"] == 0
    assert body["geojson"]["features"] == []
    assert body["binding_check"]["passed"] is True


def inner_box(townships: list[dict]) -> tuple[dict, shapely.Geometry]:
    """A township and a 0.02° × 0.008° box around a point well inside it."""
    for township in townships:
        shape = shapely.geometry.shape(township["geometry"])
        c = shape.point_on_surface()
        box = shapely.box(c.x - 0.01, c.y - 0.004, c.x + 0.01, c.y + 0.004)
        if box.within(shape):
            return township["properties"], box
    raise AssertionError("no township holds a 0.02° box")


def test_per_township_changes_add_up_to_the_totals(client, reference, tmp_path):
    townships = client.get("/layers/township/features", params={"limit": 500}).json()
    unit, box = inner_box(townships["features"])
    x0, y0, x1, y1 = box.bounds
    parcel_p = shapely.box(x0, y0, x0 + 0.008, y1)
    parcel_p_big = shapely.box(x0, y0, x0 + 0.012, y1)
    parcel_q = shapely.box(x1 - 0.006, y0, x1, y1)
    v1 = upload(client, tmp_path, [parcel_p, parcel_q], ["P", "Q"], ["一级", "一级"])
    v2 = upload(client, tmp_path, [parcel_p_big], ["P"], ["一级"])
    body = diff(client, **{"from": v1, "to": v2})
    rows = body["by_township"]
    assert [(r["code"], r["name"], r["county"]) for r in rows] == [
        (unit["code"], unit["name"], unit["county"])
    ]
    area = body["area"]
    assert sum(r["gained_km2"] for r in rows) == pytest.approx(area["gained_km2"], rel=1e-6)
    assert sum(r["lost_km2"] for r in rows) == pytest.approx(area["lost_km2"], rel=1e-6)
    assert rows[0]["net_km2"] == pytest.approx(area["net_km2"], rel=1e-6)
    assert area["lost_km2"] == pytest.approx(geod_m2(parcel_q) / 1e6, rel=1e-3)


def test_unknown_layer_is_a_404_problem(client):
    resp = client.get("/layers/no_such_layer/diff")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"].endswith("/unknown-layer")


def test_missing_version_lists_the_available_ones(client, versions):
    resp = client.get(f"/layers/{LAYER}/diff", params={"from": 99999, "to": versions[1]})
    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM
    assert "available versions" in resp.json()["detail"]


def test_same_version_twice_is_invalid_input(client, versions):
    v = versions[1]
    resp = client.get(f"/layers/{LAYER}/diff", params={"from": v, "to": v})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"].endswith("/invalid-input")
