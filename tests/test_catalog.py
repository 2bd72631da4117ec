"""The typed catalog: styles, rules and summary options are checked at load and read alike."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from app.catalog import LayerSpec, LayerStyle, Rule, catalog, draw_order, load_catalog
from app.catalog.style import DEFAULT_STROKE, DEFAULT_STROKE_WIDTH, FALLBACK_COLOUR
from app.publish import mapstyle
from app.publish.exports.kml import _kml_styles
from app.publish.qml import layer_qml, qgis_color

ROOT = Path(__file__).resolve().parent.parent
LAYER_FILES = sorted((ROOT / "layers").glob("*.yaml"))
RULE = {"id": "r", "relation": ["inside"], "verdict": "restricted", "message": "m", "basis": "b"}


def _write_layer(directory: Path, **changes) -> Path:
    raw = yaml.safe_load((ROOT / "tests/catalog_extra/test_parcel.yaml").read_text("utf-8"))
    raw.update(changes)
    path = directory / "test_parcel.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _bare(kind: str, **style) -> LayerSpec:
    """A layer kind whose style sets only what is given: the defaults do the rest."""
    return LayerSpec(
        id="bare",
        title_zh="裸",
        title_en="Bare",
        geometry_type=kind,
        attributes=[{"name": "grade"}],
        style=style,
    )


@pytest.mark.parametrize("path", LAYER_FILES, ids=lambda p: p.stem)
def test_style_and_rules_dump_back_to_the_yaml(path):
    """/layers/{id} shows style and rules exactly as written, with no defaults added."""
    raw = yaml.safe_load(path.read_text("utf-8"))
    spec = load_catalog(path.parent)[raw["id"]]
    assert spec.style.dump() == raw.get("style", {})
    assert [rule.dump() for rule in spec.rules] == raw.get("rules", [])


def test_the_test_only_kinds_load_with_the_forbidding_models():
    specs = load_catalog(ROOT / "tests/catalog_extra")
    assert set(specs) == {"test_parcel", "test_well"}
    assert specs["test_well"].style.fill == "#0000ff"


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({**RULE, "verdict": "forbidden"}, "verdict"),
        ({k: v for k, v in RULE.items() if k != "message"}, "message"),
        ({**RULE, "message": ""}, "message"),
        ({**RULE, "relation": ["inside", "near"]}, "relation"),
        ({**RULE, "categoris": ["化工"]}, "categoris"),
        ({**RULE, "within_m": -5}, "within_m"),
    ],
)
def test_a_bad_rule_is_refused_with_the_file_name(tmp_path, rule, says):
    _write_layer(tmp_path, rules=[rule])
    with pytest.raises(ValueError, match="test_parcel.yaml") as info:
        load_catalog(tmp_path)
    assert "rules.0" in str(info.value) and says in str(info.value)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"style": {"fill": "grey"}}, "style.fill"),
        ({"style": {"fill_opacity": 1.5}}, "fill_opacity"),
        ({"style": {"stroke_colour": "#000000"}}, "stroke_colour"),
        ({"style": {"fill_by": {"attribute": "grade", "values": {"一级": "red"}}}}, "fill_by"),
        ({"summary": {"listed_area": "households"}}, "listed_area"),
        ({"summery": {}}, "summery"),
        ({"label": "title"}, "label names ['title']"),
        ({"style": {"fill_by": {"attribute": "level", "values": {}}}}, "style.fill_by"),
        ({"summary": {"listed_area_attribute": "area_km2"}}, "summary.listed_area_attribute"),
        ({"rules": [{**RULE, "where": {"grades": "一级"}}]}, "rules.0.where"),
    ],
)
def test_a_bad_style_summary_or_key_is_refused_with_the_file_name(tmp_path, change, says):
    _write_layer(tmp_path, **change)
    with pytest.raises(ValueError, match="test_parcel.yaml") as info:
        load_catalog(tmp_path)
    assert says in str(info.value)


def test_rules_read_as_typed_objects_and_a_bare_relation_is_a_list():
    rules = catalog()["redline"].rules
    assert all(isinstance(rule, Rule) for rule in rules)
    assert rules[0].relation == ["inside", "overlaps"] and rules[0].categories == ["开发建设类"]
    nearby = Rule.model_validate({**RULE, "relation": "nearby"})
    assert nearby.relation == ["nearby"] and nearby.where is None


def test_summary_spec_and_measure():
    specs = catalog()
    assert specs["protected_area"].summary.listed_area_attribute == "official_area_km2"
    assert specs["redline"].summary.listed_area_attribute is None
    assert (specs["redline"].measure.column, specs["redline"].measure.label_zh) == (
        "area_m2",
        "面积（平方米）",
    )
    assert specs["river"].measure.column == "length_m"
    assert specs["test_well"].measure is None


def test_colour_for_uses_the_fill_by_value_then_the_base_colour():
    style = catalog()["water_source"].style
    assert style.colour_for({"grade": "二级"}, "polygon") == "#42a5f5"
    assert style.colour_for({"grade": "三级"}, "polygon") == FALLBACK_COLOUR
    assert style.swatch("polygon") == "#0d47a1"
    river = catalog()["river"].style
    assert river.colour_for({}, "line") == "#1e88e5" == river.swatch("line")
    assert LayerStyle(fill="#123456").colour_for({"grade": "x"}, "polygon") == "#123456"


def test_defaults_are_one_set():
    style = LayerStyle()
    assert style.z == 85 and style.stroke_width == DEFAULT_STROKE_WIDTH == 1.0
    assert style.outline == DEFAULT_STROKE and style.base_colour("polygon") == FALLBACK_COLOUR
    assert style.opacity("polygon") == 0.4 and style.opacity("point") == 1.0
    assert style.dump() == {}


def test_draw_order_follows_z_with_the_default_for_kinds_without_it():
    order = draw_order(["admin_county", "test_parcel", "township", "river", "nowhere"])
    assert order == ["township", "river", "test_parcel", "admin_county"]


def test_qml_maplibre_and_kml_draw_an_unstyled_layer_alike():
    """Stroke width, outline and fallback colour come from LayerStyle in every renderer."""
    spec = _bare("polygon")
    qml = ET.fromstring(layer_qml(spec).split("\n", 1)[1])
    line = {o.get("name"): o.get("value") for o in qml.find(".//layer[@class='SimpleLine']/Option")}
    fill = {o.get("name"): o.get("value") for o in qml.find(".//layer[@class='SimpleFill']/Option")}
    assert line["line_width"] == "1" and line["line_color"] == "85,85,85,255"
    assert fill["color"] == "158,158,158,102"  # #9e9e9e at 0.4

    fill_layer, line_layer = mapstyle.style_layers(spec)
    assert fill_layer["paint"] == {"fill-color": FALLBACK_COLOUR, "fill-opacity": 0.4}
    assert line_layer["paint"] == {"line-color": DEFAULT_STROKE, "line-width": 1.0}

    document = ET.Element("Document")
    _kml_styles(document, spec)
    assert document.findtext("Style/LineStyle/width") == "1"
    assert document.findtext("Style/LineStyle/color") == "ff555555"
    assert document.findtext("Style/PolyStyle/color") == "669e9e9e"


def test_short_colours_are_expanded_for_kml_and_qgis():
    spec = _bare("polygon", fill="#f00", fill_opacity=1)
    document = ET.Element("Document")
    _kml_styles(document, spec)
    assert document.findtext("Style/PolyStyle/color") == "ff0000ff"
    assert qgis_color("#f00") == "255,0,0,255"


def test_fill_by_colours_reach_every_renderer():
    spec = _bare("point", fill_by={"attribute": "grade", "values": {"一级": "#ff0000"}})
    assert mapstyle.colour_expression(spec) == [
        "match",
        ["get", "grade"],
        "一级",
        "#ff0000",
        FALLBACK_COLOUR,
    ]
    qml = ET.fromstring(layer_qml(spec).split("\n", 1)[1])
    assert qml.find("renderer-v2").get("attr") == "grade"
    document = ET.Element("Document")
    assert _kml_styles(document, spec) == {"default": "s0", "一级": "s1"}
    assert document.findtext("Style[@id='s1']/PolyStyle/color").endswith("0000ff")
