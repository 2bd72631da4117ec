"""Waiting for a job to move (`GET /jobs/{id}?wait=`): woken by the job's NOTIFY as soon as its
status or progress changes, never held past `wait`, bounded in length and in number."""

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.api.routes import jobs as jobs_route
from app.store import job_events
from app.store.db import session_scope
from tests.test_jobs_queue import submit


@pytest.fixture
def heard_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting requests re-read the job only when its notification wakes them."""
    monkeypatch.setattr(job_events, "RECHECK_S", 120.0)
    monkeypatch.setattr(jobs_route, "_UNHEARD_RECHECK_S", 120.0)


@pytest.fixture
def job_id(client) -> Iterator[str]:
    """A batch job left queued (no worker runs); failed afterwards, so no later worker runs it."""
    found = submit(client)
    yield found
    with session_scope() as session:
        session.execute(
            text("UPDATE job SET status = 'failed' WHERE id = :id AND status = 'queued'"),
            {"id": found},
        )


def _later(delay: float, sql: str, **params: object) -> threading.Thread:
    """Run one UPDATE on the job table from another connection after `delay` seconds."""

    def run() -> None:
        time.sleep(delay)
        with session_scope() as session:
            session.execute(text(sql), params)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_waiting_request_answers_as_soon_as_the_job_progresses(client, job_id, heard_only):
    assert client.get(f"/jobs/{job_id}").json()["done"] == 0
    mover = _later(0.5, "UPDATE job SET done = 7 WHERE id = :id", id=job_id)
    started = time.monotonic()
    resp = client.get(f"/jobs/{job_id}", params={"wait": 25})
    elapsed = time.monotonic() - started
    mover.join()
    assert resp.status_code == 200, resp.text
    assert resp.json()["done"] == 7 and resp.json()["status"] == "queued"
    assert elapsed < 25  # woken by the change, not by the end of the wait


def test_a_waiting_request_answers_when_the_job_ends(client, job_id, heard_only):
    mover = _later(
        0.5,
        "UPDATE job SET status = 'failed', error = CAST(:e AS jsonb) WHERE id = :id",
        id=job_id,
        e='{"title": "stopped by the test"}',
    )
    started = time.monotonic()
    resp = client.get(f"/jobs/{job_id}", params={"wait": 25})
    assert time.monotonic() - started < 25  # woken by the change, not by the end of the wait
    mover.join()
    assert resp.json()["status"] == "failed"
    assert resp.json()["error"] == {"title": "stopped by the test"}
    # A finished job is answered at once, however long the client would wait.
    started = time.monotonic()
    assert client.get(f"/jobs/{job_id}", params={"wait": 25}).json()["status"] == "failed"
    assert time.monotonic() - started < 25


def test_a_job_that_does_not_move_is_answered_when_the_wait_ends(client, job_id):
    # A lease renewal is no change: it does not wake the request.
    renew = _later(0.1, "UPDATE job SET lease_until = now() WHERE id = :id", id=job_id)
    started = time.monotonic()
    resp = client.get(f"/jobs/{job_id}", params={"wait": 0.8})
    renew.join()
    assert resp.status_code == 200
    assert resp.json()["status"] == "queued" and resp.json()["done"] == 0
    assert time.monotonic() - started >= 0.8


def test_no_more_than_the_set_number_of_requests_wait(client, job_id, monkeypatch, heard_only):
    monkeypatch.setattr(job_events, "MAX_WAITERS", 0)
    started = time.monotonic()
    resp = client.get(f"/jobs/{job_id}", params={"wait": 25})
    assert resp.status_code == 200 and resp.json()["status"] == "queued"
    assert time.monotonic() - started < 25  # answered at once: too many wait already


@pytest.mark.parametrize("wait", ["-1", "31", "soon", "nan"])
def test_a_wait_out_of_bounds_is_refused(client, job_id, wait):
    resp = client.get(f"/jobs/{job_id}", params={"wait": wait})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "wait" in resp.text


def test_someone_elses_job_is_not_found_however_long_one_waits(client, client_as, job_id):
    # The job is the admin's.
    resp = client_as("officer").get(f"/jobs/{job_id}", params={"wait": 5})
    assert resp.status_code == 404


def test_a_jobs_progress_is_written_at_most_every_half_second(database, monkeypatch):
    """A batch's chunks end every 0.15 s; each progress write wakes every waiting request."""
    from app.store import jobs
    from app.store.db import session_scope as scope
    from app.store.models import Job

    now = [100.0]
    monkeypatch.setattr(jobs, "_clock", lambda: now[0])
    with scope() as session:
        job_id = jobs.create_job(session, "screening-batch", 6000, {}).id
    seen: list[int] = []

    def work(progress):  # type: ignore[no-untyped-def]
        for done in range(1000, 7000, 1000):  # a chunk every 0.2 s
            progress(done)
            with scope() as session:
                seen.append(session.get(Job, job_id).done)
            now[0] += 0.2
        return "result.csv"

    jobs.run_job(job_id, work)
    # Written at 0 s (the first at once) and 0.6 s; the end writes the whole.
    assert seen == [1000, 1000, 1000, 4000, 4000, 4000]
    with scope() as session:
        assert session.get(Job, job_id).done == 6000
