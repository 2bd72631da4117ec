"""Screening workloads: one point and one 1 000-vertex polygon, latency and throughput.

Sites in 南江县 (Bazhong) around 106.84°E 32.35°N, `project_category=工业`. Anchors in the
same run: `GET /health` (one database round trip through the same HTTP stack) and the same
lookup as one raw SQL statement, prepared, over psycopg: every active layer version's features
within that layer's search radius (radii from the catalog YAML; context layers: only what the
site meets), whether they meet or cover the site, the overlap area (geography), the geodesic
distance, and the region coverage check (how much of the site the loaded counties cover).
The target is redline p50 ≤ 2 × (/health p50 + raw SQL p50).

Throughput at 1, 4 and 16 clients: `wrk` posting the point screening and getting `/health`,
`pgbench -M prepared` running the raw statement.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from typing import Any

import psycopg
import shapely
from pyproj import Geod

from scripts.bench import load
from scripts.bench.cases import Case, Ctx, Figure

CENTER_LON, CENTER_LAT = 106.84, 32.35  # 南江县, Bazhong
RADIUS_M = 800.0
VERTICES = 1000
CATEGORY = "工业"
CLIENTS = (1, 4, 16)
THROUGHPUT_S = 10.0
THROUGHPUT_QUICK_S = 3.0
ROUNDS = 3

POINT = "point screening"
POLYGON = "polygon screening (1 000 vertices)"
RAW = "raw SQL (psycopg, prepared)"
RAW_PGBENCH = "raw SQL (pgbench -M prepared)"

# `:name` parameters, all text with explicit casts: the same statement runs in psycopg and in
# pgbench (which passes its variables as text parameters). No `::` casts, no comments (pgbench
# reads the statement as one line).
RAW_SQL = """
WITH site AS (
  SELECT g, CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(geography(g)) ELSE 0 END AS area
  FROM (SELECT ST_GeomFromWKB(decode(:wkb, 'hex'), 4490) AS g) s
),
lyr AS (
  SELECT l.id, l.active_version_id AS v, t.radius, t.deg
  FROM unnest(CAST(:layers AS text[]), CAST(:radii AS float8[]), CAST(:degs AS float8[]))
       AS t(id, radius, deg)
  JOIN layer l ON l.id = t.id AND l.active_version_id IS NOT NULL
),
near AS (
  SELECT lyr.id AS layer, p.feature_id, p.geom, site.g, ST_Intersects(p.geom, site.g) AS hit
  FROM lyr CROSS JOIN site
  JOIN feature_part p ON p.version_id = lyr.v AND p.geom && ST_Expand(site.g, lyr.deg)
   AND CASE WHEN p.version_id <> lyr.v THEN false
            WHEN ST_Intersects(p.geom, site.g) THEN true
            WHEN lyr.radius <= 0 THEN false
            ELSE ST_DWithin(geography(p.geom), geography(site.g), lyr.radius) END
),
found AS (
  SELECT layer, feature_id, bool_or(hit) AS meets,
         sum(CASE WHEN hit AND ST_Dimension(g) = 2 AND ST_Dimension(geom) = 2
                  THEN ST_Area(geography(ST_Intersection(geom, g))) ELSE 0 END) AS overlap_m2,
         min(CASE WHEN hit THEN 0 ELSE ST_Distance(geography(geom), geography(g)) END)
           AS distance_m
  FROM near GROUP BY layer, feature_id
),
cov AS MATERIALIZED (
  SELECT site.area,
         (SELECT CASE WHEN ST_Dimension(site.g) = 2
                      THEN ST_Area(geography(ST_Union(ST_Intersection(p.geom, site.g))))
                      ELSE count(*) END
          FROM feature_part p JOIN layer l
            ON l.id = 'admin_county' AND p.version_id = l.active_version_id
          WHERE p.geom && site.g AND ST_Intersects(p.geom, site.g)) AS covered
  FROM site
)
SELECT cov.area AS site_m2, cov.covered, found.layer, found.feature_id, f.attributes,
       f.area_m2, found.meets,
       found.meets AND (cov.area = 0 OR found.overlap_m2 >= cov.area * 0.999999) AS covers,
       found.overlap_m2, found.distance_m
