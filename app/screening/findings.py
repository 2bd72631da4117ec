"""Spatial relations of a site to one layer version, computed in PostGIS (geography)."""

import math

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec

# Candidates come from the subdivided parts (GiST), exact figures from the whole features.
_FIND = text("""
WITH site AS (SELECT ST_GeomFromWKB(:wkb, 4490) AS g),
cand AS (
  SELECT DISTINCT p.feature_id
  FROM feature_part p, site
  WHERE p.version_id = :v
    AND p.geom && ST_Expand(site.g, :deg)
    AND ST_DWithin(p.geom::geography, site.g::geography, :radius)
)
SELECT f.id, f.attributes, f.area_m2, f.length_m,
       ST_Covers(f.geom, site.g) AS covers,
       ST_Intersects(f.geom, site.g) AS intersects,
       CASE WHEN ST_Dimension(f.geom) = 2 AND ST_Dimension(site.g) = 2
            THEN ST_Area(ST_Intersection(f.geom, site.g)::geography) END AS overlap_area_m2,
       CASE WHEN ST_Dimension(site.g) = 1 AND ST_Dimension(f.geom) = 2
              THEN ST_Length(ST_Intersection(site.g, f.geom)::geography)
            WHEN ST_Dimension(f.geom) = 1 AND ST_Dimension(site.g) >= 1
              THEN ST_Length(ST_Intersection(f.geom, site.g)::geography) END AS overlap_length_m,
       ST_Distance(f.geom::geography, site.g::geography) AS distance_m
FROM feature f JOIN cand ON cand.feature_id = f.id, site
ORDER BY distance_m, f.id
""")


def _degrees(radius_m: float, lat: float) -> float:
    """A lon/lat box half-width that surely holds `radius_m` around latitude `lat`."""
    return radius_m / (111_000 * max(math.cos(math.radians(abs(lat) + 1)), 0.1)) + 1e-6


def relation(
    covers: bool,
    intersects: bool,
    overlap_area: float | None,
    overlap_length: float | None,
) -> str:
    """inside | overlaps | nearby. Touching an edge without overlap counts as nearby."""
    if covers:
        return "inside"
    if not intersects:
        return "nearby"
    if overlap_area is not None:
        return "overlaps" if overlap_area > 0.01 else "nearby"
    if overlap_length is not None:
        return "overlaps" if overlap_length > 0.01 else "nearby"
    return "overlaps"  # a point site on a line or at a polygon's edge


def find(
    session: Session,
    spec: LayerSpec,
    version_id: int,
    site: shapely.Geometry,
    site_area_m2: float,
    radius_m: float,
) -> list[dict]:
    rows = session.execute(
        _FIND,
        {
            "wkb": shapely.to_wkb(site),
            "v": version_id,
            "radius": radius_m,
            "deg": _degrees(radius_m, site.centroid.y),
        },
    ).all()
    findings = []
    for r in rows:
        rel = relation(r.covers, r.intersects, r.overlap_area_m2, r.overlap_length_m)
        overlap = r.overlap_area_m2 if rel != "nearby" else 0.0
        findings.append(
            {
                "layer": spec.id,
                "layer_title": spec.title_zh,
                "feature_id": r.id,
                "name": (r.attributes or {}).get(spec.label or "name"),
                "relation": rel,
                "overlap_area_m2": overlap,
                "overlap_area_ha": overlap / 1e4 if overlap is not None else None,
                "overlap_area_mu": overlap / (10000 / 15) if overlap is not None else None,
                "overlap_share": overlap / site_area_m2 if overlap and site_area_m2 else None,
                "overlap_length_m": r.overlap_length_m,
                "distance_m": r.distance_m,
                "feature_area_m2": r.area_m2,
                "attributes": r.attributes,
            }
        )
    return findings
