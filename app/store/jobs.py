"""Long-running jobs with progress, polled by clients (GET /jobs/{id}).

A job row is the record; the work runs in a worker process, taken from the queue
(app.queue). The worker claims the row (owner, lease), reports progress and records the end;
a job whose worker died goes back on the queue, or fails once its attempts are spent.
"""

import datetime as dt
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.config import get_settings
from app.errors import NotFound, RedlineError
from app.queue import QueuedJob, queued_job, requeue
from app.store.db import session_scope
from app.store.models import Job

log = logging.getLogger(__name__)

# How long a finished job keeps trying to record its end while the database is down.
FINISH_RETRY_S = 30
_UNFINISHED = ("queued", "running")
# Queue entries a dead worker leaves behind, which procrastinate can put back in the queue.
_RETRYABLE = ("doing", "failed")
# Ids of the jobs this process runs (a worker, or tests running one in-process).
_running: set[str] = set()
_running_lock = threading.Lock()


def _start_token(pid: int) -> str | None:
    """When the process started (clock ticks since boot), so a reused pid is not taken for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


_HOST = socket.gethostname()
OWNER = f"{_HOST} {os.getpid()} {_start_token(os.getpid()) or int(time.time())}"
"""This process as a job owner: host, pid and process start token."""


def _owner_alive(owner: str) -> bool:
    """Whether the process named by an owner string is running (other hosts: unknown, True)."""
    parts = owner.rsplit(" ", 2)
    if len(parts) != 3 or not parts[1].isdigit() or parts[0] != _HOST:
        return True  # another host (or a form we do not know): only the lease can tell
    pid, token = parts[1], parts[2]
    if owner == OWNER:
        return False  # this process: the caller checked it does not run the job
    current = _start_token(int(pid))
    if current is not None:
        return current == token
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc").is_dir()  # no /proc: a live pid is the best we know


def _lease_s() -> float:
    return float(get_settings().job_lease_s)


def _lease() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=_lease_s())


def create_job(session: Session, kind: str, total: int, params: dict) -> Job:
    """A new queued job of the given kind with its step count; no worker owns it yet."""
    job = Job(
        id=uuid.uuid4().hex[:16],
        kind=kind,
        status="queued",
        total=total,
        done=0,
        params=params,
        owner=None,
        lease_until=None,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job:
    """The job with this id, or NotFound; a job whose worker is gone is requeued or failed."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id!r}.")
    if job.status in _UNFINISHED:
        _recover(job, dt.datetime.now(dt.UTC))
    return job


INTERRUPTED = {
    "title": "Interrupted",
    "detail": "处理该任务的进程在任务完成前停止，任务未能完成，请重新提交。"
    "The process running the job stopped before the job finished; submit the batch again.",
}
"""What a job cut off for good says, in Chinese and English."""


def _worker_gone(job: Job, now: dt.datetime) -> bool:
    """Whether the worker that claimed this job is gone (lease run out, or pid dead here)."""
    if job.owner is None:
        return False
    if job.lease_until is not None and job.lease_until < now:
        return True
    return job.id not in _running and not _owner_alive(job.owner)


def _unclaimed_too_long(job: Job, now: dt.datetime) -> bool:
    """Queued for longer than a lease without a worker claiming it: worth a look at the queue
    (its deferral may never have happened, or its worker died before claiming it)."""
    old = job.created_at is None or job.created_at < now - dt.timedelta(seconds=_lease_s())
    return job.owner is None and old


def _recover(job: Job, now: dt.datetime) -> None:
    """Requeue a job whose worker is gone while attempts remain, else fail it cleanly."""
    if not (_worker_gone(job, now) or _unclaimed_too_long(job, now)):
        return
    entry = queued_job(job.id)
    if job.owner is None and entry is not None and entry.status == "doing" and entry.worker_alive:
        return  # a live worker has just taken it from the queue and is about to claim it
    if entry is None:
        _fail_interrupted(job, now, None)  # nothing left on the queue will ever run it
    elif entry.status == "todo":
        _back_in_queue(job)  # waiting for a worker (put back by another poller, perhaps)
    elif entry.status in _RETRYABLE and entry.attempts + 1 < get_settings().job_attempts:
        requeue(entry)
        _back_in_queue(job)
        log.warning("job %s: its worker is gone; back on the queue", job.id)
    else:
        _fail_interrupted(job, now, entry)


def _back_in_queue(job: Job) -> None:
    job.status, job.done, job.owner, job.lease_until = "queued", 0, None, None


def _fail_interrupted(job: Job, now: dt.datetime, entry: QueuedJob | None) -> None:
    job.status, job.finished_at, job.error = "failed", now, dict(INTERRUPTED)
    job.owner, job.lease_until = None, None
    if entry is not None and entry.status in _RETRYABLE:
        # The queue entry of a dead worker goes back once more; run_job finds the job
        # finished and ends it at once, so the queue holds no job "doing" forever.
        requeue(entry)
    log.warning("job %s: no run of it can finish (worker gone, no retry left); failed", job.id)


