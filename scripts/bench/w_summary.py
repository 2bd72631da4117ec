"""Township summaries: Redline cold and warm against geopandas and GET /health.

Groups:
- "township summary cold": `GET /summaries?by=township` (every layer in force) from the
  Redline instance started with `REDLINE_SUMMARY_CACHE_ENTRIES=0`
  (`ctx.extra["redline_nocache_url"]`), so every request builds the summary from the
  per-township figures stored at import; anchor: geopandas overlaying the same townships
  with each of the same layers in memory (`read_postgis` once, before, reported as a Figure).
- "township summary warm": the same request from the normal instance, already cached;
  anchor `GET /health` (one database round trip).

Both Redline requests are open reads (no key: the map page and QGIS read so; a key would
add its lookup). The geopandas overlay measures area in an equal-area projection of China,
not geodesically: it is the in-memory floor, not an equal computation.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
from cases import Case, Ctx, Figure
from sqlalchemy import create_engine, text

PARAMS = {"by": "township"}
# Albers equal-area for China (metres): the overlay's areas without a geodesic library.
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=GRS80 +units=m"
UNIT_LAYERS = ("admin_county", "township", "village")
# Timed runs per case: a cold summary at 100× takes seconds, its overlay minutes.
COLD_REPEAT = {1: 10, 10: 5}
OVERLAY_REPEAT = {1: 10, 10: 3}
# Larger scales run the overlay once, in a child process stopped after this many seconds.
OVERLAY_LIMIT_S = float(os.environ.get("BENCH_OVERLAY_LIMIT_S", "600"))
_FEATURES = text(
    "SELECT f.id, f.attributes->>'code' AS code, f.geom FROM feature f "
    "JOIN layer l ON l.active_version_id = f.version_id WHERE l.id = :layer"
)
_LAYERS = text(
    "SELECT id, geometry_type FROM layer WHERE active_version_id IS NOT NULL ORDER BY id"
)


def read_layers(
    database_url: str,
) -> tuple[gpd.GeoDataFrame, dict[str, tuple[str, gpd.GeoDataFrame]]]:
    """The active townships and every other layer's features (kind, frame), projected."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            kinds = dict(conn.execute(_LAYERS).all())

            def frame(layer: str) -> gpd.GeoDataFrame:
                gdf = gpd.read_postgis(_FEATURES, conn, geom_col="geom", params={"layer": layer})
                return gdf.to_crs(CHINA_ALBERS)

            units = frame("township")
            layers = {
                layer: (kind, frame(layer))
                for layer, kind in kinds.items()
                if layer not in UNIT_LAYERS
            }
    finally:
        engine.dispose()
    return units, layers


def overlay_summary(
    units: gpd.GeoDataFrame, layers: dict[str, tuple[str, gpd.GeoDataFrame]]
) -> dict[str, pd.DataFrame]:
    """Per layer, per township: covered area (union) or length, and feature count."""
    base = units[["code", "geom"]].rename(columns={"code": "unit"})
    out: dict[str, pd.DataFrame] = {}
    for layer, (kind, gdf) in layers.items():
        if gdf.empty:
            continue
        if kind == "point":
            joined = gpd.sjoin(gdf[["id", "geom"]], base, predicate="intersects")
            out[layer] = joined.groupby("unit")["id"].nunique().to_frame("count")
            continue
        pieces = gpd.overlay(base, gdf[["id", "geom"]], how="intersection", keep_geom_type=True)
        merged = pieces.dissolve(by="unit", aggfunc={"id": "nunique"})
        measure = merged.geometry.area if kind == "polygon" else merged.geometry.length
        out[layer] = pd.DataFrame({"count": merged["id"], "measure": measure})
    return out


def capped_overlay(
    units: gpd.GeoDataFrame, layers: dict[str, tuple[str, gpd.GeoDataFrame]]
) -> Figure:
    """One overlay, stopped after OVERLAY_LIMIT_S: at 100× it runs for many minutes, and its
    time then stands as a lower bound (the ratio to it as an upper bound)."""
    fork = multiprocessing.get_context("fork")
    started = time.perf_counter()
    child = fork.Process(target=overlay_summary, args=(units, layers))
    child.start()
    child.join(OVERLAY_LIMIT_S)
    finished = not child.is_alive()
    if not finished:
        child.terminate()
        child.join()
    elapsed = time.perf_counter() - started
    return Figure(
        "township summary cold",
        "geopandas overlay (in memory)" + ("" if finished else f", stopped after {elapsed:.0f} s"),
        elapsed,
        "s",
        anchor=True,
        detail={"finished": finished, "runs": 1},
    )


def _get(client: httpx.Client, path: str) -> Any:
    def run() -> int:
        resp = client.get(path, params=PARAMS if path == "/summaries" else None)
        resp.raise_for_status()
        return len(resp.content)

    return run


def cases(ctx: Ctx) -> list[Case | Figure]:
    """Cold (no cache, figures stored at import) beside geopandas; warm beside /health."""
    out: list[Case | Figure] = []
    cold_repeat = COLD_REPEAT.get(ctx.scale, 3)
    started = time.perf_counter()
    units, layers = read_layers(ctx.database_url)
    out.append(
        Figure(
            "township summary cold",
            "geopandas read_postgis (once, before the overlays)",
            time.perf_counter() - started,
            "s",
            detail={
                "townships": len(units),
                "layers": len(layers),
                "features": sum(len(g) for _, g in layers.values()),
            },
        )
    )
    warm = httpx.Client(base_url=ctx.redline_url, timeout=600)
    ctx.extra.setdefault("cleanup", []).append(warm.close)
    nocache_url = ctx.extra.get("redline_nocache_url")
    if nocache_url:
        cold = httpx.Client(base_url=nocache_url, timeout=600)
        ctx.extra["cleanup"].append(cold.close)
        out.append(
            Case("township summary cold", "redline", _get(cold, "/summaries"), repeat=cold_repeat)
        )
    if ctx.scale in OVERLAY_REPEAT:
        out.append(
            Case(
                "township summary cold",
                "geopandas overlay (in memory)",
                lambda: overlay_summary(units, layers),
                anchor=True,
                repeat=OVERLAY_REPEAT[ctx.scale],
            )
        )
    else:
        out.append(capped_overlay(units, layers))
    _get(warm, "/summaries")()  # computed once: every timed request is a cache hit
    out.append(Case("township summary warm", "redline", _get(warm, "/summaries")))
    out.append(Case("township summary warm", "/health", _get(warm, "/health"), anchor=True))
    return out
