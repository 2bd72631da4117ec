"""Planners' summaries against the reference data, checked with shapely + pyproj Geod."""

import datetime as dt
import io
import json

import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook

from tests.factories import SQUARE, SQUARE_B, frame, write
from tests.test_screening import geod_area, ref_features


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def get(client, path: str, **params):
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return resp


def test_county_summary_matches_an_independent_computation(client):
    body = get(client, "/summaries", by="county", layers="redline,protected_area").json()
    assert body["by"] == "county" and len(body["rows"]) == 5
    counties = {p["name"]: g for p, g in ref_features("admin_county")}
    redline = shapely.union_all([g for _, g in ref_features("redline")])
    protected = shapely.union_all([g for _, g in ref_features("protected_area")])
    for row in body["rows"]:
        county = counties[row["name"]]
        assert row["area_km2"] == pytest.approx(geod_area(county) / 1e6, rel=1e-4)
        red = row["layers"]["redline"]
        expected = geod_area(county.intersection(redline)) / 1e6
        assert red["area_km2"] == pytest.approx(expected, rel=1e-3, abs=1e-3)
        assert red["area_ha"] == pytest.approx(red["area_km2"] * 100)
        assert red["area_mu"] == pytest.approx(red["area_km2"] * 1500)
        assert red["share"] == pytest.approx(red["area_km2"] / row["area_km2"])
        pa = row["layers"]["protected_area"]
        assert pa["area_km2"] == pytest.approx(
            geod_area(county.intersection(protected)) / 1e6, rel=1e-3, abs=1e-3
        )


def test_overlapping_protected_areas_are_not_double_counted(client):
    city = get(client, "/summaries", by="city", layers="protected_area").json()["rows"][0]
    pa = city["layers"]["protected_area"]
    assert pa["listed_sum_km2"] == pytest.approx(1560.07, abs=0.005)
    assert pa["area_km2"] < pa["listed_sum_km2"] - 50  # the scenic area overlaps reserves
    union = shapely.union_all([g for _, g in ref_features("protected_area")])
    assert pa["area_km2"] == pytest.approx(geod_area(union) / 1e6, rel=1e-3)
    assert pa["count"] == 13


def test_townships_add_up_to_the_city(client):
    towns = get(client, "/summaries", by="township", layers="redline").json()
    city = get(client, "/summaries", by="city", layers="redline").json()["rows"][0]
    assert len(towns["rows"]) == 139
    assert sum(r["area_km2"] for r in towns["rows"]) == pytest.approx(city["area_km2"], rel=1e-6)
    total = sum(r["layers"]["redline"]["area_km2"] for r in towns["rows"])
    assert total == pytest.approx(city["layers"]["redline"]["area_km2"], rel=1e-5)
    assert {r["zone_type"] for r in towns["rows"]} == {
        "农产品主产区",
        "重点生态功能区",
        "城镇化地区",
    }


def test_line_layers_report_length(client):
    city = get(client, "/summaries", by="city", layers="river").json()["rows"][0]
    rivers = [g for _, g in ref_features("river")]
    from tests.factories import GEOD

    expected = sum(GEOD.geometry_length(g) for g in rivers) / 1e3
    assert city["layers"]["river"]["length_km"] == pytest.approx(expected, rel=1e-3)
    assert "area_km2" not in city["layers"]["river"]


def test_crosstab_redline_by_township_zone_type(client):
    body = get(client, "/summaries/crosstab", layer="redline", rows="township.zone_type").json()
    cells = {c["row"]: c for c in body["cells"]}
    assert set(cells) == {"农产品主产区", "重点生态功能区", "城镇化地区"}
    assert cells["重点生态功能区"]["units"] == 35
    assert cells["重点生态功能区"]["share_of_layer"] > 0.6
    assert sum(c["area_km2"] for c in cells.values()) == pytest.approx(body["total_area_km2"])


def test_crosstab_protected_areas_by_category_and_level(client):
    body = get(
        client, "/summaries/crosstab", layer="protected_area", rows="category", cols="level"
    ).json()
    assert sum(c["count"] for c in body["cells"]) == 13
    assert sum(c["listed_sum_km2"] for c in body["cells"]) == pytest.approx(1560.07, abs=0.01)
    nat = next(c for c in body["cells"] if c["row"] == "自然保护区" and c["col"] == "国家级")
    assert nat["count"] == 1 and nat["listed_sum_km2"] == pytest.approx(11.27)


