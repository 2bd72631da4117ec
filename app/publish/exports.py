"""Layer versions as files: GeoPackage (+ QGIS style), zipped Shapefile, GeoJSON, KML, CSV.

Each writer takes a GeoDataFrame read from one stored version (EPSG:4490) and writes one
file into a directory the caller owns; the API and the CLI only choose where it goes.
"""

import csv
import datetime as dt
import io
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec, catalog, get_layer_spec
from app.errors import CrsError, InvalidInput
from app.geo.crs import STORAGE_EPSG, parse_crs
from app.publish.qml import MEASURE_ALIASES, layer_qml
from app.store.layers import active_versions, get_layer, resolve_version
from app.store.models import LayerVersion

FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
    "zip": ("ESRI Shapefile (zipped)", "application/zip"),
    "geojson": ("GeoJSON (RFC 7946)", "application/geo+json"),
    "kml": ("KML", "application/vnd.google-earth.kml+xml"),
    "csv": ("CSV with a WKT column", "text/csv; charset=utf-8"),
}
DBF_NAME_LIMIT = 10
# DBF text fields hold at most 254 bytes; GDAL cuts longer UTF-8 values.
DBF_TEXT_LIMIT = 254
# Catalog attribute names longer than 10 characters and their Shapefile names. Each is the
# name's first 10 characters, which GDAL would also produce and which the importer maps
# back (app.io.attributes.column_mapping). Pinned here so a file's columns never change
# silently; docs/exports.md lists the same table.
SHAPEFILE_NAMES: dict[str, str] = {
    "county_positioning": "county_pos",
    "overlay_energy": "overlay_en",
    "overlay_heritage": "overlay_he",
    "spatial_constraints": "spatial_co",
    "emission_controls": "emission_c",
    "risk_controls": "risk_contr",
    "resource_efficiency": "resource_e",
    "official_area_km2": "official_a",
    "yangtze_class": "yangtze_cl",
    "source_name": "source_nam",
}
_CLASSIC_GEOJSON = "GeoJSON with a `crs` member (not RFC 7946: coordinates are not lon/lat)"


@dataclass
class ExportFile:
    """A written export: where it is, what to call it when downloaded, and any notes."""

    path: Path
    filename: str
    media_type: str
    layer: str
    version: int | None
    crs: str
    notes: list[str] = field(default_factory=list)


def output_crs(value: str | None) -> pyproj.CRS:
    """The requested output CRS (default EPSG:4490); only 2D EPSG systems can be written."""
    if value is None or not value.strip():
        return pyproj.CRS.from_epsg(STORAGE_EPSG)
    source = parse_crs(value)
    if source.kind != "epsg" or source.epsg is None:
        raise CrsError(
            f"Exports are written in EPSG coordinate systems, not {source.label}. "
            "GCJ-02 and BD-09 are display obfuscations; ask for EPSG:4490 or EPSG:4326."
        )
    crs = pyproj.CRS.from_epsg(source.epsg)
    if not (crs.is_geographic or crs.is_projected) or len(crs.axis_info) != 2:
        raise CrsError(
            f"EPSG:{source.epsg} ({crs.name}) is not a 2D geographic or projected system. "
            "Use e.g. EPSG:4490 or a CGCS2000 Gauss-Krüger zone (EPSG:4513-4554)."
        )
    return crs


