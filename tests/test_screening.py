"""Site screening against the reference data: numbers checked independently, inputs, rules."""

import json
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import mapping, shape

from tests.factories import GEOD, to_bd09, to_gcj02
from tests.report_samples import LAND_HEADER

REF = Path(__file__).resolve().parent.parent / "layers" / "data" / "bazhong"


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def ref_features(layer: str) -> list[tuple[dict, shapely.Geometry]]:
    """Reference features read straight from the files, not from our database."""
    data = json.loads((REF / f"{layer}.geojson").read_text(encoding="utf-8"))
    return [(f["properties"], shape(f["geometry"])) for f in data["features"]]


def geod_area(geom: shapely.Geometry) -> float:
    # Holes must wind against the shell for pyproj's signed ring sum.
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


def screen(client, status: int = 201, **body) -> dict:
    resp = client.post("/screenings", json=body)
    assert resp.status_code == status, resp.text
    return resp.json()


def finding(result: dict, layer: str, name: str | None = None) -> dict:
    hits = [
        f for f in result["findings"] if f["layer"] == layer and (name is None or f["name"] == name)
    ]
    assert hits, f"no {layer} finding {name or ''} in {[f['name'] for f in result['findings']]}"
    return hits[0]


def circle(lon: float, lat: float, radius_m: float, n: int = 64) -> shapely.Polygon:
    lons, lats, _ = GEOD.fwd(
        np.full(n, lon),
        np.full(n, lat),
        np.linspace(0, 360, n, endpoint=False),
        np.full(n, radius_m),
    )
    return shapely.Polygon(zip(lons, lats, strict=True))


def edge_site(layer: str, name: str, radius_m: float = 1500) -> tuple[shapely.Geometry, ...]:
    props, feature = next((p, g) for p, g in ref_features(layer) if p["name"] == name)
    largest = max(shapely.get_parts(feature), key=lambda g: g.area)
    p = largest.exterior.interpolate(0.37, normalized=True)
    return circle(p.x, p.y, radius_m), feature


def test_overlap_area_and_share_match_shapely_and_geod(client):
    name = "米仓山—光雾山水源涵养生态保护红线"
    site, feature = edge_site("redline", name)
    expected = geod_area(site.intersection(feature))
    assert 0.1 < expected / geod_area(site) < 0.9  # a partial overlap, the interesting case
    result = screen(client, geometry=mapping(site), project_category="工业")
    f = finding(result, "redline", name)
    assert f["relation"] == "overlaps"
    assert f["overlap_area_m2"] == pytest.approx(expected, rel=1e-3)
    assert f["overlap_share"] == pytest.approx(expected / geod_area(site), rel=1e-3)
    assert f["overlap_area_ha"] == pytest.approx(expected / 1e4, rel=1e-3)
    assert f["overlap_area_mu"] == pytest.approx(expected * 15 / 10000, rel=1e-3)
    assert result["site"]["area_m2"] == pytest.approx(geod_area(site), rel=1e-6)


def test_distance_to_nearest_edge_matches_an_independent_computation(client):
    name = "四川光雾山自然保护区"
    _, feature = next((p, g) for p, g in ref_features("protected_area") if p["name"] == name)
    reserve = max(shapely.get_parts(feature), key=lambda g: g.area)
    c = reserve.centroid
    edge = reserve.exterior.interpolate(reserve.exterior.project(shapely.Point(c.x + 1, c.y)))
    azimuth, _, _ = GEOD.inv(c.x, c.y, edge.x, edge.y)
    lon, lat, _ = GEOD.fwd(edge.x, edge.y, azimuth, 800)
    # Independent distance: an azimuthal equidistant projection centred on the site.
    aeqd = pyproj.Transformer.from_crs(
        4490, f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=GRS80", always_xy=True
    )
    projected = shapely.transform(
        reserve, lambda xy: np.column_stack(aeqd.transform(xy[:, 0], xy[:, 1]))
    )
    expected = projected.distance(shapely.Point(0, 0))
    result = screen(client, geometry={"type": "Point", "coordinates": [lon, lat]})
    f = finding(result, "protected_area", name)
    assert f["relation"] == "nearby"
    assert f["distance_m"] == pytest.approx(expected, abs=1.0)
    assert 300 < f["distance_m"] < 900