FROM cov LEFT JOIN (found JOIN feature f ON f.id = found.feature_id) ON true
"""


def point_geometry() -> dict[str, Any]:
    """The point site."""
    return {"type": "Point", "coordinates": [CENTER_LON, CENTER_LAT]}


def circle_geometry(vertices: int = VERTICES, radius_m: float = RADIUS_M) -> dict[str, Any]:
    """A geodesic near-circle: `vertices` distinct points, the ring closed by repeating one."""
    geod = Geod(ellps="GRS80")  # the CGCS2000 ellipsoid, to well under a millimetre
    azimuths = [360.0 * i / vertices for i in range(vertices)]
    lons, lats, _ = geod.fwd(
        [CENTER_LON] * vertices, [CENTER_LAT] * vertices, azimuths, [radius_m] * vertices
    )
    ring = [[round(lon, 8), round(lat, 8)] for lon, lat in zip(lons, lats, strict=True)]
    ring.reverse()  # counter-clockwise exterior (RFC 7946 right-hand rule)
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def screening_body(geometry: dict[str, Any]) -> dict[str, Any]:
    """The JSON of POST /screenings for a site."""
    return {
        "geometry": geometry,
        "crs": "EPSG:4490",
        "project_category": CATEGORY,
        "project_name": "bench",
    }


def _degrees(radius_m: float, lat: float) -> float:
    """A lon/lat box half-width that surely holds `radius_m` around latitude `lat`."""
    return radius_m / (111_000 * max(math.cos(math.radians(abs(lat) + 1)), 0.1)) + 1e-6


def _array(values: list[Any]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"


def raw_params(geometry: dict[str, Any]) -> dict[str, str]:
    """The raw statement's parameters for a site: its WKB, and each screened layer's radius."""
    from app.catalog import catalog

    geom = shapely.geometry.shape(geometry)
    lat = max(abs(geom.bounds[1]), abs(geom.bounds[3]))
    layers, radii = [], []
    for spec in catalog().values():
        if spec.screening_role == "none":
            continue
        layers.append(spec.id)
        radii.append(0.0 if spec.screening_role == "context" else float(spec.search_radius_m))
    return {
        "wkb": shapely.to_wkb(geom, hex=True),
        "layers": _array(layers),
        "radii": _array(radii),
        "degs": _array([_degrees(r, lat) for r in radii]),
    }


def psycopg_sql(sql: str) -> str:
    """The statement with psycopg's `%(name)s` placeholders for its `:name` ones."""
    return re.sub(r"(?<![:\w]):([a-z_]+)", r"%(\1)s", sql)


class RawLookup:
    """The raw statement on one connection of its own, prepared on the server."""

    def __init__(self, dsn: str) -> None:
        """Connect (autocommit: one statement, no transaction around it)."""
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.sql = psycopg_sql(RAW_SQL)

    def run(self, params: dict[str, str]) -> list[tuple]:
        """Run the lookup; its rows (one per feature found, coverage on each)."""
        rows = self.conn.execute(self.sql, params, prepare=True).fetchall()
        if not rows or rows[0][1] in (None, 0):
            raise RuntimeError("raw SQL: the site is outside the loaded counties")
        return rows

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def _post(ctx: Ctx, body: dict[str, Any]) -> None:
    response = ctx.http.post(f"{ctx.redline_url}/screenings", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /screenings: HTTP {response.status_code}: {response.text[:300]}")


def _health(ctx: Ctx) -> None:
    ctx.http.get(f"{ctx.redline_url}/health").raise_for_status()


def latency_cases(ctx: Ctx, raw: RawLookup) -> list[Case]:
    """Point and polygon screening beside /health and the raw statement."""
    out = []
    for group, geometry in ((POINT, point_geometry()), (POLYGON, circle_geometry())):
        body, params = screening_body(geometry), raw_params(geometry)
        out += [
            Case(group, "/health", lambda: _health(ctx), anchor=True),
            Case(group, RAW, lambda p=params: raw.run(p), anchor=True),
            Case(group, "redline", lambda b=body: _post(ctx, b)),
        ]
    return out


def throughput(ctx: Ctx) -> list[Figure]:
    """Requests per second at 1, 4 and 16 clients: redline, /health and the raw statement.

    The three run one after the other, ROUNDS times (once in a quick run); each figure is the
    median of its rounds, so that a burst of load elsewhere on the machine hits all three."""
    quick = bool(ctx.extra.get("quick"))
    seconds, rounds = (THROUGHPUT_QUICK_S, 1) if quick else (THROUGHPUT_S, ROUNDS)
    auth = {"Authorization": f"Bearer {ctx.api_key}"}
    lua = load.post_script("/screenings", screening_body(point_geometry()), auth)
    params = raw_params(point_geometry())
    runs: dict[str, Callable[[int], dict[str, Any]]] = {
        "/health": lambda c: load.wrk(f"{ctx.redline_url}/health", c, seconds),
        RAW_PGBENCH: lambda c: load.pgbench(ctx.database_url, RAW_SQL, params, c, seconds),
        "redline": lambda c: load.wrk(f"{ctx.redline_url}/screenings", c, seconds, lua=lua),
    }
    out = []
    for clients in CLIENTS:
        group = f"point screening throughput, {clients} client{'s' if clients > 1 else ''}"
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, run in runs.items():
                measured[name].append(run(clients))
        for name, found in measured.items():
            rates = [m["req_s"] for m in found]
            detail = {"rounds": found, "seconds": seconds, "clients": clients}
            out.append(
                Figure(group, name, statistics.median(rates), "req/s", name != "redline", detail)
            )
    return out


def cases(ctx: Ctx) -> list[Case | Figure]:
    """The latency cases (timed interleaved by the harness)."""
    raw = RawLookup(ctx.dsn)
    ctx.extra.setdefault("cleanup", []).append(raw.close)
    return list(latency_cases(ctx, raw))


def figures(ctx: Ctx) -> list[Figure]:
    """Throughput, measured after the latency cases (run.py calls it when a module has it)."""
    return throughput(ctx)
