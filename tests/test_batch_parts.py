"""A batch's rows are filed with what they share stored once (app.screening.filed_parts,
migration 0015), and every reader gets each whole result back: equal to the result encoded
whole, for point sites and the others alike."""

import numpy as np
import orjson
import pytest
import shapely
from sqlalchemy import func, select, text

from app.screening import batch, batch_index, batch_pool, filing
from app.screening.filed_parts import PartEncoder
from app.screening.models import ScreeningResult
from app.store.db import session_scope
from app.store.models import Screening, ScreeningPart


@pytest.fixture(scope="module")
def filed(reference) -> dict[str, dict]:
    """A batch of points (random, some in the same township) and one line and one polygon,
    screened with a buffer: each filed screening's result, encoded whole."""
    rng = np.random.default_rng(12)
    xy = np.column_stack([rng.uniform(106.5, 107.5, 120), rng.uniform(31.5, 32.6, 120)])
    geoms = [
        *shapely.points(xy),
        shapely.LineString([(106.75, 31.85), (106.78, 31.87)]),
        shapely.box(106.74, 31.84, 106.75, 31.85),
    ]
    whole: dict[str, dict] = {}
    original = filing.file_screenings

    def keep(session, results, *args):  # type: ignore[no-untyped-def]
        for _, res in results:
            # A point's result is filed from its fields, never validated as a model: here
            # it is, as a single screening's would be.
            model = ScreeningResult(**res) if isinstance(res, dict) else res
            whole[model.id] = orjson.loads(model.model_dump_json(exclude_unset=True))
        return original(session, results, *args)

    sites = batch.BatchSites(geoms, [f"点{i}" for i in range(len(geoms))], {})
    mp = pytest.MonkeyPatch()
    mp.setattr(batch, "file_screenings", keep)
    try:
        batch.screen_batch(sites, "工业", 300, source={"batch": "parts-test", "file": "p.csv"})
        # No category: judged as every category (per-category verdicts), no buffer.
        batch.screen_batch(sites, None, 0, source={"batch": "parts-all", "file": "p.csv"})
    finally:
        mp.undo()
    return whole


