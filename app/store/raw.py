"""Hot statements run on psycopg itself, in the session's transaction.

A point screening runs two long statements (the lookup, the filing). Through SQLAlchemy and
psycopg's own placeholder handling each run cost about 1 ms of CPU more than the statement:
SQLAlchemy's execution context, and psycopg parsing a text longer than its 4 096-byte cache
limit for `%(name)s` placeholders on every call. Here the text is compiled once to `$n`
placeholders and sent with a `RawCursor`; psycopg still prepares it after a few runs.
Errors come out as SQLAlchemy's (a dropped connection invalidated), as the routes expect,
and the engine's cursor events still fire (tracing, tests that watch statements; a listener
cannot rewrite these statements).
"""

from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

_DIALECT = PGDialect_psycopg(paramstyle="numeric_dollar")


class RawStatement:
    """A text() statement sent with `$n` placeholders; its execution options (on_primary)
    still choose the session's bind."""

    def __init__(self, clause: TextClause) -> None:
        compiled = clause.compile(dialect=_DIALECT)
        self.clause = clause
        self.text = str(compiled)
        self.sql = self.text.encode()
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def execute(self, session: Session, params: Mapping[str, Any] | None = None) -> psycopg.Cursor:
        """Run it in SESSION's transaction; the cursor holds the rows."""
        connection = session.connection(bind_arguments={"clause": self.clause})
        dbapi = connection.connection.driver_connection
        args = [params[n] for n in self.names] if params is not None and self.names else None
        cursor = psycopg.RawCursor(dbapi)
        events = connection.dispatch
        events.before_cursor_execute(connection, cursor, self.text, args, None, False)
        try:
            cursor.execute(self.sql, args)
        except psycopg.Error as exc:
            lost = dbapi.closed or dbapi.broken
            if lost:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                self.text,
                None,
                exc,
                psycopg.Error,
                hide_parameters=True,
                connection_invalidated=lost,
                dialect=connection.dialect,
            ) from exc
        events.after_cursor_execute(connection, cursor, self.text, args, None, False)
        return cursor
