"""The processes a large batch is screened in: one pool per worker process, kept for its life.

Screening is CPU-bound Python; one process uses one core. The pool's processes are forked
from a server that has imported the screening code once (forkserver: nothing of the job
worker's threads, connections or event loop is inherited), so a batch starts at once.
"""

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from app.config import get_settings

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def processes() -> int:
    """How many processes screen a large batch (1: the worker alone)."""
    return get_settings().batch_processes or os.cpu_count() or 1


def executor() -> ProcessPoolExecutor:
    """The pool, started on first use."""
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["app.screening.batch"])
            _pool = ProcessPoolExecutor(processes(), mp_context=context)
        return _pool


def discard() -> None:
    """Forget a pool that broke (a process of it died): the next batch starts a new one."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
