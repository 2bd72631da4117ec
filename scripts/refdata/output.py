"""Deterministic GeoJSON / YAML writers (one feature per line for readable git diffs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiLineString, MultiPolygon, mapping
from shapely.geometry.base import BaseGeometry

from .geo import polygonal


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 7)
    if isinstance(obj, list | tuple):
        return [_round(x) for x in obj]
    return obj


def geometry_json(geom: BaseGeometry) -> dict:
    """Uniform Multi* types per layer; RFC 7946 ring orientation (exterior CCW)."""
    if geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection"):
        geom = shapely.orient_polygons(polygonal(geom))
    elif geom.geom_type == "LineString":
        geom = MultiLineString([geom])
    m = mapping(geom)
    return {"type": m["type"], "coordinates": _round(m["coordinates"])}


def write_geojson(path: Path, features: list[dict]) -> None:
    lines = []
    for f in features:
        feat = {"type": "Feature", "properties": f["props"], "geometry": geometry_json(f["geom"])}
        lines.append(json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


def empty_check(features: list[dict]) -> list[str]:
    return [str(f["props"]) for f in features
            if isinstance(f["geom"], MultiPolygon) and f["geom"].is_empty]
