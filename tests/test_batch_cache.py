"""What a batch computes once and shares (app.screening.batch_cache) equals what each site
computed afresh gives, and a batch screened in the process pool equals one screened in the
worker itself: rows and filed results alike."""

import numpy as np
import orjson
import pytest
import shapely
from sqlalchemy import select

from app.screening import batch, batch_pool
from app.screening.batch_points import PointScreener, bounds_of
from app.screening.context import context_of
from app.screening.projects import resolve_project
from app.screening.service import (
    Screened,
    ScreeningRequest,
    build_result,
    judge,
    with_conditions,
)
from app.screening.site import Site
from app.store.db import session_scope
from app.store.layers import active_versions
from app.store.models import Screening


@pytest.fixture(scope="module")
def points(reference) -> list[shapely.Point]:
    """Random points over 巴中市 (many in the same township, most far from any finding)."""
    rng = np.random.default_rng(5)
    xy = np.column_stack([rng.uniform(106.4, 107.8, 400), rng.uniform(31.3, 32.8, 400)])
    return list(shapely.points(xy))


@pytest.fixture(scope="module")
def screener(points) -> PointScreener:
    with session_scope() as session:
        return PointScreener(session, active_versions(session), bounds_of(points), 300.0)


def _dumped(findings: list) -> list[dict]:
    return [f.model_dump() for f in findings]


def _kept(cache) -> int:
    """How many layer evaluations the batch cache keeps."""
    return sum(len(layer._evaluations) for layers in cache._layers.values() for layer in layers)


@pytest.mark.parametrize(
    ("category", "buffer_m"), [("化工", 0.0), ("居住", 300.0), (None, 0.0), ("工业", 300.0)]
)
def test_shared_layer_evaluations_equal_fresh_ones(screener, points, category, buffer_m):
    kind = resolve_project(category, None, None)
    before = _kept(screener.cache)
    shared = screener.screen(points, kind, buffer_m)
    fresh = [Screened(dict(s.by_layer), []) for s in shared]
    judge(fresh, kind, screener.specs)  # every layer of every site judged afresh
    for i, (a, b) in enumerate(zip(shared, fresh, strict=True)):
        assert _dumped(a.reported) == _dumped(b.reported), i
        assert a.by_category == b.by_category, i
        assert a.verdict == b.verdict, i
    # Evaluated once per (feature, relation, distance band, kind, plan), not once per site:
    # fewer evaluations kept than half the features judged.
    added = _kept(screener.cache) - before
    judged = sum(len(found) for s in shared for found in s.by_layer.values())
    assert 0 < added < judged / 2, (added, judged)
    assert len({s.verdict for s in fresh}) >= 2  # sites judged differently


@pytest.mark.parametrize("category", ["化工", None])
def test_shared_contexts_equal_fresh_ones(screener, points, category):
    kind = resolve_project(category, None, None)
    before = len(screener.cache._contexts)
    for i, s in enumerate(screener.screen(points, kind, 0.0)):
        fresh = with_conditions(context_of(s.by_layer, "point"), kind)
        assert screener.cache.context(s, kind).model_dump() == fresh.model_dump(), i
    assert 0 < len(screener.cache._contexts) - before < len(points) / 2


def test_a_result_built_with_shared_parts_is_the_one_built_alone(screener, points):
    kind = resolve_project("化工", None, None)
    for point, s in zip(points[:60], screener.screen(points[:60], kind, 0.0), strict=True):
        req = ScreeningRequest(Site(point, "EPSG:4490", "CSV", 1), "厂址", "化工")
        args = (req, kind, s, screener.versions, point, [], {})
        alone = build_result(*args)
        cache = screener.cache
        shared = build_result(*args, None, cache.context(s, kind), cache.filed_versions)
        shared.id, shared.created_at = alone.id, alone.created_at
        assert shared.model_dump_json(exclude_unset=True) == alone.model_dump_json(
            exclude_unset=True
        )


def _filed(batch_id: str) -> dict[str, dict]:
    with session_scope() as session:
        rows = session.execute(
            select(Screening.id, Screening.result).where(
                Screening.inputs["batch"].astext == batch_id
            )
        ).all()
    return {i: {k: v for k, v in r.items() if k != "created_at"} for i, r in rows}


def test_a_batch_screened_in_the_pool_equals_one_screened_here(points, monkeypatch):
    geoms = [*points[:40], None, shapely.LineString([(106.8, 31.9), (106.81, 31.91)])]
    sites = batch.BatchSites(geoms, [f"点{i}" for i in range(len(geoms))], {40: "坏行"})
    source = {"batch": "pool-vs-here", "file": "s.csv"}
    monkeypatch.setattr(batch, "POOL_MIN", 10)
    monkeypatch.setattr(batch, "POOL_CHUNK", 9)
    monkeypatch.setattr(batch_pool, "processes", lambda: 2)
    try:
        done: list[int] = []
        pooled = batch.screen_batch(sites, "化工", 200, done.append, source=source)
        assert done == [9, 18, 27, 36, 42]
        filed_pooled = _filed("pool-vs-here")
        monkeypatch.setattr(batch, "POOL_MIN", 10_000)
        here = batch.screen_batch(sites, "化工", 200, source=source)
    finally:
        batch_pool.discard()
    screened = [r["screening_id"] for r in pooled if r["verdict"] != "error"]
    assert len(screened) > 20 and sorted(filed_pooled) == sorted(screened)
    assert _filed("pool-vs-here") == filed_pooled
    for a, b in zip(pooled, here, strict=True):
        a.pop("created_at"), b.pop("created_at")
        assert orjson.dumps(a) == orjson.dumps(b)
    assert pooled[40]["verdict"] == "error" and "第 41 行" in pooled[40]["problem"]


def test_a_window_of_a_batch_keeps_its_row_numbers():
    sites = batch.BatchSites(
        [shapely.Point(106.8, 31.9)] * 5, list("abcde"), {3: "坏行"}, source_crs="EPSG:4326"
    )
    part = sites.window(2, 5)
    assert part.offset == 2 and part.label(3) == "d" and part.problems == {3: "坏行"}
    assert part.geometry(4) is sites.geometry(4) and part.source_crs == "EPSG:4326"


def test_a_queued_batchs_sites_file_reads_back_window_by_window(tmp_path):
    from app.screening.batch import read_sites
    from app.screening.batch_file import SitesFile, write_sites

    path = tmp_path / "s.csv"
    path.write_text(
        "name,lon,lat,项目类别,缓冲距离（米）\n"
        "甲,106.712345678901,31.9,化工,\n乙,,31.8,,\n丙,999,1,,\n丁,106.8,31.85,居住,300\n"
        "戊,106.81,31.86,,\n",
        encoding="utf-8",
    )
    sites = read_sites(path, None, None)
    assert sites.problems and sites.fields
    stored = SitesFile(write_sites(sites, tmp_path / "job.sites.jsonl"))
    assert stored.total == 5 and stored.source_crs == sites.source_crs
    assert list(stored.windows(2)) == list(sites.windows(2))
    assert [w.offset for w in stored.windows(2)] == [0, 2, 4]
    plain = batch.BatchSites([shapely.Point(106.8, 31.9)] * 3, list("abc"), {})
    again = SitesFile(write_sites(plain, tmp_path / "plain.sites.jsonl"))
    assert list(again.windows(5)) == [plain] and next(again.windows(5)).row(1).name is None
