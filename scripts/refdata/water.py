"""Synthetic drinking-water source protection zones (一级 / 二级 / 准保护区 as nested rings)."""

from __future__ import annotations

import zlib

import numpy as np
from shapely.geometry import LineString, MultiPolygon, Point
from shapely.geometry.base import BaseGeometry

from .directory import WATER_SOURCES, WaterSource
from .geo import blob_metric, diff, inter, substring, to_lonlat, union, xy_metric

# (upstream m, downstream m, half-width m) per grade for river sources: typical of
# HJ 338 practice (一级 1000 m up / 100 m down, 二级 extends further and onto the banks).
RIVER_ZONES = {"一级": (1000, 100, 120), "二级": (3500, 300, 600), "准保护区": (9000, 800, 1200)}
LAKE_BUFFERS = {"一级": 200, "二级": 1500, "准保护区": 3500}
GRADES = ("一级", "二级", "准保护区")


def _river_shapes(ws: WaterSource, line: LineString) -> dict[str, BaseGeometry]:
    s0 = line.project(Point(xy_metric(*ws.at)))
    return {g: substring(line, s0 - up, s0 + down).buffer(w, quad_segs=6)
            for g, (up, down, w) in RIVER_ZONES.items()}


def _lake_shapes(ws: WaterSource) -> dict[str, BaseGeometry]:
    rng = np.random.default_rng(zlib.crc32(ws.name.encode("utf-8")))
    radius = (ws.lake_km2 * 1e6 / np.pi) ** 0.5
    lake = blob_metric(*xy_metric(*ws.at), radius, rng, stretch=1.6, angle=0.4)
    return {g: lake.buffer(b, quad_segs=6) for g, b in LAKE_BUFFERS.items()}


def build_water_sources(counties: dict[str, MultiPolygon], rivers_m: dict[str, LineString],
                        sources: list[WaterSource] = WATER_SOURCES) -> list[dict]:
    """Zones of one source never overlap (rings); later sources avoid earlier ones."""
    feats: list[dict] = []
    taken: list[BaseGeometry] = []
    for ws in sources:
        shapes = _river_shapes(ws, rivers_m[ws.river]) if ws.river else _lake_shapes(ws)
        region = diff(counties[ws.county], union(taken)) if taken else counties[ws.county]
        inner: list[BaseGeometry] = []
        for grade in GRADES:
            zone = inter(to_lonlat(shapes[grade]), region)
            if inner:
                zone = diff(zone, union(inner))
            inner.append(zone)
            feats.append({"props": {"source_name": ws.name, "county": ws.county,
                                    "grade": grade, "water_type": ws.water_type,
                                    "level": "县级及以上"},
                          "geom": zone})
        taken.append(union(inner))
    return feats
