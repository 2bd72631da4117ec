"""Long-running jobs with progress, polled by clients (GET /jobs/{id})."""

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.errors import NotFound, RedlineError
from app.store.db import session_scope
from app.store.models import Job

_log = logging.getLogger(__name__)


def create_job(session: Session, kind: str, total: int, params: dict) -> Job:
    """A new queued job of the given kind, with its step count and parameters."""
    job = Job(
        id=uuid.uuid4().hex[:16], kind=kind, status="queued", total=total, done=0, params=params
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job:
    """The job with this id, or NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id!r}.")
    return job


def report_progress(job_id: str, done: int) -> None:
    """Mark a job running with this many steps done, visible to pollers at once."""
    # Own short transaction, so pollers see progress while the job runs.
    with session_scope() as session:
        job = session.get(Job, job_id)
        job.status, job.done = "running", done


def _finish(job_id: str, result_path: str | None, error: dict | None) -> None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        job.status = "failed" if error else "done"
        job.result_path, job.error = result_path, error
        job.finished_at = dt.datetime.now(dt.UTC)
        if not error:
            job.done = job.total


def start_in_background(job_id: str, work: Callable[[Callable[[int], None]], str]) -> None:
    """Run work(progress) in a thread; it returns the result file path."""

    def run() -> None:
        try:
            path = work(lambda done: report_progress(job_id, done))
        except RedlineError as exc:
            _finish(job_id, None, exc.problem())
        except Exception:  # a job must end as failed, never hang as running
            # The traceback (it may hold SQL and paths) goes to the log, not to clients.
            _log.exception("job %s failed", job_id)
            detail = "An unexpected error stopped the job; the server log has the details."
            _finish(job_id, None, {"title": "The job failed", "detail": detail})
        else:
            _finish(job_id, path, None)

    threading.Thread(target=run, name=f"job-{job_id}", daemon=True).start()


def fail_interrupted_jobs() -> int:
    """Jobs run in threads of the API process: any still queued or running when the process
    starts were cut off by a restart, so say so instead of leaving them 'running' forever."""
    from sqlalchemy import update

    with session_scope() as session:
        result = session.execute(
            update(Job)
            .where(Job.status.in_(("queued", "running")))
            .values(
                status="failed",
                finished_at=dt.datetime.now(dt.UTC),
                error={
                    "title": "Interrupted",
                    "detail": "The server restarted while the job ran; submit the batch again.",
                },
            )
        )
        return result.rowcount
