"""Synthetic reference rasters: land cover (土地覆被) and ecological-protection importance
(生态保护重要性, from the 双评价 evaluation), both categorical GeoTIFFs on a 100 m grid in
EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E).

They are built from the published vector files (so they agree with what users load) plus
smooth deterministic noise: sums of Gaussian-filtered random fields (numpy FFT, fixed seeds).

Land cover, in order of precedence:
  water     river lines buffered a few pixels wide, and the water-source 一级 zones;
  built-up  most of each urban development boundary, a fringe around the county seats;
  fixed     redline and protected areas: forest except small grassy openings;
            permanent basic farmland: cropland except small wooded / settled spots;
  free      everything else: a forest score (noise, lower near the seats and around the
            farmland) minus a smooth offset that steers each township towards a plausible
            forest share (high in 重点生态功能区 townships, low in 街道, rising northwards to
            the mountains); one global threshold is then calibrated so that the city's forest
            share is the plan's 森林覆盖率 63.18 % (001:L11). Non-forest free pixels become
            rural settlements, grassland (favoured in the north), other land or, mostly,
            cropland.
Ecological importance: 极重要 = redline ∪ protected areas ∪ forest in 重点生态功能区
townships; 重要 = most other forest, grassland and water; 一般 = the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
import shapely
import yaml
from affine import Affine
from pyproj import Transformer
from rasterio import features
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .directory import ECO, FARM, SEATS, URBAN

CRS = "EPSG:4545"
RES = 100.0  # m
SEED = 6318
FOREST_TARGET = 0.6318  # 森林覆盖率, 001:L11
NODATA = 0

CATALOG = Path(__file__).resolve().parents[2] / "layers" / "rasters"


def _classes(raster_id: str) -> dict[int, tuple[str, str, str]]:
    """value -> (label_zh, label_en, colour) from the raster catalog (the single source)."""
    doc = yaml.safe_load((CATALOG / f"{raster_id}.yaml").read_text(encoding="utf-8"))
    return {int(v): (c["label"], c["label_en"], c["color"]) for v, c in doc["classes"].items()}


LANDCOVER = _classes("landcover")
ECO_IMPORTANCE = _classes("eco_importance")
FOREST, CROP, GRASS, WATER, BUILT, OTHER = 1, 2, 3, 4, 5, 6
# township forest share before calibration, by kind (main-function type; 街道 are urban cores)
FOREST_BASE = {ECO: 0.86, FARM: 0.52, URBAN: 0.5, "街道": 0.22}
RIVER_HALF_WIDTH_M = {"重要支流": 160.0, "支流": 100.0}

_TO_GK = Transformer.from_crs("EPSG:4490", CRS, always_xy=True)


# ---------------------------------------------------------------- grid and vectors


def to_gk(g: BaseGeometry) -> BaseGeometry:
    return shapely.transform(g, lambda c: np.column_stack(_TO_GK.transform(c[:, 0], c[:, 1])))


def _read(out: Path, layer: str) -> list[tuple[dict, BaseGeometry]]:
    doc = json.loads((out / f"{layer}.geojson").read_text(encoding="utf-8"))
    return [(f["properties"], to_gk(shape(f["geometry"]))) for f in doc["features"]]


class Grid:
    """100 m grid over the city's bounds in EPSG:4545, origin snapped to whole 100 m."""

    def __init__(self, city_gk: BaseGeometry) -> None:
        x0, y0, x1, y1 = city_gk.bounds
        left, top = np.floor(x0 / RES) * RES, np.ceil(y1 / RES) * RES
        self.width = int(np.ceil((x1 - left) / RES))
        self.height = int(np.ceil((top - y0) / RES))
        self.transform = Affine(RES, 0.0, left, 0.0, -RES, top)
        self.shape = (self.height, self.width)
        cols, rows = np.arange(self.width), np.arange(self.height)
        self.x = left + (cols + 0.5) * RES  # pixel centres
        self.y = top - (rows + 0.5) * RES

    def burn(self, geoms: list[BaseGeometry], values: list[int] | None = None,
             dtype: str = "uint8") -> np.ndarray:
        if values is None:
            values = [1] * len(geoms)
        pairs = [(mapping(g), v) for g, v in zip(geoms, values, strict=True) if not g.is_empty]
        if not pairs:
            return np.zeros(self.shape, dtype=dtype)
        return features.rasterize(pairs, out_shape=self.shape, transform=self.transform,
                                  fill=0, dtype=dtype)

    def mask(self, geoms: list[BaseGeometry]) -> np.ndarray:
        return self.burn(geoms).astype(bool)


