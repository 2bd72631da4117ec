"""A request id for every request: taken from a sane `X-Request-ID` or made, and returned.

It is kept in a contextvar with the client address (for log lines and the audit trail), in
`request.state.request_id`, and echoed in the response's `X-Request-ID` header.
"""

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.store.audit import RequestInfo, current_request

HEADER = "X-Request-ID"
# Ids from clients or proxies are kept only if short and plain (they reach logs and the audit).
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    info = current_request.get()
    return info.request_id if info else None


class RequestIdMiddleware:
    """Sets the request's id and client address for logs and the audit log; echoes the id."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap the ASGI app."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request with its id in context and in the response headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER.lower().encode(), b"").decode("latin-1")
        request_id = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        client = scope.get("client")
        token = current_request.set(RequestInfo(request_id, client[0] if client else None))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request.reset(token)
