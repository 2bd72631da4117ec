"""Plans per region: lookup up the code hierarchy, /summaries/plan?region=, and rule bases that
cite the plan of the site's own region (never a hard-coded city)."""

from pathlib import Path

import pytest
from sqlalchemy import text

from app.catalog import get_layer_spec, load_catalog, plan_for, project_categories
from app.catalog.plans import load_plans, parent_code, region_prefix
from app.config import get_settings
from app.screening.rules import NO_PLAN, apply_rules, plan_context
from app.store.db import get_engine
from tests.test_screening import finding, screen

PLANS = Path(__file__).resolve().parent.parent / "layers" / "plans"
BAZHONG_PLAN = "巴中市国家生态文明建设示范区规划（修编）（2023—2035年）"
DAZHOU_PLAN = "美丽达州建设规划纲要（2024—2035年）"


@pytest.mark.parametrize(
    ("code", "plan"),
    [("511902", "511900"), ("511900", "511900"), ("511781", "511700"), ("500237", "500237"),
     ("440300", None), ("440305", None), ("500101", None)],
)
def test_plan_lookup_walks_up_the_code_hierarchy(code: str, plan: str | None) -> None:
    found = plan_for(code)
    assert (found.code if found else None) == plan


def test_codes_and_prefixes() -> None:
    assert [parent_code(c) for c in ("511902", "511900", "510000", "500237")] == [
        "511900", "510000", None, "500000"]
    assert [region_prefix(c) for c in ("511900", "510000", "500237")] == ["5119", "51", "500237"]


def test_every_plan_file_loads() -> None:
    loaded = load_plans(PLANS)
    assert set(loaded) == {p.stem for p in PLANS.glob("*.yaml")} >= {"511900", "511700", "500237"}
    assert loaded["511900"].title == BAZHONG_PLAN and loaded["511700"].title == DAZHOU_PLAN
    assert loaded["511900"].redline_km2.value == 1673
    assert loaded["511700"].city_area_km2 is None  # Dazhou's plan states no area
    assert "forest_cover_pct" in loaded["500237"].other_figures()


