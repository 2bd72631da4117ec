"""Imports through the HTTP API: each format and CRS family, and every kind of bad input."""

import json
from pathlib import Path

import pyproj
import pytest
import shapely
from sqlalchemy import text

from app.store.db import get_engine
from tests.factories import (
    GEOD,
    SQUARE,
    SQUARE_B,
    frame,
    max_vertex_shift_m,
    to_bd09,
    to_gcj02,
    write,
    zip_shapefile,
)

LAYER = "test_parcel"


def upload(client, path: Path, layer: str = LAYER, **form):
    with path.open("rb") as fh:
        return client.post(f"/layers/{layer}/versions", files={"file": (path.name, fh)}, data=form)


def stored_geometries(client, layer: str = LAYER) -> list[shapely.Geometry]:
    body = client.get(f"/layers/{layer}/features").json()
    return [shapely.geometry.shape(f["geometry"]) for f in body["features"]]


def counts() -> tuple[int, int, int]:
    with get_engine().connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM layer_version), (SELECT count(*) FROM feature), "
                "(SELECT count(*) FROM feature_part)"
            )
        ).one()


def active_version(client, layer: str = LAYER) -> int | None:
    return client.get(f"/layers/{layer}").json()["active_version"]


def test_geojson_in_cgcs2000_becomes_new_active_version(client, tmp_path):
    before = active_version(client) or 0
    resp = upload(client, write(frame([SQUARE, SQUARE_B]), tmp_path / "a.geojson"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["version"] == before + 1 and body["status"] == "active"
    assert body["feature_count"] == 2
    expected_km2 = sum(abs(GEOD.geometry_area_perimeter(g)[0]) for g in (SQUARE, SQUARE_B)) / 1e6
    assert body["total_area_km2"] == pytest.approx(expected_km2, rel=1e-4)
    stored = stored_geometries(client)
    assert max_vertex_shift_m(stored[0].normalize(), SQUARE.normalize()) < 0.01


def test_features_carry_catalog_attribute_names_and_chinese_text(client, tmp_path):
    gdf = frame(
        [SQUARE], names=["光雾山镇地块"], grade=["一级"], households=[12], surveyed=["2023/06/30"]
    )
    assert upload(client, write(gdf, tmp_path / "b.geojson")).status_code == 201
    props = client.get(f"/layers/{LAYER}/features").json()["features"][0]["properties"]
    assert props["name"] == "光雾山镇地块"
    assert props["grade"] == "一级" and props["households"] == 12
    assert props["surveyed"] == "2023-06-30"


def test_gauss_kruger_zone_shapefile_is_reprojected_to_4490(client, tmp_path):
    # EPSG:4545 = CGCS2000 3-degree Gauss-Krüger, central meridian 108E (no zone prefix).
    gk = frame([SQUARE]).to_crs("EPSG:4545")
    resp = upload(client, zip_shapefile(gk, tmp_path))
    assert resp.status_code == 201, resp.text
    assert resp.json()["source_crs"] == "EPSG:4545"
    assert max_vertex_shift_m(stored_geometries(client)[0].normalize(), SQUARE.normalize()) < 0.01


def test_zone_prefixed_gauss_kruger_given_explicitly(client, tmp_path):
    # EPSG:4524 = zone 36 with the zone number in the easting (36 500 000 false easting).
    gk = frame([SQUARE_B]).to_crs("EPSG:4524")
    x = shapely.get_coordinates(gk.geometry.iloc[0])[0, 0]
    assert 36_000_000 < x < 37_000_000
    path = write(gk.set_crs(None, allow_override=True), tmp_path / "gk.geojson")
    resp = upload(client, path, crs="EPSG:4524")
    assert resp.status_code == 201, resp.text
    assert max_vertex_shift_m(stored_geometries(client)[0].normalize(), SQUARE_B.normalize()) < 0.01


@pytest.mark.parametrize(("crs", "obfuscate"), [("GCJ02", to_gcj02), ("BD09", to_bd09)])
def test_gcj02_and_bd09_sources_are_converted_below_half_a_metre(client, tmp_path, crs, obfuscate):
    shifted = obfuscate(SQUARE)
    # The obfuscation is hundreds of metres in Sichuan: treating it as WGS84 would be wrong.
    assert max_vertex_shift_m(shifted, SQUARE) > 200
    path = write(frame([shifted], crs="EPSG:4326"), tmp_path / f"{crs}.geojson")
    resp = upload(client, path, crs=crs)
    assert resp.status_code == 201, resp.text
    assert resp.json()["source_crs"] == crs
    stored = stored_geometries(client)[0]
    assert (
        max_vertex_shift_m(
            shapely.Polygon(stored.exterior.coords), shapely.Polygon(SQUARE.exterior.coords)
        )
        < 0.5
    )


def test_gbk_shapefile_with_cpg_is_read_without_options(client, tmp_path):
    gdf = frame([SQUARE], names=["通江县诺水河镇"])
    resp = upload(client, zip_shapefile(gdf, tmp_path, encoding="GBK"))
    assert resp.status_code == 201, resp.text
    names = [
        f["properties"]["name"] for f in client.get(f"/layers/{LAYER}/features").json()["features"]
    ]
    assert names == ["通江县诺水河镇"]


def test_gbk_shapefile_without_cpg_needs_and_honours_encoding(client, tmp_path):
    gdf = frame([SQUARE], names=["平昌县镇龙镇"])
    path = zip_shapefile(gdf, tmp_path, encoding="GBK", drop=(".cpg",))
    resp = upload(client, path, encoding="gbk")
    assert resp.status_code == 201, resp.text
    props = client.get(f"/layers/{LAYER}/features").json()["features"][0]["properties"]
    assert props["name"] == "平昌县镇龙镇"


def test_gbk_shapefile_without_cpg_or_encoding_is_refused_not_garbled(client, tmp_path):
    before = active_version(client)
    gdf = frame([SQUARE], names=["平昌县镇龙镇"])
    path = zip_shapefile(gdf, tmp_path, encoding="GBK", drop=(".cpg",))
    resp = upload(client, path)
    assert resp.status_code == 422, resp.text
    assert "encoding=gbk" in resp.json()["detail"] and "UTF-8" in resp.json()["detail"]
    assert active_version(client) == before
    # The same, unzipped (the .shp read directly, as the CLI does).
    from app.errors import UnreadableFile
    from app.io.readers import read_vector

    shp = write(gdf, tmp_path / "loose.shp", encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    with pytest.raises(UnreadableFile, match="encoding=gbk"):
        read_vector(shp)
    assert read_vector(shp, "gbk").records[0]["name"] == "平昌县镇龙镇"


def test_utf8_shapefile_without_cpg_is_read_as_utf8(client, tmp_path):
    gdf = frame([SQUARE], names=["巴中市恩阳区"])
    resp = upload(client, zip_shapefile(gdf, tmp_path, encoding="UTF-8", drop=(".cpg",)))
    assert resp.status_code == 201, resp.text
    props = client.get(f"/layers/{LAYER}/features").json()["features"][0]["properties"]
    assert props["name"] == "巴中市恩阳区"


def test_geopackage_import(client, tmp_path):
    resp = upload(client, write(frame([SQUARE, SQUARE_B]), tmp_path / "p.gpkg", driver="GPKG"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["source_format"] == "GeoPackage"
    assert resp.json()["feature_count"] == 2


def test_kml_import(client, tmp_path):
    resp = upload(client, write(frame([SQUARE], crs="EPSG:4326"), tmp_path / "k.kml", driver="KML"))
    assert resp.status_code == 201, resp.text
    assert max_vertex_shift_m(stored_geometries(client)[0].normalize(), SQUARE.normalize()) < 0.01


def test_csv_with_wkt_column_in_gbk(client, tmp_path):
    path = tmp_path / "sites.csv"
    path.write_bytes(f'name,wkt\n巴河地块,"{SQUARE.wkt}"\n'.encode("gbk"))
    resp = upload(client, path, crs="EPSG:4490")
    assert resp.status_code == 201, resp.text
    props = client.get(f"/layers/{LAYER}/features").json()["features"][0]["properties"]
    assert props["name"] == "巴河地块"


def test_csv_with_lon_lat_columns(client, tmp_path):
    path = tmp_path / "wells.csv"
    path.write_text(
        "name,经度,纬度,depth_m\n一号井,106.75,31.85,120.5\n二号井,106.80,31.90,\n",
        encoding="utf-8",
    )
    resp = upload(client, path, layer="test_well", crs="EPSG:4490")
    assert resp.status_code == 201, resp.text
    features = client.get("/layers/test_well/features").json()["features"]
    assert [f["geometry"]["coordinates"] for f in features] == [[106.75, 31.85], [106.8, 31.9]]
    assert features[0]["properties"]["depth_m"] == 120.5


def test_csv_without_crs_is_refused(client, tmp_path):
    path = tmp_path / "wells.csv"
    path.write_text("name,lon,lat\nA,106.75,31.85\n", encoding="utf-8")
    resp = upload(client, path, layer="test_well")
    assert resp.status_code == 422 and resp.json()["type"].endswith("/crs")
    assert "GCJ02" in resp.json()["detail"]


def test_invalid_polygon_is_repaired_and_reported(client, tmp_path):
    bowtie = shapely.Polygon(
        [(106.70, 31.80), (106.72, 31.82), (106.72, 31.80), (106.70, 31.82), (106.70, 31.80)]
    )
    assert not bowtie.is_valid
    resp = upload(client, write(frame([bowtie]), tmp_path / "bow.geojson"))
    assert resp.status_code == 201, resp.text
    repaired = resp.json()["repaired"]
    assert repaired[0]["feature"] == 1 and "Self-intersection" in repaired[0]["note"]
    stored = stored_geometries(client)[0]
    assert stored.is_valid and stored.geom_type == "MultiPolygon"


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, dict, int, str]]:
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    no_prj = zip_shapefile(frame([SQUARE]), tmp_path, stem="noprj", drop=(".prj",))
    bad_value = write(frame([SQUARE], grade=["三级"]), tmp_path / "grade.geojson")
    points = write(frame([shapely.Point(106.7, 31.8)]), tmp_path / "points.geojson")
    projected_as_degrees = frame([SQUARE]).to_crs("EPSG:4545").set_crs(None, allow_override=True)
    far = write(projected_as_degrees, tmp_path / "far.geojson")
    no_rows = tmp_path / "none.geojson"
    no_rows.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    return {
        "corrupt zip": (corrupt, {}, 422, "unreadable-file"),
        "empty file": (empty, {}, 422, "unreadable-file"),
        "no features": (no_rows, {}, 422, "invalid-input"),
        "shapefile without .prj and no crs": (no_prj, {}, 422, "crs"),
        "value outside allowed set": (bad_value, {}, 422, "import-rejected"),
        "points for a polygon layer": (points, {}, 422, "import-rejected"),
        "coordinates out of range": (far, {"crs": "EPSG:4490"}, 422, "import-rejected"),
        "unknown crs": (bad_value, {"crs": "EPSG:999999"}, 422, "crs"),
    }


BAD_INPUTS = [
    "corrupt zip",
    "empty file",
    "no features",
    "shapefile without .prj and no crs",
    "value outside allowed set",
    "points for a polygon layer",
    "coordinates out of range",
    "unknown crs",
]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_a_clear_problem_and_changes_nothing(client, tmp_path, case):
    inputs = _bad_inputs(tmp_path)
    assert sorted(inputs) == sorted(BAD_INPUTS)
    path, form, status, slug = inputs[case]
    good = upload(client, write(frame([SQUARE]), tmp_path / "good.geojson"))
    assert good.status_code == 201
    version, before = good.json()["version"], counts()
    resp = upload(client, path, **form)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["type"].endswith(slug) and problem["title"] and problem["detail"]
    assert counts() == before
    assert active_version(client) == version


def test_rejection_names_feature_and_field(client, tmp_path):
    gdf = frame([SQUARE, SQUARE_B], grade=["一级", "三级"])
    problem = upload(client, write(gdf, tmp_path / "g.geojson")).json()
    assert problem["errors"] == [
        {"feature": 2, "field": "grade", "problem": "'三级' is not one of: 一级 / 二级"}
    ]
    assert "feature 2, field grade" in problem["detail"]


def test_unknown_layer_is_404_problem(client, tmp_path):
    resp = upload(client, write(frame([SQUARE]), tmp_path / "x.geojson"), layer="no_such_layer")
    assert resp.status_code == 404
    assert resp.json()["type"].endswith("unknown-layer")
    assert "redline" in resp.json()["detail"]


def test_versions_are_listed_in_order_with_one_active(client, tmp_path):
    upload(client, write(frame([SQUARE]), tmp_path / "v.geojson"), note="第一版")
    upload(client, write(frame([SQUARE_B]), tmp_path / "w.geojson"), note="第二版")
    versions = client.get(f"/layers/{LAYER}/versions").json()
    numbers = [v["version"] for v in versions]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert [v["status"] for v in versions].count("active") == 1
    assert versions[-1]["status"] == "active" and versions[-1]["note"] == "第二版"
    # A past version stays readable.
    old = client.get(f"/layers/{LAYER}/features", params={"version": versions[-2]["version"]})
    assert old.status_code == 200 and old.json()["version"] == versions[-2]["version"]


def test_features_bbox_and_paging(client, tmp_path):
    upload(client, write(frame([SQUARE, SQUARE_B]), tmp_path / "p.geojson"))
    inside_a = ",".join(map(str, SQUARE.buffer(0.001).bounds))
    body = client.get(f"/layers/{LAYER}/features", params={"bbox": inside_a}).json()
    assert body["numberMatched"] == 1
    page = client.get(f"/layers/{LAYER}/features", params={"limit": 1, "offset": 1}).json()
    assert page["numberReturned"] == 1 and page["numberMatched"] == 2
    bad = client.get(f"/layers/{LAYER}/features", params={"bbox": "1,2,3"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")


def test_gk_transform_matches_pyproj_directly():
    """The CRS module and an independent pyproj call agree (guards axis-order mistakes)."""
    from app.geo.crs import parse_crs, to_storage

    x, y = pyproj.Transformer.from_crs(4490, 4545, always_xy=True).transform(106.75, 31.85)
    back = to_storage(shapely.points([[x, y]]), parse_crs("EPSG:4545"))[0]
    assert back.x == pytest.approx(106.75, abs=1e-8) and back.y == pytest.approx(31.85, abs=1e-8)


def test_empty_dates_stay_empty(client, tmp_path):
    gdf = frame([SQUARE, SQUARE_B], surveyed=["2023-06-30", None])
    resp = upload(client, write(gdf, tmp_path / "dates.geojson"))
    assert resp.status_code == 201, resp.text
    props = [f["properties"] for f in client.get(f"/layers/{LAYER}/features").json()["features"]]
    assert props[0]["surveyed"] == "2023-06-30" and "surveyed" not in props[1]


def test_cli_import_needs_confirm_to_shrink_sharply(client, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from app.catalog import LayerLimits, catalog
    from app.cli import app

    runner = CliRunner()
    two = write(frame([SQUARE, SQUARE_B]), tmp_path / "two.geojson")
    assert runner.invoke(app, ["import", LAYER, str(two)]).exit_code == 0
    monkeypatch.setattr(catalog()[LAYER], "limits", LayerLimits(area_may_shrink=False))
    one = write(frame([SQUARE]), tmp_path / "one.geojson")
    refused = runner.invoke(app, ["import", LAYER, str(one)])
    assert refused.exit_code == 2 and "--confirm" in refused.output
    accepted = runner.invoke(app, ["import", LAYER, str(one), "--confirm"])
    assert accepted.exit_code == 0, accepted.output


def test_csv_records_keep_every_row_and_empty_cells_as_none(tmp_path):
    from app.io.readers import read_vector

    bare = tmp_path / "bare.csv"
    bare.write_text("lon,lat\n106.7,31.8\n106.8,31.9\n", encoding="utf-8")
    assert read_vector(bare).records == [{}, {}]  # coordinates only: one record per row
    named = tmp_path / "named.csv"
    named.write_text("名称,lon,lat,类别\n甲,106.7,31.8,工业\n,106.8,31.9,\n", encoding="utf-8")
    assert read_vector(named).records == [
        {"名称": "甲", "类别": "工业"},
        {"名称": None, "类别": None},
    ]
