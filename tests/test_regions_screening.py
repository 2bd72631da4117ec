"""A site in 达州市 is screened against 达州市's data and cites 达州市's plan, never 巴中市's.

All three reference regions are loaded in one transaction rolled back at the end of the
module, so other modules keep seeing 巴中市 alone.
"""

from collections.abc import Iterator

import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.screening.screen_one import screen_site
from app.screening.service import ScreeningRequest
from app.screening.site import build_site
from tests.region_state import load_all_regions, rolled_back_session

DAZHOU_PLAN = "美丽达州建设规划纲要（2024—2035年）"
BAZHONG_PLAN = "巴中市国家生态文明建设示范区规划（修编）（2023—2035年）"


@pytest.fixture(scope="module")
def regions(reference) -> Iterator[Session]:
    """A session holding all three reference regions; rolled back afterwards."""
    with rolled_back_session() as session:
        load_all_regions(session)
        yield session


def eco_township_point(session: Session, county_prefix: str) -> shapely.Point:
    """A point inside an eco-function township of the given county prefix, chosen by PostGIS."""
    wkt = session.execute(
        text(
            "SELECT ST_AsText(ST_PointOnSurface(f.geom)) FROM feature f "
            "JOIN layer l ON l.active_version_id = f.version_id WHERE l.id = 'township' "
            "AND f.attributes->>'zone_type' = '重点生态功能区' "
            "AND f.county_code LIKE :p ORDER BY f.attributes->>'code' LIMIT 1"
        ),
        {"p": county_prefix + "%"},
    ).scalar_one()
    return shapely.from_wkt(wkt)


def bases(result) -> list[str]:
    """Every legal basis the screening's fired rules cite."""
    return [rule.basis for finding in result.findings for rule in finding.rules]


@pytest.mark.parametrize(
    ("prefix", "plan", "other"), [("5117", DAZHOU_PLAN, "巴中"), ("5119", BAZHONG_PLAN, "达州")]
)
def test_a_site_cites_the_plan_of_its_own_city(regions, prefix, plan, other):
    point = eco_township_point(regions, prefix)
    site = build_site([point], "EPSG:4490", None, "wkt")
    result = screen_site(regions, ScreeningRequest(site, "区域测试", "工业", 0.0, "tests"))
    cited = bases(result)
    assert any(plan in b for b in cited), cited
    assert not any(other in b for b in cited), cited
    counties = regions.execute(
        text("SELECT name FROM region WHERE level = 'county' AND code LIKE :p"),
        {"p": prefix + "%"},
    ).scalars()
    assert result.context.county in set(counties)


def test_bazhong_plan_figures_hold_with_every_region_loaded(regions):
    """Another city's features reaching over the border never count in Bazhong's figures."""
    from app.summary.plan import choose_plan, plan_figures

    figures = plan_figures(regions, choose_plan(regions, "511900"))
    protected = figures["protected_areas"]
    assert protected["count"] == 13
    assert protected["listed_sum_km2"] == pytest.approx(1560.07, abs=0.005)
    assert protected["union_km2"] == pytest.approx(1426.73, abs=0.01)
    assert figures["redline"]["union_km2"] == pytest.approx(1673.0, abs=0.01)
    assert figures["townships"]["data_total"] == 139
