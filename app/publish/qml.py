"""Catalog style → QGIS 3 QML (renderer, labels, Chinese field aliases). Pure: no I/O."""

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from app.catalog import LayerSpec, LayerStyle

QGIS_VERSION = "3.34.0-Prizren"
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
# QGIS tries these in order and substitutes a system font if none is installed.
LABEL_FONTS = ("Microsoft YaHei", "SimHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei")
# Catalog widths are screen points (as in the map images); QGIS knows the unit "Point".
WIDTH_UNIT = "Point"
_GEOMETRY_CODE = {"point": "0", "line": "1", "polygon": "2"}
_SYMBOL_TYPE = {"point": "marker", "line": "line", "polygon": "fill"}


def qgis_color(hex_colour: str, opacity: float = 1.0) -> str:
    """'#4caf50', 0.45 → '76,175,80,115' (QGIS writes r,g,b,a with a in 0-255)."""
    value = hex_colour.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6:
        raise ValueError(f"not a #rrggbb colour: {hex_colour!r}")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(max(0.0, min(1.0, opacity)) * 255)}"


def _props(layer: ET.Element, props: Mapping[str, str]) -> None:
    # QGIS ≥ 3.26 reads the <Option> map; older 3.x releases read the <prop> list.
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", type="QString", name=key, value=value)
    for key, value in props.items():
        ET.SubElement(layer, "prop", k=key, v=value)


def _symbol_layer(symbol: ET.Element, cls: str, props: Mapping[str, str]) -> None:
    layer = ET.SubElement(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0"})
    layer.set("pass", "0")
    _props(layer, props)


def _line_props(colour: str, width: float, dash: list[float] | None) -> dict[str, str]:
    props = {
        "line_color": qgis_color(colour),
        "line_width": f"{width:g}",
        "line_width_unit": WIDTH_UNIT,
        "line_style": "solid",
        "joinstyle": "round",
        "capstyle": "round",
        "use_custom_dash": "0",
    }
    if dash:
        # MapLibre and matplotlib dash lengths are multiples of the line width.
        props["use_custom_dash"] = "1"
        props["customdash"] = ";".join(f"{d * width:g}" for d in dash)
        props["customdash_unit"] = WIDTH_UNIT
    return props


def _symbol(parent: ET.Element, name: str, kind: str, style: LayerStyle, colour: str):
    """One symbol: fill + outline for polygons, a line for lines, a circle for points."""
    symbol = ET.SubElement(
        parent,
        "symbol",
        type=_SYMBOL_TYPE[kind],
        name=name,
        alpha="1",
        clip_to_extent="1",
        force_rhr="0",
    )
    stroke = style.outline
    width = float(style.stroke_width)
    dash = style.stroke_dash
    opacity = style.opacity(kind)
    if kind == "polygon":
        fill = {
            "color": qgis_color(colour, opacity),
            "style": "solid" if opacity > 0 else "no",
            "outline_style": "no",
            "outline_color": qgis_color(stroke),
            "outline_width": "0",
            "outline_width_unit": WIDTH_UNIT,
        }
        _symbol_layer(symbol, "SimpleFill", fill)
        # A SimpleLine outline (rather than SimpleFill's pen) can draw the custom dash.
        _symbol_layer(symbol, "SimpleLine", _line_props(stroke, width, dash))
    elif kind == "line":
        _symbol_layer(symbol, "SimpleLine", _line_props(colour, width, dash))
    else:
        marker = {
            "name": "circle",
            "color": qgis_color(colour, opacity),
            "outline_color": qgis_color(stroke),
            "outline_width": f"{width:g}",
            "outline_width_unit": WIDTH_UNIT,
            "size": "2.4",
            "size_unit": "MM",
        }
        _symbol_layer(symbol, "SimpleMarker", marker)
    return symbol


def _renderer(root: ET.Element, spec: LayerSpec, field: Mapping[str, str]) -> None:
    style = spec.style
    kind = spec.geometry_type
    base = style.base_colour(kind)
    values = style.categories
    renderer = ET.SubElement(
        root, "renderer-v2", enableorderby="0", forceraster="0", symbollevels="0"
    )
    attribute = style.fill_attribute
    if attribute and values:
        renderer.set("type", "categorizedSymbol")
        renderer.set("attr", field.get(attribute, attribute))
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for index, (value, colour) in enumerate(values.items()):
            ET.SubElement(
                categories,
                "category",
                value=str(value),
                label=str(value),
                symbol=str(index),
                render="true",
                type="string",
            )
            _symbol(symbols, str(index), kind, style, colour)
        source = ET.SubElement(renderer, "source-symbol")
        _symbol(source, "0", kind, style, base)
    else:
        renderer.set("type", "singleSymbol")
        _symbol(ET.SubElement(renderer, "symbols"), "0", kind, style, base)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")


def _labeling(root: ET.Element, spec: LayerSpec, field: Mapping[str, str]) -> None:
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    text_style = ET.SubElement(
        settings,
        "text-style",
        fieldName=field.get(spec.label or "", spec.label or ""),
        isExpression="0",
        fontFamily=LABEL_FONTS[0],
        namedStyle="Regular",
        fontSize="9",
        fontSizeUnit="Point",
        fontWeight="50",
        fontItalic="0",
        textColor="40,40,40,255",
        textOpacity="1",
        multilineHeight="1",
        capitalization="0",
        allowHtml="0",
    )
    families = ET.SubElement(text_style, "families")
    for family in LABEL_FONTS:
        ET.SubElement(families, "family", name=family)
    ET.SubElement(
        text_style,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="0.85",
        bufferNoFill="1",
        bufferJoinStyle="128",
    )
    ET.SubElement(settings, "text-format", wrapChar="", multilineAlign="3", formatNumbers="0")
    # 1 = over the centroid (areas), 3 = curved along the line, 0 = around the point.
    placement = {"polygon": "1", "line": "3", "point": "0"}[spec.geometry_type]
    ET.SubElement(settings, "placement", placement=placement, centroidInside="1", dist="0")
    ET.SubElement(
        settings,
        "rendering",
        drawLabels="1",
        obstacle="1",
        displayAll="0",
        upsidedownLabels="0",
        scaleVisibility="0",
        fontLimitPixelSize="0",
        mergeLines="1" if spec.geometry_type == "line" else "0",
    )


def _aliases(root: ET.Element, spec: LayerSpec, field: Mapping[str, str]) -> None:
    names = [(a.name, a.label_zh) for a in spec.attributes]
    if spec.measure:
        names.append((spec.measure.column, spec.measure.label_zh))
    aliases = ET.SubElement(root, "aliases")
    # index counts the GeoPackage fid column first; QGIS matches on `field` anyway.
    for index, (name, label) in enumerate(names, start=1):
        if label:
            ET.SubElement(
                aliases, "alias", field=field.get(name, name), index=str(index), name=label
            )


def layer_qml(spec: LayerSpec, field_names: Mapping[str, str] | None = None) -> str:
    """The QML document for a layer; field_names maps catalog names to file column names
    (the 10-character Shapefile names), defaulting to the catalog names themselves."""
    field = dict(field_names or {})
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="Symbology|Labeling|Fields",
        labelsEnabled="1" if spec.label else "0",
        hasScaleBasedVisibilityFlag="0",
    )
    _renderer(root, spec, field)
    if spec.label:
        _labeling(root, spec, field)
    _aliases(root, spec, field)
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_CODE[spec.geometry_type]
    ET.indent(root)
    return DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"
