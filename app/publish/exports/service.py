"""Export a layer version (or the bundle of every active layer) into a caller's directory."""

from pathlib import Path

import pyproj
from sqlalchemy.orm import Session

from app.catalog import LayerSpec, catalog, get_layer_spec
from app.errors import CrsError, InvalidInput
from app.geo.crs import STORAGE_EPSG
from app.publish.exports.common import (
    FORMATS,
    ExportFile,
    Writer,
    check_format,
    epsg_label,
    output_crs,
    read_version,
    reproject,
)
from app.publish.exports.gpkg import add_export_info, add_gpkg_styles, write_gpkg, write_gpkg_layer
from app.publish.exports.kml import write_kml
from app.publish.exports.shapefile import write_shapefile_zip
from app.publish.exports.tabular import write_csv, write_geojson
from app.store.layers import active_versions, get_layer, resolve_version
from app.store.models import LayerVersion

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
    frame = reproject(read_version(session, spec, found), target)
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
        write_gpkg_layer(reproject(read_version(session, spec, found), target), spec, found, path)
        rows.append((spec, found))
    add_gpkg_styles(path, [spec for spec, _ in rows])
    add_export_info(path, rows, epsg_label(target))
    return ExportFile(path, path.name, FORMATS["gpkg"][1], "bundle", None, epsg_label(target), [])
