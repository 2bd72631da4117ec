"""The audit log: who did what to which target, from where, in which request."""

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.models import AuditLog, RequestInfo, current_request

__all__ = ["MAX_LIMIT", "RequestInfo", "current_request", "entries", "record"]

MAX_LIMIT = 1000


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