@pytest.mark.parametrize(("crs", "obfuscate"), [("GCJ02", to_gcj02), ("BD09", to_bd09)])
def test_phone_map_coordinates_land_where_cgcs2000_lands(client, crs, obfuscate):
    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 900)
    truth = screen(client, geometry=mapping(site), project_category="工业")
    shifted = obfuscate(site)
    assert GEOD.inv(*site.centroid.coords[0], *shifted.centroid.coords[0])[2] > 300
    other = screen(client, geometry=mapping(shifted), crs=crs, project_category="工业")
    a, b = truth["site"]["centroid"], other["site"]["centroid"]
    assert GEOD.inv(a["lon"], a["lat"], b["lon"], b["lat"])[2] < 0.5
    assert other["site"]["source_crs"] == crs
    pairs = {(f["layer"], f["feature_id"], f["relation"]) for f in truth["findings"]}
    assert pairs == {(f["layer"], f["feature_id"], f["relation"]) for f in other["findings"]}
    assert other["verdict"] == truth["verdict"]
    t = finding(truth, "redline")["overlap_area_m2"]
    assert finding(other, "redline")["overlap_area_m2"] == pytest.approx(t, rel=1e-3)


def land_txt(site: shapely.Polygon, name: str = "测试项目用地") -> str:
    """The site as a land-approval file in CGCS2000 3° zone 36 with zone-prefixed eastings."""
    to_gk = pyproj.Transformer.from_crs(4490, 4524, always_xy=True)
    ring = list(site.exterior.coords)
    lines = [
        *LAND_HEADER,
        f"{len(ring)},{geod_area(site) / 1e4:.4f},1,{name},面,,建设用地,,@",
    ]
    for i, (lon, lat) in enumerate(ring):
        east, north = to_gk.transform(lon, lat)
        lines.append(f"J{i % (len(ring) - 1) + 1},1,{north:.3f},{east:.3f}")
    return "\n".join(lines) + "\n"


def test_gk_zone_txt_file_screens_like_its_cgcs2000_equivalent(client, tmp_path):
    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 1200)
    truth = screen(client, geometry=mapping(site), project_category="工业")
    path = tmp_path / "报盘坐标.txt"
    path.write_bytes(land_txt(site).encode("gbk"))
    with path.open("rb") as fh:
        resp = client.post(
            "/screenings", files={"file": (path.name, fh)}, data={"project_category": "工业"}
        )
    assert resp.status_code == 201, resp.text
    other = resp.json()
    assert other["site"]["source_crs"] == "EPSG:4524"
    assert other["project"]["name"] == "测试项目用地"
    assert other["verdict"] == truth["verdict"]
    for f in truth["findings"]:
        g = next(x for x in other["findings"] if x["feature_id"] == f["feature_id"])
        assert g["relation"] == f["relation"]
        if f["overlap_area_m2"]:
            assert g["overlap_area_m2"] == pytest.approx(f["overlap_area_m2"], rel=1e-3)


def test_gk_coordinates_in_surveyor_order_via_json(client):
    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 1200)
    to_gk = pyproj.Transformer.from_crs(4490, 4524, always_xy=True)
    east, north = to_gk.transform(*np.array(site.exterior.coords).T)
    surveyor = {
        "type": "Polygon",
        "coordinates": [[[n, e] for e, n in zip(east, north, strict=True)]],
    }
    truth = screen(client, geometry=mapping(site))
    other = screen(client, geometry=surveyor, crs="EPSG:4524")
    assert other["site"]["area_m2"] == pytest.approx(truth["site"]["area_m2"], rel=1e-6)
    gk = other["site"]["centroid"]["gauss_kruger"]
    assert gk["zone"] == 36 and 36_000_000 < gk["y_easting"] < 37_000_000


@pytest.fixture(scope="module")
def holed_parcel(client, tmp_path_factory) -> shapely.Polygon:
    """A test_parcel with a hole, in 巴州区: the known shape for boundary cases."""
    outer = shapely.box(106.90, 31.70, 106.92, 31.72)
    hole = shapely.box(106.9075, 31.7075, 106.9125, 31.7125)
    parcel = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    path = tmp_path_factory.mktemp("parcel") / "holed.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "带洞地块"},
                        "geometry": mapping(parcel),
                    }
                ],
            }
        )
    )
    with path.open("rb") as fh:
        resp = client.post("/layers/test_parcel/versions", files={"file": (path.name, fh)})
    assert resp.status_code == 201
    return parcel


def parcel_finding(result: dict) -> dict | None:
    return next((f for f in result["findings"] if f["layer"] == "test_parcel"), None)


def test_site_contained_in_a_feature_is_inside(client, holed_parcel):
    site = shapely.box(106.901, 31.701, 106.903, 31.703)
    f = parcel_finding(screen(client, geometry=mapping(site)))
    assert f["relation"] == "inside" and f["overlap_share"] == pytest.approx(1.0, rel=1e-6)


def test_site_containing_a_feature_overlaps_all_of_it(client, holed_parcel):
    site = shapely.box(106.89, 31.69, 106.93, 31.73)
    f = parcel_finding(screen(client, geometry=mapping(site)))
    assert f["relation"] == "overlaps"
    assert f["overlap_area_m2"] == pytest.approx(geod_area(holed_parcel), rel=1e-3)


