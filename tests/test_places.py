"""GET /places: names of the loaded counties, townships, protected areas and redlines."""

import pytest
import shapely
from shapely.geometry import Point

from tests.test_screening import ref_features

GUANGWU = {
    ("township", "光雾山镇"),
    ("protected_area", "四川光雾山自然保护区"),
    ("protected_area", "光雾山—诺水河国家级风景名胜区"),
    ("redline", "米仓山—光雾山水源涵养生态保护红线"),
}


@pytest.fixture(scope="module")
def viewer(reference, client):
    """The API as the map page reads it: reads are open (the role walk is in test_auth)."""
    from fastapi.testclient import TestClient

    return TestClient(client.app)


def named(layer: str, name: str) -> shapely.Geometry:
    """The union of the reference features of a layer with that name, read from the files."""
    label = "source_name" if layer == "water_source" else "name"
    return shapely.union_all([g for p, g in ref_features(layer) if p[label] == name])


def test_finds_the_guangwu_mountain_names_with_their_extent(viewer):
    resp = viewer.get("/places", params={"q": "光雾山"})
    assert resp.status_code == 200, resp.text
    places = resp.json()
    assert {(p["layer"], p["name"]) for p in places} >= GUANGWU
    for place in places:
        assert "光雾山" in place["name"]
        assert place["county"] == "南江县"
        geom = named(place["layer"], place["name"])
        # bbox: the features' own extent; center: a point inside them (not merely the bbox's).
        assert place["bbox"] == pytest.approx(list(geom.bounds), abs=1e-7)
        assert geom.buffer(1e-7).contains(Point(place["center"]))
    titles = {p["layer"]: p["layer_title"] for p in places}
    assert titles["township"] == "乡镇级主体功能区" and titles["redline"] == "生态保护红线"


def test_an_exact_name_comes_first_and_counties_are_found(viewer):
    first = viewer.get("/places", params={"q": "南江县"}).json()[0]
    assert (first["layer"], first["name"], first["county"]) == ("admin_county", "南江县", "南江县")
    assert first["bbox"] == pytest.approx(list(named("admin_county", "南江县").bounds), abs=1e-7)


def test_limit_and_literal_wildcards(viewer):
    assert len(viewer.get("/places", params={"q": "镇", "limit": 3}).json()) == 3
    for q in ("%", "_", "\\"):
        assert viewer.get("/places", params={"q": q}).json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "光" * 51},
        {"q": "光雾山", "limit": 21},
        {"q": "光", "limit": 0},
        {},
    ],
)
def test_bad_queries_are_422_with_a_problem(viewer, params):
    resp = viewer.get("/places", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_no_match_is_an_empty_list(viewer):
    assert viewer.get("/places", params={"q": "不存在的地名"}).json() == []
