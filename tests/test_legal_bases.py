"""Every rule cites its own instrument: per protected-area type, per water-source grade, redline."""

import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import mapping, shape

from app.catalog import catalog, project_categories
from app.screening.rules import apply_rules

REF = Path(__file__).resolve().parent.parent / "layers" / "data" / "bazhong"
GROUPS = project_categories().groups

RESERVE = "《中华人民共和国自然保护区条例》"
SCENIC = "《风景名胜区条例》"
NATIONAL_FOREST = "《国家级森林公园管理办法》"
FOREST = "《森林公园管理办法》"
WETLAND = "《中华人民共和国湿地保护法》第二十八条"
NATIONAL_WETLAND = "《国家湿地公园管理办法》第十九条"
GEO = "《地质遗迹保护管理规定》第十七条"
PA_GUIDE = "《关于建立以国家公园为主体的自然保护地体系的指导意见》"
INSTRUMENTS = [RESERVE, SCENIC, NATIONAL_FOREST, FOREST, WETLAND, NATIONAL_WETLAND, GEO]


def _pa(category: str, subtype: str | None, level: str = "国家级", zone: str | None = None):
    return {
        "layer": "protected_area",
        "name": "某保护地",
        "relation": "inside",
        "overlap_area_m2": 20_000.0,
        "overlap_share": 1.0,
        "distance_m": 0.0,
        "attributes": {
            "name": "某保护地",
            "category": category,
            "subtype": subtype,
            "level": level,
            "zone": zone,
        },
    }


def _bases(finding: dict, category: str) -> list[str]:
    hits = apply_rules(catalog()["protected_area"].rules, finding, category, GROUPS)
    assert hits, f"no rule fires for {finding['attributes']} / {category}"
    return [h.basis for h in hits]


# (attributes, the instruments its findings must cite, verdict for 工业 and for 旅游)
CASES = [
    (("自然保护区", "自然保护区", "国家级"), [RESERVE], "prohibited", "restricted"),
    (("自然保护区", "自然保护区", "地方级"), [RESERVE], "prohibited", "restricted"),
    (("自然公园", "风景名胜区", "国家级"), [SCENIC], "prohibited", "restricted"),
    (("自然公园", "森林公园", "国家级"), [NATIONAL_FOREST, PA_GUIDE], "prohibited", "restricted"),
    (("自然公园", "森林公园", "地方级"), [FOREST, PA_GUIDE], "prohibited", "restricted"),
    (("自然公园", "湿地公园", "国家级"), [WETLAND, NATIONAL_WETLAND], "prohibited", "restricted"),
    (("自然公园", "地质公园", "省级"), [GEO], "prohibited", "restricted"),
    (
        ("国家公园", "国家公园", "国家级"),
        ["《国家公园管理暂行办法》", PA_GUIDE],
        "prohibited",
        "restricted",
    ),
    (("自然公园", None, "省级"), [PA_GUIDE], "prohibited", "restricted"),
]


@pytest.mark.parametrize(("attrs", "cites", "industrial", "tourism"), CASES)
def test_each_protected_area_type_cites_its_own_instrument(attrs, cites, industrial, tourism):
    finding = _pa(*attrs)
    for category, verdict in (("工业", industrial), ("旅游", tourism)):
        hits = apply_rules(catalog()["protected_area"].rules, finding, category, GROUPS)
        assert hits and hits[0].verdict == verdict, (attrs, category, hits)
        for basis in _bases(finding, category):
            for instrument in cites:
                assert instrument in basis, (attrs, category, basis)
            # never another type's instrument (the national/local forest ones share a word)
            for other in INSTRUMENTS:
                if other not in cites and not any(other in c for c in cites):
                    assert other not in basis.replace(NATIONAL_FOREST, ""), (attrs, basis)


def test_reserve_zones_cite_the_articles_on_core_and_buffer_zones():
    for zone in ("核心区", "缓冲区"):
        hits = apply_rules(
            catalog()["protected_area"].rules,
            _pa("自然保护区", "自然保护区", zone=zone),
            "旅游",
            GROUPS,
        )
        assert hits[0].verdict == "prohibited"
        assert "第二十七条" in hits[0].basis and "第二十八条" in hits[0].basis


@pytest.mark.parametrize(
    ("grade", "article"),
    [("一级", "第六十五条"), ("二级", "第六十六条"), ("准保护区", "第六十七条")],
)
def test_water_source_grades_cite_their_articles(grade, article):
    finding = {
        "relation": "inside",
        "overlap_area_m2": 100.0,
        "overlap_share": 1.0,
        "attributes": {"source_name": "某水库饮用水水源地", "grade": grade},
    }
    for category in ("化工", "旅游"):
        hits = apply_rules(catalog()["water_source"].rules, finding, category, GROUPS)
        assert hits, (grade, category)
        assert all(f"《中华人民共和国水污染防治法》{article}" in h.basis for h in hits)


def test_redline_cites_the_2019_opinions_and_the_2022_notice():
    for rule in catalog()["redline"].rules:
        assert "《关于在国土空间规划中统筹划定落实三条控制线的指导意见》" in rule.basis
        assert "自然资发〔2022〕142号" in rule.basis
        assert "国家林业和草原局" in rule.basis


def test_every_rule_has_a_basis_naming_an_instrument():
    for layer_id, spec in catalog().items():
        for rule in spec.rules:
            assert rule.basis.strip(), f"{layer_id}/{rule.id} has no basis"
            assert "《" in rule.basis or "“三线一单”" in rule.basis or "{plan_title}" in rule.basis


def test_yangtze_rules_cite_article_26():
    for rule in catalog()["river"].rules:
        assert "《中华人民共和国长江保护法》第二十六条" in rule.basis


@pytest.mark.usefixtures("reference")
def test_a_forest_park_finding_cites_the_forest_park_rules(client):
    """天马山 in the Bazhong data: a site inside it cites the forest-park measures only."""
    data = json.loads((REF / "protected_area.geojson").read_text(encoding="utf-8"))
    park = next(
        shape(f["geometry"]) for f in data["features"] if "天马山" in f["properties"]["name"]
    )
    point = shapely.Point(park.representative_point())
    for category in ("工业", "旅游"):
        resp = client.post(
            "/screenings", json={"geometry": mapping(point), "project_category": category}
        )
        assert resp.status_code == 201, resp.text
        found = [
            f
            for f in resp.json()["findings"]
            if f["layer"] == "protected_area" and "天马山" in f["name"]
        ]
        assert found and found[0]["rules"], resp.json()["findings"]
        for hit in found[0]["rules"]:
            assert NATIONAL_FOREST in hit["basis"], hit
            assert SCENIC not in hit["basis"], hit
