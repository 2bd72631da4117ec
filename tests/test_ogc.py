"""OGC API - Features at /ogc over the Bazhong reference data, and GDAL's OAPIF client on it."""

import shutil
import subprocess
from pathlib import Path

import httpx
import pyogrio
import pyproj
import pytest
import shapely
from sqlalchemy import text

from app.catalog import catalog
from app.store.db import get_engine
from tests.conftest import ARTIFACTS
from tests.factories import GEOD

ROOT = Path(__file__).resolve().parent.parent
ECO = "重点生态功能区"
URBAN = "城镇化地区"
OAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
POINT = (106.85, 32.62)  # inside exactly one township of Nanjiang county

pytestmark = pytest.mark.usefixtures("reference")


def scalar(sql: str, **params) -> object:
    with get_engine().connect() as conn:
        return conn.execute(text(sql), params).scalar()


def active(layer: str, where: str = "true") -> str:
    return (
        "SELECT f.* FROM feature f JOIN layer l ON l.active_version_id = f.version_id "
        f"WHERE l.id = '{layer}' AND {where}"
    )


def count(layer: str, where: str = "true", **params) -> int:
    return scalar(f"SELECT count(*) FROM ({active(layer, where)}) x", **params)


def items(client, layer: str = "township", **params) -> httpx.Response:
    return client.get(f"/ogc/collections/{layer}/items", params={"limit": 1000, **params})


def matched(client, cql: str, layer: str = "township") -> int:
    resp = items(client, layer, filter=cql)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["numberReturned"] == len(body["features"]) == body["numberMatched"]
    return body["numberMatched"]


def assert_bad_request(resp: httpx.Response, *words: str) -> None:
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in resp.json()["detail"]


def links(body: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in body["links"]}


# --- landing page, conformance, API definition ------------------------------------------------


def test_landing_page_links_are_absolute(client):
    for params in ({}, {"f": "json"}):
        body = client.get("/ogc", params=params).json()
        rels = links(body)
        assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
        assert all(link["href"].startswith("http://testserver/") for link in body["links"])
        assert rels["service-desc"]["type"] == OAPI
        assert rels["data"]["href"] == "http://testserver/ogc/collections"
        assert rels["service-doc"]["href"] == "http://testserver/docs"
    assert_bad_request(client.get("/ogc", params={"f": "xml"}), "f=json")


def test_conformance_declares_core_crs_filter_and_cql2(client):
    classes = set(client.get("/ogc/conformance").json()["conformsTo"])
    features = "http://www.opengis.net/spec/ogcapi-features-"
    cql2 = "http://www.opengis.net/spec/cql2/"
    assert {
        features + "1/1.0/conf/core",
        features + "1/1.0/conf/geojson",
        features + "1/1.0/conf/oas30",
        features + "2/1.0/conf/crs",
        features + "3/1.0/conf/filter",
        features + "3/1.0/conf/features-filter",
        features + "3/1.0/conf/queryables",
        features + "3/1.0/conf/queryables-query-parameters",
        cql2 + "1.0/conf/cql2-text",
        cql2 + "1.0/conf/basic-cql2",
        cql2 + "1.0/conf/basic-spatial-functions",
        cql2 + "1.0/conf/basic-spatial-operators",
    } <= classes


def test_api_definition_is_relative_to_the_ogc_root_and_lists_queryables(client):
    resp = client.get("/ogc/api")
    assert resp.headers["content-type"] == OAPI
    body = resp.json()
    assert body["openapi"].startswith("3.")
    assert body["servers"] == [{"url": "http://testserver/ogc"}]
    generic = body["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    lang = next(p for p in generic if p["name"] == "filter-lang")
    assert lang["schema"]["enum"] == ["cql2-text", "cql-text"]
    township = body["paths"]["/collections/township/items"]["get"]["parameters"]
    names = {p["name"] for p in township}
    assert {"zone_type", "county", "overlay_heritage", "filter", "filter-lang", "bbox"} <= names
    assert "collectionId" not in names
    assert not any(path.startswith("/layers") for path in body["paths"])


# --- collections and queryables ---------------------------------------------------------------


def active_layers() -> set[str]:
    with get_engine().connect() as conn:
        sql = "SELECT id FROM layer WHERE active_version_id IS NOT NULL"
        return set(conn.execute(text(sql)).scalars())


def test_collections_are_the_layers_with_an_active_version(client):
    body = client.get("/ogc/collections").json()
    ids = {c["id"] for c in body["collections"]}
    assert ids == active_layers() and "township" in ids
    assert links(body)["self"]["href"] == "http://testserver/ogc/collections"


def test_collection_has_extent_crs_list_and_links(client):
    body = client.get("/ogc/collections/township").json()
    assert "乡镇级主体功能区" in body["title"] and "Township" in body["title"]
    (bbox,) = body["extent"]["spatial"]["bbox"]
    box = [
        scalar(f"SELECT ST_{f}(ST_Extent(geom)) FROM ({active('township')}) x")
        for f in ("XMin", "YMin", "XMax", "YMax")
    ]
    assert bbox == pytest.approx(box, abs=1e-6)
    assert body["storageCrs"] == EPSG + "4490"
    gk = [EPSG + c for c in ("4523", "4524", "4544", "4545")]
    assert body["crs"] == [CRS84, EPSG + "4490", EPSG + "4326", EPSG + "3857", *gk]
    rels = links(body)
    assert rels["items"]["type"] == "application/geo+json"
    assert rels["items"]["href"] == "http://testserver/ogc/collections/township/items"
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/queryables"]["type"] == (
        "application/schema+json"
    )


