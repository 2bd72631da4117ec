"""What every export format shares: formats, output CRS, columns, reading a stored version."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.errors import CrsError, InvalidInput
from app.geo.crs import STORAGE_EPSG, parse_crs
from app.store.models import LayerVersion

FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
    "zip": ("ESRI Shapefile (zipped)", "application/zip"),
    "geojson": ("GeoJSON (RFC 7946)", "application/geo+json"),
    "kml": ("KML", "application/vnd.google-earth.kml+xml"),
    "csv": ("CSV with a WKT column", "text/csv; charset=utf-8"),
}

# Every writer: frame (already in the output CRS), catalog entry, version, target path → notes.
Writer = Callable[[gpd.GeoDataFrame, LayerSpec, LayerVersion, Path], list[str]]


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
    """`EPSG:4490`, or the CRS name when it has no EPSG code."""
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def check_format(fmt: str) -> str:
    """The format key in lower case; an unknown one is a 422 listing the formats."""
    key = fmt.lower()
    if key not in FORMATS:
        known = ", ".join(f"{k} ({name})" for k, (name, _) in FORMATS.items())
        raise InvalidInput(f"Unknown export format {fmt!r}. Use one of: {known}.")
    return key


def export_columns(spec: LayerSpec) -> list[str]:
    """Catalog attributes in catalog order, then the stored geodesic measure."""
    measure = [spec.measure.column] if spec.measure else []
    return [a.name for a in spec.attributes] + measure


def column_labels(spec: LayerSpec) -> dict[str, str]:
    """Export column → Chinese label (empty when the catalog gives none)."""
    labels = {a.name: a.label_zh or "" for a in spec.attributes}
    if spec.measure:
        labels[spec.measure.column] = spec.measure.label_zh
    return labels


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
    if spec.measure:
        column = spec.measure.column
        columns[column] = np.array([getattr(r, column) for r in rows], dtype="float64")
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=f"EPSG:{STORAGE_EPSG}")


def reproject(frame: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """The frame in `crs` (itself when already there)."""
    return frame if crs.equals(frame.crs) else frame.to_crs(crs)


def promote_to_multi(spec: LayerSpec) -> bool:
    """Whether single parts are written as multi-part geometries."""
    # One geometry type per layer: QGIS and ArcGIS expect MultiPolygon, not a mix.
    return spec.geometry_type in ("polygon", "line")
