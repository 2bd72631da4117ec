"""Screening slots: how many screenings one API process runs at once.

A screening is CPU work in Python (parse, screen, judge, encode) with one short database
round trip. FastAPI would run up to 40 of them at once in its thread pool, all contending for
the process's one GIL: each then takes longer in CPU as well as in wall time. The rest wait
their turn on the event loop, which costs nothing, and other routes keep the thread pool.
"""

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from app.config import get_settings

T = TypeVar("T")

# One limiter per event loop (a test client runs its own loop; a process serves one).
_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]" = (
    weakref.WeakKeyDictionary()
)


def screening_limiter() -> anyio.CapacityLimiter:
    """This event loop's limiter, REDLINE_SCREENING_SLOTS tokens."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = anyio.CapacityLimiter(get_settings().screening_slots)
        _limiters[loop] = limiter
    return limiter


async def in_screening_slot(func: Callable[..., T], *args: object) -> T:
    """FUNC(*ARGS) in a worker thread once a screening slot is free."""
    return await anyio.to_thread.run_sync(func, *args, limiter=screening_limiter())