# ---------------------------------------------------------------- noise


def smooth_noise(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """White noise filtered with a Gaussian of sigma_px (FFT on a padded array), scaled to
    unit standard deviation."""
    pad = int(3 * sigma_px) + 1
    h, w = shape[0] + 2 * pad, shape[1] + 2 * pad
    white = rng.standard_normal((h, w))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    kernel = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (fx ** 2 + fy ** 2))
    field = np.fft.irfft2(np.fft.rfft2(white) * kernel, s=(h, w))[pad:-pad, pad:-pad]
    return (field - field.mean()) / field.std()


def fractal(shape: tuple[int, int], rng: np.random.Generator,
            octaves: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Sum of smooth fields: (sigma in pixels, weight) per octave."""
    return sum(w * smooth_noise(shape, s, rng) for s, w in octaves)


def blur(a: np.ndarray, sigma_px: float) -> np.ndarray:
    pad = int(3 * sigma_px) + 1
    p = np.pad(a.astype(float), pad)
    h, w = p.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    kernel = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (fx ** 2 + fy ** 2))
    return np.fft.irfft2(np.fft.rfft2(p) * kernel, s=(h, w))[pad:-pad, pad:-pad]


def top_share(score: np.ndarray, where: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the ``share`` highest-scoring pixels among ``where``."""
    out = np.zeros(score.shape, dtype=bool)
    idx = np.flatnonzero(where)
    k = int(round(share * idx.size))
    if k <= 0:
        return out
    order = np.argsort(-score.ravel()[idx], kind="stable")
    out.ravel()[idx[order[:k]]] = True
    return out


# ---------------------------------------------------------------- classification


def _inputs(out: Path) -> tuple[Grid, dict[str, np.ndarray]]:
    """Grid over the city (= union of the townships) and the vector layers as pixel masks."""
    tw = _read(out, "township")
    grid = Grid(shapely.union_all([g for _, g in tw]))
    m: dict[str, np.ndarray] = {}
    m["township"] = grid.burn([g for _, g in tw], list(range(1, len(tw) + 1)), dtype="uint16")
    zone_of = np.array([""] + [p["zone_type"] for p, _ in tw])
    for key, zone in (("eco", ECO), ("farm_zone", FARM), ("urban_zone", URBAN)):
        m[key] = zone_of[m["township"]] == zone
    m["city"] = m["township"] > 0
    m["tw_kind"] = np.array([""] + ["街道" if p["unit_type"] == "街道" else p["zone_type"]
                                    for p, _ in tw])
    m["redline"] = grid.mask([g for _, g in _read(out, "redline")])
    m["protected"] = grid.mask([g for _, g in _read(out, "protected_area")])
    ws = _read(out, "water_source")
    m["ws1"] = grid.mask([g for p, g in ws if p["grade"] == "一级"])
    m["urban"] = grid.mask([g for _, g in _read(out, "urban_boundary")])
    m["farmland"] = grid.mask([g for _, g in _read(out, "farmland")])
    rivers = [g.buffer(RIVER_HALF_WIDTH_M[p["yangtze_class"]], quad_segs=4)
              for p, g in _read(out, "river")]
    m["river"] = grid.mask(rivers)
    return grid, {k: v & m["city"] if v.dtype == bool and v.ndim == 2 else v
                  for k, v in m.items()}


def township_offsets(m: dict[str, np.ndarray], score: np.ndarray, fixed_forest: np.ndarray,
                     free: np.ndarray, north: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smooth per-pixel score offset that steers each township towards a plausible forest share
    (by main-function type and latitude, plus a random township effect): the score quantile
    that would give the township its share, rasterized and blurred over ~2 km so that forest
    does not jump at township borders."""
    tid = m["township"]
    n = int(tid.max()) + 1
    flat_t, flat_s, flat_free = tid.ravel(), score.ravel(), free.ravel()
    total = np.bincount(flat_t, minlength=n)
    fixed = np.bincount(flat_t, weights=fixed_forest.ravel(), minlength=n)
    north_t = np.bincount(flat_t, weights=north.ravel(), minlength=n) / np.maximum(total, 1)
    effect = rng.normal(0.0, 0.07, n)
    offset = np.zeros(n)
    order = np.argsort(flat_t, kind="stable")
    bounds = np.searchsorted(flat_t[order], np.arange(n + 1))
    for t in range(1, n):
        idx = order[bounds[t]:bounds[t + 1]]
        vals = np.sort(flat_s[idx[flat_free[idx]]])
        if vals.size == 0:
            continue
        base = FOREST_BASE[m["tw_kind"][t]] + 0.25 * (north_t[t] - 0.5) + effect[t]
        want = np.clip(base, 0.05, 0.97) * total[t] - fixed[t]
        k = int(np.clip(round(vals.size - want), 0, vals.size - 1))
        offset[t] = vals[k]
    field = offset[tid] * m["city"]
    weight = blur(m["city"], 20.0)
    return blur(field, 20.0) / np.maximum(weight, 1e-6)


def classify(grid: Grid, m: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(SEED)
    shp = grid.shape
    city = m["city"]
    # northness 0 (south edge) .. 1 (north edge): the mountains (米仓山, 大巴山) are north
    ys = grid.y[:, None] * np.ones((1, grid.width))
    north = (ys - grid.y[-1]) / (grid.y[0] - grid.y[-1])
    gx, gy = np.meshgrid(grid.x, grid.y)
    seats = np.array([_TO_GK.transform(*ll) for ll in SEATS.values()])
    d_seat = np.min([np.hypot(gx - sx, gy - sy) for sx, sy in seats], axis=0)
    near_seat = np.exp(-d_seat / 6000.0)
    farm_density = blur(m["farmland"], 12.0)  # ~1.2 km: lowland around the farmland patches

    terrain = fractal(shp, rng, ((80, 0.3), (25, 0.3), (8, 0.3), (2.5, 0.12)))
    patchy = fractal(shp, rng, ((6, 0.7), (2, 0.3)))  # small openings / wooded spots
    settle = fractal(shp, rng, ((3, 0.6), (1.2, 0.4)))  # villages
    grass = fractal(shp, rng, ((10, 0.6), (3, 0.4)))
    other = smooth_noise(shp, 2.0, rng)
    importance = fractal(shp, rng, ((15, 0.6), (4, 0.4)))

    lc = np.zeros(shp, dtype=np.uint8)
    protect = (m["redline"] | m["protected"]) & city
    water = (m["river"] | m["ws1"]) & city
    # built-up: urban boundaries (with green space) and a fringe near the seats
    built = m["urban"] & ~top_share(patchy, m["urban"], 0.12)
    fringe = city & ~protect & ~m["farmland"] & (settle + 2.2 * near_seat > 1.9)
    built = (built | fringe) & ~water
    lc[water] = WATER
    lc[built & (lc == 0)] = BUILT
    open_ = city & (lc == 0)
    # protected land: forest with grassy openings
    p = protect & open_
    lc[p] = FOREST
    lc[p & top_share(grass, p, 0.05)] = GRASS
    # farmland: cropland with small wooded spots and hamlets
    f = m["farmland"] & open_ & ~protect
    lc[f] = CROP
    lc[f & top_share(patchy, f, 0.10)] = FOREST
    lc[f & top_share(settle, f, 0.025)] = BUILT
    # free land: forest by a calibrated score
    free = city & (lc == 0)
    score = terrain - 0.6 * near_seat - 0.5 * farm_density
    score -= township_offsets(m, score, lc == FOREST, free, north, rng)
    need = int(round(FOREST_TARGET * city.sum())) - int(((lc == FOREST) & city).sum())
    forest = top_share(score, free, need / free.sum())
    lc[forest] = FOREST
    threshold = float(score[forest].min())
    rest = free & ~forest
    villages = top_share(settle + 0.6 * (1 - north) + 1.5 * near_seat, rest, 0.11)
    lc[villages] = BUILT
    rest &= ~villages
    grassy = top_share(grass + 0.5 * north, rest, 0.16)
    lc[grassy] = GRASS
    rest &= ~grassy
    lc[rest & top_share(other, rest, 0.05)] = OTHER
    lc[rest & (lc == 0)] = CROP

    eco = np.zeros(shp, dtype=np.uint8)
    extreme = protect | (m["eco"] & (lc == FOREST))
    natural = np.isin(lc, (FOREST, GRASS, WATER)) & ~extreme
    important = natural & ~m["urban"] & ~top_share(-importance, natural, 0.15)
    eco[city] = 3
    eco[important] = 2
    eco[extreme & city] = 1
    return lc, eco, threshold


# ---------------------------------------------------------------- output


def _rgba(hex_colour: str) -> tuple[int, int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255


def write_tif(path: Path, grid: Grid, data: np.ndarray, classes: dict, title: str) -> None:
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1,
        "dtype": "uint8", "crs": CRS, "transform": grid.transform, "nodata": NODATA,
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
        "predictor": 2, "zlevel": 9, "interleave": "band",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        names = {f"CLASS_{v}": f"{zh} ({en.lower()})" for v, (zh, en, _) in classes.items()}
        dst.update_tags(TITLE=title, SOURCE="SYNTHETIC - scripts/build_reference_data.py",
                        NODATA="0 = outside the city", **names)
        dst.update_tags(1, **{f"CLASS_{v}": zh for v, (zh, _, _) in classes.items()})
        cmap = {v: _rgba(c) for v, (_, _, c) in classes.items()}
        cmap[NODATA] = (0, 0, 0, 0)
        dst.write_colormap(1, cmap)


def shares(data: np.ndarray, classes: dict) -> dict[int, float]:
    valid = data[data != NODATA]
    counts = np.bincount(valid, minlength=max(classes) + 1)
    return {v: float(counts[v] / valid.size) for v in classes}


def zone_stats(m: dict[str, np.ndarray], data: np.ndarray, value: int) -> dict[str, dict]:
    """Per zone type: mean of the township shares of ``value`` and the pooled share."""
    tid = m["township"].ravel()
    n = int(tid.max()) + 1
    total = np.bincount(tid, minlength=n)
    hits = np.bincount(tid, weights=(data.ravel() == value), minlength=n)
    share = hits / np.maximum(total, 1)
    out = {}
    for key, zone in (("eco", ECO), ("farm_zone", FARM), ("urban_zone", URBAN)):
        ids = np.unique(m["township"][m[key]])
        out[zone] = {"count": int(ids.size), "mean": float(share[ids].mean()),
                     "pooled": float(hits[ids].sum() / total[ids].sum()),
                     "min": float(share[ids].min()), "max": float(share[ids].max())}
    return out


def build_rasters(out: Path) -> dict:
    """Write landcover.tif and eco_importance.tif next to the vector files; return stats."""
    grid, m = _inputs(out)
    lc, eco, threshold = classify(grid, m)
    write_tif(out / "landcover.tif", grid, lc, LANDCOVER, "土地覆被 Land cover (SYNTHETIC)")
    write_tif(out / "eco_importance.tif", grid, eco, ECO_IMPORTANCE,
              "生态保护重要性 Ecological protection importance (SYNTHETIC)")
    protect = m["redline"] | m["protected"]
    return {
        "grid": {"width": grid.width, "height": grid.height,
                 "origin": (grid.transform.c, grid.transform.f), "pixels": int(m["city"].sum())},
        "forest_threshold": threshold,
        "landcover": shares(lc, LANDCOVER),
        "eco_importance": shares(eco, ECO_IMPORTANCE),
        "forest_by_zone": zone_stats(m, lc, FOREST),
        "extreme_by_zone": zone_stats(m, eco, 1),
        "redline_forest": float((lc[m["redline"]] == FOREST).mean()),
        "protect_forest": float((lc[protect] == FOREST).mean()),
        "farmland_crop": float((lc[m["farmland"]] == CROP).mean()),
        "urban_built": float((lc[m["urban"]] == BUILT).mean()),
        "redline_extreme": float((eco[m["redline"]] == 1).mean()),
        "sizes": {n: (out / n).stat().st_size for n in ("landcover.tif", "eco_importance.tif")},
    }


# ---------------------------------------------------------------- manifest and README


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def manifest_entries(stats: dict) -> dict:
    lc, eco = stats["landcover"], stats["eco_importance"]
    common = {"crs": CRS, "kind": "categorical", "dtype": "uint8", "nodata": NODATA,
              "resolution_m": int(RES), "width": stats["grid"]["width"],
              "height": stats["grid"]["height"], "source": "synthetic"}
    return {
        "landcover": {
            "file": "landcover.tif", **common, "catalog": "layers/rasters/landcover.yaml",
            "classes": {v: zh for v, (zh, _, _) in LANDCOVER.items()},
            "note": "SYNTHETIC land cover derived from the synthetic vector layers plus smooth "
                    "deterministic noise; forest share calibrated to the plan's 森林覆盖率 63.18% "
                    f"(001:L11), as built {_pct(lc[FOREST])}. Not surveyed data.",
            "note_zh": "合成土地覆盖：由合成矢量图层叠加平滑的确定性噪声生成；"
                       "林地比例按规划森林覆盖率 63.18%（001:L11）校准，"
                       f"实际生成 {_pct(lc[FOREST])}。非调查数据。"},
        "eco_importance": {
            "file": "eco_importance.tif", **common, "catalog": "layers/rasters/eco_importance.yaml",
            "classes": {v: zh for v, (zh, _, _) in ECO_IMPORTANCE.items()},
            "note": "SYNTHETIC 生态保护重要性 (双评价, 001:L1177): 极重要 = redline, protected "
                    "areas and forest in 重点生态功能区 townships; 重要 = most other forest, "
                    f"grassland and water; 一般 = the rest. 极重要 {_pct(eco[1])} of the city. "
                    "Not the real evaluation.",
            "note_zh": "合成生态保护重要性（双评价，001:L1177）："
                       "极重要 = 生态保护红线、自然保护地及重点生态功能区乡镇内的林地；"
                       "重要 = 其余大部分林地、草地和水域；一般 = 其余区域。"
                       f"极重要占全市 {_pct(eco[1])}。非真实评价结果。"},
    }


def append_manifest(path: Path, stats: dict) -> None:
    text = yaml.safe_dump({"rasters": manifest_entries(stats)}, allow_unicode=True,
                          sort_keys=False, width=100)
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


README_SECTION = """
## Rasters (SYNTHETIC)

Two categorical GeoTIFFs (uint8, nodata 0 outside the city) on a {res:.0f} m grid in
EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger, central meridian 108°E), {w} × {h} pixels with
the origin snapped to whole 100 m, tiled 256 × 256, DEFLATE (predictor 2); class names are in
the GeoTIFF tags (`CLASS_1` …) and a colour table is embedded. Class labels and colours come
from the catalogs `layers/rasters/landcover.yaml` and `layers/rasters/eco_importance.yaml`.
**Both are synthetic**: they are derived from the synthetic vector layers above plus smooth
deterministic noise (sums of Gaussian-filtered random fields, fixed seed), only so that raster
zonal statistics per township / per site can be exercised. Shares are pixel counts over the
{px} city pixels (pixel centre inside a township; {grid_km2:.2f} km² of grid cells).

- `landcover.tif` (土地覆被): water = rivers a few pixels wide and the water-source 一级 zones;
  built-up = most of the urban development boundaries, a fringe at the county seats and
  scattered villages; redline and protected areas mostly forest; permanent basic farmland
  mostly cropland; elsewhere forest follows a score that rises northwards (the mountains) and
  in 重点生态功能区 townships, with one threshold calibrated so that the city's forest share
  is the plan's 森林覆盖率 63.18% (001:L11). Forest is {rl_forest} of the redline pixels,
  cropland {fl_crop} of the farmland pixels, built-up {ub_built} of the urban-boundary pixels.
- `eco_importance.tif` (生态保护重要性, the 双评价 result behind the 乡镇级主体功能区
  classification, 001:L1177): 极重要 = redline ∪ protected areas ∪ forest in 重点生态功能区
  townships; 重要 = most other forest, grassland and water; 一般 = the rest.

{class_table}

Mean of the township shares by main-function type (min–max in brackets):

{zone_table}
"""


def _class_table(stats: dict) -> str:
    rows = ["| raster | value | class | city share |", "|---|---:|---|---:|"]
    for name, classes in (("landcover", LANDCOVER), ("eco_importance", ECO_IMPORTANCE)):
        for v, share in stats[name].items():
            rows.append(f"| `{name}` | {v} | {classes[v][0]} | {_pct(share)} |")
    return "\n".join(rows)


def _zone_table(stats: dict) -> str:
    rows = ["| 主体功能区 | townships | 林地 share | 极重要 share |", "|---|---:|---:|---:|"]
    for zone, f in stats["forest_by_zone"].items():
        e = stats["extreme_by_zone"][zone]
        rows.append(f"| {zone} | {f['count']} | {_pct(f['mean'])} ({f['min'] * 100:.1f}–"
                    f"{f['max'] * 100:.1f}%) | {_pct(e['mean'])} ({e['min'] * 100:.1f}–"
                    f"{e['max'] * 100:.1f}%) |")
    return "\n".join(rows)


def append_readme(path: Path, stats: dict) -> None:
    g = stats["grid"]
    text = README_SECTION.format(
        res=RES, w=g["width"], h=g["height"], px=g["pixels"],
        grid_km2=g["pixels"] * RES * RES / 1e6,
        rl_forest=_pct(stats["redline_forest"]), fl_crop=_pct(stats["farmland_crop"]),
        ub_built=_pct(stats["urban_built"]), class_table=_class_table(stats),
        zone_table=_zone_table(stats))
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def print_report(stats: dict) -> None:
    print("rasters grid", stats["grid"], "forest threshold", round(stats["forest_threshold"], 4))
    print("  landcover", {LANDCOVER[v][0]: round(s * 100, 2)
                          for v, s in stats["landcover"].items()})
    print("  eco_importance", {ECO_IMPORTANCE[v][0]: round(s * 100, 2)
                               for v, s in stats["eco_importance"].items()})
    for key in ("forest_by_zone", "extreme_by_zone"):
        print(f"  {key}", {z: {k: round(x * 100, 1) if k != "count" else x for k, x in v.items()}
                           for z, v in stats[key].items()})
    print("  redline forest {:.1%}, redline+PA forest {:.1%}, farmland crop {:.1%}, urban built "
          "{:.1%}, redline 极重要 {:.1%}".format(
              stats["redline_forest"], stats["protect_forest"], stats["farmland_crop"],
              stats["urban_built"], stats["redline_extreme"]))
    print("  sizes", stats["sizes"])
