"""The audit log (admin): imports, activations, screenings, exports, key changes, refusals."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.auth import require
from app.api.deps import DbSession
from app.api.models.keys import AuditEntry
from app.api.problems import problem_responses
from app.store import audit as store

router = APIRouter(
    tags=["audit"],
    dependencies=[Depends(require("admin"))],
    responses=problem_responses(401, 403),
)


@router.get("/audit", response_model=list[AuditEntry], responses=problem_responses(422))
def audit_log(
    session: DbSession,
    action: Annotated[
        str | None,
        Query(
            description="import, import-raster, screening, screening-batch, "
            "screening-batch-filed, export, "
            "key-create, key-revoke, auth-failed"
        ),
    ] = None,
    actor: Annotated[str | None, Query(description="the key owner's name")] = None,
    since: Annotated[dt.datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[dt.datetime | None, Query(description="ISO 8601, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=store.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEntry]:
    """Audit entries, newest first, with actor, time, request id, target and client address."""
    rows = store.entries(session, action, actor, since, until, limit, offset)
    return [AuditEntry.of(r) for r in rows]
