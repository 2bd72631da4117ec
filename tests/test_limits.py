"""Limits (issue 9): body size, JSON shape, layer sizes, archives, rasters, database, rate."""

import asyncio
import json
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
import shapely.affinity
from rasterio.transform import from_origin
from sqlalchemy import text

from app.api import ratelimit
from app.api.deps import DbSession
from app.api.limits import BodyLimits
from app.catalog import LayerLimits, RasterSpec, catalog
from app.config import get_settings
from app.io.limits import TooLarge
from app.raster.zonal import zonal_stats
from app.store.db import get_engine, session_scope
from app.store.imports import check_size
from tests.factories import SQUARE, SQUARE_B, frame, write, zip_shapefile

LAYER = "test_parcel"
PROBLEM = "application/problem+json"


@pytest.fixture
def settings(monkeypatch):
    """The live settings object; attributes set through monkeypatch are restored after."""
    return get_settings()


def post_file(client, url: str, path: Path, **form):
    with path.open("rb") as fh:
        return client.post(url, files={"file": (path.name, fh)}, data=form)


def active(client, layer: str) -> dict:
    return client.get(f"/layers/{layer}").json()


# --- body size ---------------------------------------------------------------------------


def _call(app, scope: dict, chunks) -> tuple[list[dict], int]:
    """Run an ASGI app on a body given as chunks; the messages sent and the chunks it pulled."""
    sent: list[dict] = []
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        try:
            chunk = next(chunks)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app({"type": "http", **scope}, receive, send))
    return sent, pulled


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }


def test_declared_body_over_the_limit_is_refused_before_reading(settings, monkeypatch):
    monkeypatch.setattr(settings, "max_upload_mb", 1)

    async def app(scope, receive, send):  # pragma: no cover - must not run
        raise AssertionError("the app ran")

    headers = [
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"content-length", str(1 << 30).encode()),  # 1 GiB declared
    ]
    sent, pulled = _call(BodyLimits(app), _scope("POST", "/x", headers), iter([b"x" * 10]))
    assert pulled == 0
    assert sent[0]["status"] == 413
    body = json.loads(sent[1]["body"])
    assert body["limit_mb"] == 1 and "REDLINE_MAX_UPLOAD_MB" in body["detail"]


def test_streamed_upload_stops_at_the_limit(client, settings, monkeypatch):
    # Chunked (no Content-Length): the real app reads until the limit, then 413, no more.
    monkeypatch.setattr(settings, "max_upload_mb", 1)
    boundary = b"xyz"
    head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.geojson"\r\n\r\n'
    chunks = iter([head] + [b" " * (256 * 1024)] * 100_000)  # 25 GB if read to the end
    headers = [(b"content-type", b"multipart/form-data; boundary=" + boundary)]
    sent, pulled = _call(client.app, _scope("POST", f"/layers/{LAYER}/versions", headers), chunks)
    assert sent[0]["status"] == 413
    assert dict(sent[0]["headers"])[b"content-type"] == PROBLEM.encode()
    assert pulled <= 10  # 2 MB (limit plus the multipart slack) in 256 KB chunks


def test_upload_over_the_limit_is_413_problem(client, settings, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "max_upload_mb", 1)
    path = tmp_path / "big.geojson"
    path.write_bytes(b" " * (3 * 1024 * 1024))
    resp = post_file(client, f"/layers/{LAYER}/versions", path)
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"] == PROBLEM


