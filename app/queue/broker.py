"""The procrastinate side the API uses: defer a task, find and requeue a job's queue entry."""

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg_pool
from procrastinate.exceptions import ConnectorException as QueueUnavailable
from sqlalchemy.engine import make_url

from app.config import get_settings

__all__ = ["QUEUE", "QueueUnavailable", "QueuedJob", "defer", "queued_job", "requeue", "tasks"]

QUEUE = "redline"
"""The queue our tasks go on (a worker may serve others too)."""

_defer_app: procrastinate.App | None = None
_lock = threading.Lock()


def conninfo() -> str:
    """The libpq connection string of DATABASE_URL (SQLAlchemy's driver suffix removed)."""
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _async_pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool:
    """The worker's pool, on the database the settings name when the worker starts."""
    size = get_settings().queue_concurrency
    # One connection listens for new jobs; each running job and the heartbeat take one.
    return psycopg_pool.AsyncConnectionPool(conninfo(), min_size=1, max_size=size + 3, **kwargs)


tasks = procrastinate.App(connector=procrastinate.PsycopgConnector(pool_factory=_async_pool))
"""The app workers run: the layers above register their tasks on it (`@tasks.task`)."""


def _app() -> procrastinate.App:
    """A synchronous app for deferring and requeueing, opened once per process."""
    global _defer_app
    with _lock:
        if _defer_app is None:
            connector = procrastinate.SyncPsycopgConnector(
                conninfo=conninfo(), min_size=0, max_size=2
            )
            _defer_app = procrastinate.App(connector=connector).open()
        return _defer_app


def defer(task: str, job_id: str, **kwargs: Any) -> int:
    """Put task `task` for our job JOB_ID on the queue; the queue's own job id comes back."""
    configured = _app().configure_task(name=task, queue=QUEUE, lock=job_id, queueing_lock=job_id)
    return configured.defer(job_id=job_id, **kwargs)


@dataclass(frozen=True)
class QueuedJob:
    """The queue's entry for one of our jobs: its id, state, how often it was retried, and
    whether a worker holding it ("doing") still sends its heartbeats."""

    id: int
    status: str
    attempts: int
    worker_alive: bool = False


def queued_job(job_id: str) -> QueuedJob | None:
    """The newest queue entry carrying our job JOB_ID, or None when it has none."""
    ours = _app().job_manager.list_jobs(queue=QUEUE, lock=job_id)
    if not ours:
        return None
    job = max(ours, key=lambda j: j.id or 0)
    status = job.status or ""
    alive = job.worker_id is not None and _heartbeat_within(job.worker_id, _lease_s())
    return QueuedJob(job.id or 0, str(getattr(status, "value", status)), job.attempts, alive)


_HEARTBEAT = (
    "SELECT EXISTS (SELECT 1 FROM procrastinate_workers WHERE id = %(id)s "
    "AND last_heartbeat > now() - make_interval(secs => %(seconds)s)) AS alive"
)


def _lease_s() -> float:
    return float(get_settings().job_lease_s)


def _heartbeat_within(worker_id: int, seconds: float) -> bool:
    """Whether procrastinate's worker WORKER_ID sent a heartbeat in the last SECONDS (workers
    send one every third of a lease: app.queue.worker)."""
    row = _app().connector.execute_query_one(_HEARTBEAT, id=worker_id, seconds=seconds)
    return bool(row["alive"])


def requeue(queued: QueuedJob) -> None:
    """Put a job whose worker died back on the queue, for the next free worker."""
    _app().job_manager.retry_job_by_id(queued.id, retry_at=dt.datetime.now(dt.UTC))
