"""Request-scoped dependencies."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.store.db import session_factory


def db_session() -> Iterator[Session]:
    """A session whose transaction commits when the request succeeds."""
    with session_factory()() as session, session.begin():
        yield session


DbSession = Annotated[Session, Depends(db_session)]
