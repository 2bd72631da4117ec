"""Every rule message, rendered over realistic findings, reads as finished Chinese."""

import json
import re
from pathlib import Path

import pytest

from app.catalog import LayerSpec, Rule, catalog
from app.screening.rules import overlap_text, plan_context, render

DATA = Path(__file__).resolve().parent.parent / "layers" / "data"
PLAN = plan_context({"attributes": {"code": "511902", "city_code": "511900", "city": "巴中市"}})

# How a site meets a feature: inside a polygon (a point site), overlapping by area or by
# length, nearby, and outside every feature of the layer.
SHAPES: dict[str, dict] = {
    "inside": {
        "relation": "inside",
        "overlap_area_m2": 0.0,
        "overlap_share": 0.0,
        "overlap_length_m": None,
        "distance_m": 0.0,
    },
    "inside_area": {
        "relation": "inside",
        "overlap_area_m2": 52_340.0,
        "overlap_share": 1.0,
        "overlap_length_m": None,
        "distance_m": 0.0,
    },
    "overlaps_area": {
        "relation": "overlaps",
        "overlap_area_m2": 12_345.6,
        "overlap_share": 0.2871,
        "overlap_length_m": None,
        "distance_m": 0.0,
    },
    "overlaps_length": {
        "relation": "overlaps",
        "overlap_area_m2": 0.0,
        "overlap_share": 0.0,
        "overlap_length_m": 456.7,
        "distance_m": 0.0,
    },
    "nearby": {
        "relation": "nearby",
        "overlap_area_m2": 0.0,
        "overlap_share": 0.0,
        "overlap_length_m": None,
        "distance_m": 642.5,
    },
    "outside": {
        "relation": "outside",
        "overlap_area_m2": 0.0,
        "overlap_share": 0.0,
        "overlap_length_m": None,
        "distance_m": None,
    },
}
DOUBLED = re.compile(r"([\u4e00-\u9fff]{2,})\1|的的|。。|，，|、、|；；")


def _features(layer: str) -> list[dict]:
    """Every reference region's features of the layer (attributes only)."""
    out = []
    for path in sorted(DATA.glob(f"*/{layer}.geojson")):
        out += [f["properties"] for f in json.loads(path.read_text("utf-8"))["features"]]
    return out


def _meets_where(rule: Rule, attributes: dict) -> bool:
    for key, wanted in (rule.where or {}).items():
        if attributes.get(key) not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True


def _attributes(spec: LayerSpec, rule: Rule) -> list[dict]:
    """Real attribute sets from the data that the rule's `where` accepts, else a made-up one."""
    real = [a for a in _features(spec.id) if _meets_where(rule, a)]
    if real:
        # a few, with every declared attribute the data leaves empty filled in
        return real[:: max(len(real) // 5, 1)][:5]
    made = {a.name: (a.allowed[0] if a.allowed else "示例") for a in spec.attributes}
    for key, wanted in (rule.where or {}).items():
        made[key] = wanted[0] if isinstance(wanted, list) else wanted
    return [made]


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for layer_id, spec in catalog().items():
        for rule in spec.rules:
            for shape_name, shape in SHAPES.items():
                if rule.relation is None or shape["relation"] in rule.relation:
                    out.append((layer_id, rule.id or "", shape_name))
    return out


@pytest.mark.parametrize(("layer_id", "rule_id", "shape"), _cases())
def test_message_reads_as_finished_chinese(layer_id, rule_id, shape):
    spec = catalog()[layer_id]
    rule = next(r for r in spec.rules if r.id == rule_id)
    for attributes in _attributes(spec, rule):
        finding = {
            "layer": layer_id,
            "layer_title": spec.title_zh,
            "name": attributes.get(spec.label or "name"),
            **SHAPES[shape],
            "attributes": attributes,
        }
        if shape == "outside":
            finding["name"] = spec.title_zh
            finding["attributes"] = {}
        text = render(rule.message, finding, "工业", PLAN)
        assert "{" not in text and "}" not in text, text
        assert "None" not in text, text
        # no placeholder left blank ("—"): only the data's own values may hold a dash
        stripped = text
        for value in sorted(
            map(str, [*finding["attributes"].values(), *PLAN.values()]), key=len, reverse=True
        ):
            stripped = stripped.replace(value, "") if value else stripped
        assert "—" not in stripped, text
        assert not DOUBLED.search(text), (DOUBLED.search(text), text)
        assert text.endswith("。"), text
        if SHAPES[shape]["relation"] in ("inside", "overlaps"):
            assert "0.0 米" not in text, text  # a site on the feature is not "0 m away"
        assert rule.basis.format_map(PLAN).strip()


def test_no_message_confuses_the_project_category_with_an_attribute():
    """{category} is the project's category: on a layer with a `category` attribute (自然保护地)
    it would print e.g. "距工业「…湿地公园」"."""
    for layer_id, spec in catalog().items():
        if spec.attribute("category"):
            for rule in spec.rules:
                assert "{category}" not in rule.message, (layer_id, rule.id)


def test_the_repeated_word_of_the_issue_is_gone():
    """ "…准保护区保护区 642.5 米": the nearby rule for 准保护区 no longer adds 保护区."""
    spec = catalog()["water_source"]
    finding = {
        "relation": "nearby",
        "distance_m": 642.5,
        "attributes": {"source_name": "巴中市化成水库饮用水水源地", "grade": "准保护区"},
    }
    texts = [
        render(r.message, finding, None, PLAN)
        for r in spec.rules
        if "nearby" in (r.relation or []) and _meets_where(r, finding["attributes"])
    ]
    assert texts and all("准保护区 642.5 米" in t and "保护区保护区" not in t for t in texts)


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({"relation": "inside"}, "位于其范围内"),
        ({"relation": "overlaps"}, "与其边界相接"),
        (
            {"relation": "overlaps", "overlap_area_m2": 20_000.0, "overlap_share": 0.5},
            "重叠面积 2.0000 公顷（30.00 亩），占项目用地的 50.00%",
        ),
        (
            {"relation": "inside", "overlap_area_m2": 20_000.0, "overlap_share": 1.0},
            "全部位于其范围内，面积 2.0000 公顷（30.00 亩）",
        ),
        ({"relation": "overlaps", "overlap_length_m": 456.71}, "穿越长度 456.7 米"),
        ({"relation": "inside", "overlap_length_m": 456.71}, "全线位于其范围内，长度 456.7 米"),
    ],
)
def test_overlap_text_is_a_clause_after_the_feature(figures, expected):
    text = overlap_text(figures)
    assert text == expected
    sentence = f"项目用地涉及生态保护红线「某红线」，{text}。"
    assert not DOUBLED.search(sentence)


def test_the_summary_notes_sheet_is_in_chinese():
    """The XLSX 说明 sheet explains the figures in Chinese; API keys stay as they are."""
    from app.summary.export import note_lines
    from app.summary.service import NOTES

    lines = note_lines(
        {
            "by": "township",
            "notes": {**NOTES, "rows": "no township data is loaded"},
            "layer_versions": {"redline": 3, "no_such_layer": 1},
        }
    )
    assert len(lines) == len(NOTES) + 1 + 2
    for line in lines:
        assert re.search(r"[\u4e00-\u9fff]", line), line
        assert not re.search(r"\b(the|of|is|union|plain)\b", line), line
    assert "数据版本：生态保护红线（redline）第 3 版" in lines
    assert any("未载入乡镇（街道）数据" in line for line in lines)
