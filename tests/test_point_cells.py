"""A point screened from its cell in memory (app.screening.point_cells) files what the one
statement would have filed, reads nothing but the filing, and is never filed against
versions that are no longer active."""

import dataclasses
import re
from collections.abc import Iterator

import numpy as np
import orjson
import pytest
import shapely
from sqlalchemy import Engine, create_engine, event, text

from app.config import get_settings
from app.screening import screen_one
from app.screening.in_force import in_force
from app.screening.point_cells import CELL_DEG, cell_bounds, cell_of, cells
from app.screening.projects import resolve_project
from app.screening.service import ScreeningRequest
from app.screening.site import Site
from app.store.db import session_factory, session_scope
from tests.test_batch_points import _boundary_points, _hole_points, _radius_points

TOLERANCE_M = 0.05


@pytest.fixture
def cells_on(monkeypatch, reference) -> Iterator[None]:
    """Cells held for this test (the suite screens by the statement, REDLINE_POINT_CELLS=0)."""
    monkeypatch.setattr(get_settings(), "point_cells", 64)
    cells.clear()
    yield
    cells.clear()


@pytest.fixture(scope="module")
def points(reference) -> list[shapely.Point]:
    """Random points over 巴中市 and 达州市, on part boundaries, in holes, at the radius."""
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(106.3, 108.2, 60), rng.uniform(31.0, 32.9, 60)])
    with session_scope() as session:
        special = (
            _boundary_points(session, "redline", 6)
            + _boundary_points(session, "township", 4)
            + _hole_points(session)[:6]
            + _radius_points(session)[:8]
        )
    return list(shapely.points(xy)) + special


def _request(point: shapely.Point, category: str) -> ScreeningRequest:
    return ScreeningRequest(Site(point, "EPSG:4490", "GeoJSON", 1), "格网测试", category, 0.0, "t")


def _screened(point: shapely.Point, category: str) -> dict | str:
    """The result as filed (or the refusal), without its id and time."""
    with session_scope() as session:
        try:
            _, body = screen_one.screen_and_file(session, _request(point, category))
        except Exception as exc:  # a site outside the loaded counties: the same refusal
            return f"{type(exc).__name__}: {exc}"
    result = orjson.loads(body)
    del result["id"], result["created_at"]
    return result


def _same(fast, slow, where: str) -> None:
    """Equal, but distances to TOLERANCE_M (and as messages render them, to a decimetre)."""
    if isinstance(slow, dict):
        assert isinstance(fast, dict) and list(fast) == list(slow), where
        for key, value in slow.items():
            if key == "distance_m" and value is not None:
                assert abs(fast[key] - value) <= TOLERANCE_M, (where, fast[key], value)
            else:
                _same(fast[key], value, f"{where}.{key}")
    elif isinstance(slow, list):
        assert isinstance(fast, list) and len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(slow, str):
        masked = re.compile(r"\d+\.\d 米")
        assert masked.sub("# 米", fast) == masked.sub("# 米", slow), where
    else:
        assert fast == slow, (where, fast, slow)


def _hold(points: list[shapely.Point]) -> None:
    """Read the cells of POINTS, and wait until they are held."""
    with session_scope() as session:
        versions = in_force(session).versions
    for p in points:
        cells.screener(versions, p.x, p.y)
    cells.wait()
    assert all(cells.screener(versions, p.x, p.y) is not None for p in points)


@pytest.mark.parametrize("category", ["化工", "工业"])
def test_a_point_from_its_cell_is_filed_as_the_statement_files_it(points, cells_on, category):
    slow = [_screened(p, category) for p in points]  # cells not held yet: the statement
    _hold(points)
    fast = [_screened(p, category) for p in points]
    verdicts = {r["verdict"] for r in slow if isinstance(r, dict)}
    assert "prohibited" in verdicts and len(verdicts) > 1, verdicts  # sites judged apart
    assert sum(isinstance(r, str) for r in slow) < len(points) // 2  # some outside the data
    for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
        _same(a, b, f"site {i} {points[i].wkt}")


def test_a_point_read_from_memory_sends_only_its_filing(client, cells_on):
    site = shapely.Point(106.84, 32.35)
    _hold([site])
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = create_engine(get_settings().database_url)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        resp = client.post(
            "/screenings", json={"geometry": {"type": "Point", "coordinates": [site.x, site.y]}}
        )
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert resp.status_code == 201, resp.text
    assert not any("feature_part" in s or "feature " in s for s in seen), seen
    assert sum("INSERT INTO screening" in s for s in seen) == 1, seen
    with engine.connect() as conn:  # committed before the answer came
        found = conn.execute(
            text("SELECT count(*) FROM screening WHERE id = :id"), {"id": resp.json()["id"]}
        ).scalar()
    engine.dispose()
    assert found == 1


def test_versions_no_longer_active_are_not_filed_from_a_cell(cells_on):
    site = shapely.Point(106.84, 32.35)
    _hold([site])
    req = _request(site, "工业")
    kind = resolve_project("工业", None, None)
    with session_factory()() as session:
        force = in_force(session)
        count = session.execute(text("SELECT count(*) FROM screening")).scalar()
        # An import this process has not heard of yet: the cell it holds is of older versions.
        session.execute(text("UPDATE layer SET active_version_id = NULL WHERE id = 'redline'"))
        assert screen_one._from_cell(session, req, kind, force, None) is None
        assert session.execute(text("SELECT count(*) FROM screening")).scalar() == count
        # The screening then goes by the statement, against the versions in force.
        result, _ = screen_one.screen_and_file(session, req)
        assert "redline" in force.versions and "redline" not in result.layer_versions
        session.rollback()


def test_another_set_of_versions_drops_the_cells_held(cells_on):
    site = shapely.Point(106.84, 32.35)
    _hold([site])
    with session_scope() as session:
        versions = in_force(session).versions
    layer = next(iter(versions))
    other = {**versions, layer: dataclasses.replace(versions[layer], id=-1)}
    assert cells.screener(other, site.x, site.y) is None  # an import: read again
    cells.wait()
    assert cells.screener(versions, site.x, site.y) is None  # the old set's cells are gone


def test_cells_tile_the_plane():
    for x, y in [(106.84, 32.35), (-0.1, -0.1), (180.0, 0.0), (107.0, 32.25)]:
        x0, y0, x1, y1 = cell_bounds(cell_of(x, y))
        assert x0 <= x < x1 and y0 <= y < y1
        assert x1 - x0 == pytest.approx(CELL_DEG)
