"""Verdicts follow the rules of the layer catalog (docs/domain.md §4)."""

import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import text

from app.catalog import Rule, project_categories
from app.screening.rules import apply_rules, overall
from app.store.db import get_engine
from tests.factories import GEOD
from tests.test_screening import circle, edge_site, finding, ref_features, screen


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def inside_point(layer: str, **where) -> tuple[float, float]:
    props, geom = next(
        (p, g) for p, g in ref_features(layer) if all(p.get(k) == v for k, v in where.items())
    )
    p = shapely.point_on_surface(max(shapely.get_parts(geom), key=lambda g: g.area))
    return p.x, p.y


def test_industry_inside_redline_is_prohibited_with_its_legal_basis(client):
    lon, lat = inside_point("redline", name="米仓山—光雾山水源涵养生态保护红线")
    result = screen(
        client, geometry=circle(lon, lat, 100).__geo_interface__, project_category="工业"
    )
    assert result["verdict"] == "prohibited"
    rule = finding(result, "redline")["rules"][0]
    assert rule["verdict"] == "prohibited" and "三条控制线" in rule["basis"]
    assert "米仓山—光雾山水源涵养生态保护红线" in rule["message"]


def test_no_category_gives_the_strictest_verdict_with_a_warning(client):
    lon, lat = inside_point("redline", name="米仓山—光雾山水源涵养生态保护红线")
    result = screen(client, geometry={"type": "Point", "coordinates": [lon, lat]})
    assert result["verdict"] == "prohibited" and result["verdict_label"] == "禁止"
    assert result["warnings"][0].startswith("类别未指定，按最严格类别研判：禁止（化工")
    verdicts = {v["category"]: v for v in result["by_category"]}
    assert list(verdicts) == [c["id"] for c in project_categories().categories]
    assert verdicts["化工"]["verdict"] == "prohibited"
    assert verdicts["化工"]["verdict_label"] == "禁止"
    assert "redline-development" in verdicts["化工"]["rule_ids"]
    assert verdicts["生态修复"]["verdict"] == "restricted"
    assert "redline-other" in verdicts["生态修复"]["rule_ids"]
    assert "redline-development" not in verdicts["生态修复"]["rule_ids"]
    assert "redline-major-infrastructure" in verdicts["线性基础设施"]["rule_ids"]
    # The finding reports its most severe hit first, and the others the categories met.
    red = finding(result, "redline")
    assert red["verdict"] == "prohibited"
    ids = [r["rule_id"] for r in red["rules"]]
    assert ids[0] == "redline-development"
    assert {"redline-major-infrastructure", "redline-other"} <= set(ids)
    assert result["project"]["category"] is None
    assert len(result["project"]["categories"]) == len(verdicts)
    # Each category alone gives the verdict listed beside it.
    for category in ("化工", "生态修复", "线性基础设施"):
        alone = screen(
            client,
            geometry={"type": "Point", "coordinates": [lon, lat]},
            project_category=category,
        )
        assert alone["verdict"] == verdicts[category]["verdict"], category
        assert alone.get("by_category") is None
        assert not any(w.startswith("类别未指定") for w in alone["warnings"])


def test_no_category_in_an_ordinary_unit_counts_its_access_list(client):
    lon, lat = _ordinary_point()
    result = screen(client, geometry={"type": "Point", "coordinates": [lon, lat]})
    unit = result["context"]["control_units"][0]
    assert unit["unit_class"] == "一般管控单元"
    assert result["verdict"] == overall([v["verdict"] for v in result["by_category"]])
    assert result["verdict"] != "clear"
    # The general unit's 准入清单 restricts livestock farming: judged so without a category.
    livestock = next(v for v in result["by_category"] if v["category"] == "畜禽养殖")
    assert livestock["verdict"] == "restricted"
    assert "cu-access-general-livestock" in livestock["rule_ids"]
    assert next(v for v in result["by_category"] if v["category"] == "农业")["verdict"] == "clear"
    assert result["warnings"][0].startswith("类别未指定，按最严格类别研判：")


def test_linear_infrastructure_in_redline_needs_unavoidability_assessment(client):
    lon, lat = inside_point("redline", name="米仓山—光雾山水源涵养生态保护红线")
    line = shapely.LineString([(lon - 0.002, lat), (lon + 0.002, lat)])
    result = screen(client, geometry=mapping(line), project_category="线性基础设施")
    f = finding(result, "redline")
    assert f["verdict"] == "restricted" and "不可避让" in f["rules"][0]["message"]


def test_chemical_project_within_1km_of_a_yangtze_tributary_is_prohibited(client):
    _, river = next((p, g) for p, g in ref_features("river") if p["name"] == "巴河")
    on_river = river.interpolate(0.5, normalized=True)
    lon, lat, _ = GEOD.fwd(on_river.x, on_river.y, 90, 600)
    chem = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="化工"
    )
    f = finding(chem, "river", "巴河")
    assert f["distance_m"] < 1000
    assert any(r["verdict"] == "prohibited" and "长江保护法" in r["basis"] for r in f["rules"])
    housing = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="居住"
    )
    assert not finding(housing, "river", "巴河")["rules"]


