"""Batch jobs on the procrastinate queue: worker processes apart from the API, a job that
outlives an API restart, and a worker that dies mid-job (requeued, or failed cleanly)."""

import dataclasses
import datetime as dt
import json
import signal
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import get_settings
from app.queue import queued_job
from app.screening.batch_jobs import SYNC_SITES
from app.store.db import session_scope
from app.store.models import Job
from tests.queue_workers import InProcessWorker, worker_process
from tests.test_batch import sites_csv

LEASE_S = "3"  # the subprocess workers' lease: a dead one is noticed within seconds


def submit(api: TestClient, n: int = SYNC_SITES + 1) -> str:
    resp = api.post("/screenings/batch", files={"file": ("s.csv", sites_csv(n))})
    assert resp.status_code == 202, resp.text
    return resp.json()["id"]


def wait_for(api: TestClient, job_id: str, *statuses: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never became {statuses}: {job}")


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_a_job_waits_for_a_worker_and_outlives_an_api_restart(database, admin_headers):
    from app.api.main import create_app

    with TestClient(create_app(), headers=admin_headers) as api:
        job_id = submit(api)
        time.sleep(0.5)
        assert api.get(f"/jobs/{job_id}").json()["status"] == "queued"  # no worker runs
    assert queued_job(job_id).status == "todo"
    # A new API process: its start-up leaves the queued job alone.
    with TestClient(create_app(), headers=admin_headers) as api:
        assert api.get(f"/jobs/{job_id}").json()["status"] == "queued"
        worker = worker_process(REDLINE_JOB_LEASE_S=LEASE_S)  # `redline worker`
        try:
            job = wait_for(api, job_id, "done", "failed")
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(20) == 0  # a stopped worker shuts down cleanly
        assert job["status"] == "done" and job["done"] == job["total"] == SYNC_SITES + 2
        rows = json.loads(api.get(job["links"]["result"]).content)
        assert len(rows) == SYNC_SITES + 2
    assert queued_job(job_id) is None  # the queue forgets finished work; the job row stays


def test_a_worker_killed_mid_job_puts_it_back_and_another_finishes_it(client):
    dying = worker_process(hold_s=60, REDLINE_JOB_LEASE_S=LEASE_S)
    try:
        job_id = submit(client)
        running = wait_for(client, job_id, "running")
        with session_scope() as session:
            assert session.get(Job, job_id).owner.split()[1] == str(dying.pid)
    finally:
        kill(dying)
    # The owner's pid is gone on this host: the next poll puts the job back on the queue.
    assert running["status"] == "running"
    again = client.get(f"/jobs/{job_id}").json()
    assert again["status"] == "queued" and again["done"] == 0, again
    assert queued_job(job_id).status == "todo" and queued_job(job_id).attempts == 1
    other = InProcessWorker().start()
    try:
        job = wait_for(client, job_id, "done", "failed")
    finally:
        other.stop()
    assert job["status"] == "done" and job["error"] is None, job
    assert len(json.loads(client.get(job["links"]["result"]).content)) == SYNC_SITES + 2


def test_a_job_whose_worker_falls_silent_fails_cleanly_once_its_attempts_are_spent(
    client, monkeypatch
):
    monkeypatch.setattr(get_settings(), "job_attempts", 1)  # no second run
    silent = worker_process(hold_s=60, REDLINE_JOB_LEASE_S=LEASE_S)
    try:
        job_id = submit(client)
        wait_for(client, job_id, "running")
        # As if its worker ran on another machine (no pid to check): only the lease tells.
        with session_scope() as session:
            session.get(Job, job_id).owner = "another-host 1 1"
    finally:
        kill(silent)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "running"  # the lease still holds
    with session_scope() as session:
        lease_until = session.get(Job, job_id).lease_until
    assert lease_until <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(LEASE_S))
    time.sleep(max(0.0, (lease_until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"]["title"] == "Interrupted", job
    detail = job["error"]["detail"]
    assert "请重新提交" in detail and "submit the batch again" in detail
    assert job["finished_at"] is not None
    assert client.get(f"/jobs/{job_id}/result").status_code == 409
    # Its queue entry is not left "doing": the next worker takes it and finds it finished.
    drain = InProcessWorker().start()
    try:
        for _ in range(100):
            if queued_job(job_id) is None:
                break
            time.sleep(0.1)
    finally:
        drain.stop()
    assert queued_job(job_id) is None
    assert client.get(f"/jobs/{job_id}").json()["status"] == "failed"


def test_the_queue_carries_the_sites_exactly(tmp_path: Path):
    from app.screening.batch import read_sites
    from app.screening.batch_input import RowFields
    from app.screening.batch_jobs import pack_sites, unpack_sites

    path = tmp_path / "s.csv"
    path.write_bytes(sites_csv(5) + "坏行,999,1\n工地x,106.712345678901,31.9\n".encode())
    sites = read_sites(path, None, None)
    assert sites.problems and sites.fields and len(sites.geometries) == 8
    back = unpack_sites(json.loads(json.dumps(pack_sites(sites))))
    assert back == sites
    # The queue stores the arguments as JSONB, which orders keys its own way.
    packed = pack_sites(sites)
    packed["columns"] = dict(reversed(packed["columns"].items()))
    assert unpack_sites(packed) == sites
    # Rows without project cells travel without them, and read back as empty.
    plain = dataclasses.replace(sites, fields=[RowFields(name=None)] * 8)
    assert pack_sites(plain)["columns"] == {}
    assert unpack_sites(pack_sites(plain)).row(3) == RowFields()
    # An entry queued in the earlier form (a dict per row) is still read.
    old = pack_sites(sites) | {"fields": [dataclasses.asdict(f) for f in sites.fields]}
    assert unpack_sites(old) == sites


def test_a_queued_job_that_never_reached_the_queue_fails_after_a_lease(database):
    """The API died between filing the job and queueing it: no worker will ever take it."""
    from app.store.jobs import create_job, get_job

    lease = dt.timedelta(seconds=get_settings().job_lease_s)
    with session_scope() as session:
        old, young = (create_job(session, "screening-batch", 300, {}) for _ in range(2))
        old.created_at = dt.datetime.now(dt.UTC) - lease - dt.timedelta(seconds=1)
        ids = old.id, young.id
    with session_scope() as session:
        assert get_job(session, ids[0]).status == "failed"
        assert get_job(session, ids[1]).status == "queued"  # its deferral may be under way


def test_a_job_whose_worker_failed_before_claiming_it_goes_back_on_the_queue(client):
    from sqlalchemy import text

    job_id = submit(client)  # no worker runs: it waits in the queue
    entry = queued_job(job_id)
    lease = dt.timedelta(seconds=get_settings().job_lease_s)
    with session_scope() as session:
        # As if a worker took it a lease ago and failed before claiming the job row.
        session.execute(
            text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"), {"id": entry.id}
        )
        job = session.get(Job, job_id)
        job.created_at = dt.datetime.now(dt.UTC) - lease - dt.timedelta(seconds=1)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"
    again = queued_job(job_id)
    assert (again.id, again.status, again.attempts) == (entry.id, "todo", 1)
    with session_scope() as session:
        session.get(Job, job_id).status = "failed"  # not for later tests' workers to screen


def test_a_job_a_live_worker_has_just_taken_is_left_to_it(client):
    """Queued longer than a lease (a backlog), then taken by a worker that has not claimed the
    job row yet: a poll in that moment leaves it alone while the worker's heartbeat is fresh,
    and puts it back on the queue once the heartbeat is older than a lease."""
    from sqlalchemy import text

    job_id = submit(client)  # no worker runs: it waits in the queue
    entry = queued_job(job_id)
    lease_s = get_settings().job_lease_s
    with session_scope() as session:
        worker_id = session.execute(
            text("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
        ).scalar_one()
        session.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE id = :id"),
            {"id": entry.id, "w": worker_id},
        )
        job = session.get(Job, job_id)
        job.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2 * lease_s)
    try:
        assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"
        taken = queued_job(job_id)
        assert (taken.status, taken.attempts, taken.worker_alive) == ("doing", 0, True)
        with session_scope() as session:  # the worker fell silent a lease ago
            session.execute(
                text(
                    "UPDATE procrastinate_workers SET last_heartbeat = now() - "
                    "make_interval(secs => :s) WHERE id = :w"
                ),
                {"s": lease_s + 1, "w": worker_id},
            )
        assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"
        again = queued_job(job_id)
        assert (again.id, again.status, again.attempts) == (entry.id, "todo", 1)
    finally:
        with session_scope() as session:
            session.get(Job, job_id).status = "failed"  # not for later tests' workers to screen
            session.execute(
                text("DELETE FROM procrastinate_workers WHERE id = :w"), {"w": worker_id}
            )
