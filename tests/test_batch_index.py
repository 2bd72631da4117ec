"""A batch of points reuses the point index an earlier batch built while it serves: the
same active versions, points within its bounds, no wider buffer. A new version of any layer,
points elsewhere or a wider buffer build a new one, and what is screened is always the data
in force."""

import gc
import os
import subprocess
import sys
import time

import pytest
import shapely

from app.screening import batch, batch_index, batch_pool
from tests.factories import SQUARE, SQUARE_B, frame, write

INSIDE = shapely.Point(106.75, 31.85)  # in SQUARE
NEAR = [shapely.Point(106.752, 31.851), shapely.Point(106.748, 31.849)]


def _parcel_rows(rows: list[dict]) -> list[tuple[float, float | None]]:
    return [(r["test_parcel_overlap_m2"], r["test_parcel_distance_m"]) for r in rows]


def _screen(points: list[shapely.Point], buffer_m: float = 0.0) -> list[dict]:
    sites = batch.BatchSites(points, [f"点{i}" for i in range(len(points))], {})
    return batch.screen_batch(sites, "工业", buffer_m)


def _import(client, tmp_path, square: shapely.Polygon) -> None:
    path = write(frame([square]), tmp_path / "parcels.geojson")
    with path.open("rb") as fh:
        resp = client.post("/layers/test_parcel/versions", files={"file": (path.name, fh)})
    assert resp.status_code == 201


@pytest.fixture
def serving(monkeypatch):
    """This process screens batches, as a job worker does (`redline worker`)."""
    monkeypatch.setattr(batch_pool, "_serving", True)


def test_a_later_batch_reuses_the_index_only_while_it_serves(client, reference, tmp_path, serving):
    _import(client, tmp_path, SQUARE)
    first = _screen([INSIDE, *NEAR])
    index = batch_index.kept["points"]
    assert [r["hit_layers"].split(";").count("test_parcel") for r in first] == [1, 1, 1]

    again = _screen(NEAR)  # inside the first batch's bounds
    assert batch_index.kept["points"] is index
    assert [r["verdict"] for r in again] == [r["verdict"] for r in first[1:]]

    _screen([INSIDE, shapely.Point(106.9, 32.0)])  # beyond them
    assert batch_index.kept["points"] is not index
    index = batch_index.kept["points"]
    _screen([INSIDE], buffer_m=500)  # a wider search
    assert batch_index.kept["points"] is not index

    _import(client, tmp_path, SQUARE_B)  # a new version: the parcel is elsewhere now
    index = batch_index.kept["points"]
    moved = _screen([INSIDE])
    assert batch_index.kept["points"] is not index
    assert "test_parcel" not in moved[0]["hit_layers"].split(";")
    assert moved[0]["test_parcel_distance_m"] is None or moved[0]["test_parcel_distance_m"] > 0


def test_batch_processes_collect_rarely_and_never_scan_the_index(serving, monkeypatch):
    gc.unfreeze()
    _screen([shapely.Point(107.1, 31.7)])  # beyond every earlier batch: a new index
    assert gc.get_freeze_count() > 10_000  # the index, out of every collection from now on
    monkeypatch.setattr(batch_pool, "processes", lambda: 2)
    try:
        thresholds = batch_pool.executor().submit(gc.get_threshold).result(timeout=60)
    finally:
        batch_pool.discard()
    assert thresholds == batch_pool.GC_THRESHOLDS


def test_an_api_process_keeps_no_index_after_a_small_batch(client):
    index = batch_index.kept.get("points")
    gc.unfreeze()
    resp = client.post(
        "/screenings/batch",
        files={"file": ("s.csv", "name,lon,lat\n甲,106.75,31.85\n乙,106.9,32.1\n".encode())},
        data={"project_category": "工业"},
    )
    assert resp.status_code == 200 and len(resp.json()) == 2  # answered at once
    assert batch_index.kept.get("points") is index and gc.get_freeze_count() == 0


def test_a_worker_starts_its_pool_before_the_first_batch(monkeypatch):
    monkeypatch.setattr(batch_pool, "processes", lambda: 2)
    batch_pool.discard()
    try:
        batch_pool.start()  # what `redline worker` does at its start; returns at once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # The executor's own table of its running processes (no public accessor).
            pool = batch_pool._pool
            running = [] if pool is None else list((pool._processes or {}).values())
            if len(running) == 2 and all(p.is_alive() for p in running):
                break
            time.sleep(0.05)
        assert len(running) == 2, running
    finally:
        batch_pool.discard()


_OWNER = """
import os, sys, time
from app.screening import batch_pool
pool = batch_pool.executor()
for future in [pool.submit(os.getpid) for _ in range(batch_pool.processes())]:
    future.result()
print(" ".join(str(pid) for pid in pool._processes), flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether PID runs (a zombie left for a parent that does not reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_pool_ends_with_a_worker_killed_outright(database: None) -> None:
    env = {**os.environ, "REDLINE_BATCH_PROCESSES": "2"}
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(_running(p) for p in pids), pids
    finally:
        owner.kill()  # SIGKILL: no exit handler of the owner runs
        owner.wait()
    deadline = time.monotonic() + 30
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(p) for p in pids), "the pool outlived its worker"
