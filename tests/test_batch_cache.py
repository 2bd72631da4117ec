"""What a batch computes once and shares (app.screening.batch_cache) equals what each site
computed afresh gives, and a batch screened in the process pool equals one screened in the
worker itself: rows and filed results alike."""

import numpy as np
import orjson
import pytest
import shapely
from sqlalchemy import select

from app.catalog import catalog
from app.screening import batch, batch_pool
from app.screening.batch_cache import BatchCache
from app.screening.batch_judge import LayerJudge, at_distance
from app.screening.batch_points import PointScreener, bounds_of
from app.screening.context import context_of
from app.screening.models import Finding
from app.screening.projects import resolve_project
from app.screening.rules import RuleHit
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


def test_a_batch_screened_in_the_pool_equals_one_screened_here(points, monkeypatch, tmp_path):
    from app.screening.batch_file import SitesFile, write_sites

    geoms = [*points[:40], None, shapely.LineString([(106.8, 31.9), (106.81, 31.91)])]
    sites = batch.BatchSites(geoms, [f"点{i}" for i in range(len(geoms))], {40: "坏行"})
    source = {"batch": "pool-vs-here", "file": "s.csv"}
    monkeypatch.setattr(batch, "POOL_MIN", 10)
    monkeypatch.setattr(batch, "POOL_CHUNK", 9)
    monkeypatch.setattr(batch_pool, "processes", lambda: 2)
    # Queued, as a worker reads it: a sites file (its windows go to the pool as lines).
    queued = SitesFile(write_sites(sites, tmp_path / "job.sites.jsonl", 200))
    try:
        done: list[int] = []
        pooled = batch.screen_batch(queued, "化工", 200, done.append, source=source)
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
    assert again.surveyed(0) is None  # written without a buffer: no survey in it


def test_a_queued_batchs_survey_is_made_when_written_and_read_from_its_header(tmp_path):
    from app.screening.batch_file import SitesFile, write_sites
    from app.screening.batch_input import survey

    sites = batch.BatchSites(
        [shapely.Point(106.81, 31.9), None, shapely.Point(107.2, 32.1), shapely.box(1, 2, 3, 4)],
        list("abcd"),
        {1: "坏行"},
    )
    stored = SitesFile(write_sites(sites, tmp_path / "job.sites.jsonl", 300.0))
    assert stored.surveyed(300.0) == survey(sites, 300.0, 2) == survey(stored, 300.0, 2)
    assert stored.surveyed(300.0)[0] == (106.81, 31.9, 107.2, 32.1)  # the points' extent
    assert stored.surveyed(0.0) is None  # another buffer: surveyed again by its reader
    empty = batch.BatchSites([None], ["x"], {0: "坏行"})
    lines = SitesFile(write_sites(empty, tmp_path / "none.jsonl", 0.0))
    assert lines.surveyed(0.0) == (None, 0.0)  # no point site


def _nearby(spec, feature_id: int, d: float, buffer_m: float) -> dict:
    """A point's figures for a feature D metres away (as app.screening.pointindex makes them)."""
    attributes = {"code": f"图斑{feature_id}", "name": f"要素{feature_id}"}
    figures = {
        "layer": spec.id,
        "layer_title": spec.title_zh,
        "feature_id": feature_id,
        "name": attributes["name"],
        "relation": "nearby",
        "overlap_area_m2": None,
        "overlap_area_ha": None,
        "overlap_area_mu": None,
        "overlap_share": None,
        "overlap_length_m": None,
        "distance_m": d,
        "feature_area_m2": 1000.0,
        "attributes": attributes,
        "site_share": 0.0,
    }
    if buffer_m > 0:
        figures |= {"buffer_m": buffer_m, "within_buffer": 0 < d <= buffer_m}
    return figures


def _with_messages(spec, old: str, new: str):
    """SPEC with OLD replaced by NEW in its rules' messages."""
    rules = [r.model_copy(update={"message": r.message.replace(old, new)}) for r in spec.rules]
    return spec.model_copy(update={"rules": rules})


_DISTANCES = [12.34, 12.36, 250.0, 250.04, 333.35, 499.96, 500.0, 500.01, 730.0, 12.34, 2500.0]


@pytest.mark.parametrize(
    "variant",
    [
        "{distance_m}",  # as the catalog says it: judged once per band, the distance marked
        "{distance_m:.0f}",  # a format spec: the marker carries it
        "{distance_m!r}",  # a conversion: judged afresh for each site
        "{feature_area_m2:{distance_m}}",  # the distance in another's spec: afresh too
    ],
)
@pytest.mark.parametrize(("category", "buffer_m"), [("化工", 0.0), (None, 300.0)])
def test_features_at_other_distances_are_judged_as_afresh(variant, category, buffer_m):
    kind = resolve_project(category, None, None)
    farmland = catalog()["farmland"]
    spec = _with_messages(farmland, "{distance_m}", variant)
    markable = variant in ("{distance_m}", "{distance_m:.0f}")
    assert LayerJudge(spec, kind).markable == markable
    cache = BatchCache({})
    # The same two features at many distances: in and beyond the 500 m band, rounded alike
    # and not, each distance more than once.
    sites = [
        Screened({spec.id: [_nearby(spec, feature, d, buffer_m)]}, [])
        for feature in (1, 2)
        for d in _DISTANCES
    ]
    cache.judge(sites, kind, [spec])
    fresh = [Screened(dict(s.by_layer), []) for s in sites]
    judge(fresh, kind, [spec])
    for i, (a, b) in enumerate(zip(sites, fresh, strict=True)):
        assert _dumped(a.reported) == _dumped(b.reported), i
        assert [f.model_fields_set for f in a.reported] == [
            f.model_fields_set for f in b.reported
        ], i
        assert a.by_category == b.by_category and list(a.by_category) == list(b.by_category), i
    named = {m.message for s in sites for hits in s.by_category.values() for m in hits}
    if category == "化工" and variant == "{distance_m}":
        # Each site's message names its own distance, though judged once per band.
        assert any("（图斑 图斑1）250.0 米" in m for m in named)
        assert any("（图斑 图斑1）333.4 米" in m for m in named)
        kept = [layer._evaluations for layers in cache._layers.values() for layer in layers]
        assert sum(map(len, kept)) < len(sites) / 2


def test_a_finding_at_another_distance_is_its_copy_with_that_distance():
    figures = _nearby(catalog()["farmland"], 7, 120.5, 300.0)
    finding = Finding.of(figures, [RuleHit("r", "attention", "m", "b")])
    moved = at_distance(finding, 99.25)
    expected = finding.model_copy(update={"distance_m": 99.25})
    assert moved == expected and moved.model_fields_set == expected.model_fields_set
    assert moved.model_dump_json(exclude_unset=True) == expected.model_dump_json(exclude_unset=True)
    assert finding.distance_m == 120.5  # the shared one is left as it was
