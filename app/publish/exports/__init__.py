"""Layer versions as files: GeoPackage (+ QGIS style), zipped Shapefile, GeoJSON, KML, CSV.

Each writer takes a GeoDataFrame read from one stored version (EPSG:4490) and writes one
file into a directory the caller owns; the API and the CLI only choose where it goes.
"""

from app.publish.exports.common import (
    FORMATS,
    ExportFile,
    Writer,
    check_format,
    epsg_label,
    export_columns,
    output_crs,
    read_version,
)
from app.publish.exports.gpkg import add_export_info, add_gpkg_styles, write_gpkg
from app.publish.exports.kml import write_kml
from app.publish.exports.service import WRITERS, export_bundle, export_filename, export_layer
from app.publish.exports.shapefile import (
    SHAPEFILE_NAMES,
    shapefile_field_names,
    write_shapefile_zip,
)
from app.publish.exports.tabular import write_csv, write_geojson

__all__ = [
    "FORMATS",
    "SHAPEFILE_NAMES",
    "WRITERS",
    "ExportFile",
    "Writer",
    "add_export_info",
    "add_gpkg_styles",
    "check_format",
    "epsg_label",
    "export_bundle",
    "export_columns",
    "export_filename",
    "export_layer",
    "output_crs",
    "read_version",
    "shapefile_field_names",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_kml",
    "write_shapefile_zip",
]
