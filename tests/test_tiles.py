"""Vector tiles, TileJSON and the MapLibre style over the Bazhong reference data."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import morecantile
import numpy
import psycopg
import pytest
import shapely
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, make_url

from app.config import get_settings
from app.publish.tiles import BUFFER, EXTENT, MAX_TILE_TEXT, MAX_ZOOM, TileCache, tile_cache
from tests.factories import SQUARE, frame, write

TMS = morecantile.tms.get("WebMercatorQuad")
MVT = "application/vnd.mapbox-vector-tile"
CITY_BBOX = (106.36, 31.25, 107.76, 32.74)  # 巴中市
GUANGWUSHAN = TMS.tile(106.85, 32.62, 10)  # 光雾山, 南江县
TOWNSHIP_STYLE = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "layers" / "township.yaml").read_text("utf-8")
)["style"]
TOWNSHIP_COLOURS = TOWNSHIP_STYLE["fill_by"]["values"]


@pytest.fixture(scope="module")
def tiles_client(reference: dict, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """The app with the tiles router, whether or not app/api/main.py registers it yet."""
    from app.api.main import create_app
    from app.api.routes import tiles

    app = create_app()
    if not any(getattr(route, "path", "").startswith("/tiles/") for route in app.routes):
        app.include_router(tiles.router)
    with TestClient(app, headers=admin_headers) as client:
        yield client


def get_tile(client: TestClient, layer: str, tile: morecantile.Tile, **headers: str):
    return client.get(f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt", headers=headers)


def decode(content: bytes, layer: str) -> list[dict]:
    return mapbox_vector_tile.decode(content).get(layer, {}).get("features", [])


def upload_parcel(client: TestClient, path: Path, name: str) -> int:
    write(frame([SQUARE], names=[name]), path)
    with path.open("rb") as fh:
        resp = client.post("/layers/test_parcel/versions", files={"file": (path.name, fh)}, data={})
    assert resp.status_code == 201, resp.text
    return resp.json()["version"]


def test_tile_over_guangwushan_has_redline_and_protected_area_features(tiles_client):
    resp = get_tile(tiles_client, "redline", GUANGWUSHAN)
    assert resp.status_code == 200 and resp.headers["content-type"] == MVT
    redlines = {f["properties"]["name"]: f for f in decode(resp.content, "redline")}
    mcs = redlines["米仓山—光雾山水源涵养生态保护红线"]["properties"]
    assert mcs["function"] == "水源涵养" and mcs["county"] == "南江县"
    assert mcs["code"] == "HX511922-001" and mcs["approved"] == "2023-09-28"

    areas = decode(get_tile(tiles_client, "protected_area", GUANGWUSHAN).content, "protected_area")
    by_name = {f["properties"]["name"]: f["properties"] for f in areas}
    reserve = by_name["四川光雾山自然保护区"]
    assert reserve["category"] == "自然保护区" and reserve["official_area_km2"] == 88.89
    assert "光雾山—诺水河国家级风景名胜区" in by_name


def test_fid_is_the_feature_id_for_click_lookups(tiles_client):
    feature = decode(get_tile(tiles_client, "redline", GUANGWUSHAN).content, "redline")[0]
    assert feature["id"] == feature["properties"]["fid"]
    stored = tiles_client.get("/layers/redline/features").json()["features"]
    by_id = {f["id"]: f["properties"]["name"] for f in stored}
    assert by_id[feature["properties"]["fid"]] == feature["properties"]["name"]


def test_geometry_decodes_inside_the_tile_extent_and_buffer(tiles_client):
    for layer in ("redline", "township", "river", "farmland"):
        for feature in decode(get_tile(tiles_client, layer, GUANGWUSHAN).content, layer):
            coords = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"]))
            assert coords.min() >= -BUFFER and coords.max() <= EXTENT + BUFFER, layer


def test_control_unit_tiles_keep_code_name_class_but_not_long_texts(tiles_client):
    units = decode(get_tile(tiles_client, "control_unit", GUANGWUSHAN).content, "control_unit")
    assert units
    for unit in units:
        props = unit["properties"]
        assert props["code"].startswith("ZH") and props["name"] and props["unit_class"]
        assert all(len(v) <= MAX_TILE_TEXT for v in props.values() if isinstance(v, str))


@pytest.mark.parametrize("layer", ["farmland", "township"])
@pytest.mark.parametrize("z", [6, 7, 8])
def test_city_tiles_at_low_zoom_stay_small(tiles_client, layer, z):
    city_tiles = list(TMS.tiles(*CITY_BBOX, zooms=[z]))
    sizes = [len(get_tile(tiles_client, layer, t).content) for t in city_tiles]
    assert max(sizes) < 500_000, sizes
    assert sum(sizes) > 0  # simplified, not emptied


def test_low_zoom_drops_farmland_patches_smaller_than_a_pixel(tiles_client):
    def patches(z: int) -> set[int]:
        return {
            f["properties"]["fid"]
            for t in TMS.tiles(*CITY_BBOX, zooms=[z])
            for f in decode(get_tile(tiles_client, "farmland", t).content, "farmland")
        }

    assert 0 < len(patches(6)) < len(patches(9)) == 2248


def test_etag_is_stable_and_if_none_match_gives_304(tiles_client):
    first = get_tile(tiles_client, "township", GUANGWUSHAN)
    second = get_tile(tiles_client, "township", GUANGWUSHAN)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag == second.headers["etag"]
    assert first.content == second.content
    assert first.headers["cache-control"].startswith("public, max-age=")
    cached = get_tile(tiles_client, "township", GUANGWUSHAN, **{"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == etag
    other = get_tile(tiles_client, "redline", GUANGWUSHAN, **{"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_etag_and_tile_change_after_a_new_version_is_imported(tiles_client, tmp_path):
    tile = TMS.tile(*SQUARE.centroid.coords[0], 12)
    upload_parcel(tiles_client, tmp_path / "first.geojson", "旧地块")
    before = get_tile(tiles_client, "test_parcel", tile)
    assert [f["properties"]["name"] for f in decode(before.content, "test_parcel")] == ["旧地块"]

    upload_parcel(tiles_client, tmp_path / "second.geojson", "新地块")
    after = get_tile(tiles_client, "test_parcel", tile, **{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert [f["properties"]["name"] for f in decode(after.content, "test_parcel")] == ["新地块"]


def test_tile_without_features_is_204(tiles_client):
    ocean = TMS.tile(-30.0, 0.0, 10)  # mid-Atlantic
    resp = get_tile(tiles_client, "redline", ocean)
    assert resp.status_code == 204 and resp.content == b""
    assert "etag" in resp.headers


@pytest.mark.parametrize(
    "path",
    [
        f"/tiles/redline/{MAX_ZOOM + 1}/0/0.mvt",
        "/tiles/redline/3/8/0.mvt",
        "/tiles/redline/3/0/-1.mvt",
        "/tiles/redline/0/1/0.mvt",
    ],
)
def test_tile_outside_the_grid_is_404_problem(tiles_client, path):
    resp = tiles_client.get(path)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/tile-out-of-range")


def test_non_numeric_tile_address_is_problem(tiles_client):
    resp = tiles_client.get("/tiles/redline/z/1/1.mvt")
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/tiles/nope/1/1/1.mvt", "/tiles/nope.json"])
def test_unknown_layer_is_404_problem(tiles_client, path):
    resp = tiles_client.get(path)
    assert resp.status_code == 404
    assert resp.json()["type"].endswith("/unknown-layer")


def test_tilejson_describes_the_active_version(tiles_client):
    body = tiles_client.get("/tiles/redline.json").json()
    assert body["tilejson"] == "3.0.0" and body["name"] == "redline"
    assert body["minzoom"] == 0 and body["maxzoom"] >= 14
    template = body["tiles"][0]
    assert template.startswith("http://testserver/tiles/redline/{z}/{x}/{y}.mvt")
    assert body["bounds"] == pytest.approx([106.5423, 31.6694, 107.6476, 32.7189], abs=1e-3)
    lon, lat, zoom = body["center"]
    assert 106.54 < lon < 107.65 and 31.67 < lat < 32.72 and 0 <= zoom <= body["maxzoom"]
    (layer,) = body["vector_layers"]
    assert layer["id"] == "redline" and "名称" in layer["fields"]["name"]
    assert {"fid", "code", "county", "function", "approved"} <= set(layer["fields"])
    assert "synthetic" in body["attribution"]
    url = template.format(z=GUANGWUSHAN.z, x=GUANGWUSHAN.x, y=GUANGWUSHAN.y)
    assert tiles_client.get(url).status_code == 200


def test_style_has_a_source_per_published_layer_and_catalog_colours(tiles_client):
    style = tiles_client.get("/tiles/style.json").json()
    assert style["version"] == 8
    published = {
        layer["id"] for layer in tiles_client.get("/layers").json() if layer["active_version"]
    }
    assert set(style["sources"]) == published
    for layer_id, source in style["sources"].items():
        assert source == {"type": "vector", "url": f"http://testserver/tiles/{layer_id}.json"}

    layers = {layer["id"]: layer for layer in style["layers"]}
    fill = layers["township-fill"]
    assert fill["type"] == "fill" and fill["source-layer"] == "township"
    colour = fill["paint"]["fill-color"]
    assert colour[:2] == ["match", ["get", "zone_type"]]
    assert dict(zip(colour[2:-1:2], colour[3:-1:2], strict=True)) == TOWNSHIP_COLOURS
    assert fill["paint"]["fill-opacity"] == TOWNSHIP_STYLE["fill_opacity"]
    assert layers["admin_county-line"]["paint"]["line-dasharray"] == [4, 2]
    assert layers["river-line"]["type"] == "line"

    order = [layer["id"] for layer in style["layers"]]
    assert order[0] == "background" and order[-1] == "admin_county-line"
    assert order.index("township-fill") < order.index("redline-fill") < order.index("river-line")

    legend = {entry["id"]: entry for entry in style["metadata"]["redline:legend"]}
    assert legend["township"]["title_zh"] == "乡镇级主体功能区"
    township_legend = {e["value"]: e["color"] for e in legend["township"]["entries"]}
    assert township_legend == TOWNSHIP_COLOURS


def test_style_references_no_remote_urls_unless_a_basemap_is_given(tiles_client):
    style = tiles_client.get("/tiles/style.json").json()
    assert "glyphs" not in style and "sprite" not in style
    assert not any(layer["type"] == "symbol" for layer in style["layers"])
    text = json.dumps(style)
    assert text.count("http") == text.count("http://testserver/")

    basemap = "https://t0.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k"
    with_basemap = tiles_client.get("/tiles/style.json", params={"basemap": basemap}).json()
    assert with_basemap["sources"]["basemap"]["tiles"] == [basemap]
    assert [layer["id"] for layer in with_basemap["layers"]][:2] == ["background", "basemap"]


def test_style_rejects_a_basemap_that_is_no_xyz_template(tiles_client):
    resp = tiles_client.get("/tiles/style.json", params={"basemap": "file:///etc/passwd"})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"


def test_tile_cache_is_bounded_by_count_and_bytes():
    cache = TileCache(max_tiles=3, max_bytes=10)
    for i in range(4):
        cache.put((1, 0, i, 0), b"ab")
    assert len(cache) == 3 and cache.get((1, 0, 0, 0)) is None
    cache.get((1, 0, 1, 0))  # now most recently used
    cache.put((1, 0, 9, 0), b"abcdefgh")
    assert cache.size_bytes == 10 and cache.get((1, 0, 2, 0)) is None
    assert cache.get((1, 0, 1, 0)) == b"ab" and cache.get((1, 0, 9, 0)) == b"abcdefgh"


def test_tile_grid_is_morecantile_web_mercator():
    from app.publish.tiles import tile_width_m

    assert tile_width_m(0) == pytest.approx(40075016.68557849)
    assert tile_width_m(10) == pytest.approx(40075016.68557849 / 1024)


# --- the tile cache: hits served without the database, dropped when versions change -----------


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs during the test."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
def open_client(tiles_client: TestClient) -> TestClient:
    """The same app without a key (open reads, as map clients read tiles): no key lookup."""
    return TestClient(tiles_client.app)


def test_a_cached_tile_is_served_without_touching_the_database(open_client, statements):
    tile_cache().clear()
    first = get_tile(open_client, "township", GUANGWUSHAN)
    assert first.status_code == 200 and statements, "a miss renders the tile in PostGIS"
    statements.clear()
    again = get_tile(open_client, "township", GUANGWUSHAN)
    unchanged = get_tile(
        open_client, "township", GUANGWUSHAN, **{"If-None-Match": first.headers["etag"]}
    )
    assert statements == []
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert unchanged.status_code == 304


def test_an_import_drops_the_cached_tiles_of_the_layer(
    tiles_client, open_client, statements, tmp_path
):
    tile = TMS.tile(*SQUARE.centroid.coords[0], 12)
    upload_parcel(tiles_client, tmp_path / "first.geojson", "旧地块")
    before = get_tile(open_client, "test_parcel", tile)
    statements.clear()
    assert get_tile(open_client, "test_parcel", tile).content == before.content
    assert statements == [], "the second request is a cache hit"

    upload_parcel(tiles_client, tmp_path / "second.geojson", "新地块")
    after = get_tile(open_client, "test_parcel", tile)
    assert after.headers["etag"] != before.headers["etag"]
    assert [f["properties"]["name"] for f in decode(after.content, "test_parcel")] == ["新地块"]
    statements.clear()
    assert get_tile(open_client, "test_parcel", tile).content == after.content
    assert statements == [], "the new version's tile is cached in turn"


def test_a_version_switched_by_another_process_is_not_served_from_the_cache(
    tiles_client, open_client, tmp_path
):
    tile = TMS.tile(*SQUARE.centroid.coords[0], 12)
    upload_parcel(tiles_client, tmp_path / "old.geojson", "旧地块")
    upload_parcel(tiles_client, tmp_path / "new.geojson", "新地块")
    assert names_in(get_tile(open_client, "test_parcel", tile)) == ["新地块"]  # now cached
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)
    # Another process (another API worker, an import elsewhere) points the layer back at the
    # previous version and commits: its NOTIFY must reach this process's epoch.
    with psycopg.connect(dsn, autocommit=True) as conn:
        current, previous = conn.execute(
            "SELECT max(id), min(id) FROM (SELECT id FROM layer_version "
            "WHERE layer_id = 'test_parcel' ORDER BY id DESC LIMIT 2) AS v"
        ).fetchone()
        switch = "UPDATE layer SET active_version_id = %s WHERE id = 'test_parcel'"
        conn.execute(switch, (previous,))
        try:
            deadline = time.monotonic() + 5
            while names_in(get_tile(open_client, "test_parcel", tile)) != ["旧地块"]:
                assert time.monotonic() < deadline, "the cached tile outlived the version switch"
                time.sleep(0.02)
        finally:
            conn.execute(switch, (current,))


def names_in(resp) -> list[str]:
    return [f["properties"]["name"] for f in decode(resp.content, "test_parcel")]


def test_tiles_of_layers_without_long_texts_keep_every_attribute(tiles_client):
    """The tile query that skips the per-value filter gives the filtered query's tile."""
    from app.publish import tiles
    from app.publish.reads import read_session

    farm = TMS.tile(106.75, 31.86, 12)
    with read_session() as session:
        address = tiles.locate_tile(session, "farmland", farm.z, farm.x, farm.y)
        params = tiles.tile_params(tiles.get_layer_spec("farmland"), address)
        assert tiles._tile_sql(session, params) == tiles._TILE_ALL_ATTRIBUTES
        conn = session.connection()
        fast = conn.exec_driver_sql(tiles._TILE_ALL_ATTRIBUTES, params).scalar()
        filtered = conn.exec_driver_sql(tiles._TILE, params).scalar()
    assert fast and bytes(fast) == bytes(filtered)


