"""The processes a large batch is screened in: one pool per worker process, kept for its life.

Screening is CPU-bound Python; one process uses one core. The pool's processes are forked
from a server that has imported the screening code once (forkserver: nothing of the job
worker's threads, connections or event loop is inherited), so a batch starts at once.
"""

import contextlib
import gc
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from app.config import get_settings

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


# Screening a batch allocates millions of short-lived objects (figures, findings, rows)
# beside a large point index that lives on: at CPython's default thresholds (700, 10, 10) the
# collector ran 1 500 times per 10 000 points, ten of them over the whole index, and took a
# third of the batch's time. Collections are rarer here, and the index is frozen (keep_built).
GC_THRESHOLDS = (20_000, 20, 100)
_serving = False  # whether this process screens batches (see serve_batches)
_POLL_S = 2.0


def serve_batches() -> None:
    """Make this process one that screens batches (the pool's processes, a job worker): its
    collector runs at GC_THRESHOLDS, and it keeps the point index of a batch for the next
    (app.screening.batch). An API process answering a small batch builds one and drops it."""
    global _serving
    _serving = True
    gc.set_threshold(*GC_THRESHOLDS)


def serving() -> bool:
    """Whether this process screens batches (`serve_batches`)."""
    return _serving


def keep_built() -> None:
    """Take what this process holds now (a point index just built) out of every collection:
    collected once, then never scanned again. `release_built` undoes it."""
    gc.collect()
    gc.freeze()


def release_built() -> None:
    """Let the collector see again what `keep_built` froze (an index about to be dropped)."""
    gc.unfreeze()


def _serve_for(owner: int) -> None:
    """In a pool process: screen batches (`serve_batches`), and exit once OWNER, the process
    whose pool this is, has. The pool's processes are the forkserver's children, not their
    owner's, and wait on a queue whose both ends they hold: a job worker killed outright
    (SIGKILL, the OOM killer, SIGTERM before its handlers were set) left them running for
    good, with the point indexes they hold."""
    serve_batches()
    threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()


def _exit_with(owner: int) -> None:
    try:
        watched = os.pidfd_open(owner)  # readable once the process has ended (Linux 5.3+)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd here: look every few seconds
        while _alive(owner):
            time.sleep(_POLL_S)
        os._exit(0)
    select.select([watched], [], [])
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: the pid was reused, the owner is gone
        return False
    return True


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
            _pool = ProcessPoolExecutor(
                processes(), mp_context=context, initializer=_serve_for, initargs=(os.getpid(),)
            )
        return _pool


def start() -> None:
    """Start the pool's processes now, in the background (a job worker does at its start):
    the first large batch then finds them running, not waiting while they start and import
    the screening code (a first 10 000-point batch ran at 990-1 222 sites/s, later ones at
    about 2 600)."""
    if processes() > 1:
        threading.Thread(target=_start, name="batch-pool-start", daemon=True).start()


def _start() -> None:
    # One trivial task per process: the executor starts a process per task it cannot give
    # to an idle one.
    pool = executor()
    for future in [pool.submit(os.getpid) for _ in range(processes())]:
        with contextlib.suppress(Exception):  # a pool that fails to start: the batch says so
            future.result()


def discard() -> None:
    """Forget a pool that broke (a process of it died): the next batch starts a new one."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
