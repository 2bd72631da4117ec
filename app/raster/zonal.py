"""Zonal statistics of a raster over polygons (or points): class shares for categorical
rasters, min/mean/max for continuous ones. Pure: rasterio + numpy, no database.

Zones are burnt into one label grid over the window that holds them, then counted with
numpy.bincount: one pass over the pixels however many zones there are.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import rasterio
import shapely
from rasterio import features, windows
from rasterio.io import DatasetReader

from app.catalog import RasterSpec
from app.config import get_settings
from app.geo.geojson import geojson
from app.io.limits import TooLarge
from app.raster.held import Held, held


@dataclass
class ZoneStats:
    """Statistics of one zone: pixel count and area, then class shares or min/mean/max."""

    pixels: int
    area_km2: float
    class_shares: dict[str, float] | None = None
    class_km2: dict[str, float] | None = None
    min: float | None = None
    mean: float | None = None
    max: float | None = None
    sampled_at_point: bool = False

    def as_dict(self) -> dict:
        """The figures that apply to this raster kind (unset ones left out)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@lru_cache(maxsize=16)
def _from_4490(crs_wkt: str) -> pyproj.Transformer:
    # Building a transformer costs milliseconds; pyproj transformers are thread-safe.
    return pyproj.Transformer.from_crs(4490, crs_wkt, always_xy=True)


def _to_raster_crs(geoms: list[shapely.Geometry], crs_wkt: str) -> list[shapely.Geometry]:
    t = _from_4490(crs_wkt)
    return [
        shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        for g in geoms
    ]


def _window(src: DatasetReader | Held, geoms: list[shapely.Geometry]) -> windows.Window:
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geoms, dtype=object))
    win = windows.from_bounds(x0, y0, x1, y1, src.transform).round_offsets().round_lengths()
    full = windows.Window(0, 0, src.width, src.height)
    try:
        return win.intersection(full)
    except rasterio.errors.WindowError:
        return windows.Window(0, 0, 0, 0)


def _check_budget(win: windows.Window) -> None:
    """Refuse a read that would hold more pixels than REDLINE_MAX_ZONAL_PIXELS in memory."""
    budget = get_settings().max_zonal_pixels
    pixels = int(win.width) * int(win.height)
    if pixels > budget:
        raise TooLarge(
            f"The zones span {int(win.width)} × {int(win.height)} = {pixels} raster pixels; "
            f"one request may read at most {budget}. Screen a smaller area or fewer sites at once."
        )


# What one set of zones shares across rasters: per raster CRS, the zones projected and their
# shapes to burn; per grid window, the burnt label grid.
Projected = dict[Any, Any]


def zonal_stats(
    path: str, spec: RasterSpec, zones: list[shapely.Geometry], projected: Projected | None = None
) -> list[ZoneStats]:
    """Statistics per zone (EPSG:4490 geometries), in order. Zones smaller than a pixel
    (and points) take the value of the pixel under their centre. The raster is read from
    memory when it is small enough to hold (app.raster.held), else from its file.

    PROJECTED keeps the zones projected to each raster CRS met, for the next raster."""
    grid = held(path)
    if grid is not None:
        return _zonal(grid, spec, zones, {} if projected is None else projected)
    with rasterio.open(path) as src:
        return _zonal(src, spec, zones, {} if projected is None else projected)