def _strict(value: dict) -> bytes:
    """VALUE as JSON with sorted keys: equal only if equal in types too (1.0 is not 1)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def test_every_reader_gets_the_whole_result_back(filed):
    with session_scope() as session:
        rows = session.scalars(select(Screening).where(Screening.id.in_(filed))).all()
        assert len(rows) == len(filed) > 180  # some lie outside the loaded counties
        assert sum("by_category" in r.result for r in rows) > 90
        for row in rows:
            assert _strict(row.result) == _strict(filed[row.id]), row.id
            assert "$parts" in row.filed_result


def test_what_sites_share_is_stored_once(filed):
    ids = list(filed)
    with session_scope() as session:
        held, read = session.execute(
            text(
                "SELECT sum(length(result::jsonb::text)), "
                "sum(length(screening_result(result)::text)) "
                "FROM screening WHERE id = ANY(:ids)"
            ),
            {"ids": ids},
        ).one()
        refs = session.scalars(
            text(
                "SELECT r.value FROM screening, jsonb_each_text(result::jsonb -> '$parts') AS r "
                "WHERE id = ANY(:ids) UNION ALL "
                "SELECT f ->> '$part' FROM screening, "
                "jsonb_array_elements(result::jsonb -> 'findings') f "
                "WHERE id = ANY(:ids) AND f ? '$part'"
            ),
            {"ids": ids},
        ).all()
        stored = session.scalar(select(func.count()).where(ScreeningPart.id.in_(set(refs))))
    assert held < read / 2.5  # the rows hold a fraction of what they read back
    # One part, many rows (the features near these scattered sites are shared by fewer).
    assert stored == len(set(refs)) < len(refs) / 2


def test_a_finding_is_filed_as_a_part_with_only_the_sites_own_figures_beside_it():
    from app.screening.models import Finding
    from app.screening.rules import RuleHit

    def finding(distance: float, share: float | None = None, ruled: bool = False) -> Finding:
        hits = [RuleHit("r1", "restricted", f"距红线 {distance} 米", "依据")] if ruled else []
        return Finding(
            layer="redline",
            layer_title="生态保护红线",
            feature_id=1,
            name="甲",
            relation="inside" if not distance else "nearby",
            overlap_area_m2=None,
            overlap_share=share,
            overlap_length_m=None,
            distance_m=distance,
            attributes={"名称": "甲"},
            rules=hits,
            verdict=hits[0].verdict if hits else "clear",
        )

    encoder = PartEncoder()
    inside, overlapping = finding(0.0), finding(0.0, 0.5)
    assert encoder._finding(inside).startswith(b'{"$part":')
    assert encoder._finding(inside) == encoder._finding(inside) and len(encoder.parts) == 1
    # Near a feature: the part without the distance, shared; the distance the row's own.
    near, nearer = encoder._finding(finding(125.5)), encoder._finding(finding(80.25))
    assert orjson.loads(near)["distance_m"] == 125.5 and set(orjson.loads(near)) == {
        "$part",
        "distance_m",
    }
    assert orjson.loads(nearer)["$part"] == orjson.loads(near)["$part"]
    assert "distance_m" not in orjson.loads(encoder.parts[orjson.loads(near)["$part"]])
    assert len(encoder.parts) == 2
    # A rule's message may name the distance, and an overlap is the site's own: in full.
    assert orjson.loads(encoder._finding(finding(60.0, ruled=True)))["rules"][0]["message"]
    assert orjson.loads(encoder._finding(overlapping))["overlap_share"] == 0.5
    assert len(encoder.parts) == 2


def test_screenings_filed_whole_read_back_unchanged(client, admin_headers):
    made = client.post(
        "/screenings",
        json={
            "geometry": {"type": "Point", "coordinates": [106.75, 31.85]},
            "project_category": "工业",
        },
        headers=admin_headers,
    )
    assert made.status_code == 201
    with session_scope() as session:
        row = session.get(Screening, made.json()["id"])
        assert "$parts" not in row.filed_result and row.result == row.filed_result


def test_a_batchs_rows_are_filed_under_neighbouring_ids_of_its_own():
    from app.screening.filing import screening_id

    ids = [screening_id("job-a", row) for row in range(1, 100_001)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # in row order, each its own
    assert {i[:16] for i in ids} == {ids[0][:16]} and all(len(i) == 22 for i in ids)
    assert screening_id("job-b", 1)[:16] != ids[0][:16]  # another batch, another prefix
    assert screening_id("job-a", 7) == ids[6]  # the same on every run of the job


def _plan(batch_id: str) -> "batch._Plan":
    """What a pool process is sent for a batch of points in 巴中市 (category 工业, no buffer)."""
    from app.store.layers import active_versions

    with session_scope() as session:
        versions = active_versions(session)
        partial = batch._partial(session, versions)
    return batch._Plan(
        tuple(v.id for v in versions.values()),
        partial,
        (106.5, 31.5, 107.5, 32.6),
        0.0,
        "工业",
        0.0,
        {"actor": "tests", "source": {"batch": batch_id, "file": "p.csv"}},
    )


def test_a_batchs_later_chunks_look_up_only_the_parts_new_to_it(reference, monkeypatch):
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(106.5, 107.5, 90), rng.uniform(31.5, 32.6, 90)])
    sites = batch.BatchSites(list(shapely.points(xy)), [f"点{i}" for i in range(90)], {})
    asked: list[int] = []
    real = filing._unfiled

    def counted(cursor, ids):  # type: ignore[no-untyped-def]
        asked.append(len(ids))
        return real(cursor, ids)

    monkeypatch.setattr(filing, "_unfiled", counted)
    windows = list(sites.windows(30))
    rows = {}
    for window in windows:  # as one pool process screens a batch's chunks
        rows.update(batch.screen_window(_plan("known-parts-a"), window))
    first, *later = asked
    # Every part of the first chunk is looked up; of the later ones, only those new to it.
    encoder_parts = len(batch._memory[0].known)
    assert first > 30 and all(n < first for n in later) and encoder_parts > sum(asked) / 2
    # Another batch starts afresh (a batch's memory ends with the next batch).
    batch.screen_window(_plan("known-parts-b"), windows[1])
    assert asked[-1] > later[0] and [m.batch for m in batch._memory] == ["known-parts-b"]
    # What was not looked up again is filed: every row reads back whole.
    with session_scope() as session:
        results = session.scalars(
            select(Screening.result).where(
                Screening.id.in_([r["screening_id"] for r in rows.values()])
            )
        ).all()
    assert len(results) == sum(r["screening_id"] is not None for r in rows.values()) > 60
    parts_left = [f for r in results for f in r["findings"] if "$part" in f]
    assert not parts_left and all("layer" in f for r in results for f in r["findings"])


def test_a_chunk_not_committed_leaves_its_parts_unknown(reference, monkeypatch):
    from contextlib import contextmanager

    plan = _plan("known-parts-failed")
    versions, points = batch._versions_of(plan)
    sites = batch.BatchSites([shapely.Point(106.75, 31.85)], ["甲"], {})
    _, _, filed = batch._screen_window(sites, plan, versions, points)

    @contextmanager
    def commit_fails():  # type: ignore[no-untyped-def]
        with session_scope() as session:  # rolled back by the error below
            yield session
            raise RuntimeError("the commit failed")

    monkeypatch.setattr(batch, "session_scope", commit_fails)
    memory = batch.BatchMemory("known-parts-failed")
    with pytest.raises(RuntimeError, match="commit failed"):
        batch._file(filed, [], memory)
    assert not memory.known


@pytest.mark.parametrize("limit", [batch.ENCODER_LIMIT, 0])
def test_a_batchs_chunks_encode_what_they_share_once(reference, monkeypatch, limit):
    from app.screening import filed_parts

    rng = np.random.default_rng(11)
    xy = np.column_stack([rng.uniform(106.5, 107.5, 30), rng.uniform(31.5, 32.6, 30)])
    points = list(shapely.points(xy))
    sites = batch.BatchSites(points * 3, [f"点{i}" for i in range(90)], {})
    hashed: list[int] = []
    real = filed_parts.part_id

    def counted(body: bytes) -> str:
        hashed[-1] += 1
        return real(body)

    monkeypatch.setattr(filed_parts, "part_id", counted)
    monkeypatch.setattr(batch, "ENCODER_LIMIT", limit)
    # As in a pool's process: the point index, and what its cache shares, kept from one
    # chunk to the next.
    monkeypatch.setattr(batch_pool, "_serving", True)
    monkeypatch.setattr(batch_index, "kept", {})
    plan = _plan(f"encoded-once-{limit}")
    rows = {}
    for window in sites.windows(30):  # the same 30 points in each chunk
        hashed.append(0)
        rows.update(batch.screen_window(plan, window))
    batch_pool.release_built()  # the index frozen out of collections, as a pool's is
    first, *later = hashed
    if limit:  # the batch's encoder: what the first chunk encoded is not encoded again
        assert first > 30 and later == [0, 0]
    else:  # an encoder full at every chunk is replaced: each encodes its parts anew
        assert first > 30 and later == [first, first]
    with session_scope() as session:
        results = session.scalars(
            select(Screening.result).where(
                Screening.id.in_([r["screening_id"] for r in rows.values() if r["screening_id"]])
            )
        ).all()
    # Rows of a later chunk read back as those of the first: the parts they refer to are filed.
    same = {orjson.dumps(r["findings"], option=orjson.OPT_SORT_KEYS) for r in results}
    assert len(results) == 3 * len(same) and not any("$part" in str(r) for r in results)
