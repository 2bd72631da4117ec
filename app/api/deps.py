"""Request-scoped dependencies."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.store.db import session_factory


def db_session() -> Iterator[Session]:
    """A session whose transaction commits when the route returns, before the response is sent."""
    with session_factory()() as session, session.begin():
        yield session


# scope="function": FastAPI runs the exit (the commit) when the route function returns, before
# the response goes out; the default "request" scope exits only after the body was sent, so a
# client could get a 201 for a row that is not committed yet (or never will be).
DbSession = Annotated[Session, Depends(db_session, scope="function")]
