"""KML 2.2 exports: catalog colours as shared styles, attributes as typed ExtendedData."""

import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from app.catalog import LayerSpec
from app.publish.exports.common import column_labels, export_columns
from app.store.models import LayerVersion

_KML_NS = "http://www.opengis.net/kml/2.2"
_KML_TYPES = {"integer": "int", "number": "double", "boolean": "bool"}


def _kml_colour(hex_colour: str, opacity: float = 1.0) -> str:
    """KML colours are aabbggrr."""
    value = hex_colour.strip().lstrip("#")
    if len(value) == 3:  # the catalog also accepts #rgb
        value = "".join(c * 2 for c in value)
    alpha = round(max(0.0, min(1.0, opacity)) * 255)
    return f"{alpha:02x}{value[4:6]}{value[2:4]}{value[0:2]}"


def _kml_coordinates(parent: ET.Element, coords: np.ndarray) -> None:
    ET.SubElement(parent, "coordinates").text = " ".join(f"{x:.8f},{y:.8f}" for x, y in coords)


def _kml_geometry(parent: ET.Element, geom: shapely.Geometry) -> None:
    kind = geom.geom_type
    if kind == "Point":
        _kml_coordinates(ET.SubElement(parent, "Point"), shapely.get_coordinates(geom))
    elif kind == "LineString":
        line = ET.SubElement(parent, "LineString")
        ET.SubElement(line, "tessellate").text = "1"
        _kml_coordinates(line, shapely.get_coordinates(geom))
    elif kind == "Polygon":
        polygon = ET.SubElement(parent, "Polygon")
        rings = [("outerBoundaryIs", geom.exterior)] + [
            ("innerBoundaryIs", ring) for ring in geom.interiors
        ]
        for tag, ring in rings:
            linear = ET.SubElement(ET.SubElement(polygon, tag), "LinearRing")
            _kml_coordinates(linear, shapely.get_coordinates(ring))
    else:
        multi = ET.SubElement(parent, "MultiGeometry")
        for part in geom.geoms:
            _kml_geometry(multi, part)


def _kml_styles(document: ET.Element, spec: LayerSpec) -> dict[str, str]:
    """One shared <Style> per catalog colour; returns attribute value → style id."""
    style = spec.style
    # PolyStyle only ever paints areas, so it takes the areas' opacity whatever the layer kind.
    opacity = style.opacity("polygon")
    colours = {"default": style.base_colour(spec.geometry_type)}
    colours.update({str(v): c for v, c in style.categories.items()})
    ids: dict[str, str] = {}
    for index, (value, colour) in enumerate(colours.items()):
        style_id = f"s{index}"
        ids[value] = style_id
        element = ET.SubElement(document, "Style", id=style_id)
        line = ET.SubElement(element, "LineStyle")
        line_colour = colour if spec.geometry_type == "line" else style.outline
        ET.SubElement(line, "color").text = _kml_colour(line_colour)
        ET.SubElement(line, "width").text = f"{float(style.stroke_width):g}"
        poly = ET.SubElement(element, "PolyStyle")
        ET.SubElement(poly, "color").text = _kml_colour(colour, opacity)
        ET.SubElement(poly, "fill").text = "1" if opacity > 0 else "0"
    return ids


def _kml_value(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def write_kml(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> list[str]:
    """KML 2.2: <name> from the catalog label, every attribute in typed ExtendedData."""
    kml = ET.Element("kml", xmlns=_KML_NS)
    document = ET.SubElement(kml, "Document", id=spec.id)
    ET.SubElement(document, "name").text = f"{spec.title_zh} v{version.version}"
    schema = ET.SubElement(document, "Schema", name=spec.id, id=f"{spec.id}_schema")
    labels = column_labels(spec)
    types = {a.name: _KML_TYPES.get(a.type, "string") for a in spec.attributes}
    columns = export_columns(spec)
    for column in columns:
        simple = ET.SubElement(schema, "SimpleField", name=column, type=types.get(column, "double"))
        if labels.get(column):
            ET.SubElement(simple, "displayName").text = labels[column]
    styles = _kml_styles(document, spec)
    fill_attr = spec.style.fill_attribute
    name_attr = spec.label or (spec.key[0] if spec.key else None)
    folder = ET.SubElement(document, "Folder")
    ET.SubElement(folder, "name").text = spec.id
    records = frame[columns].astype(object).to_dict(orient="records")
    for record, geom in zip(records, frame.geometry, strict=True):
        placemark = ET.SubElement(folder, "Placemark")
        ET.SubElement(placemark, "name").text = _kml_value(record.get(name_attr)) or ""
        value = _kml_value(record.get(fill_attr)) if fill_attr else None
        ET.SubElement(placemark, "styleUrl").text = "#" + styles.get(value or "", styles["default"])
        data = ET.SubElement(
            ET.SubElement(placemark, "ExtendedData"), "SchemaData", schemaUrl=f"#{spec.id}_schema"
        )
        for column in columns:
            cell = _kml_value(record[column])
            if cell is not None:
                ET.SubElement(data, "SimpleData", name=column).text = cell
        _kml_geometry(placemark, geom)
    ET.ElementTree(kml).write(path, encoding="utf-8", xml_declaration=True)
    return []
