"""Rasters held in memory, so that a screening reads no file and opens no dataset.

A raster version's GeoTIFF never changes once placed (a new upload is a new file), so the
held copy is keyed by the file's identity (path, size, modification time): it cannot go stale,
even in a process that missed a catalog notification. Arrays are read-only and shared by
every thread; a raster too large to hold is read window by window from disk as before.
"""

import os
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from rasterio import windows
from rasterio.crs import CRS
from rasterio.transform import TransformMethodsMixin
from rasterio.windows import WindowMethodsMixin

from app.cache import LockedLRU

# One raster held whole up to this size; all held rasters together up to twice that.
MAX_RASTER_BYTES = 256 << 20


@dataclass(frozen=True, eq=False)
class Held(TransformMethodsMixin, WindowMethodsMixin):
    """Band 1 of a GeoTIFF in memory, with what zonal statistics read of the dataset
    (rasterio's own `index` and `window_transform`, so pixels are found the same way)."""

    data: np.ndarray
    transform: Affine
    crs: CRS
    nodata: float | None
    width: int
    height: int
    # The CRS as WKT, rendered once: GDAL's export on every screening was 3 % of its CPU.
    crs_wkt: str = ""

    def read(self, band: int, window: windows.Window) -> np.ndarray:
        """The pixels of a window inside the raster (a read-only view)."""
        row, col = int(window.row_off), int(window.col_off)
        return self.data[row : row + int(window.height), col : col + int(window.width)]


_held: LockedLRU[Held] = LockedLRU(8, 2 * MAX_RASTER_BYTES, lambda h: h.data.nbytes)


def held(path: str) -> Held | None:
    """The raster at PATH in memory, read once per file; None when it is too large to hold
    (or gone: the caller's open then says so as before)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_size, st.st_mtime_ns)
    found = _held.get(key)
    if found is not None:
        return found
    with rasterio.open(path) as src:
        if src.width * src.height * np.dtype(src.dtypes[0]).itemsize > MAX_RASTER_BYTES:
            return None
        data = src.read(1)
        data.flags.writeable = False
        found = Held(
            data, src.transform, src.crs, src.nodata, src.width, src.height, src.crs.to_wkt()
        )
    _held.put(key, found)
    return found
