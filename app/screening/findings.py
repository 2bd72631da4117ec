"""Spatial relations of sites to layer features, from the figures PostGIS measured.

The figures come from the one screening statement (app.screening.lookup): relations,
overlaps and distances are always those of the site itself; a buffer only widens the radius
of the search (see `reach`).
"""

from collections.abc import Sequence
from typing import Any

import shapely
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.geo.measure import area_units
from app.screening.lookup import Layer, look_up


def relation(
    covers: bool,
    intersects: bool,
    overlap_area: float | None,
    overlap_length: float | None,
    feature_is_line: bool = False,
) -> str:
    """inside | overlaps | nearby. Touching a polygon's edge without overlap counts as nearby;
    crossing a line feature (a road over a river) overlaps it."""
    if covers:
        return "inside"
    if not intersects:
        return "nearby"
    if feature_is_line:
        return "overlaps"
    if overlap_area is not None:
        return "overlaps" if overlap_area > 0.01 else "nearby"
    if overlap_length is not None:
        return "overlaps" if overlap_length > 0.01 else "nearby"
    return "overlaps"  # a point site on a polygon's edge


def _covers(r: dict[str, Any]) -> bool:
    """Whether the feature holds the whole site, from the summed part figures."""
    if r["is_line"] or not r["intersects"]:
        return False
    if r["site_dim"] == 0:
        return True
    covered = r["overlap_area_m2"] if r["site_dim"] == 2 else r["overlap_length_m"]
    # Relative tolerance: pieces of the site summed back differ from it by float noise only.
    return covered is not None and covered >= r["site_size"] * (1 - 1e-6)


def reach(radius_m: float, buffer_m: float) -> float:
    """How far from the site a layer is searched: its own radius plus the officer's buffer.

    Added rather than the larger of the two, so that a buffer widens every layer's search
    (as buffering the site did, keeping every feature an unbuffered search finds) while
    distances stay measured from the site. A zero radius (context layers: only what the
    site itself touches) stays zero."""
    return radius_m + buffer_m if radius_m > 0 else 0.0


def site_share(r: dict[str, Any], dim: int) -> float | None:
    """The share of the site in the feature: of its area, its length or its points."""
    size = r["site_size"]
    if not r["intersects"] or not size:
        return 0.0 if size else None
    covered = {2: r["overlap_area_m2"], 1: r["overlap_length_m"], 0: r["overlap_points"]}[dim]
    return min((covered or 0.0) / size, 1.0)


def figures_of(
    spec: LayerSpec, r: dict[str, Any], site_area_m2: float, buffer_m: float
) -> dict[str, Any]:
    """The figures of one feature near one site (a row of the screening statement), as
    rules read them; `within_buffer` is set when the site has a buffer."""
    rel = relation(
        _covers(r), r["intersects"], r["overlap_area_m2"], r["overlap_length_m"], r["is_line"]
    )
    overlap = r["overlap_area_m2"]
    if rel == "nearby":
        overlap = 0.0 if overlap is not None else None
    units = area_units(overlap) if overlap is not None else None
    attributes = r["attributes"]
    figures = {
        "layer": spec.id,
        "layer_title": spec.title_zh,
        "feature_id": r["feature_id"],
        "name": (attributes or {}).get(spec.label or "name"),
        "relation": rel,
        "overlap_area_m2": overlap,
        "overlap_area_ha": units["ha"] if units else None,
        "overlap_area_mu": units["mu"] if units else None,
        "overlap_share": overlap / site_area_m2 if overlap and site_area_m2 else None,
        "overlap_length_m": r["overlap_length_m"],
        "distance_m": r["distance_m"],
        "feature_area_m2": r["area_m2"],
        "attributes": attributes,
        "site_share": site_share(r, r["site_dim"]) if rel != "nearby" else 0.0,
    }
    if buffer_m > 0:
        figures["buffer_m"] = buffer_m
        figures["within_buffer"] = 0 < r["distance_m"] <= buffer_m
    return figures


def find_many(
    session: Session,
    spec: LayerSpec,
    version_id: int,
    sites: list[shapely.Geometry],
    site_areas_m2: list[float],
    radius_m: float,
    buffers_m: Sequence[float] | None = None,
) -> list[list[dict[str, Any]]]:
    """Each site's relations (in input order) to the features of one layer version (the
    screening statement for a single layer).

    Searched within `reach(radius_m, buffer)` of each site (BUFFERS_M, one per site, default
    none); `within_buffer` is set for every feature when the site has a buffer. Plain dicts
    of figures: rules read them, and the service builds a Finding from those it reports
    (app.screening.models.Finding.of)."""
    if not sites:
        return []
    buffers = list(buffers_m) if buffers_m is not None else [0.0] * len(sites)
    looked = look_up(session, sites, buffers, [Layer(version_id, radius_m)])
    return [
        [figures_of(spec, r, area, buffer) for r in per_layer[0]]
        for per_layer, area, buffer in zip(looked.found, site_areas_m2, buffers, strict=True)
    ]
