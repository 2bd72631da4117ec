"""Request-scoped dependencies: sessions on the primary, on the read replica, or split."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.store.db import read_session_factory, session_factory
from app.store.replica import screening_session_factory


def db_session() -> Iterator[Session]:
    """A session whose transaction commits when the route returns, before the response is sent."""
    with session_factory()() as session, session.begin():
        yield session


def read_session() -> Iterator[Session]:
    """A session for routes that only read: on the replica when REDLINE_READ_DATABASE_URL is
    set (it may lag the primary by the replication delay), else on the primary."""
    with read_session_factory()() as session, session.begin():
        yield session


@contextmanager
def screening_scope() -> Iterator[Session]:
    """A session for filing a screening, committed when the block ends: the record always
    commits on the primary; the lookups read the replica only as app.store.replica allows.
    The route opens it in the thread that screens, so the commit precedes the answer and no
    extra thread hops are spent entering and leaving a dependency."""
    with screening_session_factory()() as session, session.begin():
        yield session


# scope="function": FastAPI runs the exit (the commit) when the route function returns, before
# the response goes out; the default "request" scope exits only after the body was sent, so a
# client could get a 201 for a row that is not committed yet (or never will be).
DbSession = Annotated[Session, Depends(db_session, scope="function")]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
