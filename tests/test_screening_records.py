"""Screenings are filed, listed, reported (HTML, PDF) and reflect the data versions used."""

import io
import json

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from app.cli import app as cli_app
from tests.factories import SQUARE, frame, write
from tests.test_screening import circle, ref_features, screen


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


@pytest.fixture(scope="module")
def prohibited(client) -> dict:
    _, geom = next(
        (p, g)
        for p, g in ref_features("redline")
        if p["name"] == "米仓山—光雾山水源涵养生态保护红线"
    )
    import shapely

    p = shapely.point_on_surface(max(shapely.get_parts(geom), key=lambda g: g.area))
    return screen(
        client,
        geometry=circle(p.x, p.y, 200).__geo_interface__,
        project_category="化工",
        project_name="光雾山化工厂选址",
    )


def test_a_screening_is_filed_and_read_back(client, prohibited):
    back = client.get(f"/screenings/{prohibited['id']}").json()
    assert back["verdict"] == prohibited["verdict"] == "prohibited"
    assert back["findings"] == prohibited["findings"]
    assert back["layer_versions"]["redline"] >= 1
    assert back["inputs"]["project_category"] == "化工"


def test_screenings_list_filters(client, prohibited):
    listed = client.get(
        "/screenings", params={"verdict": "prohibited", "project": "光雾山化工"}
    ).json()
    assert prohibited["id"] in [s["id"] for s in listed]
    assert all(s["verdict"] == "prohibited" for s in listed)
    clear = client.get("/screenings", params={"verdict": "clear", "project": "光雾山化工"}).json()
    assert clear == []


def test_html_report_has_map_findings_rules_and_versions(client, prohibited):
    resp = client.get(f"/screenings/{prohibited['id']}/report.html")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert "data:image/png;base64," in html
    assert "禁止" in html and "光雾山化工厂选址" in html
    assert "米仓山—光雾山水源涵养生态保护红线" in html
    assert "三条控制线" in html  # a legal basis
    assert "数据版本" in html and "生态保护红线" in html


def test_pdf_report_renders_chinese_text(client, prohibited):
    resp = client.get(f"/screenings/{prohibited['id']}/report.pdf")
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(resp.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "研判" in text and "光雾山化工厂选址" in text and "禁止" in text
    fonts = {
        str(f.get("/BaseFont"))
        for page in reader.pages
        for f in (page["/Resources"].get("/Font") or {}).values()
        for f in [f.get_object()]
    }
    assert any("WenQuanYi" in f or "Noto" in f for f in fonts), fonts


def test_screening_again_after_an_import_shows_the_new_version(client, tmp_path):
    site = {"type": "Point", "coordinates": [106.75, 31.85]}
    path = write(frame([SQUARE]), tmp_path / "new.geojson")

    def import_parcels() -> None:
        with path.open("rb") as fh:
            resp = client.post("/layers/test_parcel/versions", files={"file": (path.name, fh)})
        assert resp.status_code == 201

    import_parcels()
    before = screen(client, geometry=site)
    import_parcels()
    after = screen(client, geometry=site)
    assert after["layer_versions"]["test_parcel"] == before["layer_versions"]["test_parcel"] + 1
    finding = next(f for f in after["findings"] if f["layer"] == "test_parcel")
    assert finding["relation"] == "inside"


def test_unknown_screening_is_404(client):
    resp = client.get("/screenings/doesnotexist")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_cli_screen_json_and_table(database, reference):
    runner = CliRunner()
    wkt = "POINT (106.85 32.62)"
    result = runner.invoke(
        cli_app, ["screen", "--wkt", wkt, "--category", "化工", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["verdict"] in ("prohibited", "restricted") and body["context"]["county"] == "南江县"
    table = runner.invoke(cli_app, ["screen", "--wkt", wkt, "--category", "化工"])
    assert table.exit_code == 0 and "结论" in table.output and "南江县" in table.output
    bad = runner.invoke(cli_app, ["screen", "--wkt", wkt, "--category", "造船"])
    assert bad.exit_code == 2 and "Unknown project_category" in bad.output


def test_a_record_read_back_holds_every_value_of_the_answer(client, prohibited):
    """The typed record round-trips: GET = the POST answer plus who filed it and the inputs."""
    back = client.get(f"/screenings/{prohibited['id']}").json()
    assert {k: v for k, v in back.items() if k not in ("created_by", "inputs")} == prohibited
    assert back["inputs"]["project_category"] == "化工"


OUTSIDE_KEYS = [
    "layer",
    "layer_title",
    "feature_id",
    "name",
    "relation",
    "overlap_area_m2",
    "overlap_share",
    "overlap_length_m",
    "distance_m",
    "attributes",
    "rules",
    "verdict",
]


def test_an_outside_finding_has_no_feature_figures(client):
    """A layer-wide "outside" finding keeps its own keys: no per-feature areas appear."""
    import shapely

    urban = shapely.union_all([g for _, g in ref_features("urban_boundary")])
    site = next(
        shapely.point_on_surface(g)
        for _, g in ref_features("admin_county")
        if not urban.contains(shapely.point_on_surface(g))
    )
    result = screen(client, wkt=site.wkt, project_category="居住")
    outside = [f for f in result["findings"] if f["relation"] == "outside"]
    assert [f["layer"] for f in outside] == ["urban_boundary"]
    assert list(outside[0]) == OUTSIDE_KEYS
    assert outside[0]["rules"][0]["rule_id"] == "urban-outside"
    back = client.get(f"/screenings/{result['id']}").json()
    assert next(f for f in back["findings"] if f["relation"] == "outside") == outside[0]
