"""GeoPackage exports: one layer or the bundle of all, each with its default QGIS style."""

import datetime as dt
import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio

from app.catalog import LayerSpec
from app.publish.exports.common import promote_to_multi
from app.publish.qml import layer_qml
from app.store.models import LayerVersion

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


def write_gpkg_layer(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> None:
    """Add one layer's features to the GeoPackage at `path` (created when missing)."""
    pyogrio.write_dataframe(
        frame,
        path,
        layer=spec.id,
        driver="GPKG",
        promote_to_multi=promote_to_multi(spec),
        # GeoPackage 1.2 rather than GDAL's newest 1.4: older QGIS/GDAL/ArcGIS read it fully.
        dataset_options={"VERSION": "1.2"},
        layer_options={"DESCRIPTION": f"{spec.title_zh} / {spec.title_en}, v{version.version}"},
    )


def write_gpkg(
    frame: gpd.GeoDataFrame, spec: LayerSpec, version: LayerVersion, path: Path
) -> list[str]:
    """A GeoPackage of one layer with its QGIS style as the default."""
    write_gpkg_layer(frame, spec, version, path)
    add_gpkg_styles(path, [spec])
    return []
