"""Engine and sessions."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings

# Seconds to wait for a connection: a database that is down must fail a request fast
# (503 with Retry-After), not hold it for the OS's TCP timeout.
CONNECT_TIMEOUT_S = 3
# Seconds a request waits for a free pooled connection before it is answered 503.
POOL_TIMEOUT_S = 10


def connect_args() -> dict[str, Any]:
    """Arguments for every new DBAPI (psycopg) connection."""
    return {"connect_timeout": CONNECT_TIMEOUT_S}


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL (connections checked before use)."""
    return create_engine(
        get_settings().database_url,
        # A connection the server dropped (restart) is replaced instead of failing a request.
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args=connect_args(),
    )


def session_factory() -> sessionmaker[Session]:
    """A session maker on the engine; objects stay readable after commit."""
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with session_factory()() as session, session.begin():
        yield session
