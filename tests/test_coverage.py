"""Data coverage at every site: per-layer coverage, warnings in Chinese, 不完整 verdicts.

The counties of 达州市 and 巫山县 are imported (scoped) in one transaction rolled back at the
end of the module, while every other layer keeps covering 巴中市 (511900) only: a road from
巴州区 into 达州市 then leaves the Dazhou part without river (or redline, ...) data.
"""

import json
from collections.abc import Iterator

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.screening.coverage import Measured
from app.screening.report import report_html
from app.screening.screen_one import screen_site
from app.screening.service import ScreeningRequest
from app.screening.site import SiteError, build_site
from app.store.models import Screening
from app.store.reference import reference_root
from tests.region_state import import_other_counties, rolled_back_session

ROOT = reference_root(get_settings().reference_dir)
ROAD = LineString([(106.78, 31.86), (107.47, 31.22)])  # 巴州区 → 通川区, ~96.6 km
CHEMICAL_PLANT = Point(107.3784, 31.1593)  # on 州河, 达川区
BAZHONG_POINT = Point(106.84, 32.35)


def counties(region: str) -> shapely.Geometry:
    """The union of a reference region's county polygons, read from its file."""
    doc = json.loads((ROOT / region / "admin_county.geojson").read_text(encoding="utf-8"))
    return shapely.union_all([shape(f["geometry"]) for f in doc["features"]])


@pytest.fixture(scope="module")
def session(reference) -> Iterator[Session]:
    """Bazhong's layers plus the counties of Dazhou and Wushan; rolled back afterwards."""
    with rolled_back_session() as s:
        import_other_counties(s)
        yield s


def screen(session: Session, geom: shapely.Geometry, **kw) -> dict:
    """Screen a geometry (EPSG:4490) in the module's session; the result's JSON."""
    site = build_site([geom], "EPSG:4490", None, "GeoJSON")
    return screen_site(session, ScreeningRequest(site=site, **kw)).as_json()


def by_layer(result: dict) -> dict[str, dict]:
    """The coverage entries keyed by layer."""
    return {c["layer"]: c for c in result["coverage"]}


def test_road_into_dazhou_reports_the_uncovered_river_length(session: Session) -> None:
    result = screen(session, ROAD)
    outside = ROAD.difference(counties("bazhong"))
    geod = Geod(ellps="GRS80")  # CGCS2000's ellipsoid (EPSG:4490)
    expected = geod.geometry_length(outside)
    share = expected / geod.geometry_length(ROAD)
    assert 30_000 < expected < 40_000
    river = by_layer(result)["river"]
    assert river["covered"] is False
    assert river["uncovered_length_m"] == pytest.approx(expected, rel=0.005)
    assert river["uncovered_share"] == pytest.approx(share, rel=0.005)
    assert "uncovered_area_m2" not in river
    # Counties are loaded in both cities: the county layer covers the whole road.
    assert by_layer(result)["admin_county"]["covered"] is True
    warning = next(w for w in result["warnings"] if w.startswith("河流数据"))
    assert warning == (
        f"河流数据未覆盖项目用地的 {share * 100:.1f}%（{expected / 1000:.1f} 公里），"
        "该部分未作河流研判"
    )
    assert result["complete"] is False
    assert result["verdict"] in ("prohibited", "restricted", "attention", "clear")
    assert result["verdict_label"].endswith("（不完整）")


def test_buffered_road_measures_area(session: Session) -> None:
    result = screen(session, ROAD, buffer_m=200)
    river = by_layer(result)["river"]
    assert river["covered"] is False and river["uncovered_area_m2"] > 1e6
    assert any("项目用地（含 200 米缓冲区）" in w for w in result["warnings"])


def test_chemical_plant_on_a_dazhou_river_says_river_data_is_missing(session: Session) -> None:
    result = screen(session, CHEMICAL_PLANT, project_category="化工")
    river = by_layer(result)["river"]
    assert river == {
        "layer": "river",
        "title_zh": "河流",
        "covered": False,
        "uncovered_share": 1.0,
    }
    assert "河流数据未覆盖项目用地的 100.0%，该部分未作河流研判" in result["warnings"]
    assert result["complete"] is False and "不完整" in result["verdict_label"]


def test_point_in_bazhong_is_covered_by_every_layer(session: Session) -> None:
    result = screen(session, BAZHONG_POINT)
    assert result["coverage"] and all(c["covered"] for c in result["coverage"])
    assert not any("未覆盖" in w for w in result["warnings"])
    assert result["complete"] is True
    assert "不完整" not in result["verdict_label"]


def test_site_outside_every_region_is_refused_and_not_filed(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(Screening))
    with pytest.raises(SiteError, match="outside the area covered"):
        screen(session, Point(113.26, 23.13))  # 广州
    assert session.scalar(select(func.count()).select_from(Screening)) == before


def test_api_refuses_a_site_in_guangdong(client, reference) -> None:
    before = len(client.get("/screenings", params={"limit": 500}).json())
    r = client.post(
        "/screenings", json={"geometry": {"type": "Point", "coordinates": [113.26, 23.13]}}
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert len(client.get("/screenings", params={"limit": 500}).json()) == before


def test_api_documents_and_returns_coverage(client, reference) -> None:
    r = client.post(
        "/screenings", json={"geometry": {"type": "Point", "coordinates": [106.84, 32.35]}}
    )
    assert r.status_code == 201
    body = r.json()
    assert body["complete"] is True and body["coverage"]
    props = client.get("/openapi.json").json()["components"]["schemas"]["LayerCoverage"]
    assert {"covered", "uncovered_share", "uncovered_length_m"} <= set(props["properties"])


def test_report_shows_the_incompleteness(session: Session) -> None:
    result = screen(session, ROAD, project_name="巴达公路")
    html = report_html(session, session.get(Screening, result["id"]))
    assert result["verdict_label"] in html
    assert "研判不完整：" in html and "河流数据未覆盖项目用地的" in html
    complete = screen(session, BAZHONG_POINT)
    assert "研判不完整" not in report_html(session, session.get(Screening, complete["id"]))


def test_multipoint_half_outside_is_half_uncovered(session: Session) -> None:
    site = shapely.MultiPoint([BAZHONG_POINT, CHEMICAL_PLANT])
    river = by_layer(screen(session, site))["river"]
    assert river["covered"] is False and river["uncovered_share"] == 0.5


def test_a_seam_between_county_outlines_is_not_a_gap_but_a_missing_piece_is():
    # A 51 km buffered road crosses county seams leaving ~5.6 m² of 5 km² uncovered.
    assert Measured(2, 5.6 / 5.1e6, 5.6).covered
    assert Measured(1, 0.4 / 51_000, 0.4).covered
    assert not Measured(2, 0.001, 5_100.0).covered  # 0.1 % of the site: data missing
    assert not Measured(1, 200 / 51_000, 200.0).covered
