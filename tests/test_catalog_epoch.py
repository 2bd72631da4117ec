"""The catalog epoch: caches keyed by it are dropped when versions change, in any process."""

import time

import psycopg
from sqlalchemy import make_url

from app.config import get_settings
from app.store import catalog_epoch
from app.store.catalog_epoch import EpochCache, active_version_ids, epoch, mark_changed
from app.store.db import session_scope


def _dsn() -> str:
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _wait_for_move(before: int, seconds: float = 5.0) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = epoch()
        if now is not None and now != before:
            return now
        time.sleep(0.01)
    return epoch()


def test_a_commit_in_another_connection_moves_the_epoch(reference) -> None:
    before = epoch()
    assert before is not None, "the listener connects on first use"
    # Another client (as another process or machine would) touches a version and commits.
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute(
            "UPDATE layer_version SET note = note WHERE id = (SELECT min(id) FROM layer_version)"
        )
    assert _wait_for_move(before) != before


def test_an_uncommitted_transaction_does_not_move_it(reference) -> None:
    with psycopg.connect(_dsn()) as conn:
        conn.execute("UPDATE layer SET active_version_id = active_version_id")
        time.sleep(0.05)
        before = epoch()
        time.sleep(0.2)
        assert epoch() == before
        conn.rollback()


def test_cache_serves_until_the_epoch_moves(reference) -> None:
    cache = EpochCache(8)
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with session_scope() as session:
        assert cache.get_or_compute(session, "k", compute) == 1
        assert cache.get_or_compute(session, "k", compute) == 1
        before = epoch()
        mark_changed(session)
        # A session with uncommitted version changes never reads (or fills) the cache.
        assert cache.get_or_compute(session, "k", compute) == 2
        session.commit()
    assert epoch() != before
    assert cache.get_or_compute(None, "k", compute) == 3
    assert cache.get_or_compute(None, "k", compute) == 3


def test_no_cache_while_the_listener_is_down(reference, monkeypatch) -> None:
    listener = catalog_epoch._listener()
    monkeypatch.setattr(listener, "connected", _Unset())
    assert epoch() is None
    cache = EpochCache(2)
    calls = []
    for _ in range(2):
        cache.get_or_compute(None, "k", lambda: calls.append(1))
    assert len(calls) == 2


def test_active_version_ids_follow_an_activation(reference) -> None:
    with session_scope() as session:
        ids = active_version_ids(session)
        layer, version = next(iter(ids.items()))
    # Re-point the layer elsewhere from another connection, then back.
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute("UPDATE layer SET active_version_id = NULL WHERE id = %s", [layer])
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with session_scope() as session:
                    if layer not in active_version_ids(session):
                        break
                time.sleep(0.01)
            with session_scope() as session:
                assert layer not in active_version_ids(session)
        finally:
            conn.execute("UPDATE layer SET active_version_id = %s WHERE id = %s", [version, layer])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with session_scope() as session:
            if active_version_ids(session).get(layer) == version:
                break
        time.sleep(0.01)
    with session_scope() as session:
        assert active_version_ids(session)[layer] == version


class _Unset:
    """Stands in for a listener's `connected` event while its connection is down."""

    def is_set(self) -> bool:
        return False

    def wait(self, _timeout: float) -> bool:
        return False