def test_water_source_grades_set_the_verdict(client):
    lon, lat = inside_point("water_source", grade="一级")
    grade1 = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="商业"
    )
    f = finding(grade1, "water_source")
    assert f["verdict"] == "prohibited" and "第六十五条" in f["rules"][0]["basis"]
    lon, lat = inside_point("water_source", grade="二级")
    grade2 = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="商业"
    )
    f2 = next(
        f for f in grade2["findings"] if f["layer"] == "water_source" and f["relation"] == "inside"
    )
    assert f2["verdict"] == "restricted" and "第六十六条" in f2["rules"][0]["basis"]


def test_eco_function_township_restricts_industry(client):
    lon, lat = inside_point("township", name="光雾山镇")
    result = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="化工"
    )
    f = finding(result, "township", "光雾山镇")
    assert f["verdict"] == "restricted" and "主体功能" in f["rules"][0]["message"]


def _ordinary_point() -> tuple[float, float]:
    """A point in an ordinary control unit more than 1.5 km from any constraint."""
    # Chosen by PostGIS, independently of the screening code: a point in an ordinary
    # control unit more than 1.5 km from any redline, protected area or water source.
    sql = text("""
        WITH active AS (SELECT f.* FROM feature f JOIN layer l
                        ON l.active_version_id = f.version_id),
        cand AS (SELECT (ST_Dump(ST_GeneratePoints(geom, 200, 42))).geom AS p FROM active
                 WHERE attributes->>'unit_class' = '一般管控单元')
        SELECT ST_X(p), ST_Y(p) FROM cand WHERE NOT EXISTS (
          SELECT 1 FROM active a JOIN layer_version v ON v.id = a.version_id
          WHERE v.layer_id IN ('redline', 'protected_area', 'water_source', 'farmland')
            AND ST_DWithin(a.geom::geography, cand.p::geography, 1500)) LIMIT 1""")
    with get_engine().connect() as conn:
        return conn.execute(sql).one()


def test_a_site_far_from_every_constraint_is_clear(client):
    lon, lat = _ordinary_point()
    result = screen(
        client, geometry={"type": "Point", "coordinates": [lon, lat]}, project_category="农业"
    )
    assert result["verdict"] == "clear"
    assert all(not f["rules"] for f in result["findings"])


def test_buffer_widens_the_search(client):
    site, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线", 300)
    far = shapely.affinity.translate(site, xoff=0.0)
    plain = screen(client, geometry=mapping(far))
    buffered = screen(client, geometry=mapping(far), buffer_m=2000)
    assert buffered["site"]["search_area_m2"] > plain["site"]["area_m2"] * 10
    assert buffered["project"]["buffer_m"] == 2000


def test_rule_engine_is_data_driven():
    rules = [
        Rule(
            id="a",
            relation=["inside"],
            where={"grade": "一级"},
            verdict="prohibited",
            message="{name} {overlap_text}",
            basis="B",
        ),
        Rule(
            id="b",
            relation=["nearby"],
            within_m=100,
            categories=["g"],
            verdict="attention",
            message="near {distance_m}",
            basis="B",
        ),
    ]
    groups = {"g": ["化工"]}
    inside = {
        "relation": "inside",
        "attributes": {"grade": "一级", "name": "甲"},
        "overlap_area_m2": 20000.0,
        "overlap_share": 0.5,
        "distance_m": 0.0,
    }
    hits = apply_rules(rules, inside, None, groups)
    assert [h.rule_id for h in hits] == ["a"]
    assert hits[0].message == "甲 重叠面积 2.0000 公顷（30.00 亩），占项目用地的 50.00%"
    near = {"relation": "nearby", "attributes": {}, "distance_m": 80.0}
    assert [h.rule_id for h in apply_rules(rules, near, "化工", groups)] == ["b"]
    assert apply_rules(rules, near, "居住", groups) == []
    assert apply_rules(rules, {**near, "distance_m": 150.0}, "化工", groups) == []
    assert overall(["attention", "prohibited", "restricted"]) == "prohibited"
    assert overall([]) == "clear"


def test_rules_by_category_agree_with_each_category_alone():
    from app.catalog import catalog
    from app.screening.rules import apply_rules_by_category

    groups = project_categories().groups
    names = project_categories().names
    attributes = {"category": "自然保护区", "grade": "二级", "unit_class": "优先保护单元"}
    for spec in catalog().values():
        for relation, distance in (("inside", 0.0), ("nearby", 400.0), ("outside", 900.0)):
            figures = {
                "relation": relation,
                "distance_m": distance,
                "name": "某地",
                "attributes": {**attributes, "zone_type": "重点生态功能区"},
            }
            together = apply_rules_by_category(spec.rules, figures, names, groups)
            for category in names:
                alone = apply_rules(spec.rules, figures, category, groups)
                assert together[category] == alone, (spec.id, relation, category)
