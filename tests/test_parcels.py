"""Per-parcel results: a 报盘 file's declared areas checked, each parcel screened on its own."""

import json

import pytest
import shapely
from shapely.geometry import mapping

from app.screening import screen_one
from app.screening.site import LAND_TXT
from tests.test_screening import circle, geod_area, land_txt
from tests.test_screening_rules import _ordinary_point, inside_point


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def declared(txt: str, area_ha: float, number: str = "1") -> str:
    """The file with its (only) parcel header declaring AREA_HA and numbered NUMBER."""
    lines = txt.splitlines()
    i = next(k for k, line in enumerate(lines) if line.endswith("@"))
    fields = lines[i].split(",")
    fields[1], fields[2] = f"{area_ha:.4f}", number
    lines[i] = ",".join(fields)
    return "\n".join(lines) + "\n"


def two_parcels(first: str, second: str) -> str:
    """One file holding the parcels of two single-parcel files."""
    return first + second.split("[地块坐标]\n", 1)[1]


def upload(client, tmp_path, txt: str, **data) -> dict:
    path = tmp_path / "报盘.txt"
    path.write_bytes(txt.encode("gbk"))
    with path.open("rb") as fh:
        resp = client.post("/screenings", files={"file": (path.name, fh)}, data=data)
    assert resp.status_code == 201, resp.text
    return resp.json()


def clear_point() -> tuple[float, float]:
    """A point far (1.5 km+) from redlines, protected areas, water sources and farmland."""
    return tuple(_ordinary_point())


# A circle of 11.24 ha: radius √(112 400 / π) ≈ 189.15 m.
SMALL = circle(106.84, 32.35, (112_400 / 3.141592653589793) ** 0.5, n=128)


def test_a_parcel_declared_larger_than_it_measures_is_warned(client, tmp_path):
    txt = declared(land_txt(SMALL, name="示例用地"), 25.0, number="J-3")
    result = upload(client, tmp_path, txt)
    [parcel] = result["parcels"]
    computed = geod_area(SMALL) / 1e4
    assert computed == pytest.approx(11.24, abs=0.01)
    assert parcel["number"] == "J-3" and parcel["name"] == "示例用地"
    assert parcel["use"] == "建设用地"
    assert parcel["declared_area_ha"] == 25.0
    assert parcel["computed_area_ha"] == pytest.approx(computed, rel=1e-4)
    assert parcel["difference_ha"] == pytest.approx(computed - 25.0, rel=1e-4)
    pct = (parcel["computed_area_ha"] - 25.0) / 25.0 * 100
    assert parcel["difference_pct"] == pytest.approx(pct)
    expected = (
        f"地块「J-3 示例用地」申报面积 25.0000 公顷，按坐标计算 {parcel['computed_area_ha']:.4f} "
        f"公顷，相差 {pct:.2f}%，超过 1%：请核对界址点坐标或申报面积。"
    )
    assert "相差 -55." in expected
    assert parcel["warning"] == expected
    assert expected in result["warnings"]
    assert parcel["verdict"] == result["verdict"]
    assert result["site"]["source_format"] == LAND_TXT == "报盘坐标文件（TXT）"


def test_a_parcel_declared_right_is_not_warned(client, tmp_path):
    result = upload(client, tmp_path, land_txt(SMALL, name="示例用地"))
    [parcel] = result["parcels"]
    assert abs(parcel["difference_pct"]) < 0.05
    assert parcel["warning"] is None
    assert not [w for w in result["warnings"] if "申报面积" in w]


@pytest.mark.parametrize(("factor", "warned"), [(1.009, False), (1.011, True), (0.989, True)])
def test_the_tolerance_is_one_percent(client, tmp_path, factor, warned):
    # Declared = true area × factor: computed differs by 1/factor − 1.
    txt = declared(land_txt(SMALL), geod_area(SMALL) / 1e4 * factor)
    [parcel] = upload(client, tmp_path, txt)["parcels"]
    assert (parcel["warning"] is not None) is warned


def test_parcels_get_their_own_verdicts(client, tmp_path):
    lon, lat = inside_point("redline", name="米仓山—光雾山水源涵养生态保护红线")
    inside = circle(lon, lat, 100)
    outside = circle(*clear_point(), 100)
    txt = two_parcels(
        declared(land_txt(inside, name="红线内地块"), geod_area(inside) / 1e4, "A-1"),
        declared(land_txt(outside, name="红线外地块"), geod_area(outside) / 1e4, "A-2"),
    )
    result = upload(client, tmp_path, txt, project_category="工业")
    a, b = result["parcels"]
    assert (a["number"], a["name"], b["number"], b["name"]) == (
        "A-1",
        "红线内地块",
        "A-2",
        "红线外地块",
    )
    assert a["verdict"] == "prohibited" and a["verdict_label"].startswith("禁止")
    assert any("米仓山—光雾山水源涵养生态保护红线" in r for r in a["reasons"])
    assert b["verdict"] != "prohibited"
    assert not any("生态保护红线" in r for r in b["reasons"])
    assert result["verdict"] == "prohibited"
    assert result["site"]["parcels"] == ["红线内地块", "红线外地块"]
    assert a["warning"] is None and b["warning"] is None
    for p, geom in ((a, inside), (b, outside)):
        assert p["computed_area_ha"] == pytest.approx(geod_area(geom) / 1e4, rel=1e-4)


