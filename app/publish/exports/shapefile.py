"""Zipped Shapefile exports: 10-character DBF names, UTF-8, a QML sidecar and fields.csv."""

import csv
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from app.catalog import LayerSpec
from app.publish.exports.common import column_labels, export_columns, promote_to_multi
from app.publish.qml import layer_qml
from app.store.models import LayerVersion

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
    "province_code": "province_c",
    "county_code": "county_cod",
    "township_code": "township_c",
}


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


def _fields_csv(spec: LayerSpec, names: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["field", "shapefile_field", "label_zh"])
    labels = column_labels(spec)
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
        promote_to_multi=promote_to_multi(spec),
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