def recover_interrupted_jobs() -> int:
    """Requeue or fail the unfinished jobs whose worker is gone; how many were touched.

    Called at API start-up and by every worker now and then; jobs of a worker that still runs
    (here or elsewhere) and jobs waiting in the queue are left alone.
    """
    touched = 0
    with session_scope() as session:
        jobs = session.scalars(
            select(Job).where(Job.status.in_(_UNFINISHED)).with_for_update(skip_locked=True)
        ).all()
        now = dt.datetime.now(dt.UTC)
        for job in jobs:
            before = (job.status, job.owner)
            _recover(job, now)
            touched += (job.status, job.owner) != before
    return touched


def _claim(job_id: str) -> bool:
    """Make this process the job's owner; False when the job is gone, finished or taken."""
    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status not in _UNFINISHED:
            return False
        if job.owner is not None and not _worker_gone(job, dt.datetime.now(dt.UTC)):
            return False  # a live worker runs it already (requeued while it was being taken)
        job.status, job.done, job.owner, job.lease_until = "running", 0, OWNER, _lease()
        job.error = None
        return True


def report_progress(job_id: str, done: int) -> None:
    """Mark a job running with this many steps done (and renew its lease), visible at once."""
    # Own short transaction, so pollers see progress while the job runs.
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is not None and job.owner == OWNER:
            job.status, job.done, job.lease_until = "running", done, _lease()


# A running job's progress is written at most this often (its end always): each write is a
# transaction that wakes every request waiting on the job, and a batch's chunks of 1 000 rows
# end every 0.15 s.
PROGRESS_EVERY_S = 0.5
_clock = time.monotonic


def _every(seconds: float, report: Callable[[int], None]) -> Callable[[int], None]:
    """REPORT, passed on at most once every SECONDS (the first call at once)."""
    last = -math.inf

    def throttled(done: int) -> None:
        nonlocal last
        now = _clock()
        if now - last >= seconds:
            last = now
            report(done)

    return throttled


def _renew_lease(job_id: str) -> None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is not None and job.status in _UNFINISHED and job.owner == OWNER:
            job.lease_until = _lease()


def _finish(job_id: str, result_path: str | None, error: dict | None) -> None:
    """Record the job's end, retrying while the database is unreachable."""
    deadline = time.monotonic() + FINISH_RETRY_S
    while True:
        try:
            with session_scope() as session:
                job = session.get(Job, job_id)
                if job is None or job.owner != OWNER:
                    return  # requeued meanwhile (our lease ran out): the new owner records it
                job.status = "failed" if error else "done"
                job.result_path, job.error = result_path, error
                job.finished_at, job.lease_until = dt.datetime.now(dt.UTC), None
                if not error:
                    job.done = job.total
            return
        except (OperationalError, DBAPIError):
            if time.monotonic() > deadline:
                # Its lease runs out: the next poll or worker round requeues or fails it.
                log.exception("job %s: could not record its end", job_id)
                return
            time.sleep(1)


def failure(exc: Exception) -> dict:
    """What a client is told about a job that failed: no traceback, SQL or path."""
    if isinstance(exc, RedlineError):
        return exc.problem()
    if isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return {
            "title": "The job lost its database connection",
            "detail": "The database became unreachable while the job ran; submit the batch again.",
        }
    return {
        "title": "The job failed",
        "detail": "An internal error stopped the job; the server log has the details.",
    }


def fail_unqueued(job_id: str) -> dict[str, Any]:
    """Fail a job that could not be put on the queue; what the client is told."""
    error = {
        "title": "The job could not be queued",
        "detail": "任务未能进入队列（数据库暂时不可用），请稍后重新提交。"
        "The job could not be put on the queue; submit the batch again in a moment.",
    }
    with session_scope() as session:
        job = session.get(Job, job_id)
        job.status, job.error, job.finished_at = "failed", error, dt.datetime.now(dt.UTC)
    return error


def run_job(job_id: str, work: Callable[[Callable[[int], None]], str]) -> None:
    """Claim the job and run work(progress) here, renewing its lease; work returns the result
    path. A job already finished (failed while its worker was away) is left as it is."""
    if not _claim(job_id):
        log.info("job %s: already finished or gone; nothing to do", job_id)
        return
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(_lease_s() / 3):
            try:
                _renew_lease(job_id)
            except (OperationalError, DBAPIError):
                log.warning("job %s: lease not renewed (database unreachable)", job_id)

    with _running_lock:
        _running.add(job_id)
    log.info("job %s: started", job_id)
    threading.Thread(target=heartbeat, name=f"job-{job_id}-lease", daemon=True).start()
    try:
        path = work(_every(PROGRESS_EVERY_S, lambda done: report_progress(job_id, done)))
    except Exception as exc:  # a job must end as failed, never hang as running
        if not isinstance(exc, RedlineError):
            log.exception("job %s failed", job_id)  # the traceback stays in the log
        _finish(job_id, None, failure(exc))
    else:
        _finish(job_id, path, None)
        log.info("job %s: done", job_id)
    finally:
        stop.set()
        with _running_lock:
            _running.discard(job_id)