def test_reasons_are_most_severe_first(client, tmp_path):
    lon, lat = inside_point("redline", name="米仓山—光雾山水源涵养生态保护红线")
    site = circle(lon, lat, 100)
    txt = two_parcels(land_txt(site), land_txt(circle(*clear_point(), 100)))
    result = upload(client, tmp_path, txt, project_category="工业")
    # The parcel screened alone states the same messages (shares are of the parcel).
    alone = client.post("/screenings", json={"geometry": mapping(site), "project_category": "工业"})
    messages = [(r["verdict"], r["message"]) for f in alone.json()["findings"] for r in f["rules"]]
    order = {"prohibited": 3, "restricted": 2, "attention": 1, "clear": 0}
    ranks = {m: order[v] for v, m in messages}
    reasons = result["parcels"][0]["reasons"]
    assert sorted(reasons) == sorted(ranks) and len(set(ranks.values())) > 1
    assert [ranks[r] for r in reasons] == sorted(ranks.values(), reverse=True)


def test_a_feature_collection_gets_a_row_per_feature(client):
    lon, lat = inside_point("redline", name="米仓山—光雾山水源涵养生态保护红线")
    inside, outside = circle(lon, lat, 80), circle(*clear_point(), 80)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"名称": n, "编号": k}, "geometry": mapping(g)}
            for n, k, g in (("一号地块", "01", inside), ("二号地块", "02", outside))
        ],
    }
    resp = client.post("/screenings", json={"geometry": fc, "project_category": "工业"})
    assert resp.status_code == 201, resp.text
    result = resp.json()
    a, b = result["parcels"]
    assert (a["name"], a["number"], b["name"], b["number"]) == ("一号地块", "01", "二号地块", "02")
    assert a["declared_area_ha"] is None and a["difference_pct"] is None and a["warning"] is None
    assert a["computed_area_ha"] == pytest.approx(geod_area(inside) / 1e4, rel=1e-6)
    assert a["verdict"] == "prohibited" and b["verdict"] != "prohibited"
    assert result["site"]["source_format"] == "GeoJSON"


def test_a_geojson_file_of_two_features_gets_rows(client, tmp_path):
    from tests.factories import frame, write

    a, b = circle(106.84, 32.35, 120), circle(106.86, 32.36, 150)
    path = write(frame([a, b], names=["甲", "乙"]), tmp_path / "parcels.geojson")
    with path.open("rb") as fh:
        resp = client.post("/screenings", files={"file": (path.name, fh)})
    assert resp.status_code == 201, resp.text
    rows = resp.json()["parcels"]
    assert [r["name"] for r in rows] == ["甲", "乙"]
    assert rows[1]["computed_area_ha"] == pytest.approx(geod_area(b) / 1e4, rel=1e-6)


def test_single_sites_screen_in_one_pass_and_have_no_parcel_rows(client, tmp_path, monkeypatch):
    calls: list[int] = []
    look_up = screen_one.look_up

    def counted(session, geoms, *args, **kwargs):
        calls.append(len(geoms))
        return look_up(session, geoms, *args, **kwargs)

    monkeypatch.setattr(screen_one, "look_up", counted)
    point = {"type": "Point", "coordinates": [106.84, 32.35]}
    resp = client.post("/screenings", json={"geometry": point})
    assert resp.status_code == 201
    assert "parcels" not in resp.json() and resp.json()["site"]["source_format"] == "GeoJSON"
    wkt = client.post("/screenings", json={"wkt": "POINT (106.84 32.35)"}).json()
    assert wkt["site"]["source_format"] == "WKT"
    one = upload(client, tmp_path, land_txt(SMALL))
    assert len(one["parcels"]) == 1
    two = upload(client, tmp_path, two_parcels(land_txt(SMALL), land_txt(circle(106.9, 32.4, 90))))
    assert len(two["parcels"]) == 2
    # The site and its parcels go together: one statement, whatever the parcel count.
    assert calls == [1, 1, 1, 3]


def test_parcels_are_filed_with_the_screening(client, tmp_path):
    result = upload(client, tmp_path, declared(land_txt(SMALL), 25.0))
    filed = client.get(f"/screenings/{result['id']}").json()
    assert json.dumps(filed["parcels"], sort_keys=True) == json.dumps(
        result["parcels"], sort_keys=True
    )


def test_parcel_header_fields_are_parsed():
    from app.io.landtxt import parse_land_file

    txt = declared(land_txt(SMALL, name="示例用地"), 25.0, number="J-3")
    txt = txt.replace(",面,,建设用地,,@", ",面,H48G001001,建设用地,0601,@")
    [parcel] = parse_land_file(txt).parcels
    assert (parcel.number, parcel.name, parcel.shape, parcel.use) == (
        "J-3",
        "示例用地",
        "面",
        "建设用地",
    )
    assert (parcel.sheet, parcel.land_class) == ("H48G001001", "0601")
    assert parcel.declared_area_ha == 25.0
    assert shapely.get_dimensions(parcel.geometry()) == 2
