"""Requests waiting for a job to move, woken when it does.

Every change of a job's status or progress sends `NOTIFY redline_job, '<id>'` at commit
(migration 0016); this process's listener thread (app.store.catalog_epoch) hears it and calls
`wake`. A waiting request re-reads the job when woken, and in any case every `RECHECK_S`
seconds, so a notification lost while the listener reconnects costs time, never an answer.
"""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CHANNEL = "redline_job"
MAX_WAITERS = 512
"""Requests one process lets wait at a time; beyond that a request is answered at once."""
RECHECK_S = 5.0
"""Longest a waiting request goes without reading the job again."""

_waiters: dict[str, set["Waiter"]] = {}
_lock = threading.Lock()
_count = 0


class Waiter:
    """One request's wait for one job, on the event loop that serves it."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Called from any thread."""
        self._loop.call_soon_threadsafe(self._event.set)

    async def changed(self, timeout: float) -> bool:
        """Whether the job was announced as changed within `timeout` seconds (then re-armed)."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True


@contextmanager
def watching(job_id: str) -> Iterator[Waiter | None]:
    """Wait for this job's changes while the block runs; None when too many already wait.

    Enter before reading the job: a change committed after the read then always wakes."""
    global _count
    waiter = Waiter(job_id)
    with _lock:
        if _count >= MAX_WAITERS:
            waiter = None
        else:
            _count += 1
            _waiters.setdefault(job_id, set()).add(waiter)
    try:
        yield waiter
    finally:
        if waiter is not None:
            with _lock:
                _count -= 1
                found = _waiters.get(job_id)
                if found is not None:
                    found.discard(waiter)
                    if not found:
                        del _waiters[job_id]


def wake(job_id: str) -> None:
    """The job changed: wake the requests waiting for it."""
    with _lock:
        found = list(_waiters.get(job_id, ()))
    for waiter in found:
        waiter.wake()


def wake_all() -> None:
    """Changes may have been missed (the listener reconnected): every waiter reads again."""
    with _lock:
        found = [w for waiters in _waiters.values() for w in waiters]
    for waiter in found:
        waiter.wake()