def test_queryables_are_a_json_schema_of_the_catalog_attributes(client):
    resp = client.get("/ogc/collections/township/queryables")
    assert resp.headers["content-type"] == "application/schema+json"
    body = resp.json()
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert body["$id"] == "http://testserver/ogc/collections/township/queryables"
    props = body["properties"]
    assert props["zone_type"] == {
        "title": "主体功能区类型",
        "type": "string",
        "enum": ["农产品主产区", ECO, URBAN],
    }
    assert props["overlay_heritage"]["type"] == "boolean"
    assert props["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    assert props["geometry"]["x-ogc-role"] == "primary-geometry"
    redline = client.get("/ogc/collections/redline/queryables").json()["properties"]
    assert redline["approved"] == {"title": "批准日期", "type": "string", "format": "date"}


def test_unknown_collection_and_feature_are_404_problems(client):
    for url in (
        "/ogc/collections/nope",
        "/ogc/collections/nope/items",
        "/ogc/collections/nope/queryables",
        "/ogc/collections/township/items/99999999",
        "/ogc/collections/township/items/abc",
        *(f"/ogc/collections/{layer}/items" for layer in set(catalog()) - active_layers()),
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert resp.headers["content-type"] == "application/problem+json"
    redline_id = scalar(f"SELECT min(id) FROM ({active('redline')}) x")
    assert client.get(f"/ogc/collections/township/items/{redline_id}").status_code == 404


# --- items: paging, bbox, CRS, properties ----------------------------------------------------


def test_paging_follows_next_links_through_every_feature(client):
    first = items(client, limit=50).json()
    assert (first["numberMatched"], first["numberReturned"]) == (139, 50)
    assert "prev" not in links(first) and "offset=50" in links(first)["next"]["href"]
    seen, url = [], links(first)["self"]["href"]
    while url:
        page = client.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = links(page).get("next", {}).get("href")
    assert len(seen) == len(set(seen)) == 139
    last = items(client, limit=50, offset=100).json()
    assert last["numberReturned"] == 39 and "next" not in links(last)
    assert "offset=50" in links(last)["prev"]["href"]
    assert last["timeStamp"].endswith("Z")


def test_limit_defaults_to_100_clamps_at_10000_and_rejects_nonsense(client):
    body = client.get("/ogc/collections/township/items").json()
    assert body["numberReturned"] == 100
    big = items(client, limit=20000).json()
    assert big["numberReturned"] == 139 and "limit=10000" in links(big)["self"]["href"]
    for params in ({"limit": 0}, {"limit": "ten"}, {"offset": -1}):
        assert_bad_request(items(client, **params))


def test_collection_bbox_surrounds_the_returned_features(client):
    body = items(client, limit=10).json()
    minx, miny, maxx, maxy = body["bbox"]
    bounds = shapely.total_bounds([shapely.geometry.shape(f["geometry"]) for f in body["features"]])
    assert [minx, miny, maxx, maxy] == pytest.approx(list(bounds))


def test_bbox_selects_the_features_that_intersect_it(client):
    envelope = "ST_MakeEnvelope(106.8, 32.6, 106.9, 32.65, 4490)"
    expected = count("township", f"ST_Intersects(geom, {envelope})")
    body = items(client, bbox="106.8,32.6,106.9,32.65").json()
    assert 1 < body["numberMatched"] == expected < 139
    assert_bad_request(items(client, bbox="1,2,3"), "bbox")
    assert_bad_request(items(client, bbox="107,32,106,33"), "bbox")


def test_bbox_crs_4490_takes_latitude_first(client):
    lon_lat = items(client, bbox="106.8,32.6,106.9,32.65").json()
    lat_lon = items(client, bbox="32.6,106.8,32.65,106.9", **{"bbox-crs": EPSG + "4490"}).json()
    assert [f["id"] for f in lat_lon["features"]] == [f["id"] for f in lon_lat["features"]]


def first_ring_point(client, feature_id: int, crs: str | None = None) -> tuple:
    params = {"crs": crs} if crs else {}
    resp = client.get(f"/ogc/collections/township/items/{feature_id}", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["geometry"]["coordinates"][0][0][0], resp


def test_crs84_is_the_default_lon_lat_output(client):
    body = items(client, limit=1)
    assert body.headers["content-type"] == "application/geo+json"
    assert body.headers["content-crs"] == f"<{CRS84}>"
    lon, lat = body.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 106 < lon < 108 and 31 < lat < 33


def test_crs_4490_swaps_axes_to_latitude_first(client):
    fid = items(client, limit=1).json()["features"][0]["id"]
    lon_lat, _ = first_ring_point(client, fid)
    lat_lon, resp = first_ring_point(client, fid, "EPSG:4490")
    assert resp.headers["content-crs"] == f"<{EPSG}4490>"
    assert lat_lon == pytest.approx(lon_lat[::-1], abs=1e-7)
    page = items(client, limit=1, crs=EPSG + "4490")
    assert page.headers["content-crs"] == f"<{EPSG}4490>"
    assert page.json()["bbox"][0] < 33 < page.json()["bbox"][1]  # lat, lon, lat, lon


def test_crs_gauss_kruger_zone_36_is_northing_then_prefixed_easting(client):
    fid = items(client, limit=1).json()["features"][0]["id"]
    lon_lat, _ = first_ring_point(client, fid)
    x, y = first_ring_point(client, fid, EPSG + "4524")[0]
    assert 3.4e6 < x < 3.7e6 and 3.6e7 < y < 3.7e7
    north, east = pyproj.Transformer.from_crs(4490, 4524).transform(lon_lat[1], lon_lat[0])
    assert (x, y) == pytest.approx((north, east), abs=0.01)


def test_crs_not_offered_is_400(client):
    assert_bad_request(items(client, crs="EPSG:2385"), "4524")
    assert_bad_request(items(client, **{"bbox-crs": "EPSG:32648"}, bbox="1,2,3,4"))


def test_properties_selects_the_returned_properties(client):
    body = items(client, limit=3, properties="name,zone_type").json()
    assert all(set(f["properties"]) == {"name", "zone_type"} for f in body["features"])
    full = items(client, limit=1).json()["features"][0]["properties"]
    assert {"code", "name", "county", "zone_type", "overlay_heritage", "area_m2"} <= set(full)
    assert_bad_request(items(client, properties="name,nope"), "nope")


def test_unknown_query_parameter_is_400(client):
    assert_bad_request(items(client, filter_lang="cql2-text"), "filter_lang")


# --- filters ------------------------------------------------------------------------------------


def test_filter_on_zone_type_finds_the_35_ecological_townships(client):
    assert matched(client, f"zone_type='{ECO}'") == 35


def test_filter_and_with_not_equal(client):
    expected = count(
        "township", "attributes->>'county' = '南江县' AND attributes->>'zone_type' <> :z", z=URBAN
    )
    assert matched(client, f"county='南江县' AND zone_type<>'{URBAN}'") == expected > 0


def test_filter_not(client):
    assert matched(client, f"NOT (zone_type = '{URBAN}')") == 139 - 45
    assert matched(client, f"NOT zone_type = '{URBAN}' AND NOT zone_type = '{ECO}'") == 59


def test_and_binds_tighter_than_or(client):
    expected = count(
        "township",
        "attributes->>'county' = '巴州区' OR "
        "(attributes->>'zone_type' = :z AND attributes->>'county' = '南江县')",
        z=ECO,
    )
    cql = f"county = '巴州区' OR zone_type = '{ECO}' AND county = '南江县'"
    assert matched(client, cql) == expected


def test_typed_comparisons_like_in_and_null(client):
    assert matched(client, "overlay_heritage = true") == 49
    big = count("township", "area_m2 > 2e8")
    assert matched(client, "area_m2 > 2e8") == big and 0 < big < 139
    streets = count("township", "attributes->>'name' LIKE '%街道'")
    assert matched(client, "name LIKE '%街道'") == streets > 0
    assert matched(client, "county IN ('南江县', '通江县')") == count(
        "township", "attributes->>'county' IN ('南江县', '通江县')"
    )
    nulls = count("township", "attributes->>'county_positioning' IS NULL")
    assert matched(client, "county_positioning IS NULL") == nulls
    assert matched(client, "county_positioning IS NOT NULL") == 139 - nulls
    assert matched(client, f"zone_type = '{ECO}'''") == 0  # '' escapes a quote


def test_s_intersects_point_finds_the_township_containing_it(client):
    expected = scalar(
        f"SELECT attributes->>'name' FROM ({active('township')}) x "
        "WHERE ST_Contains(geom, ST_SetSRID(ST_Point(:x, :y), 4490))",
        x=POINT[0],
        y=POINT[1],
    )
    body = items(client, filter=f"S_INTERSECTS(geometry, POINT({POINT[0]} {POINT[1]}))").json()
    assert [f["properties"]["name"] for f in body["features"]] == [expected]
    lat_lon = items(
        client,
        filter=f"S_INTERSECTS(geometry, POINT({POINT[1]} {POINT[0]}))",
        **{"filter-crs": EPSG + "4490"},
    ).json()
    assert [f["id"] for f in lat_lon["features"]] == [f["id"] for f in body["features"]]


def test_queryables_work_as_query_parameters(client):
    assert items(client, zone_type=ECO).json()["numberMatched"] == 35
    assert items(client, overlay_heritage="true").json()["numberMatched"] == 49
    assert_bad_request(items(client, overlay_heritage="maybe"), "overlay_heritage")


def test_bad_filters_are_400_problems(client):
    assert_bad_request(items(client, filter="zone_type = "), "CQL2")
    assert_bad_request(items(client, filter="nope = 1"), "nope", "zone_type", "queryables")
    assert_bad_request(items(client, filter="zone_type = 5"), "zone_type")
    assert_bad_request(items(client, filter="S_INTERSECTS(name, POINT(1 2))"), "geometry")
    assert_bad_request(items(client, filter="x", **{"filter-lang": "cql2-json"}), "cql2-text")


def test_single_feature_has_links_and_catalog_properties(client):
    fid = items(client, limit=1).json()["features"][0]["id"]
    resp = client.get(f"/ogc/collections/township/items/{fid}")
    body = resp.json()
    assert body["type"] == "Feature" and body["id"] == fid
    assert resp.headers["content-crs"] == f"<{CRS84}>"
    assert links(body)["self"]["href"] == f"http://testserver/ogc/collections/township/items/{fid}"
    assert body["properties"]["zone_type"] in ("农产品主产区", ECO, URBAN)


# --- GDAL's OAPIF driver against a live server ----------------------------------------------


@pytest.fixture(scope="module")
def ogc_server(live_server) -> tuple[str, Path]:
    """The shared live uvicorn (GDAL needs HTTP) and its access log."""
    if shutil.which("ogrinfo") is None:
        pytest.skip("GDAL's ogrinfo is not installed (Debian package gdal-bin)")
    return f"OAPIF:{live_server}/ogc", ARTIFACTS / "live_server.log"


def gdal(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, encoding="utf-8", timeout=120, check=False)
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr
    return done.stdout


def test_gdal_lists_every_collection(ogc_server):
    url, _ = ogc_server
    output = gdal("ogrinfo", "-ro", "-so", url)
    assert "1: admin_county (title: 县级行政区" in output
    for layer_id in active_layers():
        assert f": {layer_id} (title: " in output


def test_gdal_counts_the_township_features(ogc_server):
    url, _ = ogc_server
    output = gdal("ogrinfo", "-ro", "-so", url, "township")
    assert f"Feature Count: {count('township')}\n" in output
    assert "Feature Count: 139\n" in output and "zone_type: String" in output


def test_gdal_sends_where_to_the_server_as_a_cql_filter(ogc_server):
    url, log_path = ogc_server
    output = gdal("ogrinfo", "-ro", "-q", url, "township", "-where", f"zone_type = '{ECO}'")
    assert output.count("OGRFeature(township)") == 35
    sent = [line for line in log_path.read_text().splitlines() if "filter=zone_type" in line]
    assert sent and all("filter-lang=cql-text" in line and " 200" in line for line in sent)


def test_gdal_copies_the_redline_layer_to_geopackage(ogc_server, tmp_path):
    url, _ = ogc_server
    target = tmp_path / "redline.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(target), url, "redline")
    frame = pyogrio.read_dataframe(target, layer="redline")
    assert len(frame) == count("redline") == 11
    total_m2 = scalar(f"SELECT sum(area_m2) FROM ({active('redline')}) x")
    assert frame["area_m2"].sum() == pytest.approx(total_m2)
    geodesic = sum(abs(GEOD.geometry_area_perimeter(g)[0]) for g in frame.geometry)
    assert geodesic == pytest.approx(total_m2, rel=1e-4)
