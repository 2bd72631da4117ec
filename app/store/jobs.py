"""Long-running jobs with progress, polled by clients (GET /jobs/{id})."""

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.errors import NotFound, RedlineError
from app.store.db import session_scope
from app.store.models import Job

log = logging.getLogger(__name__)

# A job's owner renews its lease every LEASE_S / 3 seconds; a lease past its end means
# the owning process is gone (or cut off from the database).
LEASE_S = 60
# How long a finished job keeps trying to record its end while the database is down.
FINISH_RETRY_S = 30
_UNFINISHED = ("queued", "running")
# Ids of the jobs whose worker threads run in this process.
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


def _lease() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEASE_S)


def create_job(session: Session, kind: str, total: int, params: dict) -> Job:
    """A new queued job of the given kind, owned by this process, with its step count."""
    job = Job(
        id=uuid.uuid4().hex[:16],
        kind=kind,
        status="queued",
        total=total,
        done=0,
        params=params,
        owner=OWNER,
        lease_until=_lease(),
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job:
    """The job with this id, or NotFound; a job whose owner's lease ran out shows as failed."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id!r}.")
    if job.status in _UNFINISHED and _lease_expired(job):
        _mark_interrupted(job)
    return job


def _lease_expired(job: Job) -> bool:
    return job.lease_until is not None and job.lease_until < dt.datetime.now(dt.UTC)


def _mark_interrupted(job: Job) -> None:
    job.status, job.finished_at = "failed", dt.datetime.now(dt.UTC)
    job.error = {
        "title": "Interrupted",
        "detail": "The server restarted while the job ran; submit the batch again.",
    }


def report_progress(job_id: str, done: int) -> None:
    """Mark a job running with this many steps done (and renew its lease), visible at once."""
    # Own short transaction, so pollers see progress while the job runs.
    with session_scope() as session:
        job = session.get(Job, job_id)
        job.status, job.done, job.lease_until = "running", done, _lease()


def _renew_lease(job_id: str) -> None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is not None and job.status in _UNFINISHED:
            job.lease_until = _lease()


def _finish(job_id: str, result_path: str | None, error: dict | None) -> None:
    """Record the job's end, retrying while the database is unreachable."""
    deadline = time.monotonic() + FINISH_RETRY_S
    while True:
        try:
            with session_scope() as session:
                job = session.get(Job, job_id)
                job.status = "failed" if error else "done"
                job.result_path, job.error = result_path, error
                job.finished_at, job.lease_until = dt.datetime.now(dt.UTC), None
                if not error:
                    job.done = job.total
            return
        except (OperationalError, DBAPIError):
            if time.monotonic() > deadline:
                # Its lease runs out: the next poll or start-up reports it interrupted.
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


def start_in_background(job_id: str, work: Callable[[Callable[[int], None]], str]) -> None:
    """Run work(progress) in a thread, renewing the job's lease; it returns the result path."""
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(LEASE_S / 3):
            try:
                _renew_lease(job_id)
            except (OperationalError, DBAPIError):
                log.warning("job %s: lease not renewed (database unreachable)", job_id)

    def run() -> None:
        try:
            path = work(lambda done: report_progress(job_id, done))
        except Exception as exc:  # a job must end as failed, never hang as running
            if not isinstance(exc, RedlineError):
                log.exception("job %s failed", job_id)  # the traceback stays in the log
            _finish(job_id, None, failure(exc))
        else:
            _finish(job_id, path, None)
        finally:
            stop.set()
            with _running_lock:
                _running.discard(job_id)

    with _running_lock:
        _running.add(job_id)
    threading.Thread(target=heartbeat, name=f"job-{job_id}-lease", daemon=True).start()
    threading.Thread(target=run, name=f"job-{job_id}", daemon=True).start()


def fail_interrupted_jobs() -> int:
    """Fail the unfinished jobs whose owner is gone: lease expired, or owner on this host dead.

    Jobs run in threads of an API process; a job of a process that still runs (another
    instance, here or elsewhere) is left alone.
    """
    with session_scope() as session:
        jobs = session.scalars(
            select(Job).where(Job.status.in_(_UNFINISHED)).with_for_update(skip_locked=True)
        ).all()
        now = dt.datetime.now(dt.UTC)
        gone = [
            job
            for job in jobs
            if job.owner is None
            or (job.lease_until is not None and job.lease_until < now)
            or (job.id not in _running and not _owner_alive(job.owner))
        ]
        for job in gone:
            _mark_interrupted(job)
        return len(gone)
