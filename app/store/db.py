"""Engine and sessions."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL (connections checked before use)."""
    return create_engine(get_settings().database_url, pool_pre_ping=True)


def session_factory() -> sessionmaker[Session]:
    """A session maker on the engine; objects stay readable after commit."""
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with session_factory()() as session, session.begin():
        yield session