def test_crosstab_control_units_by_class_partition_the_city(client):
    body = get(client, "/summaries/crosstab", layer="control_unit", rows="unit_class").json()
    assert {c["row"] for c in body["cells"]} == {"优先保护单元", "重点管控单元", "一般管控单元"}
    city = get(client, "/summaries", by="city", layers="redline").json()["rows"][0]
    assert sum(c["area_km2"] for c in body["cells"]) == pytest.approx(city["area_km2"], rel=1e-4)


def test_plan_figures_are_reproduced(client):
    plan = get(client, "/summaries/plan", region="511900").json()
    pa = plan["protected_areas"]
    assert round(pa["listed_sum_km2"], 2) == 1560.07
    assert round(pa["listed_sum_share_pct"], 2) == 12.69
    assert pa["union_km2"] < pa["listed_sum_km2"] and pa["union_share_pct"] < 12.69
    assert plan["redline"]["union_km2"] == pytest.approx(1673, rel=0.01)
    assert plan["redline"]["share_pct"] == pytest.approx(100 * 1673 / 12296.93, rel=0.02)
    assert plan["townships"]["data"] == {"重点生态功能区": 35, "农产品主产区": 59, "城镇化地区": 45}
    assert plan["townships"]["data_total"] == 139
    assert abs(plan["city_area_km2"]["difference_pct"]) < 0.2


def test_csv_and_xlsx_open_with_chinese_headers_and_units(client):
    csv = get(client, "/summaries", by="county", layers="redline,protected_area", format="csv")
    assert csv.content.startswith("\ufeff".encode())
    table = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype={"代码": str})
    assert "面积（平方公里）" in table.columns and "生态保护红线面积（亩）" in table.columns
    assert "自然保护地名录面积合计（平方公里，简单加总）" in table.columns
    assert set(table["县（区）"]) == {"巴州区", "恩阳区", "南江县", "通江县", "平昌县"}
    xlsx = get(client, "/summaries", by="township", layers="redline", format="xlsx")
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["面积统计"]
    assert sheet.max_row == 140 and sheet.cell(1, 2).value == "乡镇（街道）"
    assert "说明" in book.sheetnames


@pytest.mark.parametrize(
    ("fmt", "media", "magic"),
    [("png", "image/png", b"\x89PNG"), ("svg", "image/svg+xml", b"<?xml")],
)
def test_area_chart(client, fmt, media, magic):
    resp = get(client, "/summaries/chart", layer="redline", by="township", format=fmt)
    assert resp.headers["content-type"] == media and resp.content.startswith(magic)


def upload_parcels(client, tmp_path, geoms) -> int:
    """Import `geoms` as the next test_parcel version through the API; its number."""
    path = write(frame(geoms), tmp_path / "p.geojson")
    with path.open("rb") as fh:
        resp = client.post("/layers/test_parcel/versions", files={"file": (path.name, fh)})
    assert resp.status_code == 201, resp.text
    return resp.json()["version"]


def parcel_km2(body: dict) -> float:
    """The test_parcel area of the first row of a summary, in km²."""
    return body["rows"][0]["layers"]["test_parcel"]["area_km2"]


def test_summary_cache_computes_once_per_set_of_versions(client, tmp_path, monkeypatch):
    from app.summary import service

    computed: list[int] = []
    real = service.layer_coverage

    def counting(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "layer_coverage", counting)
    params = {"by": "city", "layers": "test_parcel"}
    first = upload_parcels(client, tmp_path, [SQUARE])
    one = get(client, "/summaries", **params).json()
    assert len(computed) == 1
    assert get(client, "/summaries", **params).json() == one
    pinned = get(client, "/summaries", **params, versions=f"test_parcel:{first}").json()
    assert len(computed) == 1  # same versions, served from the cache
    assert pinned["layer_versions"]["test_parcel"] == first
    second = upload_parcels(client, tmp_path, [SQUARE, SQUARE_B])
    two = get(client, "/summaries", **params).json()
    assert len(computed) == 2  # a new version is computed once
    assert two["layer_versions"]["test_parcel"] == second
    assert parcel_km2(one) == pytest.approx(geod_area(SQUARE) / 1e6, rel=1e-3)
    expected = (geod_area(SQUARE) + geod_area(SQUARE_B)) / 1e6
    assert parcel_km2(two) == pytest.approx(expected, rel=1e-3)
    get(client, "/summaries", **params, versions=f"test_parcel:{first}")
    assert len(computed) == 2
    today = dt.date.today().isoformat()
    dated = get(client, "/summaries", **params, as_of=today).json()
    assert len(computed) == 2  # the versions in force today are the cached ones
    assert dated["as_of"] == today and two["as_of"] is None


