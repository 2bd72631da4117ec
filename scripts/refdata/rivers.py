"""Synthetic river centre lines (plausible courses through the real county seats)."""

from __future__ import annotations

import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from .directory import BASIN, RIVERS, River
from .geo import GRID, meander, to_lonlat


def build_rivers(rivers: list[River] = RIVERS) -> dict[str, LineString]:
    """Metric (local TM) lines, unclipped: other builders measure along them."""
    # 20 m simplification keeps the shape but drops most smoothing vertices
    return {r.name: meander(list(r.points), seed=100 + i, amp=0.05).simplify(20)
            for i, r in enumerate(rivers)}


def river_features(metric: dict[str, LineString], city: BaseGeometry,
                   rivers: list[River] = RIVERS, basin: str = BASIN) -> list[dict]:
    """River features clipped to the region, one (Multi)LineString per river."""
    feats = []
    for r in rivers:
        line = shapely.intersection(to_lonlat(metric[r.name]), city, grid_size=GRID)
        line = shapely.line_merge(line) if line.geom_type == "MultiLineString" else line
        parts = [p for p in shapely.get_parts(line) if p.geom_type == "LineString"]
        geom = parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)
        feats.append({"props": {"name": r.name, "alias": r.alias,
                                "yangtze_class": r.yangtze_class, "basin": basin},
                      "geom": geom})
    return feats
