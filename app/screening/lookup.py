"""One SQL statement per screening: every layer's findings, the data coverage and the
versions in force, for one site or a chunk of sites.

Sites arrive as an array of WKB with their buffers, layers as arrays of version ids and
search radii; the text never changes, so psycopg prepares it after a few runs. Figures are
computed on the subdivided parts (small, GiST-indexed) and summed per feature: parts
partition their feature, so sums of areas and lengths are exact, and big polygons (a
county-sized control unit) never enter an intersection whole. The results come back as
JSON text (PostgreSQL writes floats in their shortest exact form, so nothing is rounded).
"""

from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.store.raw import RawStatement

_LOOKUP = RawStatement(
    text("""
WITH site AS (
  SELECT ord::int AS site_no, g, buf, ST_Dimension(g) AS dim,
         CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography)
              WHEN ST_Dimension(g) = 1 THEN ST_Length(g::geography)
              ELSE ST_NPoints(g) END AS size,
         greatest(abs(ST_YMin(g)), abs(ST_YMax(g))) AS lat
  FROM (SELECT ord, ST_GeomFromWKB(wkb, 4490) AS g, buf
        FROM unnest(CAST(:wkbs AS bytea[]), CAST(:bufs AS float8[]))
             WITH ORDINALITY AS t(wkb, buf, ord)) s
),
pair AS (
  -- Each site with each layer: the layer's radius widened by the site's buffer (a zero
  -- radius, context layers: only what the site itself touches, stays zero) and a lon/lat
  -- box half-width that surely holds it.
  SELECT site.site_no, site.g, site.dim, site.size, l.layer_no::int AS layer_no, l.vid, r.radius,
         r.radius / (111000 * greatest(cos(radians(site.lat + 1)), 0.1)) + 1e-6 AS deg
  FROM site
  CROSS JOIN unnest(CAST(:vids AS int[]), CAST(:radii AS float8[]))
       WITH ORDINALITY AS l(vid, radius, layer_no)
  CROSS JOIN LATERAL (SELECT CASE WHEN l.radius > 0 THEN l.radius + site.buf ELSE 0 END
                      AS radius) r
),
near AS (
  SELECT pair.site_no, pair.layer_no, pair.dim, pair.size, p.feature_id, p.geom AS part,
         pair.g, ST_Dimension(p.geom) AS pdim, ST_Intersects(p.geom, pair.g) AS hit
  FROM pair JOIN feature_part p
    ON p.version_id = pair.vid
   AND p.geom && ST_Expand(pair.g, pair.deg)
   -- A geography test that fails is costly for big sites (no early exit): CASE fixes
   -- the order so that parts of other versions and intersecting parts never reach it,
   -- and a zero radius never does.
   AND CASE WHEN p.version_id <> pair.vid THEN false
            WHEN ST_Intersects(p.geom, pair.g) THEN true
            WHEN pair.radius <= 0 THEN false
            ELSE ST_DWithin(p.geom::geography, pair.g::geography, pair.radius) END
),
-- A part that holds the whole site overlaps it by the site itself: its size, measured once,
-- instead of an intersection measured again (most of the cost of a large site).
whole AS (
  SELECT near.*, hit AND dim > 0 AND pdim = 2 AND ST_Covers(part, g) AS covers FROM near
),
agg AS (
  SELECT site_no, layer_no, feature_id, bool_or(hit) AS intersects,
         bool_or(pdim = 1) AS is_line,
         min(CASE WHEN hit THEN 0 ELSE ST_Distance(part::geography, g::geography) END)
           AS distance_m,
         sum(CASE WHEN pdim = 2 AND dim = 2 THEN CASE WHEN covers THEN size WHEN hit
                  THEN ST_Area(ST_Intersection(part, g)::geography) ELSE 0 END END)
           AS overlap_area_m2,
         sum(CASE WHEN dim = 1 AND pdim = 2 THEN CASE WHEN covers THEN size WHEN hit
                    THEN ST_Length(ST_Intersection(g, part)::geography) ELSE 0 END
                  WHEN pdim = 1 AND dim >= 1 THEN CASE WHEN hit
                    THEN ST_Length(ST_Intersection(part, g)::geography) ELSE 0 END END)
           AS overlap_length_m,
         -- Points of a (multi)point site in the feature: a union, since a point on the
         -- border of two parts of one feature meets both.
         ST_NPoints(ST_Union(CASE WHEN dim = 0 AND hit THEN ST_Intersection(part, g) END))
           AS overlap_points
  FROM whole GROUP BY site_no, layer_no, feature_id
),
found AS (
  SELECT agg.*, f.attributes, f.area_m2, site.dim AS site_dim, site.size AS site_size
  FROM agg JOIN feature f ON f.id = agg.feature_id JOIN site ON site.site_no = agg.site_no
),
-- Coverage of the search area (the site with its buffer): the area cut by the county parts
-- it meets, then per coverage set (code prefixes) the union of its counties' pieces
-- measured (points: counted, a point is covered or not). Sets holding the same pieces are
-- measured once.
cov_site AS (
  SELECT g, ST_Dimension(g) AS dim,
         CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography)
              WHEN ST_Dimension(g) = 1 THEN ST_Length(g::geography)
              ELSE ST_NPoints(g) END AS size
  FROM (SELECT ST_GeomFromWKB(CAST(:cov_wkb AS bytea), 4490) AS g) s
),
pieces AS MATERIALIZED (
  SELECT row_number() OVER () AS pid, coalesce(f.attributes->>'code', '') AS code, w.whole,
         CASE WHEN w.whole THEN cov_site.g ELSE ST_Intersection(p.geom, cov_site.g) END AS g
  FROM cov_site JOIN feature_part p ON p.version_id = :county AND p.geom && cov_site.g
  JOIN feature f ON f.id = p.feature_id
  CROSS JOIN LATERAL (SELECT cov_site.dim > 0 AND ST_Covers(p.geom, cov_site.g) AS whole) w
  WHERE ST_Intersects(p.geom, cov_site.g)
),
sets AS (
  SELECT set_no, prefix
  FROM unnest(CAST(:set_nos AS int[]), CAST(:prefixes AS text[])) AS t(set_no, prefix)
),
hits AS (
  SELECT s.set_no, array_agg(DISTINCT pc.pid ORDER BY pc.pid) AS pids
  FROM sets s JOIN pieces pc ON pc.code LIKE s.prefix || '%'
  GROUP BY s.set_no
),
measured AS (
  -- A set with a piece that is the whole site covers it: its size, not a union measured.
  SELECT d.pids,
         CASE WHEN (SELECT bool_or(pc.whole) FROM pieces pc WHERE pc.pid = ANY(d.pids))
              THEN cov_site.size
              ELSE (SELECT CASE WHEN cov_site.dim = 0 THEN ST_NPoints(ST_Union(pc.g))::float
                                WHEN cov_site.dim = 2 THEN ST_Area(ST_Union(pc.g)::geography)
                                ELSE ST_Length(ST_Union(pc.g)::geography) END
                    FROM pieces pc WHERE pc.pid = ANY(d.pids)) END AS covered
  FROM cov_site, (SELECT DISTINCT pids FROM hits) d
),
coverage AS (
  SELECT n.set_no, cov_site.size, m.covered
  FROM (SELECT DISTINCT set_no FROM sets) n CROSS JOIN cov_site
  LEFT JOIN hits h ON h.set_no = n.set_no LEFT JOIN measured m ON m.pids = h.pids
)
SELECT
  (SELECT json_agg(found ORDER BY site_no, layer_no, distance_m, feature_id)
   FROM found)::text AS found,
  (SELECT json_agg(coverage ORDER BY set_no) FROM coverage)::text AS coverage,
  (SELECT json_object_agg(id, active_version_id) FROM layer
   WHERE active_version_id IS NOT NULL)::text AS layers,
  (SELECT json_object_agg(raster_id, id) FROM raster_version
   WHERE status = 'active')::text AS rasters
""")
)