def test_touching_site_is_nearby_at_zero_distance(client, holed_parcel):
    site = shapely.box(106.92, 31.70, 106.93, 31.71)
    f = parcel_finding(screen(client, geometry=mapping(site)))
    assert f["relation"] == "nearby"
    assert f["distance_m"] == pytest.approx(0, abs=0.01) and f["overlap_area_m2"] == 0


def test_site_in_a_hole_is_outside_the_feature(client, holed_parcel):
    f = parcel_finding(screen(client, geometry={"type": "Point", "coordinates": [106.91, 31.71]}))
    assert f["relation"] == "nearby"
    # Nearest hole edge: east-west (0.0025° of longitude is shorter than of latitude).
    expected = GEOD.inv(106.91, 31.71, 106.9125, 31.71)[2]
    assert f["distance_m"] == pytest.approx(expected, abs=1.0)


def test_line_site_reports_overlap_length(client, holed_parcel):
    line = shapely.LineString([(106.895, 31.702), (106.925, 31.702)])
    f = parcel_finding(screen(client, geometry=mapping(line)))
    assert f["relation"] == "overlaps"
    assert f["overlap_length_m"] == pytest.approx(
        GEOD.inv(106.90, 31.702, 106.92, 31.702)[2], rel=1e-3
    )


def test_self_intersecting_site_is_repaired_and_reported(client):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[106.80, 31.85], [106.82, 31.87], [106.82, 31.85], [106.80, 31.87], [106.80, 31.85]]
        ],
    }
    result = screen(client, geometry=bowtie)
    assert any("Self-intersection" in w for w in result["warnings"])
    assert result["site"]["area_m2"] > 0


def test_context_names_county_township_zone_and_control_units(client):
    result = screen(client, geometry={"type": "Point", "coordinates": [106.85, 32.62]})
    ctx = result["context"]
    assert ctx["county"] == "南江县" and ctx["township"]
    assert ctx["zone_type"] in ("农产品主产区", "重点生态功能区", "城镇化地区")
    assert ctx["county_positioning"] == "国家级重点生态功能区"
    unit = ctx["control_units"][0]
    assert unit["code"].startswith("ZH511922") and unit["access_list"]["spatial_constraints"]
    centroid = result["site"]["centroid"]
    assert centroid["gauss_kruger"]["epsg"] == 4524


def _site_problem(client, *geoms: dict, **body) -> dict:
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in geoms]
    resp = client.post(
        "/screenings",
        json={"geometry": {"type": "FeatureCollection", "features": features}, **body},
    )
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert problem["type"].endswith("/invalid-site")
    return problem


def test_site_outside_china_gives_the_bounds_of_all_its_parts(client):
    near = mapping(shapely.box(106.74, 31.84, 106.76, 31.86))
    gk_as_degrees = mapping(shapely.box(500000, 3500000, 501000, 3501000))
    problem = _site_problem(client, near, gk_as_degrees, crs="EPSG:4490")
    assert problem["detail"] == (
        "按 EPSG:4490 换算，用地位于经度 106.7400..501000.0000、纬度 31.8400..3501000.0000，"
        "不在国内：请检查坐标系（crs）是否选对、坐标顺序是否颠倒。"
        "With EPSG:4490 the site lands at lon 106.7400..501000.0000, lat 31.8400..3501000.0000, "
        "outside China. Check the crs parameter and the coordinate order."
    )


def test_site_outside_the_configured_coverage_box_is_refused(client, monkeypatch):
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "coverage_bbox", (106.0, 31.0, 106.75, 32.0))
    problem = _site_problem(client, mapping(shapely.box(106.74, 31.84, 106.76, 31.86)))
    assert problem["detail"].startswith("按 EPSG:4490 换算，用地位于经度 106.7400..106.7600")
    assert "With EPSG:4490 the site lands at lon 106.7400..106.7600" in problem["detail"]


def test_site_part_beyond_repair_is_named_by_its_number(client):
    near = mapping(shapely.box(106.74, 31.84, 106.76, 31.86))
    flat = {
        "type": "Polygon",
        "coordinates": [[[106.8, 31.8], [106.81, 31.8], [106.82, 31.8], [106.8, 31.8]]],
    }
    problem = _site_problem(client, near, flat)
    assert problem["detail"] == (
        "第 2 部分图形无效且无法自动修复为面：请修正该部分后重新提交。"
        "Part 2: invalid geometry (Self-intersection[106.81 31.8]) has no polygon part left "
        "after repair."
    )