def test_json_body_over_its_limit_is_413(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_json_mb", 1)
    body = json.dumps({"wkt": "POINT (106.75 31.85)", "project_name": "x" * (2 << 20)})
    resp = client.post("/screenings", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and resp.headers["content-type"] == PROBLEM


def test_a_20000_vertex_site_still_fits():
    # The largest site screening accepts passes the JSON limits untouched.
    ring = shapely.Point(106.75, 31.85).buffer(0.01, quad_segs=4999).exterior
    site = shapely.geometry.mapping(shapely.Polygon(ring))
    assert len(site["coordinates"][0]) > 19_990
    body = json.dumps({"geometry": site, "project_name": "x" * 200}).encode()
    received: list[bytes] = []

    async def app(scope, receive, send):
        received.append((await receive())["body"])

    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    half = len(body) // 2
    _call(BodyLimits(app), _scope("POST", "/screenings", headers), iter([body[:half], body[half:]]))
    assert received == [body]


# --- JSON depth and strings ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 200_000])
def test_deeply_nested_json_is_422(client, depth):
    body = "[" * depth + "]" * depth
    resp = client.post("/screenings", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM
    assert "nested" in resp.json()["title"]


def test_over_long_json_string_is_413(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_json_string_mb", 1)
    body = {"geometry": {"type": "Point", "coordinates": [106.75, 31.85]}, "x": "y" * (2 << 20)}
    resp = client.post("/screenings", json=body)
    assert resp.status_code == 413 and "string" in resp.json()["title"]


def test_long_project_names_are_refused_and_listings_stay_small(client, reference, tmp_path):
    point = {"type": "Point", "coordinates": [106.75, 31.85]}
    huge = "x" * (25 << 20)  # 25 MB: over the JSON limit
    resp = client.post("/screenings", json={"geometry": point, "project_name": huge})
    assert resp.status_code == 413
    resp = client.post("/screenings", json={"geometry": point, "project_name": "x" * 201})
    assert resp.status_code == 422 and "project_name" in resp.json()["detail"]
    site = write(frame([SQUARE]), tmp_path / "site.geojson")
    resp = post_file(client, "/screenings", site, project_name="x" * 201)
    assert resp.status_code == 422 and "project_name" in resp.json()["detail"]
    resp = post_file(client, f"/layers/{LAYER}/versions", site, note="n" * 5000)
    assert resp.status_code == 422
    listing = client.get("/screenings", params={"limit": 1000})
    assert listing.status_code == 200 and len(listing.content) < 2_000_000
    assert all(len(s.get("project_name") or "") <= 200 for s in listing.json())


# --- layer limits --------------------------------------------------------------------------


def test_a_million_vertex_polygon_is_refused_by_default():
    angles = np.linspace(0, 2 * np.pi, 1_000_000)
    ring = np.column_stack([106.75 + 0.01 * np.cos(angles), 31.85 + 0.01 * np.sin(angles)])
    geoms = np.array([SQUARE, shapely.Polygon(ring)], dtype=object)
    with pytest.raises(Exception) as caught:
        check_size(geoms, "farmland", catalog()["farmland"].limits)
    assert caught.value.status == 422
    assert "Feature 2" in str(caught.value) and "100000" in str(caught.value)
    check_size(geoms, "farmland", LayerLimits(max_vertices_per_feature=2_000_000))


def test_layer_limits_refuse_an_import_and_nothing_changes(client, monkeypatch, tmp_path):
    spec = catalog()[LAYER]
    monkeypatch.setattr(spec, "limits", LayerLimits(max_vertices_per_feature=100, max_features=5))
    before = active(client, LAYER)["active_version"]
    detailed = shapely.Point(106.75, 31.85).buffer(0.01, quad_segs=60)
    resp = post_file(
        client, f"/layers/{LAYER}/versions", write(frame([detailed]), tmp_path / "a.geojson")
    )
    assert resp.status_code == 422 and resp.json()["feature"] == 1
    assert "100 per feature" in resp.json()["detail"]
    many = write(frame([SQUARE] * 6), tmp_path / "b.geojson")
    resp = post_file(client, f"/layers/{LAYER}/versions", many)
    assert resp.status_code == 422 and "at most 5" in resp.json()["detail"]
    assert active(client, LAYER)["active_version"] == before


# --- archives ------------------------------------------------------------------------------


def zip_bomb(path: Path, megabytes: int = 4000) -> Path:
    """A zip whose one member inflates to `megabytes` MB of zeros (~4 MB on disk), built from
    one repeated deflate block: after a full flush, each 1 MB of zeros compresses the same."""
    mb = b"\0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(mb) + packer.flush(zlib.Z_FULL_FLUSH)
    data = block * megabytes + packer.flush(zlib.Z_FINISH)
    name, size, crc = b"bomb.geojson", megabytes << 20, 0  # the CRC is never reached
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(data),
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    offset = len(local) + len(name) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), offset, 0)
    path.write_bytes(local + name + data + central + name + end)
    return path


def test_zip_bomb_is_refused_from_its_directory(client, monkeypatch, tmp_path):
    bomb = zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 6 << 20
    assert zipfile.ZipFile(bomb).infolist()[0].file_size == 4000 << 20
    opened: list[str] = []
    monkeypatch.setattr(zipfile.ZipFile, "testzip", lambda self: opened.append("testzip"))
    monkeypatch.setattr(
        "app.io.readers.pyogrio.list_layers", lambda *a, **k: opened.append("ogr") or []
    )
    for url in (f"/layers/{LAYER}/versions", "/screenings"):
        started = time.monotonic()
        resp = post_file(client, url, bomb)
        assert resp.status_code == 413, resp.text
        assert resp.headers["content-type"] == PROBLEM
        assert time.monotonic() - started < 5
    assert opened == []  # nothing was inflated


def test_nested_archives_and_too_many_members_are_refused(client, settings, monkeypatch, tmp_path):
    inner = zip_shapefile(frame([SQUARE]), tmp_path, stem="inner")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, inner.name)
    resp = post_file(client, f"/layers/{LAYER}/versions", outer)
    assert resp.status_code == 422 and "other archives" in resp.json()["detail"]
    monkeypatch.setattr(settings, "max_archive_members", 2)
    resp = post_file(client, f"/layers/{LAYER}/versions", inner)
    assert resp.status_code == 413 and "members" in resp.json()["detail"]


# --- rasters -------------------------------------------------------------------------------


def huge_tiff(path: Path, size: int = 100_000) -> Path:
    """A size × size GeoTIFF, tiled and sparse: no tile is written, the file is tiny."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="uint8",
        crs="EPSG:4545",
        transform=from_origin(36_390_000.0 - 36_000_000, 3_590_000.0, 1, 1),
        tiled=True,
        compress="deflate",
        sparse_ok=True,
        nodata=0,
    ) as dst:
        dst.write(np.zeros((256, 256), dtype="uint8"), 1, window=((0, 256), (0, 256)))
    return path


def test_a_huge_raster_is_refused_from_its_header(client, tmp_path, reference):
    path = huge_tiff(tmp_path / "huge.tif")
    assert path.stat().st_size < 5 << 20
    before = client.get("/rasters/landcover/versions").json()
    started = time.monotonic()
    resp = post_file(client, "/rasters/landcover/versions", path)
    assert resp.status_code == 413, resp.text
    assert "10000000000 pixels" in resp.json()["detail"]
    assert time.monotonic() - started < 5
    assert client.get("/rasters/landcover/versions").json() == before


def test_zonal_reads_beyond_the_pixel_budget_are_refused(settings, monkeypatch, tmp_path):
    path = huge_tiff(tmp_path / "huge.tif", 20_000)
    spec = RasterSpec(id="t", title_zh="t", title_en="t", kind="continuous")
    with rasterio.open(path) as src:
        x0, y0, x1, y1 = src.bounds
    to_4490 = pyproj.Transformer.from_crs(4545, 4490, always_xy=True)
    small = shapely.box(*to_4490.transform_bounds(x0, y1 - 100, x0 + 100, y1))
    whole = shapely.box(*to_4490.transform_bounds(x0, y0, x1, y1))
    monkeypatch.setattr(settings, "max_zonal_pixels", 1_000_000)
    assert zonal_stats(str(path), spec, [small])[0].pixels >= 0
    with pytest.raises(TooLarge):
        zonal_stats(str(path), spec, [whole])


# --- database limits -----------------------------------------------------------------------


def test_every_connection_has_timeouts_and_a_temp_file_limit():
    names = ("statement_timeout", "idle_in_transaction_session_timeout", "temp_file_limit")
    with get_engine().connect() as conn:
        rows = conn.execute(
            text("SELECT name, setting::bigint FROM pg_settings WHERE name = ANY(:n)"),
            {"n": list(names)},
        )
        found = dict(rows.all())
    settings = get_settings()
    assert found == {
        "statement_timeout": settings.statement_timeout_s * 1000,
        "idle_in_transaction_session_timeout": settings.idle_in_transaction_timeout_s * 1000,
        "temp_file_limit": settings.temp_file_limit_mb * 1024,
    }


def test_requests_run_without_jit_or_parallel_workers_and_imports_get_workers_back():
    # At province scale the planner's estimates pass jit_above_cost: compiling took 40-50 ms
    # on every run of a 2 ms screening statement; a parallel worker made a tile 5x slower.
    from app.store.db import long_statements

    with get_engine().connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
        assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
    with session_scope() as session:
        long_statements(session)
        workers = session.execute(text("SHOW max_parallel_workers_per_gather")).scalar()
    assert workers == "2"


def test_a_statement_over_the_timeout_is_503_not_500(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "statement_timeout_s", 1)
    get_engine.cache_clear()

    def slow(session: DbSession) -> dict:
        session.execute(text("SELECT pg_sleep(3)"))
        return {}

    client.app.add_api_route("/__slow", slow)
    routes = client.app.router.routes
    routes.insert(0, routes.pop())  # ahead of the static files mounted at /
    try:
        resp = client.get("/__slow")
    finally:
        routes.pop(0)
        get_engine().dispose()
        get_engine.cache_clear()
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"] == PROBLEM and resp.headers["retry-after"]
    assert "longer than 1 s" in resp.json()["detail"]


# --- rate limit ----------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "rate_limit_writes_per_minute", 3)
    monkeypatch.setattr(settings, "rate_limit_reads_per_minute", 5)
    ratelimit.reset()
    try:
        writes = [client.post("/screenings", json={}).status_code for _ in range(4)]
        reads = [client.get("/screenings/categories").status_code for _ in range(6)]
        throttled = client.get("/screenings/categories")
        health = client.get("/health").status_code
    finally:
        ratelimit.reset()
    assert writes == [422, 422, 422, 429]
    assert reads == [200] * 5 + [429]
    assert throttled.headers["content-type"] == PROBLEM
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert health == 200


def test_rate_key_prefers_the_api_key(client):
    from starlette.requests import Request

    key = "rl_" + "k" * 40

    def key_of(headers: list[tuple[bytes, bytes]]) -> str:
        return ratelimit.rate_key(Request({"type": "http", **_scope("GET", "/", headers)}))

    assert key_of([]) == "addr:127.0.0.1"
    assert key_of([(b"authorization", f"Bearer {key}".encode())]) == f"key:{key[:11]}"
    assert key_of([(b"x-api-key", key.encode())]) == f"key:{key[:11]}"
    assert key_of([(b"authorization", b"Basic xyz")]) == "addr:127.0.0.1"


# --- shrinking needs confirm --------------------------------------------------------------


def test_one_tiny_polygon_cannot_replace_the_redline_without_confirm(client, reference, tmp_path):
    before = active(client, "redline")
    tiny = shapely.box(106.75, 31.85, 106.7501, 31.8501)
    gdf = frame([tiny], code=["X"], county=["巴州区"], function=["水源涵养"])
    resp = post_file(client, "/layers/redline/versions", write(gdf, tmp_path / "tiny.geojson"))
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert "confirm=true" in resp.json()["detail"] and "面积不减少" in resp.json()["detail"]
    assert active(client, "redline") == before


def test_redline_style_layer_accepts_a_loss_of_area_with_confirm(client, monkeypatch, tmp_path):
    spec = catalog()[LAYER]
    assert (
        post_file(
            client,
            f"/layers/{LAYER}/versions",
            write(frame([SQUARE, SQUARE_B]), tmp_path / "a.geojson"),
        ).status_code
        == 201
    )
    monkeypatch.setattr(spec, "limits", LayerLimits(area_may_shrink=False))
    smaller = write(frame([SQUARE, SQUARE_B.buffer(-0.001)]), tmp_path / "b.geojson")
    before = active(client, LAYER)["active_version"]
    resp = post_file(client, f"/layers/{LAYER}/versions", smaller)
    assert resp.status_code == 409 and "area" in resp.json()["detail"]
    assert active(client, LAYER)["active_version"] == before
    resp = post_file(client, f"/layers/{LAYER}/versions", smaller, confirm="true")
    assert resp.status_code == 201, resp.text


def test_sharp_shrink_in_features_needs_confirm(client, monkeypatch, tmp_path):
    spec = catalog()[LAYER]
    four = [shapely.affinity.translate(SQUARE, 0.03 * i) for i in range(4)]
    assert (
        post_file(
            client, f"/layers/{LAYER}/versions", write(frame(four), tmp_path / "a.geojson")
        ).status_code
        == 201
    )
    monkeypatch.setattr(spec, "limits", LayerLimits())
    one = write(frame(four[:1]), tmp_path / "b.geojson")
    resp = post_file(client, f"/layers/{LAYER}/versions", one)
    assert resp.status_code == 409 and "features 4 → 1" in resp.json()["detail"]
    assert post_file(client, f"/layers/{LAYER}/versions", one, confirm="true").status_code == 201


def test_imports_get_the_longer_timeouts(database):
    from app.store.db import long_statements, session_scope

    with session_scope() as session:
        long_statements(session)
        found = session.execute(
            text(
                "SELECT current_setting('statement_timeout'), "
                "current_setting('idle_in_transaction_session_timeout')"
            )
        ).one()
    expected = f"{get_settings().import_statement_timeout_s // 60}min"
    assert tuple(found) == (expected, expected)


def test_a_million_vertex_polygon_upload_is_refused_before_it_is_stored(client, tmp_path):
    angles = np.linspace(0, 2 * np.pi, 1_000_000)
    ring = np.column_stack([106.75 + 0.01 * np.cos(angles), 31.85 + 0.01 * np.sin(angles)])
    path = tmp_path / "million.geojson"
    path.write_text(json.dumps(frame([shapely.Polygon(ring)]).to_geo_dict()))
    before = active(client, "farmland")["active_version"]
    resp = post_file(client, "/layers/farmland/versions", path)
    assert resp.status_code == 422, resp.text
    assert resp.json().get("feature") == 1, resp.text[:500]
    assert "100000 per feature" in resp.json()["detail"]
    assert active(client, "farmland")["active_version"] == before


def test_temp_file_limit_falls_back_when_the_role_may_not_set_it(caplog):
    import psycopg

    from app.store.db import _limit_temp_files

    class Unprivileged:
        rolled_back = False

        def execute(self, sql: str) -> None:
            raise psycopg.errors.InsufficientPrivilege("permission denied")

        def rollback(self) -> None:
            self.rolled_back = True

    connection = Unprivileged()
    _limit_temp_files(connection, None)
    assert connection.rolled_back and "temp_file_limit not set" in caplog.text
