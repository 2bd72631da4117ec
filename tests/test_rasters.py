"""Raster layers: uploads, zonal statistics per unit and per site, the reference rasters."""

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import from_origin

from tests.test_screening import ref_features


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def tiff(
    path,
    data: np.ndarray,
    crs: str | None = "EPSG:4545",
    nodata=None,
    origin=(36_390_000.0, 3_590_000.0),
):
    """A GeoTIFF from an array; default 100 m pixels in Gauss-Krüger zone 36."""
    crs = crs and ("EPSG:4524" if origin[0] > 1e7 else crs)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs=crs,
        nodata=nodata,
        transform=from_origin(*origin, 100, 100),
    ) as dst:
        dst.write(data, 1)
    return path


def upload(client, raster: str, path):
    with path.open("rb") as fh:
        return client.post(f"/rasters/{raster}/versions", files={"file": (path.name, fh)})


def test_reference_rasters_are_listed(client):
    rasters = {r["id"]: r for r in client.get("/rasters").json()}
    assert rasters["landcover"]["active"]["crs"] == "EPSG:4545"
    assert rasters["eco_importance"]["classes"]["1"]["label"] == "极重要"


def test_city_forest_cover_matches_the_plan(client):
    body = client.get(
        "/summaries", params={"by": "city", "layers": "redline", "rasters": "landcover"}
    ).json()
    forest = body["rows"][0]["rasters"]["landcover"]["class_shares"]["林地"]
    assert forest == pytest.approx(0.6318, abs=0.003)


def test_township_shares_match_an_independent_rasterio_computation(client):
    body = client.get("/rasters/landcover/zonal", params={"by": "township"}).json()
    assert len(body["rows"]) == 139
    row = next(r for r in body["rows"] if r["name"] == "光雾山镇")
    _, township = next((p, g) for p, g in ref_features("township") if p["name"] == "光雾山镇")
    with rasterio.open("layers/data/bazhong/landcover.tif") as src:
        import geopandas as gpd

        local = gpd.GeoSeries([township], crs=4490).to_crs(src.crs).iloc[0]
        data = src.read(1)
        mask = rasterize([(local, 1)], out_shape=data.shape, transform=src.transform) == 1
        values = data[mask & (data != 0)]
    assert row["pixels"] == values.size
    assert row["class_shares"]["林地"] == pytest.approx(np.mean(values == 1), abs=1e-9)


def test_eco_function_townships_have_high_extremely_important_shares(client):
    body = client.get(
        "/summaries", params={"by": "township", "layers": "redline", "rasters": "eco_importance"}
    ).json()
    by_type: dict[str, list[float]] = {}
    for row in body["rows"]:
        share = row["rasters"]["eco_importance"]["class_shares"]["极重要"]
        by_type.setdefault(row["zone_type"], []).append(share)
    eco = np.mean(by_type["重点生态功能区"])
    assert eco > 2 * np.mean(by_type["农产品主产区"])
    assert eco > 2 * np.mean(by_type["城镇化地区"])


def test_screening_reports_raster_statistics_of_the_site(client):
    _, geom = next((p, g) for p, g in ref_features("township") if p["name"] == "光雾山镇")
    p = shapely.point_on_surface(geom)
    point = client.post("/screenings", json={"geometry": shapely.geometry.mapping(p)}).json()
    lc = point["rasters"]["landcover"]
    assert lc["sampled_at_point"] and sum(lc["class_shares"].values()) == pytest.approx(1)
    polygon = client.post(
        "/screenings", json={"geometry": shapely.geometry.mapping(p.buffer(0.02))}
    ).json()
    shares = polygon["rasters"]["eco_importance"]["class_shares"]
    assert sum(shares.values()) == pytest.approx(1) and polygon["rasters"]["landcover"]["pixels"]


def test_continuous_raster_upload_and_min_mean_max(client, tmp_path):
    data = np.arange(400, dtype="float32").reshape(20, 20)
    data[0, 0] = -9999
    path = tiff(tmp_path / "dem.tif", data, nodata=-9999)
    resp = upload(client, "test_dem", path)
    assert resp.status_code == 201, resp.text
    assert resp.json()["width"] == 20
    body = client.get("/rasters/test_dem/zonal", params={"by": "city"}).json()
    stats = body["rows"][0]
    with rasterio.open(path) as src:
        assert stats["min"] == pytest.approx(1.0) and stats["max"] == pytest.approx(399.0)
        assert stats["mean"] == pytest.approx(float(np.mean(data[data != -9999])))
        assert stats["pixels"] == 399 and src.crs.to_epsg() == 4524


