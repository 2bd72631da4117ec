"""The one screening statement against the per-layer queries it replaced, its caches, and
the record being committed before the answer goes out."""

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import shapely
from sqlalchemy import create_engine, text

from app.config import get_settings
from app.screening.coverage import coverage_query
from app.screening.in_force import in_force, search_radius
from app.screening.lookup import look_up
from app.store.catalog_epoch import epoch
from app.store.db import session_scope
from tests.factories import frame, write
from tests.test_screening import circle, edge_site, ref_features, screen

REF = Path(__file__).resolve().parent.parent / "layers" / "data"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


# The per-layer query and the coverage query the statement replaced, kept here only to check it.
_OLD_FIND = text("""
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
_OLD_COVERED = text("""
WITH site AS (SELECT ST_GeomFromWKB(:wkb, 4490) AS g),
pieces AS (
  SELECT row_number() OVER () AS pid, coalesce(f.attributes->>'code', '') AS code,
         ST_Intersection(p.geom, site.g) AS g
  FROM site JOIN feature_part p ON p.version_id = :county AND p.geom && site.g
  JOIN feature f ON f.id = p.feature_id
  WHERE ST_Intersects(p.geom, site.g)
),
sets AS (
  SELECT set_no, prefix
  FROM unnest(CAST(:set_nos AS int[]), CAST(:prefixes AS text[])) AS t(set_no, prefix)
),
hits AS (
  SELECT DISTINCT ON (s.set_no, pc.pid) s.set_no, pc.g
  FROM sets s JOIN pieces pc ON pc.code LIKE s.prefix || '%'
)
SELECT n.set_no,
       CASE WHEN ST_Dimension(site.g) = 2 THEN ST_Area(site.g::geography)
            WHEN ST_Dimension(site.g) = 1 THEN ST_Length(site.g::geography)
            ELSE ST_NPoints(site.g) END AS size,
       (SELECT CASE WHEN ST_Dimension(site.g) = 0 THEN ST_NPoints(ST_Union(h.g))::float
                    WHEN ST_Dimension(site.g) = 2 THEN ST_Area(ST_Union(h.g)::geography)
                    ELSE ST_Length(ST_Union(h.g)::geography) END
        FROM hits h WHERE h.set_no = n.set_no) AS covered
FROM (SELECT DISTINCT set_no FROM sets) n, site
""")


def _old_degrees(radius_m: float, lat: float) -> float:
    return radius_m / (111_000 * max(math.cos(math.radians(abs(lat) + 1)), 0.1)) + 1e-6


def _old_find(session, version_id, sites, radius_m, buffers):
    radii = [radius_m + b if radius_m > 0 else 0.0 for b in buffers]
    lats = [max(abs(s.bounds[1]), abs(s.bounds[3])) for s in sites]
    return session.execute(
        _OLD_FIND,
        {
            "wkbs": [shapely.to_wkb(s) for s in sites],
            "v": version_id,
            "radii": radii,
            "degs": [_old_degrees(r, lat) for r, lat in zip(radii, lats, strict=True)],
        },
    ).all()


_FIGURES = (
    "intersects",
    "is_line",
    "distance_m",
    "overlap_area_m2",
    "overlap_length_m",
    "overlap_points",
    "area_m2",
    "site_dim",
    "site_size",
    "attributes",
)


def _same(new: dict, old) -> None:
    assert new["feature_id"] == old.feature_id
    for key in _FIGURES:
        want = getattr(old, key)
        if isinstance(want, float):
            assert new[key] == pytest.approx(want, rel=1e-9, abs=1e-9), key
            assert isinstance(new[key], float), key
        else:
            assert new[key] == want, key


def _sites() -> list[tuple[shapely.Geometry, float]]:
    """Points, lines, polygons and multipoints across the reference layers, some buffered."""
    _, red = next((p, g) for p, g in ref_features("redline") if "光雾山" in p["name"])
    inside = shapely.point_on_surface(max(shapely.get_parts(red), key=lambda g: g.area))
    partial, _ = edge_site("redline", "米仓山—光雾山水源涵养生态保护红线")
    _, river = next((p, g) for p, g in ref_features("river") if p["name"] == "巴河")
    p = river.interpolate(0.5, normalized=True)
    crossing = shapely.LineString([(p.x - 0.02, p.y - 0.01), (p.x + 0.02, p.y + 0.01)])
    many = shapely.MultiPoint([inside, (106.84, 32.35), (p.x + 0.001, p.y)])
    return [
        (inside, 0.0),
        (shapely.Point(106.84, 32.35), 0.0),
        (partial, 0.0),
        (crossing, 0.0),
        (many, 0.0),
        (shapely.Point(p.x + 0.01, p.y), 500.0),
        (circle(106.84, 32.35, 800, 1000), 200.0),
    ]


def test_the_statement_finds_what_the_per_layer_queries_found(client):
    sites = _sites()
    geoms, buffers = [g for g, _ in sites], [b for _, b in sites]
    with session_scope() as session:
        force = in_force(session, fresh=True)
        looked = look_up(session, geoms, buffers, force.layers)
        compared = 0
        for n, spec in enumerate(force.specs):
            old = _old_find(
                session, force.versions[spec.id].id, geoms, search_radius(spec), buffers
            )
            for i in range(len(geoms)):
                rows = [r for r in old if r.site_no == i + 1]
                new = looked.found[i][n]
                assert [r["feature_id"] for r in new] == [r.feature_id for r in rows], spec.id
                for a, b in zip(new, rows, strict=True):
                    _same(a, b)
                compared += len(rows)
    assert compared > 50  # every relation kind met, not an empty comparison


def _border_circle() -> shapely.Polygon:
    """A 2 km circle on the border of 巴中 (every layer) and 达州 (some layers only)."""

    def counties(region: str) -> shapely.Geometry:
        data = json.loads((REF / region / "admin_county.geojson").read_text(encoding="utf-8"))
        return shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in data["features"]])

    border = shapely.intersection(
        shapely.boundary(counties("bazhong")), shapely.boundary(counties("dazhou"))
    )
    p = shapely.line_interpolate_point(
        max(shapely.get_parts(border), key=lambda g: g.length), 0.5, normalized=True
    )
    return circle(p.x, p.y, 2000, 256)


def _coverage_both_ways(site: shapely.Geometry) -> list[float]:
    """The uncovered share of each coverage set, by the statement and by the old query."""
    with session_scope() as session:
        force = in_force(session, fresh=True)
        query = coverage_query(force.versions, force.specs, site)
        assert query is not None and len(query.sets) >= 2
        new = look_up(session, [], [], [], query).coverage
        old = session.execute(
            _OLD_COVERED,
            {
                "wkb": shapely.to_wkb(site),
                "county": query.county_version_id,
                "set_nos": [i for i, s in enumerate(query.sets) for _ in s],
                "prefixes": [p for s in query.sets for p in s],
            },
        ).all()
    old_by_set = {r.set_no: r for r in old}
    assert [m["set_no"] for m in new] == sorted(old_by_set)
    for m in new:
        want = old_by_set[m["set_no"]]
        assert m["size"] == pytest.approx(want.size, rel=1e-9)
        assert m["covered"] == pytest.approx(want.covered, rel=1e-9)
    return [1 - m["covered"] / m["size"] for m in new]


def test_the_statement_measures_coverage_as_the_coverage_query_did(client):
    # Straddling the edge of the loaded counties: partly covered; inside: wholly.
    assert all(0.2 < share < 0.8 for share in _coverage_both_ways(_border_circle()))
    assert all(share < 1e-9 for share in _coverage_both_ways(circle(106.84, 32.35, 800, 1000)))


def test_a_point_screening_is_one_statement_and_one_insert(client):
    from sqlalchemy import event

    from app.store.db import get_engine

    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    screen(client, geometry={"type": "Point", "coordinates": [106.84, 32.35]})  # caches warm
    event.listen(get_engine(), "before_cursor_execute", note)
    try:
        screen(client, geometry={"type": "Point", "coordinates": [106.84, 32.35]})
    finally:
        event.remove(get_engine(), "before_cursor_execute", note)
    # The key is known to this process (no transaction of its own); the plan setting, the
    # statement, then one statement filing the record with its audit entry: no version,
    # raster or coverage lookups.
    assert seen == ["SET", "WITH", "WITH"], seen


def test_a_screening_is_filed_with_its_audit_entry_and_lz4_results(client):
    body = screen(client, geometry=shapely.geometry.mapping(circle(106.84, 32.35, 300, 400)))
    with session_scope() as session:
        stored = session.execute(
            text(
                "SELECT pg_column_compression(s.result) AS how, a.actor, a.detail, a.request_id "
                "FROM screening s JOIN audit_log a ON a.target = s.id AND a.action = 'screening' "
                "WHERE s.id = :id"
            ),
            {"id": body["id"]},
        ).one()
    assert stored.how == "lz4"  # pglz took three times as long on the answer's path
    assert stored.detail == {"verdict": body["verdict"]} and stored.actor and stored.request_id


# --- the cache is dropped when a version changes ---------------------------------------------

SPOT = (106.9123, 32.2345)  # 巴中, far from other tests' sites


def _parcel(tmp_path: Path, geom: shapely.Geometry, name: str) -> Path:
    return write(frame([geom], names=[name]), tmp_path / f"{name}.geojson")


def _import_here(client, path: Path) -> None:
    with path.open("rb") as fh:
        resp = client.post("/layers/test_parcel/versions", files={"file": (path.name, fh)})
    assert resp.status_code == 201, resp.text


def _test_parcel_finding(result: dict) -> dict | None:
    return next((f for f in result["findings"] if f["layer"] == "test_parcel"), None)


def test_an_import_in_this_process_drops_the_cached_versions(client, tmp_path):
    point = {"type": "Point", "coordinates": list(SPOT)}
    far = shapely.Point(SPOT[0] + 0.3, SPOT[1]).buffer(0.001)
    _import_here(client, _parcel(tmp_path, far, "远处地块"))
    before = screen(client, geometry=point)
    assert _test_parcel_finding(before) is None
    with session_scope() as session:
        cached = in_force(session).versions["test_parcel"].id
    under = shapely.Point(SPOT).buffer(0.002)
    _import_here(client, _parcel(tmp_path, under, "压占地块"))
    with session_scope() as session:
        # The cache itself, not only the statement's check of the versions it used.
        assert in_force(session).versions["test_parcel"].id != cached
    after = screen(client, geometry=point)
    assert after["layer_versions"]["test_parcel"] == before["layer_versions"]["test_parcel"] + 1
    finding = _test_parcel_finding(after)
    assert finding is not None and finding["relation"] == "inside"
    assert finding["name"] == "压占地块"


def test_an_import_in_another_process_drops_the_cached_versions(client, tmp_path):
    point = {"type": "Point", "coordinates": list(SPOT)}
    _import_here(
        client, _parcel(tmp_path, shapely.Point(SPOT[0] + 0.3, SPOT[1]).buffer(0.001), "远处地块")
    )
    before = screen(client, geometry=point)
    assert _test_parcel_finding(before) is None
    with session_scope() as session:
        cached = in_force(session).versions["test_parcel"].id
    moved = epoch()
    assert moved is not None  # this process listens
    path = _parcel(tmp_path, shapely.Point(SPOT).buffer(0.002), "他处导入")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.cli import app; app()",
            "import",
            "test_parcel",
            str(path),
            "--actor",
            "another-process",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    deadline = time.monotonic() + 10
    while epoch() == moved and time.monotonic() < deadline:
        time.sleep(0.01)
    assert epoch() != moved  # the other process's commit was heard (NOTIFY)
    with session_scope() as session:
        assert in_force(session).versions["test_parcel"].id != cached
    after = screen(client, geometry=point)
    assert after["layer_versions"]["test_parcel"] == before["layer_versions"]["test_parcel"] + 1
    assert (_test_parcel_finding(after) or {}).get("name") == "他处导入"


# --- the record is committed before the answer -------------------------------------------------

SLOW = "commit-order-test"


@pytest.fixture
def slow_commit(database):
    """Commits of screenings named SLOW take half a second more (a deferred trigger), so a
    commit made after the response would land well after the client has its answer."""
    engine = create_engine(get_settings().database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION redline_test_slow() RETURNS trigger AS "
                "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(text("DROP TRIGGER IF EXISTS redline_test_slow ON screening"))
        conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER redline_test_slow AFTER INSERT ON screening "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"WHEN (NEW.project_name = '{SLOW}') EXECUTE FUNCTION redline_test_slow()"
            )
        )
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS redline_test_slow ON screening"))
            conn.execute(text("DROP FUNCTION IF EXISTS redline_test_slow()"))
        engine.dispose()


def test_the_record_is_committed_before_the_answer(live_server, admin_headers, slow_commit):
    """Over real HTTP: as soon as the 201 is in, another connection finds the row."""
    with (
        slow_commit.connect() as other,
        httpx.Client(base_url=live_server, headers=admin_headers, timeout=30) as http,
    ):
        other.execute(text("SELECT 1"))  # connected before, so the check costs one round trip
        started = time.monotonic()
        resp = http.post(
            "/screenings",
            json={
                "geometry": {"type": "Point", "coordinates": [106.84, 32.35]},
                "project_name": SLOW,
            },
        )
        found = other.execute(
            text("SELECT count(*) FROM screening WHERE id = :id"), {"id": resp.json()["id"]}
        ).scalar()
        waited = time.monotonic() - started
    assert resp.status_code == 201, resp.text
    assert waited >= 0.5  # the slow commit was waited for: it happened before the answer
    assert found == 1