def test_as_of_reads_the_version_in_force_then(client, tmp_path):
    from sqlalchemy import update

    from app.store.db import session_scope
    from app.store.models import LayerVersion
    from app.summary.service import summarize

    first = upload_parcels(client, tmp_path, [SQUARE])
    between = dt.datetime.now(dt.UTC)
    second = upload_parcels(client, tmp_path, [SQUARE, SQUARE_B])
    assert second == first + 1
    with session_scope() as session:
        then = summarize(session, "city", ["test_parcel"], as_of=between)
        now = summarize(session, "city", ["test_parcel"], as_of=dt.datetime.now(dt.UTC))
    assert then["layer_versions"]["test_parcel"] == first
    assert parcel_km2(then) == pytest.approx(geod_area(SQUARE) / 1e6, rel=1e-3)
    assert now["layer_versions"]["test_parcel"] == second
    # Over HTTP as_of is a day: an import cannot be dated in the past, so move the first
    # version's activation back to 2001 to give it a day of its own.
    with session_scope() as session:
        session.execute(
            update(LayerVersion)
            .where(LayerVersion.layer_id == "test_parcel", LayerVersion.version == first)
            .values(activated_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
        )
    old = get(client, "/layers/test_parcel/features", as_of="2001-06-01").json()
    assert old["version"] == first and len(old["features"]) == 1
    today = dt.date.today().isoformat()
    new = get(client, "/layers/test_parcel/features", as_of=today).json()
    assert new["version"] == second and len(new["features"]) == 2
    before = client.get("/layers/test_parcel/features", params={"as_of": "2000-12-31"})
    assert before.status_code == 404 and "2000-12-31" in before.json()["detail"]
    before = client.get("/summaries", params={"by": "city", "as_of": "2000-01-01"})
    assert before.status_code == 404 and "admin_county" in before.json()["detail"]


def test_bad_summary_requests(client):
    assert client.get("/summaries", params={"by": "district"}).status_code == 422
    assert client.get("/summaries", params={"region": "5119"}).status_code == 422
    assert client.get("/summaries", params={"region": "990000"}).status_code == 404
    assert client.get("/summaries", params={"layers": "nope"}).status_code == 404
    resp = client.get("/summaries/crosstab", params={"layer": "redline", "rows": "colour"})
    assert resp.status_code == 422 and "function" in resp.json()["detail"]
    resp = client.get("/summaries", params={"versions": "redline:x"})
    assert resp.status_code == 422


def test_cli_summary(database, reference, tmp_path):
    from typer.testing import CliRunner

    from app.cli import app

    out = tmp_path / "s.xlsx"
    result = CliRunner().invoke(
        app,
        [
            "summary",
            "--by",
            "county",
            "--layers",
            "redline",
            "--format",
            "xlsx",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(out)["面积统计"].max_row == 6
    as_json = CliRunner().invoke(
        app, ["summary", "--by", "city", "--layers", "redline", "--format", "json"]
    )
    assert json.loads(as_json.output)["rows"][0]["name"] == "巴中市"


def test_rows_carry_their_parents_from_the_hierarchy(client):
    counties = get(client, "/summaries", by="county", layers="redline").json()["rows"]
    assert {(r["parent_code"], r["parent_name"]) for r in counties} == {("511900", "巴中市")}
    city = get(client, "/summaries", by="city", layers="redline").json()["rows"]
    assert [(r["code"], r["name"], r["parent_code"], r["parent_name"]) for r in city] == [
        ("511900", "巴中市", "510000", "四川省")
    ]
    province = get(client, "/summaries", by="province", layers="redline").json()["rows"]
    assert [(r["code"], r["name"], r["parent_code"]) for r in province] == [
        ("510000", "四川省", None)
    ]
    assert province[0]["area_km2"] == pytest.approx(city[0]["area_km2"], rel=1e-9)
    towns = get(client, "/summaries", by="township", layers="redline", region="511902").json()
    assert towns["region"] == "511902" and towns["rows"]
    assert {r["parent_name"] for r in towns["rows"]} == {"巴州区"}
    assert all(r["code"].startswith("511902") for r in towns["rows"])


def test_villages_without_data_give_no_rows_and_a_note(client):
    body = get(client, "/summaries", by="village", layers="redline").json()
    assert body["rows"] == [] and "village" in body["notes"]["rows"]
    csv = get(client, "/summaries", by="village", layers="redline", format="csv")
    assert csv.status_code == 200


def test_csv_has_the_parent_columns(client):
    csv = get(client, "/summaries", by="county", layers="redline", format="csv")
    table = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype=str)
    assert set(table["上级行政区代码"]) == {"511900"}
    assert set(table["上级行政区名称"]) == {"巴中市"}
