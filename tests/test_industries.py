"""Industries (GB/T 4754-2017), EIA catalog items and structured 准入清单 conditions."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from app.catalog import ConditionSpec, industry_catalog, load_industries, project_categories
from app.catalog.access import load_access_lists
from app.errors import InvalidInput
from app.screening.access import _judge
from app.screening.projects import resolve_project

SCREENING = Path(__file__).resolve().parent.parent / "layers" / "screening"
ACCESS = yaml.safe_load((SCREENING / "access_conditions.yaml").read_text(encoding="utf-8"))
BAZHONG = next(a for a in ACCESS["lists"] if a["unit_prefix"] == "ZH5119")


def condition(unit_class: str, cid: str) -> dict:
    """A condition of Bazhong's list, read straight from the YAML."""
    return next(c for c in BAZHONG["classes"][unit_class] if c["id"] == cid)


def test_codes_resolve_to_the_most_specific_entry_and_inherit_its_category():
    table = industry_catalog().industries
    organic = table.lookup("c2614")
    assert (organic.code, organic.name, organic.level, organic.category) == (
        "C2614",
        "有机化学原料制造",
        "小类",
        "化工",
    )
    assert table.lookup("C26").name == "化学原料和化学制品制造业"
    assert table.lookup("C").level == "门类"
    assert table.lookup("A031").category == "畜禽养殖"  # inherited from A03 畜牧业
    assert table.lookup("D4416").category == "能源"  # from D 门类
    assert table.lookup("D442").category == "线性基础设施"  # overrides D
    assert table.lookup("C2699").code == "C26"  # an unlisted 小类 resolves to its 大类
    assert table.lookup("C99") is None  # C lists all its 大类: C99 is no code
    assert table.lookup("H61").code == "H"  # H lists none: the 门类 answers
    assert table.lookup("Z1") is None and table.lookup("C2") is None


def test_every_manufacturing_major_group_and_every_section_is_listed():
    entries = industry_catalog().industries.entries
    assert [c for c in entries if len(c) == 1] == list("ABCDEFGHIJKLMNOPQRST")
    assert sorted(c for c in entries if c.startswith("C") and len(c) == 3) == [
        f"C{n}" for n in range(13, 44)
    ]


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(SCREENING, tmp_path / "screening")
    return tmp_path / "screening"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("industries.yaml", "category: 化工}", "category: 化学工业}"),
        ("eia_catalog.yaml", "category: 畜禽养殖}", "category: 养猪}"),
        ("eia_catalog.yaml", "industries: [C251]", "industries: [C99]"),
    ],
)
def test_a_bad_table_fails_the_load_naming_its_file(tmp_path, file, old, new):
    directory = _copy(tmp_path)
    _edit(directory / file, old, new)
    with pytest.raises(ValueError, match=file.replace(".", r"\.")):
        load_industries(directory, project_categories())


def test_a_bad_access_condition_fails_the_load_naming_its_file(tmp_path):
    directory = _copy(tmp_path)
    _edit(directory / "access_conditions.yaml", "industries: [A03]", "industries: [A99]")
    catalog = load_industries(directory, project_categories())
    with pytest.raises(ValueError, match=r"access_conditions\.yaml.*general-livestock"):
        load_access_lists(directory / "access_conditions.yaml", catalog, project_categories().names)


def test_nothing_given_is_judged_as_every_category():
    kind = resolve_project(None, None, None)
    assert not kind.specified and kind.category is None
    assert kind.categories == tuple(project_categories().names)


def test_eia_item_resolves_to_its_category():
    kind = resolve_project(None, None, "44")
    assert kind.categories == ("化工",) and kind.category == "化工" and kind.specified
    assert kind.eia_item == "44" and kind.eia_item_name.startswith("基础化学原料制造")
    farm = resolve_project(None, None, "3")
    assert farm.categories == ("畜禽养殖",)


