"""GET /regions and summaries at every level over the three reference regions.

巴中市, 达州市 and 巫山县 are loaded in one module transaction that the app's requests share
(the session dependency is overridden) and that is rolled back at the end, so the other
modules keep seeing 巴中市 alone.
"""

import json
from collections.abc import Iterator

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy.orm import Session

from app.api.deps import db_session, read_session
from app.api.main import create_app
from app.config import get_settings
from app.store.reference import reference_root
from tests.region_state import load_all_regions, rolled_back_session
from tests.test_screening import geod_area

ROOT = reference_root(get_settings().reference_dir)
LAYERS = "redline,protected_area"


def file_counties(region: str) -> list[tuple[dict, shapely.Geometry]]:
    """A region's county features read straight from its GeoJSON file."""
    doc = json.loads((ROOT / region / "admin_county.geojson").read_text(encoding="utf-8"))
    return [(f["properties"], shape(f["geometry"])) for f in doc["features"]]


def file_count(region: str, layer: str) -> int:
    """How many features a region's reference file holds."""
    doc = json.loads((ROOT / region / f"{layer}.geojson").read_text(encoding="utf-8"))
    return len(doc["features"])


@pytest.fixture(scope="module")
def bazhong_only(client, reference) -> list[dict]:
    """Today's by=county rows with only Bazhong loaded, before the other regions come in."""
    resp = client.get("/summaries", params={"by": "county", "layers": LAYERS})
    assert resp.status_code == 200, resp.text
    return resp.json()["rows"]


@pytest.fixture(scope="module")
def api(bazhong_only, admin_headers) -> Iterator[TestClient]:
    """A client whose requests all read one session holding the three regions; rolled back."""
    with rolled_back_session() as session:
        load_all_regions(session)
        app = create_app()

        def shared() -> Iterator[Session]:
            yield session

        app.dependency_overrides[db_session] = shared
        app.dependency_overrides[read_session] = shared
        # No `with`: a second lifespan would fail the jobs the session client's app is running.
        yield TestClient(app, headers=admin_headers)


def rows(api: TestClient, **params) -> list[dict]:
    """The rows of a JSON summary."""
    resp = api.get("/summaries", params={"layers": LAYERS, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()["rows"]


def test_provinces_with_their_extent(api):
    body = api.get("/regions", params={"level": "province"}).json()["regions"]
    assert [(r["code"], r["name"]) for r in body] == [("500000", "重庆市"), ("510000", "四川省")]
    sichuan = body[1]
    assert sichuan["children"] == ["511700", "511900"] and sichuan["parent_code"] is None
    boxes = [g.bounds for region in ("bazhong", "dazhou") for _, g in file_counties(region)]
    expect = [min(b[0] for b in boxes), min(b[1] for b in boxes)]
    expect += [max(b[2] for b in boxes), max(b[3] for b in boxes)]
    assert sichuan["bbox"] == pytest.approx(expect, abs=1e-6)
    chongqing = body[0]
    assert chongqing["children"] == ["500237"]
    assert chongqing["bbox"] == pytest.approx(list(file_counties("wushan")[0][1].bounds), abs=1e-6)
    every = api.get("/regions").json()["regions"]
    assert [r["level"] for r in every].count("county") == 5 + 7 + 1
    assert [r["level"] for r in every].count("city") == 2


def test_dazhou_lists_its_counties_and_layers(api):
    resp = api.get("/regions/511700")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    codes = sorted(p["code"] for p, _ in file_counties("dazhou"))
    assert [c["code"] for c in body["children"]] == codes and len(codes) == 7
    assert all(c["level"] == "county" and c["name"] for c in body["children"])
    assert body["parent_code"] == "510000" and body["plan"]["code"] == "511700"
    layers = {layer["layer"]: layer for layer in body["layers"]}
    assert layers["admin_county"]["feature_count"] == 7
    assert layers["township"]["feature_count"] == file_count("dazhou", "township") == 92
    assert layers["redline"]["feature_count"] == file_count("dazhou", "redline")
    assert layers["redline"]["version"] >= layers["redline"]["region_version"] >= 1
    assert layers["redline"]["area_km2"] > 0
    assert "farmland" not in layers  # Bazhong's only: nothing of it lies in Dazhou


def test_unknown_and_malformed_codes(api):
    resp = api.get("/regions/420100")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert api.get("/regions/5117").status_code == 422
    assert api.get("/regions/51170x").status_code == 422
    assert api.get("/regions", params={"level": "township"}).status_code == 422
    township = api.get("/regions/511702001").json()
    assert township["level"] == "township" and township["parent_code"] == "511702"
    assert township["bbox"] is not None


def test_cities_are_separate_unions_of_their_counties(api):
    cities = rows(api, by="city")
    assert [(r["code"], r["name"], r["parent_code"], r["parent_name"]) for r in cities] == [
        ("511700", "达州市", "510000", "四川省"),
        ("511900", "巴中市", "510000", "四川省"),
    ]
    counties = rows(api, by="county")
    for city, folder in zip(cities, ("dazhou", "bazhong"), strict=True):
        mine = [r for r in counties if r["parent_code"] == city["code"]]
        assert city["area_km2"] == pytest.approx(sum(r["area_km2"] for r in mine), rel=1e-4)
        union = shapely.union_all([g for _, g in file_counties(folder)])
        assert city["area_km2"] == pytest.approx(geod_area(union) / 1e6, rel=1e-3)


def test_provinces_are_sichuan_and_chongqing(api):
    provinces = rows(api, by="province")
    assert [(r["code"], r["name"]) for r in provinces] == [
        ("500000", "重庆市"),
        ("510000", "四川省"),
    ]
    cities = {r["code"]: r["area_km2"] for r in rows(api, by="city")}
    assert provinces[1]["area_km2"] == pytest.approx(sum(cities.values()), rel=1e-4)
    wushan = rows(api, by="county", region="500000")
    assert [(r["code"], r["parent_code"], r["parent_name"]) for r in wushan] == [
        ("500237", "500000", "重庆市")
    ]
    assert provinces[0]["area_km2"] == pytest.approx(wushan[0]["area_km2"], rel=1e-9)


def test_a_city_filter_gives_its_counties(api):
    dazhou = rows(api, by="county", region="511700")
    assert len(dazhou) == 7
    assert {(r["parent_code"], r["parent_name"]) for r in dazhou} == {("511700", "达州市")}
    towns = rows(api, by="township", region="511702")
    assert towns and {r["parent_code"] for r in towns} == {"511702"}
    csv = api.get("/summaries", params={"by": "city", "layers": LAYERS, "format": "csv"})
    assert "上级行政区名称" in csv.content.decode("utf-8-sig").splitlines()[0]


def test_bazhong_figures_do_not_change(api, bazhong_only):
    scoped = rows(api, by="county", region="511900")
    assert [r["code"] for r in scoped] == [r["code"] for r in bazhong_only]
    assert len(scoped) == 5
    for now, before in zip(scoped, bazhong_only, strict=True):
        assert now["name"] == before["name"]
        assert now["area_km2"] == pytest.approx(before["area_km2"], rel=1e-9)
        for layer, figures in before["layers"].items():
            for key, value in figures.items():
                assert now["layers"][layer][key] == pytest.approx(value, rel=1e-9), (layer, key)
