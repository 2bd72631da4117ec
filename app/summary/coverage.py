"""How much of each administrative unit a layer covers: union area (no double counting),
length for line layers, feature count, and the sum of listed (official) areas."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.store.models import LayerVersion
from app.summary.units import UnitSet, home_digits, unit_sql

# Parts (ST_Subdivide pieces) keep intersections small; a part wholly inside the unit is
# taken as it is (prepared-geometry test), and the union per unit removes overlaps between
# features, so overlapping protected areas are not counted twice. A feature counts only in
# units of its own city (province for province rows): neighbouring cities' boundaries come
# from different sources, and their slivers must not change another city's figures.
_COVER = """
WITH u AS ({units}),
pieces AS (
  SELECT u.code, p.feature_id,
         CASE WHEN ST_CoveredBy(p.geom, u.geom) THEN p.geom
              ELSE ST_Intersection(p.geom, u.geom) END AS g
  FROM u JOIN feature_part p ON p.version_id = :layer_v AND p.geom && u.geom
   AND ST_Intersects(p.geom, u.geom)
  JOIN feature f ON f.id = p.feature_id
  WHERE f.county_code IS NULL OR left(f.county_code, :home) = left(u.code, :home)
)
SELECT code, count(DISTINCT feature_id) AS count,
       CASE WHEN :dim = 2 THEN ST_Area(ST_UnaryUnion(ST_Collect(
            ST_CollectionExtract(g, 3)))::geography) END AS area_m2,
       CASE WHEN :dim = 1 THEN ST_Length(ST_UnaryUnion(ST_Collect(
            ST_CollectionExtract(g, 2)))::geography) END AS length_m,
       array_agg(DISTINCT feature_id) AS feature_ids
FROM pieces GROUP BY code
"""
_LISTED = text(
    "SELECT id, (attributes->>:attr)::float8 AS listed FROM feature WHERE version_id = :v"
)
_DIM = {"polygon": 2, "line": 1, "point": 0}


def layer_coverage(
    session: Session, units: UnitSet, spec: LayerSpec, version: LayerVersion
) -> dict[str, dict]:
    """{unit code: {area_m2, length_m, count, listed_km2}} for one layer version."""
    rows = session.execute(
        text(_COVER.format(units=unit_sql(units))),
        {
            "v": units.version.id,
            "layer_v": version.id,
            "dim": _DIM[spec.geometry_type],
            "home": home_digits(units),
        },
    ).all()
    listed_attr = spec.summary.listed_area_attribute
    listed = {}
    if listed_attr:
        listed = {
            r.id: r.listed
            for r in session.execute(_LISTED, {"attr": listed_attr, "v": version.id})
            if r.listed is not None
        }
    out = {}
    for r in rows:
        out[r.code] = {
            "area_m2": r.area_m2,
            "length_m": r.length_m,
            "count": r.count,
            # A listed area belongs wholly to every unit the feature touches: label it so.
            "listed_km2": sum(listed.get(i, 0.0) for i in r.feature_ids) if listed_attr else None,
        }
    return out