def epsg_label(crs: pyproj.CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def check_format(fmt: str) -> str:
    key = fmt.lower()
    if key not in FORMATS:
        known = ", ".join(f"{k} ({name})" for k, (name, _) in FORMATS.items())
        raise InvalidInput(f"Unknown export format {fmt!r}. Use one of: {known}.")
    return key


def export_columns(spec: LayerSpec) -> list[str]:
    """Catalog attributes in catalog order, then the stored geodesic measure."""
    measure = {"polygon": ["area_m2"], "line": ["length_m"]}.get(spec.geometry_type, [])
    return [a.name for a in spec.attributes] + measure


def shapefile_field_names(spec: LayerSpec) -> dict[str, str]:
    """Catalog column → DBF name (≤ 10 characters, unique within the layer, deterministic).

    The table above first, else the first 10 characters; a clash (only possible for names
    not yet in the table) gets the GDAL-style suffix `_1`, `_2`… on the first 8 characters.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for name in export_columns(spec):
        short = SHAPEFILE_NAMES.get(name, name[:DBF_NAME_LIMIT])
        counter = 1
        while short.lower() in taken:
            short = f"{name[: DBF_NAME_LIMIT - 2]}_{counter}"
            counter += 1
        mapping[name] = short
        taken.add(short.lower())
    return mapping


def _labels(spec: LayerSpec) -> dict[str, str]:
    labels = {a.name: a.label_zh or "" for a in spec.attributes}
    return {**labels, **MEASURE_ALIASES}


_FEATURES = text(
    "SELECT attributes, area_m2, length_m, ST_AsBinary(geom) AS wkb "
    "FROM feature WHERE version_id = :v ORDER BY ordinal"
)


def read_version(session: Session, spec: LayerSpec, version: LayerVersion) -> gpd.GeoDataFrame:
    """One stored version as a GeoDataFrame in EPSG:4490, columns in catalog order."""
    rows = session.execute(_FEATURES, {"v": version.id}).all()
    attrs = [r.attributes for r in rows]
    columns: dict[str, object] = {}
    for attr in spec.attributes:
        values = [a.get(attr.name) for a in attrs]
        # Nullable dtypes keep integers and yes/no values typed in every format.
        if attr.type == "integer":
            columns[attr.name] = pd.array(values, dtype="Int64")
        elif attr.type == "number":
            columns[attr.name] = pd.array(values, dtype="Float64").astype("float64")
        elif attr.type == "boolean":
            columns[attr.name] = pd.array(values, dtype="boolean")
        else:
            columns[attr.name] = pd.array(
                [None if v is None else str(v) for v in values], dtype=object
            )
    if spec.geometry_type == "polygon":
        columns["area_m2"] = np.array([r.area_m2 for r in rows], dtype="float64")
    elif spec.geometry_type == "line":
        columns["length_m"] = np.array([r.length_m for r in rows], dtype="float64")
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=f"EPSG:{STORAGE_EPSG}")


def _reproject(frame: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    return frame if crs.equals(frame.crs) else frame.to_crs(crs)


def _promote(spec: LayerSpec) -> bool:
    # One geometry type per layer: QGIS and ArcGIS expect MultiPolygon, not a mix.
    return spec.geometry_type in ("polygon", "line")


# --- GeoPackage ---------------------------------------------------------------------------

# The table QGIS itself creates (QgsOgrUtils::saveStyle, FID "id") as GDAL lays it out in a
# GeoPackage, so QGIS finds it, and can update it, exactly as if it had written it.
_LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256),
  "f_table_schema" TEXT(256),
  "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256),
  "styleName" TEXT(30),
  "styleQML" TEXT,
  "styleSLD" TEXT,
  "useAsDefault" BOOLEAN,
  "description" TEXT,
  "owner" TEXT(30),
  "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""
_EXPORT_INFO_DDL = """
CREATE TABLE IF NOT EXISTS "redline_export_info" (
  "fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "layer" TEXT,
  "title_zh" TEXT,
  "version" INTEGER,
  "feature_count" INTEGER,
  "crs" TEXT,
  "exported_at" DATETIME,
  "source" TEXT
)
"""


def _register_attributes_table(db: sqlite3.Connection, table: str, description: str) -> None:
    # A GeoPackage reader lists only tables registered in gpkg_contents.
    db.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES (?, 'attributes', ?, ?)",
        (table, table, description),
    )


def _geometry_column(db: sqlite3.Connection, table: str) -> str:
    row = db.execute(
        "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)
    ).fetchone()
    return row[0] if row else "geom"


def add_gpkg_styles(path: Path, specs: list[LayerSpec]) -> None:
    """Store each layer's QML as its default QGIS style (layer_styles, useAsDefault=1)."""
    with sqlite3.connect(path) as db:
        db.execute(_LAYER_STYLES_DDL)
        _register_attributes_table(db, "layer_styles", "QGIS layer styles")
        for spec in specs:
            db.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL)",
                (
                    spec.id,
                    _geometry_column(db, spec.id),
                    spec.id,
                    layer_qml(spec),
                    f"{spec.title_zh} — Redline catalog style",
                ),
            )
    # sqlite3's context manager commits but leaves the file open until collected.
    db.close()


