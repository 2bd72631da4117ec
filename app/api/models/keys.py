"""Views of API keys (never their secrets, except once at creation) and audit entries."""

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.store.models import ApiKey, AuditLog

Role = Literal["viewer", "officer", "editor", "admin"]


class NewKeyBody(BaseModel):
    """A key to create: its owner's name and role."""

    name: str = Field(min_length=1, max_length=200, description="the owner, e.g. 张三")
    role: Role


class KeyView(BaseModel):
    """A key as listed: owner, role, public prefix, dates; no secret."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: dt.datetime
    created_by: str | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> "KeyView":
        """The view of a stored key."""
        return cls(
            id=row.id,
            name=row.name,
            role=row.role,
            prefix=row.prefix,
            created_at=row.created_at,
            created_by=row.created_by,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class CreatedKey(KeyView):
    """A key just created, with its secret: shown this once, stored only as a hash."""

    key: str = Field(description="the secret; send it as `Authorization: Bearer <key>`")


class AuditEntry(BaseModel):
    """One audit log entry: who did what to which target, when, from where."""

    id: int
    at: dt.datetime
    actor: str | None
    action: str
    target: str | None
    outcome: str
    request_id: str | None
    client_addr: str | None
    layer_id: str | None
    version_id: int | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditLog) -> "AuditEntry":
        """The view of a stored entry."""
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            outcome=row.outcome,
            request_id=row.request_id,
            client_addr=row.client_addr,
            layer_id=row.layer_id,
            version_id=row.version_id,
            detail=row.detail or {},
        )
