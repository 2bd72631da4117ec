"""Zonal statistics for all 139 townships on a 30 m land-cover raster of the whole city.

`.venv/bin/python scripts/bench/zonal_bench.py` (no server needed; reads the reference files).
The 30 m raster is made from the 100 m reference land cover by nearest-neighbour resampling.
Baseline in the same run: reading the whole 30 m band once (the least any method must do).
"""

import json
import statistics
import tempfile
import time
from pathlib import Path

import rasterio
import shapely
import yaml
from rasterio.enums import Resampling

from app.catalog import RasterSpec
from app.raster.zonal import zonal_stats

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "layers" / "data" / "bazhong"


def make_30m(source: Path, target: Path) -> tuple[int, int]:
    with rasterio.open(source) as src:
        scale = src.res[0] / 30.0
        height, width = round(src.height * scale), round(src.width * scale)
        data = src.read(1, out_shape=(height, width), resampling=Resampling.nearest)
        profile = src.profile | {"height": height, "width": width,
                                 "transform": src.transform * src.transform.scale(
                                     src.width / width, src.height / height)}
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(data, 1)
    return width, height


def main() -> None:
    spec = RasterSpec.model_validate(yaml.safe_load(
        (ROOT / "layers" / "rasters" / "landcover.yaml").read_text(encoding="utf-8")))
    features = json.loads((DATA / "township.geojson").read_text(encoding="utf-8"))["features"]
    zones = [shapely.geometry.shape(f["geometry"]) for f in features]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "landcover_30m.tif"
        width, height = make_30m(DATA / "landcover.tif", path)
        runs, reads = [], []
        for _ in range(3):
            start = time.perf_counter()
            with rasterio.open(path) as src:
                src.read(1)
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            stats = zonal_stats(str(path), spec, zones)
            runs.append(time.perf_counter() - start)
    base, run = statistics.median(reads), statistics.median(runs)
    forest = sum(s.class_km2["林地"] for s in stats) / sum(s.area_km2 for s in stats)
    print(f"raster {width}×{height} px at 30 m ({width * height / 1e6:.1f} Mpx), "
          f"{len(zones)} townships")
    print(f"{'case':<44}{'median s':>10}{'× read':>10}")
    print(f"{'read the band once (baseline)':<44}{base:>10.2f}{1.0:>10.1f}")
    print(f"{'zonal statistics, 139 townships':<44}{run:>10.2f}{run / base:>10.1f}")
    print(f"city forest share from the township zones: {100 * forest:.2f}%")


if __name__ == "__main__":
    main()