def test_bad_rasters_are_refused(client, tmp_path):
    no_crs = tiff(tmp_path / "nocrs.tif", np.ones((5, 5), "uint8"), crs=None)
    resp = upload(client, "landcover", no_crs)
    assert resp.status_code == 422 and resp.json()["type"].endswith("/crs")
    odd = tiff(tmp_path / "odd.tif", np.full((5, 5), 9, "uint8"), nodata=0)
    resp = upload(client, "landcover", odd)
    assert resp.status_code == 422 and "[9]" in resp.json()["detail"]
    text = tmp_path / "not.tif"
    text.write_text("not a tiff")
    assert upload(client, "landcover", text).status_code == 422
    assert upload(client, "no_such_raster", odd).status_code == 404
    versions = client.get("/rasters/landcover/versions").json()
    assert [v["status"] for v in versions].count("active") == 1


def test_raster_summary_in_csv(client):
    csv = client.get(
        "/summaries",
        params={"by": "county", "layers": "redline", "rasters": "landcover", "format": "csv"},
    )
    header = csv.content.decode("utf-8-sig").splitlines()[0]
    assert "土地覆被·林地占比（%）" in header


def test_unknown_raster_in_summary(client):
    resp = client.get("/summaries", params={"by": "city", "rasters": "nope"})
    assert resp.status_code == 404
    assert json.loads(resp.content)["type"].endswith("unknown-layer")


def test_zonal_stats_count_each_zone_and_sample_points(tmp_path):
    """Pixel by pixel on a hand-made 10×10 grid: the counts are known without any library."""
    import pyproj

    from app.catalog import get_raster_spec
    from app.raster.zonal import zonal_stats

    data = np.ones((10, 10), dtype="uint8")
    data[:, 5:] = 2
    data[0, :] = 0  # nodata
    path = tiff(tmp_path / "lc.tif", data)  # EPSG:4524, 100 m pixels

    def cells(row0: int, col0: int, row1: int, col1: int) -> shapely.Polygon:
        # Inset 20 m: every pixel centre of the block is inside, no other one.
        x0, y0 = 36_390_000 + col0 * 100 + 20, 3_590_000 - row1 * 100 + 20
        return shapely.box(x0, y0, x0 + (col1 - col0) * 100 - 40, y0 + (row1 - row0) * 100 - 40)

    to_4490 = pyproj.Transformer.from_crs(4524, 4490, always_xy=True)
    block = shapely.transform(
        cells(0, 3, 4, 7), lambda xy: np.column_stack(to_4490.transform(*xy.T))
    )
    point = shapely.Point(to_4490.transform(36_390_000 + 850, 3_590_000 - 550))
    spec = get_raster_spec("landcover")
    area, at_point = zonal_stats(str(path), spec, [block, point])
    # 4×4 pixels, the top row nodata: 12 pixels, half 林地 (value 1), half 耕地 (value 2).
    assert area.pixels == 12 and area.area_km2 == pytest.approx(0.12)
    assert area.class_shares == {
        "林地": 0.5,
        "耕地": 0.5,
        "草地": 0,
        "水域": 0,
        "建设用地": 0,
        "其他": 0,
    }
    assert area.class_km2["林地"] == pytest.approx(0.06)
    assert at_point.sampled_at_point and at_point.pixels == 0
    assert at_point.class_shares["耕地"] == 1.0 and sum(at_point.class_shares.values()) == 1.0