def test_category_and_industry_that_disagree_are_both_judged_with_a_warning():
    kind = resolve_project("工业", "C2614", None)
    assert kind.categories == ("化工", "工业") and kind.category == "工业"
    assert len(kind.warnings) == 1 and "不一致" in kind.warnings[0]
    assert "C2614" in kind.warnings[0] and "最严格" in kind.warnings[0]
    agreeing = resolve_project("化工", "C26", "44")
    assert agreeing.categories == ("化工",) and not agreeing.warnings


@pytest.mark.parametrize(("code", "item"), [("C99", None), ("化工", None), (None, "999")])
def test_unknown_codes_and_items_say_where_to_find_them(code, item):
    with pytest.raises(InvalidInput, match="/screenings/industries"):
        resolve_project(None, code, item)


def test_conditions_match_by_code_prefix_or_by_category():
    chem = ConditionSpec.model_validate(condition("优先保护单元", "priority-chemical"))
    assert _judge(chem, resolve_project(None, "C2614", None)).applies is True
    assert _judge(chem, resolve_project(None, "C3011", None)).applies is False
    broad = _judge(chem, resolve_project(None, "C", None))  # C may be chemical: judged so
    assert broad.applies is None and broad.categories == {"工业"}
    by_category = _judge(chem, resolve_project("化工", None, None))
    assert by_category.applies is None and by_category.categories == {"化工"}
    housing = _judge(chem, resolve_project("居住", None, None))
    # Not counted, and not said to apply: the report shows 本项目所属类别不涉及此条 (an empty
    # category used to be quoted as 按项目类别“”视为适用).
    assert not housing.categories and housing.applies is None and not housing.reason
    unspecified = _judge(chem, resolve_project(None, None, None))
    assert unspecified.applies is None and unspecified.categories == {"化工"}
    mining = ConditionSpec.model_validate(condition("优先保护单元", "priority-mining"))
    assert _judge(mining, resolve_project(None, "B0911", None)).applies is True  # B covers B09


# Through the API, against the Bazhong reference data.


def _point(client, lon: float, lat: float, status: int = 201, **body) -> dict:
    resp = client.post("/screenings", json={"geometry": point(lon, lat), **body})
    assert resp.status_code == status, resp.text
    return resp.json()


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def test_chemical_industry_in_a_priority_unit_is_prohibited_quoting_the_list(client, reference):
    from tests.test_screening_rules import inside_point

    lon, lat = inside_point("control_unit", unit_class="优先保护单元")
    wording = condition("优先保护单元", "priority-chemical")["text"]
    result = _point(client, lon, lat, industry_code="C2614")
    assert result["verdict"] == "prohibited"
    assert result["project"]["industry_code"] == "C2614"
    assert result["project"]["industry_name"] == "有机化学原料制造"
    assert result["project"]["categories"] == ["化工"]
    unit = next(f for f in result["findings"] if f["layer"] == "control_unit")
    hit = next(r for r in unit["rules"] if r["rule_id"] == "cu-access-priority-chemical")
    assert hit["verdict"] == "prohibited" and f"“{wording}”" in hit["message"]
    assert "C2614" in hit["message"] and "准入清单" in hit["basis"]
    conditions = result["context"]["control_units"][0]["conditions"]
    chem = next(c for c in conditions if c["text"] == wording)
    assert chem["applies"] is True and chem["effect"] == "prohibited"
    hydro = next(c for c in conditions if c["industries"] == ["D4413"])
    assert hydro["applies"] is False
    # A solar farm there meets none of the 准入清单 conditions.
    solar = _point(client, lon, lat, industry_code="D4416")
    assert not any(
        r["rule_id"].startswith("cu-access-") for f in solar["findings"] for r in f["rules"]
    )


def test_category_without_industry_judges_conditions_as_applying(client, reference):
    from tests.test_screening_rules import inside_point

    lon, lat = inside_point("control_unit", unit_class="优先保护单元")
    result = _point(client, lon, lat, project_category="化工")
    unit = next(f for f in result["findings"] if f["layer"] == "control_unit")
    hit = next(r for r in unit["rules"] if r["rule_id"] == "cu-access-priority-chemical")
    assert hit["verdict"] == "prohibited" and "按项目类别“化工”视为适用" in hit["message"]
    conditions = result["context"]["control_units"][0]["conditions"]
    assert conditions and all(c["applies"] is None for c in conditions)