def _zonal(
    src: DatasetReader | Held, spec: RasterSpec, zones: list[shapely.Geometry], projected: Projected
) -> list[ZoneStats]:
    """zonal_stats on an open dataset or a held raster."""
    key = (isinstance(src, Held) and src.crs_wkt) or src.crs.to_wkt()
    if key not in projected:
        local = _to_raster_crs(zones, key)
        shapes = [
            (geojson(g), i + 1) for i, g in enumerate(local) if shapely.get_dimensions(g) == 2
        ]
        projected[key] = (local, shapes)
    local, shapes = projected[key]
    nodata = spec.nodata if spec.nodata is not None else src.nodata
    if not shapes:  # points only: each takes its pixel, no window to read or burn
        return [_sample(src, g, spec, nodata) for g in local]
    win = _window(src, local)
    _check_budget(win)
    data = src.read(1, window=win) if win.width and win.height else np.zeros((0, 0))
    pixel_km2 = abs(src.transform.a * src.transform.e) / 1e6 if src.crs.is_projected else None
    # Rasters on one grid (landcover and eco_importance) burn the same window once.
    burnt = ("labels", key, src.transform, win.col_off, win.row_off, win.width, win.height)
    labels = projected.get(burnt)
    if labels is None:
        labels = np.zeros(data.shape, dtype=np.int32)
        if data.size:
            labels = features.rasterize(
                shapes,
                out_shape=data.shape,
                fill=0,
                transform=src.window_transform(win),
                dtype="int32",
            )
        projected[burnt] = labels
    valid = labels > 0
    if nodata is not None:
        valid &= data != nodata
    stats = (
        _categorical(data, labels, valid, len(zones), spec, pixel_km2)
        if spec.kind == "categorical"
        else _continuous(data, labels, valid, len(zones), pixel_km2)
    )
    for i, s in enumerate(stats):
        if s.pixels == 0:  # a point, or a sliver smaller than a pixel
            stats[i] = _sample(src, local[i], spec, nodata)
    return stats


def _categorical(
    data: np.ndarray,
    labels: np.ndarray,
    valid: np.ndarray,
    n: int,
    spec: RasterSpec,
    pixel_km2: float | None,
) -> list[ZoneStats]:
    k = int(max(spec.classes, default=0)) + 1
    values = data[valid].astype(np.int64)
    values[(values < 0) | (values >= k)] = 0
    counts = np.bincount(
        labels[valid].astype(np.int64) * k + values, minlength=(n + 1) * k
    ).reshape(n + 1, k)
    out = []
    for zone in range(1, n + 1):
        total = int(counts[zone].sum())
        shares = {
            c.label: counts[zone, v] / total if total else 0.0 for v, c in spec.classes.items()
        }
        km2 = (
            {c.label: counts[zone, v] * pixel_km2 for v, c in spec.classes.items()}
            if pixel_km2
            else None
        )
        out.append(ZoneStats(total, total * (pixel_km2 or 0.0), shares, km2))
    return out


def _continuous(
    data: np.ndarray, labels: np.ndarray, valid: np.ndarray, n: int, pixel_km2: float | None
) -> list[ZoneStats]:
    zone = labels[valid].astype(np.int64)
    values = data[valid].astype(float)
    counts = np.bincount(zone, minlength=n + 1)
    sums = np.bincount(zone, weights=values, minlength=n + 1)
    lows = np.full(n + 1, np.inf)
    highs = np.full(n + 1, -np.inf)
    np.minimum.at(lows, zone, values)
    np.maximum.at(highs, zone, values)
    return [
        ZoneStats(
            int(counts[z]),
            counts[z] * (pixel_km2 or 0.0),
            min=float(lows[z]) if counts[z] else None,
            mean=float(sums[z] / counts[z]) if counts[z] else None,
            max=float(highs[z]) if counts[z] else None,
        )
        for z in range(1, n + 1)
    ]


def _sample(
    src: DatasetReader | Held, geom: shapely.Geometry, spec: RasterSpec, nodata: float | None
) -> ZoneStats:
    p = geom.representative_point() if shapely.get_dimensions(geom) else geom.centroid
    # src.index's arithmetic (floor of the inverse transform) without its numpy set-up, a
    # third of sampling a point.
    col_f, row_f = ~src.transform * (p.x, p.y)
    row, col = math.floor(row_f), math.floor(col_f)
    if not (0 <= row < src.height and 0 <= col < src.width):
        return ZoneStats(0, 0.0)
    value = src.read(1, window=windows.Window(col, row, 1, 1))[0, 0]
    if nodata is not None and value == nodata:
        return ZoneStats(0, 0.0)
    if spec.kind == "categorical":
        label = spec.classes.get(int(value))
        shares = {c.label: (1.0 if label is c else 0.0) for c in spec.classes.values()}
        return ZoneStats(0, 0.0, shares, sampled_at_point=True)
    return ZoneStats(
        0, 0.0, min=float(value), mean=float(value), max=float(value), sampled_at_point=True
    )
