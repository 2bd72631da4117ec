"""Screening lookups on a streaming replica while the record is filed on the primary.

A replica replays the primary's WAL a little later (milliseconds on a LAN, more under load).
A screening read there right after an import could be judged against the superseded version,
so a screening uses the replica only once it has replayed everything the primary had written
when the request began; otherwise (or with REDLINE_SCREEN_FROM_REPLICA off) it uses the primary.
"""

import time
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from app.config import get_settings
from app.store.db import get_engine, get_read_engine, session_factory

# Poll interval while waiting for the replica to replay up to the primary's position.
_POLL_S = 0.002
_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()::text")
# A server that is not in recovery (the URL names a primary) compares its own position.
_REPLAYED = text(
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END >= CAST(:target AS pg_lsn)"
)


class SplitSession(Session):
    """Reads (queries, text SQL) on the replica; flushes, INSERT/UPDATE/DELETE and text SQL
    marked `execution_options(on_primary=True)` on the primary."""

    def get_bind(self, mapper: Any = None, **kw: Any) -> Engine:
        """The primary for the unit of work's flush and DML statements, else the replica."""
        clause = kw.get("clause")
        if self._flushing or isinstance(clause, UpdateBase) or _marked_primary(clause):
            return get_engine()
        return get_read_engine()


def _marked_primary(clause: Any) -> bool:
    options = getattr(clause, "get_execution_options", None)
    return bool(options and options().get("on_primary"))


def replica_caught_up(max_wait_s: float) -> bool:
    """Whether the replica has replayed all the primary had written when asked, within
    max_wait_s (a replica that is down or stopped replaying answers False)."""
    try:
        with get_engine().connect() as primary:
            target = primary.execute(_PRIMARY_LSN).scalar_one()
        deadline = time.monotonic() + max_wait_s
        with get_read_engine().connect() as replica:
            while not replica.execute(_REPLAYED, {"target": target}).scalar():
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_POLL_S)
    except DBAPIError:
        return False
    return True


def screening_session_factory() -> sessionmaker[Session]:
    """Sessions for one screening: split between replica and primary when allowed and the
    replica has caught up, else on the primary alone."""
    settings = get_settings()
    wanted = bool(settings.read_database_url) and settings.screen_from_replica
    if wanted and replica_caught_up(settings.replica_max_wait_ms / 1000):
        return sessionmaker(class_=SplitSession, expire_on_commit=False)
    return session_factory()