def test_tile_geometry_lands_where_the_feature_lies(tiles_client):
    """A tile's outline, taken back to longitude and latitude with pyproj, follows the
    feature's own outline to within a few tile units (a CRS mix-up moves it by kilometres)."""
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(3857, 4490, always_xy=True)
    bounds = TMS.xy_bounds(GUANGWUSHAN)
    unit = (bounds.right - bounds.left) / EXTENT
    box = shapely.box(*TMS.bounds(GUANGWUSHAN))
    stored = tiles_client.get("/layers/redline/features").json()["features"]
    outline = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in stored}
    drawn = decode(get_tile(tiles_client, "redline", GUANGWUSHAN).content, "redline")
    assert drawn
    for feature in drawn:
        grid = shapely.geometry.shape(feature["geometry"])  # y up, origin bottom left

        def lonlat(coords):
            x, y = bounds.left + coords[:, 0] * unit, bounds.bottom + coords[:, 1] * unit
            return numpy.column_stack(to_lonlat.transform(x, y))

        tiled = shapely.transform(grid, lonlat).intersection(box)
        own = outline[feature["properties"]["fid"]].intersection(box)
        # Three tile units in degrees (about 25 m at z10): simplification moves less.
        assert shapely.hausdorff_distance(tiled, own) < 3 * 360 / 2**10 / EXTENT, feature["id"]
