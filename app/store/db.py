"""Engine and sessions."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, get_settings

log = logging.getLogger(__name__)

# Seconds to wait for a connection: a database that is down must fail a request fast
# (503 with Retry-After), not hold it for the OS's TCP timeout.
CONNECT_TIMEOUT_S = 3
# Seconds a request waits for a free pooled connection before it is answered 503.
POOL_TIMEOUT_S = 10
# Seconds a pooled connection may sit idle and still be handed out without a check.
IDLE_PING_S = 2.0
# Connections a process keeps open between requests, at most; what its share of the budget
# allows beyond that is overflow, opened under load and closed when returned.
POOL_SIZE_MAX = 10
# Every process may open at least this many (one request's session and a second one: a
# replica check, a record filed while a read is open), even past the budget: a machine with
# more cores than half the budget should lower api_workers.
POOL_MIN_PER_PROCESS = 2


def pool_limits(settings: Settings) -> tuple[int, int]:
    """(pool_size, max_overflow) of one process's engine: api_processes of them together stay
    within db_connection_budget, so more workers never exhaust the server's max_connections."""
    per_process = max(settings.db_connection_budget // settings.api_processes, POOL_MIN_PER_PROCESS)
    pool_size = min(per_process, POOL_SIZE_MAX)
    return pool_size, per_process - pool_size


def connect_args() -> dict[str, Any]:
    """Arguments for every new DBAPI (psycopg) connection."""
    return {"connect_timeout": CONNECT_TIMEOUT_S}


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL, the primary: every write goes here."""
    settings = get_settings()
    return _make_engine(settings.database_url, settings)


def get_read_engine() -> Engine:
    """The engine for reads: REDLINE_READ_DATABASE_URL's replica if set, else the primary's."""
    url = get_settings().read_database_url
    return _replica_engine(url) if url else get_engine()


@lru_cache
def _replica_engine(url: str) -> Engine:
    # Keyed by URL: settings reloaded with another replica (or none) never reuse a stale engine.
    return _make_engine(url, get_settings())


def _make_engine(url: str, settings: Settings) -> Engine:
    """An engine whose connections are checked before use and carry the session limits."""
    pool_size, max_overflow = pool_limits(settings)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT_S,
        # The connection used last goes out first. A backend's first ST_Transform initialises
        # PROJ (about 100 ms); handed out oldest first, reads after a burst of screenings
        # cycled through backends that had not yet paid it (items pages 14 -> 70-130 ms).
        pool_use_lifo=True,
        connect_args={**connect_args(), "options": session_options(settings)},
    )
    event.listen(engine, "connect", _limit_temp_files)
    event.listen(engine, "connect", _note_idle)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def forget_pooled_connections() -> None:
    """Replace this process's pools: their idle connections are not handed out again (those
    checked out are closed when returned). Called when the catalog listener loses its
    connection, the sign of a database restart or a network cut, which leaves every pooled
    connection dead, including those too recently used for `_ping_if_idle` to check."""
    get_engine().dispose(close=False)
    url = get_settings().read_database_url
    if url:
        _replica_engine(url).dispose(close=False)


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Check a connection that sat idle before handing it out, so one the server dropped
    (restart, network) is replaced instead of failing a request. A connection back in the
    pool for less than IDLE_PING_S is used as is: pinging every checkout was one more round
    trip per request (a tenth of a point screening)."""
    if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_PING_S:
        return
    try:
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except psycopg.Error as exc:
        raise DisconnectionError("connection dropped while idle") from exc


def session_options(settings: Settings) -> str:
    """libpq `options` putting a statement and an idle-in-transaction timeout on every session;
    JIT and parallel workers off for requests. At province scale the planner's estimates pass
    jit_above_cost: compiling a screening's plan took 40-50 ms on every run of a statement that
    executes in 2. A parallel worker per tile (z8 farmland, 100x) made it 14 -> 70 ms on two
    cores that concurrent requests already keep busy. Imports and batch jobs get parallel
    workers back (long_statements)."""
    return (
        f"-c statement_timeout={settings.statement_timeout_s * 1000} "
        f"-c idle_in_transaction_session_timeout={settings.idle_in_transaction_timeout_s * 1000} "
        "-c jit=off -c max_parallel_workers_per_gather=0"
    )


def _limit_temp_files(dbapi_connection: Any, _: Any) -> None:
    # temp_file_limit needs superuser: a role without the right keeps the server's default.
    limit_kb = get_settings().temp_file_limit_mb * 1024
    try:
        dbapi_connection.execute(f"SET temp_file_limit = {int(limit_kb)}")
        dbapi_connection.commit()
    except psycopg.errors.InsufficientPrivilege:
        dbapi_connection.rollback()
        log.warning("temp_file_limit not set: the database role may not change it")


def long_statements(session: Session) -> None:
    """Give this transaction the longer timeouts of imports and batch jobs (statements, and
    the idle time while Python reads and checks the file between statements), and
    PostgreSQL's default of two parallel workers for their large statements."""
    ms = str(get_settings().import_statement_timeout_s * 1000)
    session.execute(
        text(
            "SELECT set_config('statement_timeout', :ms, true), "
            "set_config('idle_in_transaction_session_timeout', :ms, true), "
            "set_config('max_parallel_workers_per_gather', '2', true)"
        ),
        {"ms": ms},
    )


@lru_cache(maxsize=8)
def _maker(engine: Engine) -> sessionmaker[Session]:
    # One per engine, not per request: each sessionmaker defines a Session subclass, and
    # setting up its event dispatch cost ~0.4 ms a request.
    return sessionmaker(engine, expire_on_commit=False)


def session_factory() -> sessionmaker[Session]:
    """A session maker on the engine; objects stay readable after commit."""
    return _maker(get_engine())


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with session_factory()() as session, session.begin():
        yield session


def read_session_factory() -> sessionmaker[Session]:
    """A session maker on the read engine (the replica when one is set)."""
    return _maker(get_read_engine())


@contextmanager
def read_session_scope() -> Iterator[Session]:
    """One transaction on the read engine: for reads only (a replica refuses writes)."""
    with read_session_factory()() as session, session.begin():
        yield session
