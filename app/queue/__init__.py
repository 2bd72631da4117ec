"""Long work on a PostgreSQL task queue (procrastinate): deferring, retrying, worker processes.

The API defers a task by name; `redline worker` processes (here or on other machines) run it.
Our own `job` rows (app.store.jobs) keep status and progress; this package only moves work.
"""

from app.queue.broker import (
    QUEUE,
    QueuedJob,
    QueueUnavailable,
    defer,
    queued_job,
    requeue,
    tasks,
)
from app.queue.worker import run_worker, run_worker_async

__all__ = [
    "QUEUE",
    "QueueUnavailable",
    "QueuedJob",
    "defer",
    "queued_job",
    "requeue",
    "run_worker",
    "run_worker_async",
    "tasks",
]
