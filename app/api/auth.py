"""Who is calling: an API key (Bearer or X-API-Key) names a Principal with a role.

Routes declare the least role they need with `require(role)`; reads use `read_access`, open to
anonymous callers while REDLINE_OPEN_READS is true. Refusals are 401/403 problem+json, audited.
"""

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.api.problems import problem_response
from app.config import Settings, get_settings
from app.errors import RedlineError
from app.store import audit, key_cache, keys
from app.store.db import session_scope


@dataclass(frozen=True)
class Principal:
    """The caller: the key's owner, its role and the key's id (None when anonymous)."""

    name: str
    role: str | None
    key_id: int | None

    @property
    def sees_all(self) -> bool:
        """Admins see every officer's screenings and jobs; others only their own."""
        return self.role == "admin"

    def owns(self, owner: str | None) -> bool:
        """Whether a record filed by OWNER is visible to this caller."""
        return self.sees_all or owner == self.name


ANONYMOUS = Principal("anonymous", None, None)


class Unauthorized(RedlineError):
    """No key, or a key that is wrong or revoked (401)."""

    status = 401
    type = "https://redline.example.org/problems/unauthorized"
    title = "An API key is needed"


class Forbidden(RedlineError):
    """A valid key whose role is below what the route needs (403)."""

    status = 403
    type = "https://redline.example.org/problems/forbidden"
    title = "The key's role does not allow this"


_bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="Authorization: Bearer <API key>"
)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyHeader = Annotated[str | None, Depends(_api_key)]


def settings_of(request: Request) -> Settings:
    """The app's settings (tests build apps with their own), else the environment's."""
    return getattr(request.app.state, "settings", None) or get_settings()


def _refuse(request: Request, exc: RedlineError, actor: str | None, presented: str | None) -> None:
    """Log the refusal in its own transaction (the request's own rolls back), then raise."""
    with session_scope() as session:
        audit.record(
            session,
            actor,
            "auth-failed",
            f"{request.method} {request.url.path}",
            str(exc.status),
            key_prefix=keys.prefix_of(presented) if presented else None,
        )
    raise exc


def _known(request: Request, presented: str | None) -> Principal | None:
    """The key's principal if this request or this process already knows it (no database,
    no blocking: for the event loop), else None."""
    if presented is None:
        return None
    found = getattr(request.state, "principal", None)
    if found is None:
        holder = key_cache.known(presented)
        if holder is not None:
            found = request.state.principal = Principal(holder.name, holder.role, holder.key_id)
    return found


def _admitted(request: Request, role: str, presented: str | None) -> Principal | None:
    """The principal of a key this process knows whose role is ROLE or higher; None means
    "check it in full" (`_check`: the database, refusals and their audit)."""
    known = _known(request, presented)
    if known is not None and keys.rank(known.role or "") >= keys.rank(role):
        return known
    return None


def _principal(request: Request, presented: str | None) -> Principal | None:
    """The key's principal (once per request), None without a key; 401 for a bad key."""
    if presented is None:
        return None
    known = _known(request, presented)
    if known is not None:
        return known
    with session_scope() as session:
        holder = key_cache.authenticate(session, presented)
    if holder is None:
        _refuse(request, Unauthorized("The API key is not valid or was revoked."), None, presented)
    assert holder is not None  # _refuse raised otherwise
    found = request.state.principal = Principal(holder.name, holder.role, holder.key_id)
    return found


def _check(request: Request, role: str, presented: str | None, open_read: bool) -> Principal:
    principal = _principal(request, presented)
    if principal is None:
        if open_read and settings_of(request).open_reads:
            return ANONYMOUS
        _refuse(
            request,
            Unauthorized(
                f"This needs an API key with role {role} or higher: send "
                "`Authorization: Bearer <key>` or `X-API-Key: <key>` (ask an administrator)."
            ),
            None,
            None,
        )
    assert principal is not None  # _refuse raised otherwise
    if keys.rank(principal.role or "") < keys.rank(role):
        _refuse(
            request,
            Forbidden(
                f"This needs role {role} or higher; the key of {principal.name} "
                f"is {principal.role}."
            ),
            principal.name,
            presented,
        )
    return principal


def _presented(bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> str | None:
    return bearer.credentials if bearer is not None else api_key


@cache
def require(role: str) -> Any:
    """The dependency admitting keys of ROLE or higher; it returns the caller's Principal."""
    if role not in keys.ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(request: Request, bearer: Bearer, api_key: ApiKeyHeader) -> Principal:
        presented = _presented(bearer, api_key)
        # On the event loop: a key known to this process takes no thread.
        return _admitted(request, role, presented) or await run_in_threadpool(
            _check, request, role, presented, False
        )

    return dependency


async def read_access(request: Request, bearer: Bearer, api_key: ApiKeyHeader) -> Principal:
    """Reads: anyone while REDLINE_OPEN_READS is true (a key given must still be valid),
    else a viewer key or higher."""
    presented = _presented(bearer, api_key)
    if presented is None and settings_of(request).open_reads:
        return ANONYMOUS  # on the event loop: an open read takes no thread hop
    return _admitted(request, "viewer", presented) or await run_in_threadpool(
        _check, request, "viewer", presented, True
    )


Reader = Depends(read_access)
# Uploads name their editor as a parameter; routers list Reader or require(role) once.
Editor = Annotated[Principal, Depends(require("editor"))]


def install(app: FastAPI) -> None:
    """Answer 401 with `WWW-Authenticate: Bearer`, as RFC 9110 asks."""

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        response = problem_response(exc.problem())
        response.headers["WWW-Authenticate"] = 'Bearer realm="redline"'
        return response
