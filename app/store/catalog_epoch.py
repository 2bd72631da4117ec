"""A counter that moves whenever layer or raster versions change, so caches never go stale.

Derived values (active version ids, specs in force, rasters held open, encoded summaries,
tile addresses) are cached in each process under the current epoch. The epoch moves when
this process commits a version change (`mark_changed`) and when any process on any machine
does: triggers on `layer`, `layer_version` and `raster_version` send `NOTIFY redline_catalog`
at commit (migration 0009), and one listener thread per process hears it. While that
listener is not connected the epoch is None and nothing is served from a cache: a change
could be missed. A change made elsewhere reaches this process within the notification's
delivery time (milliseconds on one network); a screening always records the version ids it
used.
"""

import logging
import threading
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from sqlalchemy import event, make_url, select
from sqlalchemy.orm import Session

from app.cache import LockedLRU
from app.config import get_settings
from app.store import job_events
from app.store.db import forget_pooled_connections
from app.store.models import Layer
from app.store.replica import replica_caught_up

log = logging.getLogger(__name__)

CHANNEL = "redline_catalog"
_FLAG = "redline_catalog_changed"
# Seconds between liveness checks of an idle listener connection, and before a reconnect.
_IDLE_CHECK_S = 30.0
_RETRY_S = 1.0
# How long the first cache use waits for the listener to connect.
_FIRST_CONNECT_S = 2.0

V = TypeVar("V")


class _Listener:
    """LISTEN redline_catalog on one database; counts notifications and reconnections. The
    same connection hears job changes (redline_job) for requests waiting on a job."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.counter = 0
        self.connected = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="redline-catalog-listener", daemon=True).start()

    def bump(self) -> None:
        """Move the epoch: everything cached before is stale."""
        with self._lock:
            self.counter += 1

    def epoch(self) -> int | None:
        """The current epoch, or None while not listening."""
        return self.counter if self.connected.is_set() else None

    def _run(self) -> None:
        while True:
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {job_events.CHANNEL}")
                    # Changes made while we were not listening were missed: start afresh.
                    self.bump()
                    self.connected.set()
                    job_events.wake_all()
                    while True:
                        for note in conn.notifies(timeout=_IDLE_CHECK_S):
                            if note.channel == job_events.CHANNEL:
                                job_events.wake(note.payload)
                            else:
                                self.bump()
                        conn.execute("SELECT 1")  # a silently dropped connection raises here
            except Exception as exc:  # noqa: BLE001 - any failure: stop trusting caches, retry
                if self.connected.is_set():
                    log.warning("catalog listener lost its connection (%s); retrying", exc)
                    # The pooled connections were on the same server: most likely dead too.
                    forget_pooled_connections()
            self.connected.clear()
            self.bump()
            threading.Event().wait(_RETRY_S)


_listeners: dict[str, _Listener] = {}
_listeners_lock = threading.Lock()


@lru_cache(maxsize=8)
def _dsn(url: str) -> str:
    # Asked on every cache look-up: parsing and rendering the URL each time was 2 % of a
    # point screening's CPU.
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _listener(wait: bool = True) -> _Listener:
    dsn = _dsn(get_settings().database_url)
    with _listeners_lock:
        found = _listeners.get(dsn)
        if found is None:
            found = _listeners[dsn] = _Listener(dsn)
    if wait and not found.connected.is_set():
        found.connected.wait(_FIRST_CONNECT_S)
    return found


def epoch(session: Session | None = None, *, wait: bool = True) -> int | None:
    """The epoch to cache under, or None when no cache may be trusted.

    None also for a session holding uncommitted version changes: what it sees is not what
    the cache holds. `wait=False` never blocks (for the event loop): None until connected."""
    if session is not None and session.info.get(_FLAG):
        return None
    return _listener(wait).epoch()


def mark_changed(session: Session) -> None:
    """Note that this session changes versions: its commit moves this process's epoch."""
    session.info[_FLAG] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        with _listeners_lock:
            listeners = list(_listeners.values())
        for listener in listeners:
            listener.bump()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)


def _replica_current() -> bool:
    """Whether values read now may be cached: no replica, or one that has replayed all the
    primary had committed (so every change the epoch has announced is visible there)."""
    settings = get_settings()
    if not settings.read_database_url:
        return True
    return replica_caught_up(settings.replica_max_wait_ms / 1000)


class EpochCache(LockedLRU[tuple[int, Any]]):
    """Values computed under the current epoch; recomputed once the epoch moves."""

    def get_or_compute(self, session: Session | None, key: Hashable, compute: Callable[[], V]) -> V:  # type: ignore[override]
        """The value cached for `key` under the current epoch, or `compute()` (then cached)."""
        now = epoch(session)  # read before computing: a change meanwhile makes it stale
        if now is None:
            return compute()
        found = self.get(key)
        if found is not None and found[0] == now:
            return found[1]
        if not _replica_current():
            return compute()  # a lagging replica's answer is served once, never kept
        value = compute()
        self.put(key, (now, value))
        return value

    def peek(self, key: Hashable) -> Any:
        """The value cached for `key` under the current epoch, or None; never computes nor
        blocks, so the event loop may serve a hit without a thread or the database."""
        now = epoch(wait=False)
        found = self.get(key)
        return found[1] if now is not None and found is not None and found[0] == now else None


_ids = EpochCache(4)


def active_version_ids(session: Session) -> dict[str, int]:
    """Layer id → active version id, for every layer that has one (cached by epoch)."""
    return _ids.get_or_compute(
        session,
        "layers",
        lambda: dict(
            session.execute(
                select(Layer.id, Layer.active_version_id).where(
                    Layer.active_version_id.is_not(None)
                )
            ).all()
        ),
    )


def known_active_version_ids() -> dict[str, int] | None:
    """The ids `active_version_ids` holds under the current epoch, or None; never queries nor
    blocks (for the event loop)."""
    return _ids.peek("layers")


def listening() -> bool:
    """Whether this process hears notifications now (starting its listener if need be)."""
    return _listener(wait=False).connected.is_set()
