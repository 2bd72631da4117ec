"""Size limits on inputs that are checked from headers, before any data is read."""

from pathlib import Path

import rasterio
from rasterio.errors import RasterioIOError

from app.config import get_settings
from app.errors import RedlineError, UnreadableFile


class TooLarge(RedlineError):
    """The input is larger than a configured limit (413); nothing was read past its header."""

    status = 413
    type = "https://redline.example.org/problems/too-large"
    title = "The input is larger than allowed"


def check_raster_pixels(path: Path) -> None:
    """Refuse a raster over REDLINE_MAX_RASTER_PIXELS, from its header alone."""
    limit = get_settings().max_raster_pixels
    try:
        with rasterio.open(path) as src:
            width, height = src.width, src.height
    except RasterioIOError as exc:
        raise UnreadableFile(f"The file is not a readable GeoTIFF: {exc}") from exc
    if width * height > limit:
        raise TooLarge(
            f"The raster is {width} × {height} = {width * height} pixels; the limit is {limit}. "
            "Clip it to the area served or coarsen its resolution, or ask an administrator "
            "to raise REDLINE_MAX_RASTER_PIXELS.",
            limit_pixels=limit,
        )