def test_a_plan_file_with_the_wrong_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "511700.yaml").write_text("code: '511900'\ntitle: t\nshort_title: s\n")
    with pytest.raises(ValueError, match="511700.yaml"):
        load_plans(tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "wrong"),
    [("basis", "{plan_titel}", "plan_titel"), ("message", "{nmae}", "nmae")],
)
def test_unknown_placeholders_fail_the_catalog_naming_file_and_rule(
    tmp_path: Path, field: str, value: str, wrong: str
) -> None:
    broken = (get_settings().catalog_dir / "township.yaml").read_text(encoding="utf-8")
    assert "id: mfz-eco-industrial" in broken
    rule = broken.index("id: mfz-eco-industrial")
    line = broken.index(f"    {field}: ", rule)
    end = broken.index("\n", line)
    broken = broken[:line] + f'    {field}: "{value}"' + broken[end:]
    (tmp_path / "township.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ValueError, match=f"township.yaml(.|\\n)*mfz-eco-industrial(.|\\n)*{wrong}"):
        load_catalog(tmp_path)


def get(client, path: str, **params):
    return client.get(path, params=params)


def test_plan_summary_of_bazhong_reproduces_its_figures(client, reference) -> None:
    body = get(client, "/summaries/plan", region="511900").json()
    assert body["region"] == "511900" and body["region_name"] == "巴中市"
    assert body["title"] == BAZHONG_PLAN
    pa = body["protected_areas"]
    assert round(pa["listed_sum_km2"], 2) == 1560.07
    assert round(pa["listed_sum_share_pct"], 2) == 12.69
    assert pa["union_km2"] == pytest.approx(1426.73, abs=0.05)
    assert body["redline"]["plan_km2"] == 1673
    assert body["redline"]["union_km2"] == pytest.approx(1673, rel=0.01)
    assert body["townships"]["data"] == {"重点生态功能区": 35, "农产品主产区": 59, "城镇化地区": 45}
    # A county of the region follows the region's plan: the same figures.
    county = get(client, "/summaries/plan", region="511902").json()
    assert county["region"] == "511900" and county["redline"] == body["redline"]


def test_plan_summary_without_region_picks_the_only_loaded_one_or_lists_them(
    client, reference
) -> None:
    resp = get(client, "/summaries/plan")
    if resp.status_code == 200:
        assert resp.json()["region"] == "511900"
    else:  # several regions loaded: the caller must name one
        assert resp.status_code == 422 and "511900" in resp.json()["detail"]


@pytest.mark.parametrize(("region", "status"), [("999900", 404), ("5119", 422), ("x11900", 422)])
def test_plan_summary_of_an_unknown_region_is_a_problem(client, region, status) -> None:
    resp = get(client, "/summaries/plan", region=region)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_a_bazhong_site_cites_the_bazhong_plan(client, reference) -> None:
    # Chosen by PostGIS: a point in an eco-function township and a priority or key control
    # unit, within 300 m of permanent farmland, so the township, control-unit and farmland
    # rules all fire for a chemical plant.
    sql = text("""
        WITH active AS (SELECT f.*, v.layer_id FROM feature f JOIN layer l
                        ON l.active_version_id = f.version_id
                        JOIN layer_version v ON v.id = f.version_id),
        cand AS (SELECT (ST_Dump(ST_GeneratePoints(geom, 50, 7))).geom AS p FROM active
                 WHERE layer_id = 'township' AND attributes->>'zone_type' = '重点生态功能区')
        SELECT ST_X(p), ST_Y(p) FROM cand
        WHERE EXISTS (SELECT 1 FROM active a WHERE a.layer_id = 'farmland'
                      AND ST_DWithin(a.geom::geography, p::geography, 300))
          AND EXISTS (SELECT 1 FROM active c WHERE c.layer_id = 'control_unit'
                      AND c.attributes->>'unit_class' IN ('优先保护单元', '重点管控单元')
                      AND ST_Intersects(c.geom, p))
        LIMIT 1""")
    with get_engine().connect() as conn:
        lon, lat = conn.execute(sql).one()
    result = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="化工"
    )
    bases = {layer: [r["basis"] for r in finding(result, layer)["rules"]]
             for layer in ("township", "control_unit", "farmland")}
    assert any(BAZHONG_PLAN in b for b in bases["township"])
    assert any(BAZHONG_PLAN in b for b in bases["farmland"])
    assert any(b.startswith("巴中市“三线一单”") for b in bases["control_unit"])


def _fired(layer: str, finding: dict, category: str, county: dict | None) -> list:
    rules = get_layer_spec(layer).rules
    return apply_rules(rules, finding, category, project_categories().groups, plan_context(county))


TOWNSHIP = {"relation": "inside", "name": "某镇", "distance_m": 0.0,
            "attributes": {"name": "某镇", "zone_type": "重点生态功能区"}}
UNIT = {"relation": "inside", "name": "某单元", "distance_m": 0.0,
        "attributes": {"name": "某单元", "code": "X", "unit_class": "优先保护单元"}}
FARMLAND = {"relation": "nearby", "name": "农田", "distance_m": 200.0, "attributes": {}}


def _bases(county: dict | None) -> list[str]:
    hits = [
        *_fired("township", TOWNSHIP, "化工", county),
        *_fired("control_unit", UNIT, "化工", county),
        *_fired("farmland", FARMLAND, "化工", county),
    ]
    assert {h.rule_id for h in hits} >= {
        "mfz-eco-industrial", "cu-priority-development", "farmland-polluting-nearby"}
    return [h.basis for h in hits]


def test_a_dazhou_site_cites_the_dazhou_plan() -> None:
    county = {"name": "万源市", "attributes": {"code": "511781", "name": "万源市", "city": "达州市",
                                              "city_code": "511700", "province_code": "510000"}}
    bases = _bases(county)
    assert sum(DAZHOU_PLAN in b for b in bases) == 2
    assert "达州市“三线一单”生态环境分区管控：生态环境准入清单" in bases
    assert not any("巴中" in b for b in bases)


@pytest.mark.parametrize(
    "county",
    [None, {"name": "南山区", "attributes": {"code": "440305", "city": "深圳市",
                                            "city_code": "440300"}}],
)
def test_a_site_without_a_plan_says_so(county: dict | None) -> None:
    bases = _bases(county)
    assert sum(NO_PLAN in b and "未载入" in b for b in bases) == 2
    assert not any("巴中" in b for b in bases)