# The statement's plan does not depend on its parameters (arrays of sites and versions, every
# join an index probe), but PostgreSQL's estimate of the generic plan is far above a custom one,
# so it planned every run again: 1.2 ms of a 1.7 ms statement. This transaction keeps the
# plan psycopg prepared (JIT is off on every connection: see app/store/db.py).
_GENERIC_PLAN = RawStatement(text("SET LOCAL plan_cache_mode = force_generic_plan"))

# Columns PostgreSQL computes as float8, which JSON writes without a decimal point when whole
# (0, 1): read back as floats, as the database typed them.
_FLOATS = ("distance_m", "overlap_area_m2", "overlap_length_m", "area_m2", "site_size")
_COVERAGE_FLOATS = ("size", "covered")


def _typed(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    for key in keys:
        if row[key] is not None:
            row[key] = float(row[key])
    return row


@dataclass(frozen=True)
class Layer:
    """One layer version to search, and how far from each site."""

    version_id: int
    radius_m: float  # 0: only what the site itself touches


@dataclass(frozen=True)
class CoverageQuery:
    """The search area to measure, the county version and the coverage sets (code prefixes;
    "" matches every county)."""

    geometry: shapely.Geometry
    county_version_id: int
    sets: list[tuple[str, ...]]


@dataclass
class Looked:
    """What one statement found: per site, per layer, its feature rows (site order, then
    distance); per coverage set, the size and the covered amount; the active version ids
    (layer and raster) when the statement ran."""

    found: list[list[list[dict[str, Any]]]]
    coverage: list[dict[str, Any]]
    active_layers: dict[str, int]
    active_rasters: dict[str, int]


def look_up(
    session: Session,
    sites: list[shapely.Geometry],
    buffers_m: list[float],
    layers: list[Layer],
    coverage: CoverageQuery | None = None,
) -> Looked:
    """Run the one statement: every layer's features near every site, and the coverage."""
    sets = coverage.sets if coverage is not None else []
    _GENERIC_PLAN.execute(session)
    cursor = _LOOKUP.execute(
        session,
        {
            "wkbs": [shapely.to_wkb(s) for s in sites],
            "bufs": [float(b) for b in buffers_m],
            "vids": [layer.version_id for layer in layers],
            "radii": [float(layer.radius_m) for layer in layers],
            "cov_wkb": shapely.to_wkb(coverage.geometry) if coverage is not None else None,
            "county": coverage.county_version_id if coverage is not None else 0,
            "set_nos": [i for i, s in enumerate(sets) for _ in s],
            "prefixes": [p for s in sets for p in s],
        },
    )
    found_json, coverage_json, layers_json, rasters_json = cursor.fetchone()
    found: list[list[list[dict[str, Any]]]] = [[[] for _ in layers] for _ in sites]
    for r in orjson.loads(found_json or "[]"):
        found[r["site_no"] - 1][r["layer_no"] - 1].append(_typed(r, _FLOATS))
    measured = orjson.loads(coverage_json or "[]") if coverage is not None else []
    return Looked(
        found,
        [_typed(m, _COVERAGE_FLOATS) for m in measured],
        orjson.loads(layers_json or "{}"),
        orjson.loads(rasters_json or "{}"),
    )
