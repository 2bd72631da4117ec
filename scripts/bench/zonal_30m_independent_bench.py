"""Zonal statistics of all townships on a 30 m land cover, computed independently of app/.

`.venv/bin/python scripts/bench/zonal_30m_independent_bench.py` (no server, no database).
The 100 m reference land cover is resampled in memory to 30 m (nearest neighbour), the
townships are rasterized with rasterio and the classes counted with numpy.bincount; prints
the seconds per step and checks the forest shares against the 100 m grid and the plan.
"""

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio import features
from rasterio.enums import Resampling
from rasterio.warp import reproject

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "layers" / "data" / "bazhong"
RASTER_CRS = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
FOREST = 1  # landcover class 林地
FOREST_COVER = 63.18  # 森林覆盖率 in %, from the city plan (docs/domain.md)
N_CLASSES = 7


def township_counts(lc: np.ndarray, transform: Affine, townships: gpd.GeoDataFrame) -> np.ndarray:
    """Pixels per (township, class) on the grid of `lc`; row i is township i (0-based)."""
    ids = features.rasterize(
        zip(townships.geometry, range(1, len(townships) + 1), strict=True),
        out_shape=lc.shape,
        transform=transform,
        fill=0,
        dtype="uint16",
    )
    counts = np.bincount(
        ids.ravel().astype(np.int64) * N_CLASSES + lc.ravel(),
        minlength=(len(townships) + 1) * N_CLASSES,
    )
    return counts.reshape(len(townships) + 1, N_CLASSES)[1:]


def main() -> int:
    """Time the three steps at 30 m and compare the forest shares; 1 when a check fails."""
    with rasterio.open(DATA / "landcover.tif") as src:
        lc, t100 = src.read(1), src.transform
    townships = gpd.read_file(DATA / "township.geojson").to_crs(RASTER_CRS)
    width = int(np.ceil(lc.shape[1] * 100 / 30))
    height = int(np.ceil(lc.shape[0] * 100 / 30))
    t30 = Affine(30.0, 0.0, t100.c, 0.0, -30.0, t100.f)
    t0 = time.perf_counter()
    lc30 = np.zeros((height, width), dtype="uint8")
    reproject(
        lc,
        lc30,
        src_transform=t100,
        src_crs=RASTER_CRS,
        dst_transform=t30,
        dst_crs=RASTER_CRS,
        src_nodata=0,
        dst_nodata=0,
        resampling=Resampling.nearest,
    )
    t1 = time.perf_counter()
    counts = township_counts(lc30, t30, townships)
    t2 = time.perf_counter()
    print(
        f"30 m zonal stats, {width}x{height} = {width * height / 1e6:.1f} Mpx, "
        f"{len(townships)} townships: resample {t1 - t0:.2f} s, "
        f"rasterize + bincount {t2 - t1:.2f} s, total {t2 - t0:.2f} s"
    )
    valid = counts[:, 1:].sum(axis=1)
    counts100 = township_counts(lc, t100, townships)
    forest30 = counts[:, FOREST] / np.maximum(valid, 1)
    forest100 = counts100[:, FOREST] / np.maximum(counts100[:, 1:].sum(axis=1), 1)
    city30 = 100 * counts[:, FOREST].sum() / valid.sum()
    drift = float(np.abs(forest30 - forest100).max())
    print(f"city forest share {city30:.2f} % (plan {FOREST_COVER} %), township drift {drift:.3f}")
    ok = (valid > 0).all() and drift < 0.05 and abs(city30 - FOREST_COVER) <= 0.3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
