"""Spatial relations of sites to one layer version, computed in PostGIS (geography).

One query serves one site or a chunk of a batch: sites arrive as an array of WKB, each with
its own search radius. Relations, overlaps and distances are always those of the site itself;
a buffer only widens the radius of the search (see `reach`).
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.geo.measure import area_units

# Every figure is computed on the subdivided parts (small, GiST-indexed) and summed per
# feature: parts partition their feature, so sums of areas and lengths are exact, and big
# polygons (a county-sized control unit) never enter an intersection whole.
_FIND = text("""
WITH site AS (
  SELECT ord::int AS site_no, g, radius, deg, ST_Dimension(g) AS dim,
         CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography)
              WHEN ST_Dimension(g) = 1 THEN ST_Length(g::geography)
              ELSE ST_NPoints(g) END AS size
  FROM (SELECT ord, ST_GeomFromWKB(wkb, 4490) AS g, radius, deg
        FROM unnest(CAST(:wkbs AS bytea[]), CAST(:radii AS float8[]), CAST(:degs AS float8[]))
             WITH ORDINALITY AS t(wkb, radius, deg, ord)) s
),
near AS (
  SELECT site.site_no, site.dim, p.feature_id, p.geom AS part, site.g,
         ST_Dimension(p.geom) AS pdim, ST_Intersects(p.geom, site.g) AS hit
  FROM site JOIN feature_part p
    ON p.version_id = :v
   AND p.geom && ST_Expand(site.g, site.deg)
   -- A geography test that fails is costly for big sites (no early exit): CASE fixes
   -- the order so that parts of other versions and intersecting parts never reach it,
   -- and a zero radius (context layers) never does.
   AND CASE WHEN p.version_id <> :v THEN false
            WHEN ST_Intersects(p.geom, site.g) THEN true
            WHEN site.radius <= 0 THEN false
            ELSE ST_DWithin(p.geom::geography, site.g::geography, site.radius) END
),
agg AS (
  SELECT site_no, feature_id, bool_or(hit) AS intersects,
         bool_or(pdim = 1) AS is_line,
         min(CASE WHEN hit THEN 0 ELSE ST_Distance(part::geography, g::geography) END)
           AS distance_m,
         sum(CASE WHEN pdim = 2 AND dim = 2 THEN CASE WHEN hit
                  THEN ST_Area(ST_Intersection(part, g)::geography) ELSE 0 END END)
           AS overlap_area_m2,
         sum(CASE WHEN dim = 1 AND pdim = 2 THEN CASE WHEN hit
                    THEN ST_Length(ST_Intersection(g, part)::geography) ELSE 0 END
                  WHEN pdim = 1 AND dim >= 1 THEN CASE WHEN hit
                    THEN ST_Length(ST_Intersection(part, g)::geography) ELSE 0 END END)
           AS overlap_length_m,
         -- Points of a (multi)point site in the feature: a union, since a point on the
         -- border of two parts of one feature meets both.
         ST_NPoints(ST_Union(CASE WHEN dim = 0 AND hit THEN ST_Intersection(part, g) END))
           AS overlap_points
  FROM near GROUP BY site_no, feature_id
)
SELECT agg.*, f.attributes, f.area_m2, site.dim AS site_dim, site.size AS site_size
FROM agg JOIN feature f ON f.id = agg.feature_id JOIN site ON site.site_no = agg.site_no
ORDER BY agg.site_no, agg.distance_m, f.id
""")


def _degrees(radius_m: float, lat: float) -> float:
    """A lon/lat box half-width that surely holds `radius_m` around latitude `lat`."""
    return radius_m / (111_000 * max(math.cos(math.radians(abs(lat) + 1)), 0.1)) + 1e-6


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


def _covers(r) -> bool:
    """Whether the feature holds the whole site, from the summed part figures."""
    if r.is_line or not r.intersects:
        return False
    if r.site_dim == 0:
        return True
    covered = r.overlap_area_m2 if r.site_dim == 2 else r.overlap_length_m
    # Relative tolerance: pieces of the site summed back differ from it by float noise only.
    return covered is not None and covered >= r.site_size * (1 - 1e-6)


def reach(radius_m: float, buffer_m: float) -> float:
    """How far from the site a layer is searched: its own radius plus the officer's buffer.

    Added rather than the larger of the two, so that a buffer widens every layer's search
    (as buffering the site did, keeping every feature an unbuffered search finds) while
    distances stay measured from the site. A zero radius (context layers: only what the
    site itself touches) stays zero."""
    return radius_m + buffer_m if radius_m > 0 else 0.0


def site_share(r, dim: int) -> float | None:
    """The share of the site in the feature: of its area, its length or its points."""
    if not r.intersects or not r.site_size:
        return 0.0 if r.site_size else None
    covered = {2: r.overlap_area_m2, 1: r.overlap_length_m, 0: r.overlap_points}[dim]
    return min((covered or 0.0) / r.site_size, 1.0)


def find_many(
    session: Session,
    spec: LayerSpec,
    version_id: int,
    sites: list[shapely.Geometry],
    site_areas_m2: list[float],
    radius_m: float,
    buffers_m: Sequence[float] | None = None,
) -> list[list[dict[str, Any]]]:
    """Each site's relations (in input order) to the features of one layer version.

    Searched within `reach(radius_m, buffer)` of each site (BUFFERS_M, one per site, default
    none); `within_buffer` is set for every feature when the site has a buffer. Plain dicts
    of figures: rules read them, and the service builds a Finding from those it reports
    (app.screening.models.Finding.of)."""
    if not sites:
        return []
    buffers = list(buffers_m) if buffers_m is not None else [0.0] * len(sites)
    radii = [reach(radius_m, b) for b in buffers]
    lats = np.max(np.abs(shapely.bounds(np.asarray(sites, dtype=object))[:, [1, 3]]), axis=1)
    rows = session.execute(
        _FIND,
        {
            "wkbs": [shapely.to_wkb(s) for s in sites],
            "v": version_id,
            "radii": radii,
            "degs": [_degrees(r, float(lat)) for r, lat in zip(radii, lats, strict=True)],
        },
    ).all()
    out: list[list[dict[str, Any]]] = [[] for _ in sites]
    for r in rows:
        i = r.site_no - 1
        rel = relation(_covers(r), r.intersects, r.overlap_area_m2, r.overlap_length_m, r.is_line)
        overlap = (
            r.overlap_area_m2
            if rel != "nearby"
            else (0.0 if r.overlap_area_m2 is not None else None)
        )
        units = area_units(overlap) if overlap is not None else None
        figures = {
            "layer": spec.id,
            "layer_title": spec.title_zh,
            "feature_id": r.feature_id,
            "name": (r.attributes or {}).get(spec.label or "name"),
            "relation": rel,
            "overlap_area_m2": overlap,
            "overlap_area_ha": units["ha"] if units else None,
            "overlap_area_mu": units["mu"] if units else None,
            "overlap_share": overlap / site_areas_m2[i] if overlap and site_areas_m2[i] else None,
            "overlap_length_m": r.overlap_length_m,
            "distance_m": r.distance_m,
            "feature_area_m2": r.area_m2,
            "attributes": r.attributes,
            "site_share": site_share(r, r.site_dim) if rel != "nearby" else 0.0,
        }
        if buffers[i] > 0:
            figures["buffer_m"] = buffers[i]
            figures["within_buffer"] = 0 < r.distance_m <= buffers[i]
        out[i].append(figures)
    return out
