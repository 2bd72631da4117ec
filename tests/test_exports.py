"""Exports read back with GDAL: every format, CRS, version, QGIS styles, Shapefile names, CLI."""

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from app.catalog import catalog, get_layer_spec
from app.io.attributes import column_mapping
from app.io.readers import read_vector
from app.publish.exports import SHAPEFILE_NAMES, shapefile_field_names
from app.publish.qml import layer_qml, qgis_color
from app.store.db import get_engine
from tests.factories import GEOD, SQUARE, SQUARE_B, frame, write

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = "application/problem+json"
TOWNSHIP_COUNT = 139


@pytest.fixture(scope="module")
def api(database, admin_headers):
    """The app with the exports router, whether or not main.py registers it yet."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.api.routes import exports

    app = create_app()
    if not any(getattr(r, "path", "").startswith("/exports/") for r in app.routes):
        app.include_router(exports.router)
    with TestClient(app, headers=admin_headers) as c:
        yield c


@pytest.fixture(scope="module")
def township_rows(reference) -> list[tuple[str, str, float]]:
    """(name, zone_type, area_m2) of the active township version, in file order."""
    with get_engine().connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT f.attributes->>'name', f.attributes->>'zone_type', f.area_m2 "
                    "FROM feature f JOIN layer l ON l.active_version_id = f.version_id "
                    "WHERE l.id = 'township' ORDER BY f.ordinal"
                )
            )
        ]


def download(api, url: str, tmp_path: Path) -> Path:
    resp = api.get(url)
    assert resp.status_code == 200, resp.text
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    name = disposition.split("filename=")[1].strip('"')
    path = tmp_path / name
    path.write_bytes(resp.content)
    return path


def read_back(path: Path) -> gpd.GeoDataFrame:
    if path.suffix == ".csv":
        gdf = pyogrio.read_dataframe(path, GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO")
        return gdf.set_crs("EPSG:4490")
    if path.suffix == ".zip":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{path.stem}.shp")
    if path.suffix == ".gpkg":
        return pyogrio.read_dataframe(path, layer=path.stem.split("_v")[0])
    return pyogrio.read_dataframe(path)


def geodesic_areas(gdf: gpd.GeoDataFrame) -> list[float]:
    lon_lat = gdf.to_crs("EPSG:4490") if gdf.crs.to_epsg() not in (4490, 4326) else gdf
    return [abs(GEOD.geometry_area_perimeter(g)[0]) for g in lon_lat.geometry]


def upload(api, path: Path, layer: str = "test_parcel") -> dict:
    with path.open("rb") as fh:
        resp = api.post(f"/layers/{layer}/versions", files={"file": (path.name, fh)})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.parametrize(
    ("fmt", "epsg"),
    [("gpkg", 4490), ("zip", 4490), ("geojson", 4326), ("kml", 4326), ("csv", None)],
)
def test_each_format_reads_back_township(api, township_rows, tmp_path, fmt, epsg):
    path = download(api, f"/exports/township.{fmt}", tmp_path)
    assert path.name.startswith("township_v") and path.name.endswith(f".{fmt}")
    gdf = read_back(path)
    assert len(gdf) == TOWNSHIP_COUNT
    names = gdf["Name"] if fmt == "kml" else gdf["name"]
    assert list(names) == [r[0] for r in township_rows]
    assert list(gdf["zone_type"]) == [r[1] for r in township_rows]
    if epsg is not None:
        assert gdf.crs.to_epsg() == epsg
    for got, (_, _, stored) in zip(geodesic_areas(gdf), township_rows, strict=True):
        assert got == pytest.approx(stored, rel=1e-4)


def test_attribute_columns_follow_the_catalog(api, reference, tmp_path):
    spec = get_layer_spec("township")
    expected = [a.name for a in spec.attributes] + ["area_m2"]
    gpkg = read_back(download(api, "/exports/township.gpkg", tmp_path))
    assert list(gpkg.columns) == [*expected, "geometry"]
    raw = download(api, "/exports/township.csv", tmp_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets then read UTF-8 Chinese
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == [*expected, "wkt"]
    assert "county_positioning" in gpkg and gpkg["county_positioning"].notna().any()


def test_geojson_is_rfc7946_by_default_and_names_other_crs(api, reference, tmp_path):
    plain = json.loads(download(api, "/exports/township.geojson", tmp_path).read_text("utf-8"))
    assert "crs" not in plain
    lon, lat = shapely.geometry.shape(plain["features"][0]["geometry"]).centroid.coords[0]
    assert 105 < lon < 109 and 31 < lat < 33
    gk = json.loads(
        download(api, "/exports/township.geojson?crs=EPSG:4545", tmp_path).read_text("utf-8")
    )
    assert gk["crs"]["properties"]["name"].endswith("4545")


@pytest.mark.parametrize("fmt", ["gpkg", "zip", "geojson", "csv"])
def test_gauss_kruger_crs_gives_projected_metres(api, township_rows, tmp_path, fmt):
    path = download(api, f"/exports/township.{fmt}?crs=EPSG:4545", tmp_path)
    assert "epsg4545" in path.name
    gdf = read_back(path)
    if fmt == "csv":
        gdf = gdf.set_crs("EPSG:4545", allow_override=True)
    else:
        assert gdf.crs.to_epsg() == 4545
    minx, miny, maxx, maxy = gdf.total_bounds
    # CM 108°E without zone prefix: eastings around 500 km, northings ~3.5 million metres.
    assert 250_000 < minx < maxx < 600_000
    assert 3_400_000 < miny < maxy < 3_700_000
    for got, (_, _, stored) in zip(geodesic_areas(gdf), township_rows, strict=True):
        assert got == pytest.approx(stored, rel=1e-4)


def test_zone_prefixed_gauss_kruger(api, reference, tmp_path):
    gdf = read_back(download(api, "/exports/township.gpkg?crs=EPSG:4524", tmp_path))
    assert 36_000_000 < gdf.total_bounds[0] < 37_000_000


def test_version_parameter_returns_the_older_features(api, tmp_path):
    old = upload(
        api, write(frame([SQUARE, SQUARE_B], names=["旧甲", "旧乙"]), tmp_path / "o.geojson")
    )
    new = upload(api, write(frame([SQUARE], names=["新地块"]), tmp_path / "n.geojson"))
    assert new["version"] == old["version"] + 1
    resp = api.get(f"/exports/test_parcel.geojson?version={old['version']}")
    assert resp.status_code == 200 and resp.headers["x-redline-version"] == str(old["version"])
    assert f"test_parcel_v{old['version']}.geojson" in resp.headers["content-disposition"]
    names = [f["properties"]["name"] for f in resp.json()["features"]]
    assert names == ["旧甲", "旧乙"]
    current = api.get("/exports/test_parcel.geojson").json()
    assert [f["properties"]["name"] for f in current["features"]] == ["新地块"]


def _style_rows(path: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM layer_styles ORDER BY id").fetchall()
    db.close()
    return rows


def test_gpkg_carries_the_default_qgis_style(api, reference, tmp_path):
    path = download(api, "/exports/township.gpkg", tmp_path)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"township", "layer_styles"} <= layers
    with sqlite3.connect(path) as db:
        kinds = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents"))
        geom_col = db.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = 'township'"
        ).fetchone()[0]
        columns = [r[1] for r in db.execute("PRAGMA table_info(layer_styles)")]
    db.close()
    assert kinds == {"township": "features", "layer_styles": "attributes"}
    assert columns == [
        "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
        "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui",
        "update_time",
    ]  # fmt: skip
    (row,) = _style_rows(path)
    assert row["f_table_name"] == "township" and row["useAsDefault"] == 1
    assert row["f_geometry_column"] == geom_col and row["f_table_schema"] == ""
    assert row["update_time"]
    root = ET.fromstring(row["styleQML"].split("\n", 1)[1])
    assert root.tag == "qgis" and root.get("version", "").startswith("3.")
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "zone_type"
    style = yaml.safe_load((ROOT / "layers/township.yaml").read_text("utf-8"))["style"]
    categories = {c.get("value"): c.get("symbol") for c in renderer.iter("category")}
    assert set(categories) == set(style["fill_by"]["values"])
    for value, colour in style["fill_by"]["values"].items():
        symbol = renderer.find(f"symbols/symbol[@name='{categories[value]}']")
        fill = symbol.find("layer[@class='SimpleFill']/Option/Option[@name='color']")
        assert fill.get("value") == qgis_color(colour, style["fill_opacity"])
    assert root.find("labeling").get("type") == "simple"
    assert root.find("labeling/settings/text-style").get("fieldName") == "name"
    aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
    assert aliases["name"] == "乡镇（街道）名称" and aliases["zone_type"] == "主体功能区类型"


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL command line not installed")
def test_ogrinfo_lists_the_style_table(api, reference, tmp_path):
    path = download(api, "/exports/township.gpkg", tmp_path)
    out = subprocess.run(["ogrinfo", "-so", str(path)], capture_output=True, text=True, check=True)
    assert "township" in out.stdout and "layer_styles" in out.stdout


def test_bundle_holds_every_active_layer_with_one_style_each(api, reference, tmp_path):
    resp = api.get("/exports/bundle.gpkg")
    assert resp.status_code == 200, resp.text
    path = tmp_path / "bundle.gpkg"
    path.write_bytes(resp.content)
    active = {
        layer["id"]: layer["active_version"]
        for layer in api.get("/layers").json()
        if layer["active_version"]
    }
    assert {"township", "redline", "river"} <= set(active)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == set(active) | {"layer_styles", "redline_export_info"}
    styles = [row["f_table_name"] for row in _style_rows(path)]
    assert sorted(styles) == sorted(active)
    info = pyogrio.read_dataframe(path, layer="redline_export_info")
    assert dict(zip(info["layer"], info["version"], strict=True)) == active
    assert len(pyogrio.read_dataframe(path, layer="township")) == TOWNSHIP_COUNT


def test_shapefile_zip_parts_encoding_and_field_names(api, reference, tmp_path):
    path = download(api, "/exports/township.zip", tmp_path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        stem = path.stem
        assert {f"{stem}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg", "qml")} <= names
        assert zf.read(f"{stem}.cpg").decode().strip() == "UTF-8"
        fields = list(csv.DictReader(io.StringIO(zf.read("fields.csv").decode("utf-8-sig"))))
    info = pyogrio.read_info(f"/vsizip/{path}/{stem}.shp")
    dbf = list(info["fields"])
    assert all(len(n) <= 10 for n in dbf) and len({n.lower() for n in dbf}) == len(dbf)
    assert [f["shapefile_field"] for f in fields] == dbf
    by_name = {f["field"]: f for f in fields}
    assert by_name["county_positioning"]["shapefile_field"] == "county_pos"
    assert by_name["county_positioning"]["label_zh"] == "县级主体功能定位"
    # The importer's own reader and column mapping recover every catalog attribute.
    source = read_vector(path)
    mapping, unmatched = column_mapping(list(source.records[0]), get_layer_spec("township"))
    assert set(mapping.values()) == {a.name for a in get_layer_spec("township").attributes}
    assert unmatched == ["area_m2"]
    assert source.records[0]["name"] and any(r["county_pos"] for r in source.records)


def test_shapefile_names_round_trip_for_every_catalog_layer():
    long_names = {
        a.name for spec in catalog().values() for a in spec.attributes if len(a.name) > 10
    }
    assert long_names <= set(SHAPEFILE_NAMES)
    for spec in catalog().values():
        names = shapefile_field_names(spec)
        assert all(len(n) <= 10 for n in names.values())
        assert len({n.lower() for n in names.values()}) == len(names)
        mapping, _ = column_mapping(list(names.values()), spec)
        assert {mapping[short]: short for short in mapping} == {
            a.name: names[a.name] for a in spec.attributes
        }


def test_shapefile_export_reimports_with_the_same_attributes(api, tmp_path):
    gdf = frame(
        [SQUARE, SQUARE_B],
        names=["光雾山镇地块", "恩阳区地块"],
        grade=["一级", None],
        households=[12, None],
        # Both dated: the importer stores a null date read from GeoJSON as "NaT".
        surveyed=["2023-06-30", "2024-01-15"],
    )
    before = upload(api, write(gdf, tmp_path / "full.geojson"))
    zipped = download(api, f"/exports/test_parcel.zip?version={before['version']}", tmp_path)
    after = upload(api, zipped)
    assert after["version"] == before["version"] + 1 and after["source_crs"] == "EPSG:4490"
    features = api.get("/layers/test_parcel/features").json()["features"]
    props = [{k: v for k, v in f["properties"].items() if k != "area_m2"} for f in features]
    assert props == [
        {"name": "光雾山镇地块", "grade": "一级", "households": 12, "surveyed": "2023-06-30",
         "length_m": None},
        {"name": "恩阳区地块", "surveyed": "2024-01-15", "length_m": None},
    ]  # fmt: skip
    assert after["total_area_km2"] == pytest.approx(before["total_area_km2"], rel=1e-6)


def test_qml_of_every_catalog_layer_is_well_formed():
    for spec in catalog().values():
        root = ET.fromstring(layer_qml(spec).split("\n", 1)[1])
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
        assert (root.find("labeling") is not None) == bool(spec.label)
        kinds = {s.get("type") for s in root.iter("symbol")}
        assert kinds == {{"polygon": "fill", "line": "line", "point": "marker"}[spec.geometry_type]}
    dashed = ET.fromstring(layer_qml(get_layer_spec("admin_county")).split("\n", 1)[1])
    line = dashed.find(".//layer[@class='SimpleLine']/Option")
    options = {o.get("name"): o.get("value") for o in line}
    assert options["use_custom_dash"] == "1" and options["customdash"] == "6.4;3.2"


def test_cli_export_writes_a_file(reference, tmp_path):
    from app.cli import app

    target = tmp_path / "out.gpkg"
    result = CliRunner().invoke(
        app, ["export", "township", "gpkg", "--crs", "EPSG:4545", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    gdf = pyogrio.read_dataframe(target, layer="township")
    assert len(gdf) == TOWNSHIP_COUNT and gdf.crs.to_epsg() == 4545
    bad = CliRunner().invoke(app, ["export", "township", "dxf", "--output", str(tmp_path)])
    assert bad.exit_code == 2 and "Unknown export format" in bad.output


@pytest.mark.parametrize(
    ("url", "status", "kind", "says"),
    [
        ("/exports/nowhere.gpkg", 404, "unknown-layer", "Known layers"),
        ("/exports/township.gpkg?version=999", 404, "not-found", "available versions"),
        ("/exports/township.dxf", 422, "invalid-input", "gpkg"),
        ("/exports/township.gpkg?crs=EPSG:999999", 422, "crs", "EPSG:999999"),
        ("/exports/township.gpkg?crs=MARS", 422, "crs", "EPSG:4490"),
        ("/exports/township.gpkg?crs=GCJ02", 422, "crs", "GCJ-02"),
        ("/exports/township.gpkg?crs=EPSG:5773", 422, "crs", "2D"),
        ("/exports/township.kml?crs=EPSG:4545", 422, "crs", "KML is always WGS 84"),
    ],
)
def test_bad_requests_are_problems(api, reference, url, status, kind, says):
    resp = api.get(url)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["type"].endswith(f"/{kind}") and says in body["detail"]
