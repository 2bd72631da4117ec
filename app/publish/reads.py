"""Sessions for the published reads (tiles, OGC API): on the read engine, without a transaction.

A tile or an items page reads one layer version, whose features never change once it is
imported, in one to three single statements: a transaction would add BEGIN and COMMIT round
trips and buy no consistency.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.store.db import get_read_engine


@lru_cache(maxsize=8)
def _autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def read_session() -> Iterator[Session]:
    """A session on the read engine (the replica when one is set), in autocommit mode."""
    with Session(_autocommit(get_read_engine()), expire_on_commit=False) as session:
        yield session