def test_rasters_on_one_grid_share_the_burnt_zones_but_not_their_values(tmp_path):
    """Two rasters on one grid reuse one label grid: the same figures as each read alone, and
    a raster on another grid (shifted half a pixel) gets its own."""
    import pyproj

    from app.catalog import get_raster_spec
    from app.raster.zonal import zonal_stats

    rng = np.random.default_rng(7)
    first = tiff(tmp_path / "a.tif", rng.integers(1, 7, (10, 10), dtype="uint8"))
    second = tiff(tmp_path / "b.tif", rng.integers(1, 7, (10, 10), dtype="uint8"))
    shifted = tmp_path / "c.tif"
    with rasterio.open(first) as src:
        profile = {**src.profile, "transform": src.transform * src.transform.translation(0.5, 0.3)}
        with rasterio.open(shifted, "w", **profile) as dst:
            dst.write(src.read())
    to_4490 = pyproj.Transformer.from_crs(4524, 4490, always_xy=True)
    zone = shapely.transform(
        shapely.Point(36_390_450, 3_589_550).buffer(320),
        lambda xy: np.column_stack(to_4490.transform(*xy.T)),
    )
    spec = get_raster_spec("landcover")
    shared: dict = {}
    together = [zonal_stats(str(p), spec, [zone], shared)[0] for p in (first, second, shifted)]
    alone = [zonal_stats(str(p), spec, [zone], {})[0] for p in (first, second, shifted)]
    assert together == alone
    assert together[0].class_shares != together[1].class_shares  # values are each raster's


PARALLEL_UPLOADS = 12


def test_parallel_uploads_get_distinct_versions_and_keep_the_active_file(
    live_server, tmp_path, admin_headers
):
    """12 uploads at once: each gets its own version; the active file exists and opens."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    path = tiff(tmp_path / "dem.tif", np.arange(400, dtype="float32").reshape(20, 20))

    def send(_: int) -> httpx.Response:
        with path.open("rb") as fh:
            return httpx.post(
                f"{live_server}/rasters/test_dem/versions",
                files={"file": (path.name, fh)},
                headers=admin_headers,
                timeout=60,
            )

    with ThreadPoolExecutor(PARALLEL_UPLOADS) as pool:
        answers = list(pool.map(send, range(PARALLEL_UPLOADS)))
    assert [r.status_code for r in answers] == [201] * PARALLEL_UPLOADS, answers[0].text
    numbers = [r.json()["version"] for r in answers]
    assert len(set(numbers)) == PARALLEL_UPLOADS
    versions = httpx.get(f"{live_server}/rasters/test_dem/versions").json()
    active = [v for v in versions if v["status"] == "active"]
    assert len(active) == 1 and active[0]["version"] == max(numbers)
    from app.store.db import session_scope
    from app.store.rasters import active_rasters

    with session_scope() as session:
        stored = active_rasters(session)["test_dem"]
    with rasterio.open(stored.path) as src:
        assert src.read(1).shape == (20, 20)
    leftovers = list(Path(stored.path).parent.glob(".staged-*"))
    assert not leftovers


def test_a_failed_upload_leaves_the_files_in_use_alone(client, tmp_path):
    """A transaction that rolls back removes only its own staged file; nothing else changes."""
    from app.store.db import session_scope
    from app.store.rasters import active_rasters, import_raster

    with session_scope() as session:
        before = active_rasters(session)["landcover"]
    files = sorted(Path(before.path).parent.iterdir())
    path = tiff(tmp_path / "lc.tif", np.ones((5, 5), "uint8"))
    with pytest.raises(RuntimeError), session_scope() as session:
        version = import_raster(session, "landcover", path)
        raise RuntimeError("the request failed after the insert")
    assert sorted(Path(before.path).parent.iterdir()) == files  # nothing added or removed
    assert version.version > before.version
    with session_scope() as session:
        assert active_rasters(session)["landcover"].path == before.path
    with rasterio.open(before.path) as src:
        assert src.count == 1


def test_raster_files_belong_to_their_database(client, tmp_path):
    """Each database keeps its files under var/<database>; stored paths stay absolute."""
    from app.config import Settings, get_settings

    one = Settings(database_url="postgresql+psycopg://u@h:5432/redline_a_test")
    two = Settings(database_url="postgresql+psycopg://u@h:5432/redline_b_test")
    assert one.raster_dir != two.raster_dir and one.job_dir != two.job_dir
    assert one.raster_dir.parent.name == "redline_a_test"
    current = get_settings()
    from app.store.db import session_scope
    from app.store.rasters import active_rasters

    with session_scope() as session:
        stored = Path(active_rasters(session)["landcover"].path)
    assert stored.is_absolute() and stored.is_relative_to(current.data_dir)