def test_eia_item_is_screened_as_its_category(client, reference):
    from tests.test_screening_rules import inside_point

    lon, lat = inside_point("control_unit", unit_class="优先保护单元")
    result = _point(client, lon, lat, eia_item="44")
    assert result["project"]["category"] == "化工" and result["project"]["eia_item"] == "44"
    assert result["project"]["eia_item_name"].startswith("基础化学原料制造")
    assert result.get("by_category") is None
    assert not any(w.startswith("类别未指定") for w in result["warnings"])


@pytest.mark.parametrize(
    ("body", "field"), [({"industry_code": "C99"}, "C99"), ({"eia_item": "999"}, "999")]
)
def test_unknown_industry_or_item_is_a_422_problem_saying_where_to_look(client, body, field):
    resp = client.post("/screenings", json={"geometry": point(106.8, 32.4), **body})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    detail = resp.json()["detail"]
    assert field in detail and "GET /screenings/industries" in detail


def test_industry_code_in_the_upload_form(client, reference, tmp_path):
    from tests.test_screening_rules import inside_point

    lon, lat = inside_point("control_unit", unit_class="优先保护单元")
    path = tmp_path / "site.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": point(lon, lat)}
    path.write_text(json.dumps(feature), encoding="utf-8")
    with path.open("rb") as fh:
        resp = client.post(
            "/screenings",
            files={"file": ("site.geojson", fh, "application/geo+json")},
            data={"industry_code": "C26"},
        )
    assert resp.status_code == 201, resp.text
    assert resp.json()["project"]["industry_code"] == "C26"
    assert resp.json()["verdict"] == "prohibited"


def test_industries_are_listed(client):
    # Who may read them (a viewer, like the categories) is in test_auth's role matrix.
    resp = client.get("/screenings/industries")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    c26 = next(i for i in body["industries"] if i["code"] == "C26")
    assert c26 == {
        "code": "C26",
        "name": "化学原料和化学制品制造业",
        "level": "大类",
        "category": "化工",
    }
    item = next(e for e in body["eia_items"] if e["id"] == "44")
    assert item["category"] == "化工" and "C261" in item["industry_codes"]


def test_cli_screen_takes_an_industry_code(reference):
    from typer.testing import CliRunner

    from app.cli import app
    from tests.test_screening_rules import inside_point

    lon, lat = inside_point("control_unit", unit_class="优先保护单元")
    args = ["screen", "--wkt", f"POINT({lon} {lat})", "--format", "json"]
    result = CliRunner().invoke(app, [*args, "--industry", "C2614"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    assert body["project"]["industry_code"] == "C2614" and body["verdict"] == "prohibited"
    bad = CliRunner().invoke(app, [*args, "--industry", "C99"])
    assert bad.exit_code != 0 and "/screenings/industries" in bad.output


def test_disagreeing_category_and_industry_are_judged_side_by_side(client, reference):
    from tests.test_screening_rules import inside_point

    lon, lat = inside_point("control_unit", unit_class="重点管控单元")
    result = _point(client, lon, lat, project_category="居住", industry_code="C2614")
    assert [v["category"] for v in result["by_category"]] == ["化工", "居住"]
    assert result["project"]["categories"] == ["化工", "居住"]
    assert any("不一致" in w and "C2614" in w for w in result["warnings"])
    assert not any(w.startswith("类别未指定") for w in result["warnings"])
    severity = ["clear", "attention", "restricted", "prohibited"]
    worst = max((v["verdict"] for v in result["by_category"]), key=severity.index)
    assert result["verdict"] == worst
    chem = next(v for v in result["by_category"] if v["category"] == "化工")
    assert "cu-access-key-chemical" in chem["rule_ids"]