def _bad_cases() -> dict[str, tuple[dict, str]]:
    many = circle(106.84, 32.35, 500, n=20001)
    return {
        "swapped lat/lon": (
            {"geometry": {"type": "Point", "coordinates": [32.35, 106.84]}},
            "latitude",
        ),
        "outside coverage": (
            {"geometry": {"type": "Point", "coordinates": [104.06, 30.67]}},
            "outside the area covered",
        ),
        "empty geometry": ({"geometry": {"type": "Polygon", "coordinates": []}}, "empty"),
        "too many vertices": ({"geometry": mapping(many)}, "limit is 20000"),
        "unknown crs": (
            {"geometry": {"type": "Point", "coordinates": [106.84, 32.35]}, "crs": "EPSG:999999"},
            "EPSG:999999",
        ),
        "unknown category": (
            {
                "geometry": {"type": "Point", "coordinates": [106.84, 32.35]},
                "project_category": "造船",
            },
            "化工",
        ),
        "no geometry": ({"project_name": "x"}, "geometry"),
        "bad buffer": (
            {"geometry": {"type": "Point", "coordinates": [106.84, 32.35]}, "buffer_m": -5},
            "buffer_m",
        ),
    }


# Problems whose wording the screening owns (crs and category come from their own modules).
OWN_WORDING = ("swapped lat/lon", "outside coverage", "empty geometry", "too many vertices")
OWN_WORDING += ("no geometry", "bad buffer")


@pytest.mark.parametrize("case", OWN_WORDING)
def test_bad_site_problems_say_it_in_chinese_first(client, case):
    body, _ = _bad_cases()[case]
    detail = client.post("/screenings", json=body).json()["detail"]
    assert "\u4e00" <= detail[0] <= "\u9fff", detail
    assert "。" in detail, detail  # a whole Chinese sentence, then the English


@pytest.mark.parametrize("case", list(_bad_cases()))
def test_bad_sites_are_clear_4xx_problems_and_file_nothing(client, case):
    body, expected_text = _bad_cases()[case]
    before = len(client.get("/screenings", params={"limit": 1000}).json())
    resp = client.post("/screenings", json=body)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert expected_text in resp.json()["detail"]
    assert len(client.get("/screenings", params={"limit": 1000}).json()) == before


def test_malformed_txt_line_is_reported_with_its_line_number(client, tmp_path):
    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 500)
    lines = land_txt(site).splitlines()
    lines[10] = "J2,1,3525000.000,三六四零零二零零"
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    with path.open("rb") as fh:
        resp = client.post("/screenings", files={"file": (path.name, fh)})
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith("第 11 行：") and "Line 11" in resp.json()["detail"]


def test_old_datum_txt_is_refused(client, tmp_path):
    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 500)
    path = tmp_path / "xian80.txt"
    path.write_text(
        land_txt(site).replace("2000国家大地坐标系", "1980西安坐标系"), encoding="utf-8"
    )
    with path.open("rb") as fh:
        resp = client.post("/screenings", files={"file": (path.name, fh)})
    assert resp.status_code == 422 and "CGCS2000" in resp.json()["detail"]


@pytest.mark.parametrize("fmt", ["kml", "kmz", "zip", "gpkg", "geojson", "csv"])
def test_site_files_of_every_format_screen_alike(client, tmp_path, fmt):
    import zipfile

    from tests.factories import frame, write, zip_shapefile

    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 700)
    truth = screen(client, geometry=mapping(site))
    gdf = frame([site], names=["地块一"])
    if fmt == "kml":
        path = write(gdf.to_crs("EPSG:4326"), tmp_path / "site.kml", driver="KML")
    elif fmt == "kmz":
        kml = write(gdf.to_crs("EPSG:4326"), tmp_path / "doc.kml", driver="KML")
        path = tmp_path / "site.kmz"
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(kml, "doc.kml")
    elif fmt == "zip":
        path = zip_shapefile(gdf.to_crs("EPSG:4545"), tmp_path)
    elif fmt == "gpkg":
        path = write(gdf, tmp_path / "site.gpkg", driver="GPKG")
    elif fmt == "geojson":
        path = write(gdf, tmp_path / "site.geojson")
    else:
        path = tmp_path / "site.csv"
        path.write_text(f'name,wkt\n地块一,"{site.wkt}"\n', encoding="utf-8")
    with path.open("rb") as fh:
        resp = client.post("/screenings", files={"file": (path.name, fh)})
    assert resp.status_code == 201, resp.text
    other = resp.json()
    assert other["site"]["area_m2"] == pytest.approx(truth["site"]["area_m2"], rel=1e-4)
    assert other["verdict"] == truth["verdict"]


def test_multi_part_site_from_a_feature_collection(client):
    a = circle(106.84, 32.35, 300)
    b = circle(106.86, 32.36, 300)
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": mapping(g)} for g in (a, b)],
    }
    result = screen(client, geometry=fc)
    assert result["site"]["parts"] == 2
    assert result["site"]["area_m2"] == pytest.approx(geod_area(a) + geod_area(b), rel=1e-6)
