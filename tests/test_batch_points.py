"""Point sites screened in memory give what the SQL path gives: relations, verdicts, coverage,
and distances within 5 cm of PostGIS geography (the SQL path is the oracle)."""

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
