"""The audit log: who did what to which target, from where, in which request."""

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.store.models import AuditLog

MAX_LIMIT = 1000


@dataclass(frozen=True)
class RequestInfo:
    """The request being served: its id and the client's address."""

    request_id: str
    client_addr: str | None


# Set by the API's request middleware; the CLI leaves it unset.
current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


@event.listens_for(AuditLog, "before_insert")
def _stamp(_mapper: Any, _connection: Any, row: AuditLog) -> None:
    """Every entry, wherever it is written, carries the request it came from."""
    info = current_request.get()
    if info is not None:
        row.request_id = row.request_id or info.request_id
        row.client_addr = row.client_addr or info.client_addr
    if row.target is None and row.layer_id is not None:
        version = (row.detail or {}).get("version")
        row.target = f"{row.layer_id} v{version}" if version is not None else row.layer_id
    if row.outcome is None:
        row.outcome = "ok"


def record(
    session: Session,
    actor: str | None,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    **detail: Any,
) -> AuditLog:
    """Add one entry to the log (written with the session's transaction)."""
    row = AuditLog(actor=actor, action=action, target=target, outcome=outcome, detail=detail)
    session.add(row)
    return row


def entries(
    session: Session,
    action: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditLog]:
    """Entries matching the filters, newest first."""
    q = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if action:
        q = q.where(AuditLog.action == action)
    if actor:
        q = q.where(AuditLog.actor == actor)
    if since:
        q = q.where(AuditLog.at >= since)
    if until:
        q = q.where(AuditLog.at < until)
    return list(session.scalars(q.limit(min(limit, MAX_LIMIT)).offset(offset)))
