"""Synthetic protected-area polygons sized to the plan's table (001:L1719-L1828)."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import shapely
from shapely.geometry import LineString, MultiPolygon
from shapely.geometry.base import BaseGeometry

from .directory import OVERLAP_OK, PROTECTED_AREAS, ProtectedArea
from .geo import area_km2, bisect, blob_ll, diff, inter, substring, to_lonlat, union, xy_metric


def _seed(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))  # stable across runs, unlike hash()


def _corridor(line: LineString, region: BaseGeometry, focus: tuple[float, float] | None,
              half_len: float | None) -> Callable[[float], MultiPolygon]:
    """Buffer of (part of) a river line; width is the bisection variable."""
    if focus is not None and half_len is not None:
        s = line.project(shapely.Point(xy_metric(*focus)))
        line = substring(line, s - half_len, s + half_len)

    def make(width: float) -> MultiPolygon:
        return inter(to_lonlat(line.buffer(width, quad_segs=4)), region)

    return make


def _blobs(pa: ProtectedArea, region: BaseGeometry) -> Callable[[float], MultiPolygon]:
    seed = _seed(pa.name)

    def make(scale: float) -> MultiPolygon:
        parts = [blob_ll(lon, lat, scale, seed + i, stretch=pa.stretch, angle=0.6)
                 for i, (lon, lat) in enumerate(pa.centres)]
        return inter(union(parts), region)

    return make


def build_protected_areas(counties: dict[str, MultiPolygon], rivers_m: dict[str, LineString],
                          wetland_focus: tuple[float, float] | None,
                          areas: list[ProtectedArea] = PROTECTED_AREAS,
                          overlap_ok: dict[str, set[str]] = OVERLAP_OK) -> dict[str, MultiPolygon]:
    """Each area = shape ∩ its counties minus earlier areas (unless overlap is intended),
    with its size found by bisection so the geodesic area matches the table."""
    placed: dict[str, MultiPolygon] = {}
    for pa in areas:
        allowed = union(counties[c] for c in pa.counties)
        others = [g for n, g in placed.items() if n not in overlap_ok.get(pa.name, set())]
        region = diff(allowed, union(others)) if others else allowed
        if pa.river:
            focus, half = (wetland_focus, 2500.0) if pa.river == "驷马河" else (None, None)
            make = _corridor(rivers_m[pa.river], region, focus, half)
            lo, hi = 10.0, 2000.0
        else:
            make = _blobs(pa, region)
            lo, hi = 500.0, 20000.0
        scale = bisect(lambda s, m=make: area_km2(m(s)), pa.km2, lo, hi)
        placed[pa.name] = make(scale)
    return placed

