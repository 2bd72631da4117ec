"""GeoJSON and CSV exports: plain-text formats with one geometry column."""

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely

from app.catalog import LayerSpec
from app.geo.crs import STORAGE_EPSG
from app.publish.exports.common import epsg_label
from app.store.models import LayerVersion

_CLASSIC_GEOJSON = "GeoJSON with a `crs` member (not RFC 7946: coordinates are not lon/lat)"


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
