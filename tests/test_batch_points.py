"""Point sites screened in memory give what the SQL path gives: relations, verdicts, coverage,
and distances within 5 cm of PostGIS geography (the SQL path is the oracle)."""

import re

import numpy as np
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import text

from app.screening.batch_points import PointScreener, bounds_of
from app.screening.coverage import site_coverage
from app.screening.findings import find_many
from app.screening.projects import resolve_project
from app.screening.service import screen_geometries, screened_specs
from app.store.db import session_scope
from app.store.layers import active_versions

GEOD = Geod(ellps="GRS80")
TOLERANCE_M = 0.05


def _boundary_points(session, layer: str, limit: int) -> list[shapely.Point]:
    """Vertices of a layer's parts (on their boundary) and points just inside its holes."""
    rows = session.execute(
        text("""
        SELECT ST_AsBinary(p.geom) FROM feature_part p JOIN layer l
          ON l.active_version_id = p.version_id WHERE l.id = :layer ORDER BY p.id LIMIT :n
        """),
        {"layer": layer, "n": limit},
    ).scalars()
    out = []
    for wkb in rows:
        geom = shapely.from_wkb(bytes(wkb))
        coords = shapely.get_coordinates(geom)
        out += [shapely.Point(c) for c in coords[:: max(1, len(coords) // 3)]]
    return out


def _hole_points(session) -> list[shapely.Point]:
    """A point inside each hole of the water-source zones (outside the zone itself)."""
    rows = session.execute(
        text("""
        SELECT ST_AsBinary(f.geom) FROM feature f JOIN layer l
          ON l.active_version_id = f.version_id
        WHERE l.id = 'water_source' AND ST_NRings(f.geom) > ST_NumGeometries(f.geom)
        """)
    ).scalars()
    out = []
    for wkb in rows:
        for poly in shapely.get_parts(shapely.from_wkb(bytes(wkb))):
            out += [shapely.Polygon(r).point_on_surface() for r in poly.interiors]
    return out


def _radius_points(session) -> list[shapely.Point]:
    """Points 1 cm inside and outside the 1 000 m search radius of sewage outfalls."""
    rows = session.execute(
        text("""
        SELECT ST_X(f.geom), ST_Y(f.geom) FROM feature f JOIN layer l
          ON l.active_version_id = f.version_id WHERE l.id = 'sewage_outfall' LIMIT 10
        """)
    ).all()
    out = []
    for lon, lat in rows:
        for metres in (999.99, 1000.01):
            x, y, _ = GEOD.fwd(lon, lat, 37.0, metres)
            out.append(shapely.Point(x, y))
    return out


@pytest.fixture(scope="module")
def points(reference) -> list[shapely.Point]:
    """Random points over 巴中市, on part boundaries, in holes and at the radius limit."""
    rng = np.random.default_rng(12)
    xy = np.column_stack([rng.uniform(106.3, 107.9, 300), rng.uniform(31.2, 32.9, 300)])
    with session_scope() as session:
        special = (
            _boundary_points(session, "redline", 12)
            + _boundary_points(session, "township", 12)
            + _boundary_points(session, "river", 6)
            + _hole_points(session)
            + _radius_points(session)
        )
    assert len(special) > 60
    return list(shapely.points(xy)) + special


def _same_figures(fast: dict, slow: dict, where: str) -> None:
    """Two findings of one feature: every figure equal, distances to TOLERANCE_M."""
    assert list(fast) == list(slow), where
    for key, expected in slow.items():
        if key == "distance_m":
            assert abs(fast[key] - expected) <= TOLERANCE_M, (where, fast[key], expected)
        else:
            assert fast[key] == expected, (where, key, fast[key], expected)


@pytest.mark.parametrize("buffer_m", [0.0, 300.0])
def test_every_layers_relations_match_the_sql_path(points, buffer_m):
    with session_scope() as session:
        versions = active_versions(session)
        screener = PointScreener(session, versions, bounds_of(points), buffer_m)
        xy = shapely.get_coordinates(np.asarray(points, dtype=object))
        met = 0
        for spec in screened_specs(versions):
            radius = 0.0 if spec.screening_role == "context" else spec.search_radius_m
            version = versions[spec.id].id
            buffers = np.full(len(points), buffer_m)
            fast = screener.index.find(spec, version, xy, radius, buffers)
            slow = find_many(
                session, spec, version, points, [0.0] * len(points), radius, list(buffers)
            )
            for i, (f, s) in enumerate(zip(fast, slow, strict=True)):
                where = f"{spec.id} site {i} {points[i].wkt}"
                assert [x["feature_id"] for x in f] == [x["feature_id"] for x in s], where
                for a, b in zip(f, s, strict=True):
                    _same_figures(a, b, where)
                    met += b["relation"] != "nearby"
        assert met > 100  # the points meet features, not only pass near them


def test_verdicts_and_coverage_match_the_sql_path(points):
    kind = resolve_project("化工", None, None)
    with session_scope() as session:
        versions = active_versions(session)
        screener = PointScreener(session, versions, bounds_of(points), 0.0)
        fast = screener.screen(points, kind, 0.0)
        slow = screen_geometries(session, points, kind, versions, [0.0] * len(points))
        verdicts = set()
        for i, (f, s) in enumerate(zip(fast, slow, strict=True)):
            verdicts.add(s.verdict)
            assert f.verdict == s.verdict, i
            assert f.by_category == s.by_category, i

            def key(x):
                return (x.layer, x.feature_id, x.relation, x.verdict)

            assert sorted(map(key, f.reported)) == sorted(map(key, s.reported)), i
            if s.by_layer.get("admin_county"):
                slow_cover = site_coverage(session, versions, screener.specs, points[i])
                assert [c.model_dump() for c in screener.coverage(f)] == [
                    c.model_dump() for c in slow_cover
                ], i
        assert len(verdicts) >= 2  # sites judged differently, not one verdict everywhere


def _around_features(session, layers: tuple[str, ...], per_layer: int) -> list[shapely.Point]:
    """Points at several distances from a few features of LAYERS: inside and beyond their
    rules' `within_m` bands, several points per feature and band."""
    rows = session.execute(
        text("""
        SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(p.geom, 1)), 1)),
               ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(p.geom, 1)), 1)), l.id
        FROM feature_part p JOIN layer l ON l.active_version_id = p.version_id
        WHERE l.id = ANY(:layers) AND GeometryType(p.geom) IN ('POLYGON', 'MULTIPOLYGON')
        ORDER BY l.id, p.id
        """),
        {"layers": list(layers)},
    ).all()
    out, taken = [], {}
    for lon, lat, layer in rows:
        if taken.get(layer, 0) >= per_layer:
            continue
        taken[layer] = taken.get(layer, 0) + 1
        for azimuth, metres in [
            (10, 60),
            (100, 240),
            (190, 480),
            (280, 520),
            (45, 700),
            (135, 950),
            (225, 1200),
            (315, 2500),
            (20, 240.05),
        ]:
            x, y, _ = GEOD.fwd(lon, lat, azimuth, metres)
            out.append(shapely.Point(x, y))
    return out


_LAYERS_NEAR = ("farmland", "redline", "protected_area", "water_source", "abandoned_mine")


@pytest.fixture(scope="module")
def near_points(reference) -> list[shapely.Point]:
    """Points around features whose rules name the distance, at several distances."""
    with session_scope() as session:
        out = _around_features(session, _LAYERS_NEAR, 4)
    assert len(out) > 100
    return out


def _masked(hits) -> list[tuple[str, str, str]]:
    """Hits with distances in their messages masked (PostGIS measures them a few mm apart)."""
    return [(h.rule_id, h.verdict, re.sub(r"\d+\.\d 米", "# 米", h.message)) for h in hits]


@pytest.mark.parametrize(("category", "buffer_m"), [("化工", 0.0), (None, 300.0), ("采矿", 800.0)])
def test_sites_near_features_are_judged_as_the_sql_path_judges_them(
    near_points, category, buffer_m
):
    kind = resolve_project(category, None, None)
    with session_scope() as session:
        versions = active_versions(session)
        screener = PointScreener(session, versions, bounds_of(near_points), buffer_m)
        fast = screener.screen(near_points, kind, buffer_m)
        again = screener.screen(near_points, kind, buffer_m)  # every evaluation kept now
        slow = screen_geometries(
            session, near_points, kind, versions, [buffer_m] * len(near_points)
        )
    named = 0
    for i, (f, a, s) in enumerate(zip(fast, again, slow, strict=True)):
        assert f.verdict == a.verdict == s.verdict, i
        for mine in (f, a):
            assert [(x.layer, x.feature_id, x.relation, x.verdict) for x in mine.reported] == [
                (x.layer, x.feature_id, x.relation, x.verdict) for x in s.reported
            ], i
            for x, y in zip(mine.reported, s.reported, strict=True):
                assert _masked(x.rules) == _masked(y.rules), i
                assert abs((x.distance_m or 0) - (y.distance_m or 0)) <= TOLERANCE_M, i
            assert {c: _masked(h) for c, h in mine.by_category.items()} == {
                c: _masked(h) for c, h in s.by_category.items()
            }, i
        named += sum(" 米" in h.message for x in f.reported for h in x.rules)
    assert named > 20  # messages naming the site's distance, judged once per band


def test_a_screener_reused_across_buffers_finds_what_a_fresh_one_finds(points):
    kind = resolve_project("化工", None, None)
    with session_scope() as session:
        versions = active_versions(session)
        reused = PointScreener(session, versions, bounds_of(points), 500.0)
        for buffer_m in (300.0, 0.0, 500.0, 0.0):
            fresh = PointScreener(session, versions, bounds_of(points), 500.0)
            mine = reused.screen(points, kind, buffer_m)
            theirs = fresh.screen(points, kind, buffer_m)
            for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                assert repr(a.by_layer) == repr(b.by_layer), (buffer_m, i)
                assert [x.model_dump() for x in a.reported] == [
                    x.model_dump() for x in b.reported
                ], (buffer_m, i)