def add_export_info(path: Path, rows: list[tuple[LayerSpec, LayerVersion]], crs: str) -> None:
    """Which version of each layer the file holds, for whoever opens it later."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    with sqlite3.connect(path) as db:
        db.execute(_EXPORT_INFO_DDL)
        _register_attributes_table(db, "redline_export_info", "Redline export: layer versions")
        db.executemany(
            "INSERT INTO redline_export_info (layer, title_zh, version, feature_count, crs, "
            "exported_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    spec.id,
                    spec.title_zh,
                    v.version,
                    v.feature_count,
                    crs,
                    now,
                    v.note or v.source_name or "",
                )
                for spec, v in rows
            ],
        )
    db.close()


def _write_gpkg_layer(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> None:
    pyogrio.write_dataframe(
        frame,
        path,
        layer=spec.id,
        driver="GPKG",
        promote_to_multi=_promote(spec),
        # GeoPackage 1.2 rather than GDAL's newest 1.4: older QGIS/GDAL/ArcGIS read it fully.
        dataset_options={"VERSION": "1.2"},
        layer_options={"DESCRIPTION": f"{spec.title_zh} / {spec.title_en}, v{version.version}"},
    )


def write_gpkg(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> list[str]:
    _write_gpkg_layer(frame, spec, version, path)
    add_gpkg_styles(path, [spec])
    return []


# --- Shapefile ----------------------------------------------------------------------------


def _fields_csv(spec: LayerSpec, names: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["field", "shapefile_field", "label_zh"])
    labels = _labels(spec)
    writer.writerows([name, short, labels.get(name, "")] for name, short in names.items())
    return buffer.getvalue().encode("utf-8-sig")


def _fit_dbf_text(frame: gpd.GeoDataFrame, spec: LayerSpec) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Cut text to 254 bytes on a character boundary (GDAL may split a UTF-8 character)."""
    notes = []
    fitted = frame.copy()
    for attr in spec.attributes:
        if attr.type != "string":
            continue
        encoded = [None if pd.isna(v) else str(v).encode() for v in frame[attr.name]]
        if any(b is not None and len(b) > DBF_TEXT_LIMIT for b in encoded):
            fitted[attr.name] = [
                None if b is None else b[:DBF_TEXT_LIMIT].decode("utf-8", "ignore") for b in encoded
            ]
            notes.append(
                f"{attr.name}: values longer than {DBF_TEXT_LIMIT} bytes are cut in a "
                "Shapefile; use the GeoPackage export for the full text"
            )
    return fitted, notes


