"""Statements sent on psycopg directly (app.store.raw) behave as SQLAlchemy's: in the
session's transaction, parameters by name, errors as SQLAlchemy errors, a lost connection
invalidated instead of handed out again."""

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DataError, OperationalError

from app.config import get_settings
from app.store.db import session_scope
from app.store.raw import RawStatement

_PAIR = RawStatement(
    text("SELECT CAST(:b AS text) || '/' || CAST(:a AS text), CAST(:a AS int) + 1")
)
_RATIO = RawStatement(text("SELECT 1 / CAST(:n AS int)"))
_PID = RawStatement(text("SELECT pg_backend_pid()"))


def test_parameters_go_by_name_in_the_sessions_transaction(database: None) -> None:
    with session_scope() as session:
        session.execute(text("CREATE TEMP TABLE raw_probe (v int) ON COMMIT DROP"))
        RawStatement(text("INSERT INTO raw_probe VALUES (:v)")).execute(session, {"v": 7})
        # The SQLAlchemy statement sees the raw one's row: one connection, one transaction.
        assert session.execute(text("SELECT v FROM raw_probe")).scalar_one() == 7
        assert _PAIR.execute(session, {"a": 1, "b": "二"}).fetchone() == ("二/1", 2)


def test_a_failing_statement_raises_sqlalchemys_error_and_rolls_back(database: None) -> None:
    with pytest.raises(DataError) as caught, session_scope() as session:
        _RATIO.execute(session, {"n": 0})
    assert "division by zero" in str(caught.value.orig)
    assert not caught.value.connection_invalidated
    with session_scope() as session:  # the pooled connection is usable again
        assert _RATIO.execute(session, {"n": 1}).fetchone() == (1,)


def test_a_lost_connection_is_invalidated_not_pooled_again(database: None) -> None:
    with session_scope() as session:
        lost = _PID.execute(session).fetchone()[0]
    # From a connection of its own: the pool would hand back the very backend to end.
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (lost,))
    with pytest.raises(OperationalError) as caught, session_scope() as session:
        pid = _PID.execute(session).fetchone()[0]
        assert pid != lost, "the pool handed out a live connection: nothing to check"
    # The statement's own error, not a later one from rolling back on a dead connection.
    assert isinstance(caught.value.orig, psycopg.errors.AdminShutdown), caught.value
    assert caught.value.connection_invalidated
    with session_scope() as session:
        assert _PID.execute(session).fetchone()[0] != lost
