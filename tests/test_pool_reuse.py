"""The pool hands out the connection returned last, so a quiet process keeps using warm
backends (PROJ initialised, plans cached) instead of cycling through every idle one."""

from sqlalchemy import Connection, text

from app.config import Settings, get_settings
from app.store.db import _make_engine


def _backend(conn: Connection) -> int:
    return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_after_a_burst_requests_one_at_a_time_reuse_the_last_connection(database: None) -> None:
    engine = _make_engine(get_settings().database_url, Settings())
    try:
        burst = [engine.connect() for _ in range(3)]  # three requests at once
        pids = [_backend(c) for c in burst]
        for conn in burst:
            conn.close()  # back to the pool in this order: the third one last
        following = []
        for _ in range(5):  # then one request at a time
            with engine.connect() as conn:
                following.append(_backend(conn))
        assert following == [pids[-1]] * 5, (pids, following)
    finally:
        engine.dispose()