def write_shapefile_zip(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> list[str]:
    """.shp/.shx/.dbf/.prj + .cpg (UTF-8) + a QGIS .qml sidecar + fields.csv, zipped."""
    names = shapefile_field_names(spec)
    stem = path.stem
    folder = path.parent / f"{stem}_shp"
    folder.mkdir()
    fitted, notes = _fit_dbf_text(frame, spec)
    pyogrio.write_dataframe(
        fitted.rename(columns=names),
        folder / f"{stem}.shp",
        driver="ESRI Shapefile",
        encoding="UTF-8",
        promote_to_multi=_promote(spec),
    )
    # GDAL writes the .cpg too; writing it ourselves pins the exact text readers look for.
    (folder / f"{stem}.cpg").write_text("UTF-8", encoding="ascii")
    # QGIS loads a .qml next to a .shp of the same name as the layer's default style.
    (folder / f"{stem}.qml").write_text(layer_qml(spec, names), encoding="utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
        zf.writestr("fields.csv", _fields_csv(spec, names))
    return notes


# --- GeoJSON ------------------------------------------------------------------------------


def _is_lon_lat(crs: pyproj.CRS) -> bool:
    return crs.to_epsg() in (STORAGE_EPSG, 4326)


def write_geojson(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> list[str]:
    """RFC 7946 (lon/lat, no `crs`) for EPSG:4490/4326; other systems get a `crs` member."""
    if _is_lon_lat(frame.crs):
        # CGCS2000 and WGS 84 agree to a few centimetres: relabel instead of shifting.
        lon_lat = frame.set_crs("OGC:CRS84", allow_override=True)
        pyogrio.write_dataframe(
            lon_lat,
            path,
            driver="GeoJSON",
            layer=spec.id,
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "8"},
        )
        return []
    pyogrio.write_dataframe(frame, path, driver="GeoJSON", layer=spec.id)
    return [f"{_CLASSIC_GEOJSON}; {epsg_label(frame.crs)}"]


# --- KML ----------------------------------------------------------------------------------

_KML_NS = "http://www.opengis.net/kml/2.2"
_KML_TYPES = {"integer": "int", "number": "double", "boolean": "bool"}


def _kml_colour(hex_colour: str, opacity: float = 1.0) -> str:
    """KML colours are aabbggrr."""
    value = hex_colour.strip().lstrip("#")
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
    stroke = style.get("stroke", "#555555")
    opacity = float(style.get("fill_opacity", 0.4))
    fill_by = style.get("fill_by") or {}
    base = style.get("stroke" if spec.geometry_type == "line" else "fill", "#9e9e9e")
    colours = {"default": base}
    colours.update({str(v): c for v, c in (fill_by.get("values") or {}).items()})
    ids: dict[str, str] = {}
    for index, (value, colour) in enumerate(colours.items()):
        style_id = f"s{index}"
        ids[value] = style_id
        element = ET.SubElement(document, "Style", id=style_id)
        line = ET.SubElement(element, "LineStyle")
        line_colour = colour if spec.geometry_type == "line" else stroke
        ET.SubElement(line, "color").text = _kml_colour(line_colour)
        ET.SubElement(line, "width").text = f"{float(style.get('stroke_width', 1.0)):g}"
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
    labels = _labels(spec)
    types = {a.name: _KML_TYPES.get(a.type, "string") for a in spec.attributes}
    columns = export_columns(spec)
    for column in columns:
        simple = ET.SubElement(schema, "SimpleField", name=column, type=types.get(column, "double"))
        if labels.get(column):
            ET.SubElement(simple, "displayName").text = labels[column]
    styles = _kml_styles(document, spec)
    fill_attr = (spec.style.get("fill_by") or {}).get("attribute")
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


# --- CSV ----------------------------------------------------------------------------------


def write_csv(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> list[str]:
    """Attributes then a `wkt` column; UTF-8 with a BOM so Excel/WPS read the Chinese."""
    # ~1 mm in either unit system: 8 decimals of a degree or 3 of a metre.
    precision = 8 if frame.crs.is_geographic else 3
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table["wkt"] = shapely.to_wkt(frame.geometry.values, rounding_precision=precision, trim=True)
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return [f"coordinates in {epsg_label(frame.crs)} (CSV carries no CRS)"]


Writer = Callable[[gpd.GeoDataFrame, LayerSpec, LayerVersion, Path], list[str]]
WRITERS: dict[str, Writer] = {
    "gpkg": write_gpkg,
    "zip": write_shapefile_zip,
    "geojson": write_geojson,
    "kml": write_kml,
    "csv": write_csv,
}


def export_filename(layer_id: str, version: int, fmt: str, crs: pyproj.CRS) -> str:
    """`township_v3.gpkg`; another CRS than EPSG:4490 is named: `township_v3_epsg4545.zip`."""
    code = crs.to_epsg()
    suffix = "" if code == STORAGE_EPSG or fmt == "kml" else f"_epsg{code}"
    return f"{layer_id}_v{version}{suffix}.{fmt}"


def export_layer(
    session: Session,
    layer_id: str,
    fmt: str,
    directory: Path,
    version: int | None = None,
    crs: str | None = None,
) -> ExportFile:
    """Write one version (default: active) of a layer in `fmt` into `directory`."""
    fmt = check_format(fmt)
    spec = get_layer_spec(layer_id)
    if fmt == "kml" and crs and output_crs(crs).to_epsg() not in (STORAGE_EPSG, 4326):
        raise CrsError(
            f"KML is always WGS 84 longitude/latitude (OGC KML 2.2), so crs={crs} cannot "
            "be honoured. Leave crs out, or choose gpkg/zip/geojson/csv for a projected CRS."
        )
    target = output_crs(crs)
    _, layer = get_layer(session, layer_id)
    found = resolve_version(session, layer, version)
    frame = _reproject(read_version(session, spec, found), target)
    path = directory / export_filename(spec.id, found.version, fmt, target)
    notes = WRITERS[fmt](frame, spec, found, path)
    label = "EPSG:4326 (KML)" if fmt == "kml" else epsg_label(target)
    return ExportFile(path, path.name, FORMATS[fmt][1], spec.id, found.version, label, notes)


def export_bundle(session: Session, directory: Path, crs: str | None = None) -> ExportFile:
    """One GeoPackage with the active version of every layer, each with its QGIS style."""
    target = output_crs(crs)
    known = catalog()
    current = active_versions(session)
    if not current:
        raise InvalidInput("No layer has an active version yet; import data first.")
    code = target.to_epsg()
    suffix = "" if code == STORAGE_EPSG else f"_epsg{code}"
    path = directory / f"redline_bundle{suffix}.gpkg"
    rows: list[tuple[LayerSpec, LayerVersion]] = []
    for layer_id in sorted(current):
        spec, found = known[layer_id], current[layer_id]
        _write_gpkg_layer(_reproject(read_version(session, spec, found), target), spec, found, path)
        rows.append((spec, found))
    add_gpkg_styles(path, [spec for spec, _ in rows])
    add_export_info(path, rows, epsg_label(target))
    return ExportFile(path, path.name, FORMATS["gpkg"][1], "bundle", None, epsg_label(target), [])
