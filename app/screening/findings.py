"""Spatial relations of sites to one layer version, computed in PostGIS (geography).

One query serves one site or a chunk of a batch: sites arrive as an array of WKB.
"""

import math

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.geo.measure import M2_PER_MU

# Candidates come from the subdivided parts (GiST), exact figures from the whole features.
_FIND = text("""
WITH site AS (
  SELECT ord::int AS site_no, ST_GeomFromWKB(wkb, 4490) AS g
  FROM unnest(CAST(:wkbs AS bytea[])) WITH ORDINALITY AS t(wkb, ord)
),
cand AS (
  SELECT DISTINCT site.site_no, p.feature_id
  FROM site JOIN feature_part p
    ON p.version_id = :v
   AND p.geom && ST_Expand(site.g, :deg)
   AND ST_DWithin(p.geom::geography, site.g::geography, :radius)
)
SELECT cand.site_no, f.id, f.attributes, f.area_m2, ST_Dimension(f.geom) = 1 AS is_line,
       ST_Covers(f.geom, site.g) AS covers,
       ST_Intersects(f.geom, site.g) AS intersects,
       CASE WHEN ST_Dimension(f.geom) = 2 AND ST_Dimension(site.g) = 2
            THEN ST_Area(ST_Intersection(f.geom, site.g)::geography) END AS overlap_area_m2,
       CASE WHEN ST_Dimension(site.g) = 1 AND ST_Dimension(f.geom) = 2
              THEN ST_Length(ST_Intersection(site.g, f.geom)::geography)
            WHEN ST_Dimension(f.geom) = 1 AND ST_Dimension(site.g) >= 1
              THEN ST_Length(ST_Intersection(f.geom, site.g)::geography) END AS overlap_length_m,
       ST_Distance(f.geom::geography, site.g::geography) AS distance_m
FROM cand JOIN feature f ON f.id = cand.feature_id JOIN site ON site.site_no = cand.site_no
ORDER BY cand.site_no, distance_m, f.id
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


def find_many(
    session: Session,
    spec: LayerSpec,
    version_id: int,
    sites: list[shapely.Geometry],
    site_areas_m2: list[float],
    radius_m: float,
) -> list[list[dict]]:
    """Findings of each site (in input order) against one layer version."""
    if not sites:
        return []
    max_lat = float(np.max(np.abs(shapely.bounds(np.asarray(sites, dtype=object))[:, [1, 3]])))
    rows = session.execute(
        _FIND,
        {
            "wkbs": [shapely.to_wkb(s) for s in sites],
            "v": version_id,
            "radius": radius_m,
            "deg": _degrees(radius_m, max_lat),
        },
    ).all()
    out: list[list[dict]] = [[] for _ in sites]
    for r in rows:
        i = r.site_no - 1
        rel = relation(r.covers, r.intersects, r.overlap_area_m2, r.overlap_length_m, r.is_line)
        overlap = (
            r.overlap_area_m2
            if rel != "nearby"
            else (0.0 if r.overlap_area_m2 is not None else None)
        )
        out[i].append(
            {
                "layer": spec.id,
                "layer_title": spec.title_zh,
                "feature_id": r.id,
                "name": (r.attributes or {}).get(spec.label or "name"),
                "relation": rel,
                "overlap_area_m2": overlap,
                "overlap_area_ha": overlap / 1e4 if overlap is not None else None,
                "overlap_area_mu": overlap / M2_PER_MU if overlap is not None else None,
                "overlap_share": overlap / site_areas_m2[i]
                if overlap and site_areas_m2[i]
                else None,
                "overlap_length_m": r.overlap_length_m,
                "distance_m": r.distance_m,
                "feature_area_m2": r.area_m2,
                "attributes": r.attributes,
            }
        )
    return out
