"""Build input files of every supported format from shapely geometries."""

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

from app.geo import chinese_datums

# Small squares in 巴州区 (lon/lat, CGCS2000).
GEOD = Geod(ellps="GRS80")  # independent of app.geo.measure

SQUARE = shapely.box(106.74, 31.84, 106.76, 31.86)
SQUARE_B = shapely.box(106.80, 31.90, 106.83, 31.92)


def frame(
    geoms: list, names: list[str] | None = None, crs: str | None = "EPSG:4490", **columns: list
) -> gpd.GeoDataFrame:
    names = names or [f"地块{i + 1}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"name": names, **columns}, geometry=geoms, crs=crs)


def write(gdf: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    gdf.to_file(path, engine="pyogrio", **kwargs)
    return path


def zip_shapefile(
    gdf: gpd.GeoDataFrame, folder: Path, stem: str = "parcels", drop: tuple[str, ...] = (), **kwargs
) -> Path:
    """Write a Shapefile and zip its parts, leaving out the sidecars in `drop` (e.g. '.prj')."""
    shp_dir = folder / f"{stem}_shp"
    shp_dir.mkdir(exist_ok=True)
    gdf.to_file(shp_dir / f"{stem}.shp", engine="pyogrio", **kwargs)
    target = folder / f"{stem}.zip"
    with zipfile.ZipFile(target, "w") as zf:
        for part in sorted(shp_dir.iterdir()):
            if part.suffix.lower() not in drop:
                zf.write(part, part.name)
    return target


def to_gcj02(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, chinese_datums.wgs84_to_gcj02)


def to_bd09(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, chinese_datums.wgs84_to_bd09)


def max_vertex_shift_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Largest geodesic distance between corresponding vertices of two geometries."""
    ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    assert ca.shape == cb.shape
    _, _, dist = GEOD.inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])
    return float(np.max(np.abs(dist)))
