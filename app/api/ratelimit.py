"""Per-key rate limits: 429 problem+json with Retry-After (the `limits` library, moving window).

The counters live in this process's memory: with several worker processes each has its own
window, so the effective limit is the setting times the number of workers.
"""

import json
import math
import time
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import get_settings
from app.store.keys import prefix_of

_READS = ("GET", "HEAD", "OPTIONS")
# Probes must keep working while a client is being throttled.
_EXEMPT = ("/health",)
_limiter = MovingWindowRateLimiter(MemoryStorage())


def rate_key(request: Request) -> str:
    """Who is counted: the presented API key (by its public prefix), else the client address.

    The middleware runs before authentication, so it counts what is presented without a
    database lookup; a made-up key is counted like any other.
    """
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    presented = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key")
    prefix = prefix_of(presented) if presented else None
    if prefix is not None:
        return f"key:{prefix}"
    return f"addr:{request.client.host if request.client else 'unknown'}"


def _item(method: str) -> tuple[str, RateLimitItem]:
    settings = get_settings()
    if method in _READS:
        return "read", RateLimitItemPerMinute(settings.rate_limit_reads_per_minute)
    return "write", RateLimitItemPerMinute(settings.rate_limit_writes_per_minute)


def reset() -> None:
    """Forget every counter (tests, or an operator after changing the limits)."""
    _limiter.storage.reset()


class RateLimit:
    """ASGI middleware: reads and writes (screenings, imports) counted separately per key."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap the application."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request; past the limit answer 429 with when to retry."""
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        kind, item = _item(scope["method"])
        key = rate_key(Request(scope))
        if _limiter.hit(item, kind, key):
            await self.app(scope, receive, send)
            return
        stats = _limiter.get_window_stats(item, kind, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        body = json.dumps(
            {
                "type": "https://redline.example.org/problems/rate-limited",
                "title": "Too many requests",
                "status": 429,
                "detail": f"More than {item.amount} {kind} requests per minute from this client; "
                f"retry in {retry} s.",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def document(app: Any) -> None:
    """Document the 429 (problem+json, Retry-After) on every operation the limits count,
    so clients (and the schema fuzzing) know any of them may answer it."""
    build = app.openapi

    def with_429() -> dict[str, Any]:
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(_EXEMPT):
                continue
            for operation in operations.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["responses"].setdefault("429", _TOO_MANY)
        return schema

    app.openapi = with_429


_TOO_MANY: dict[str, Any] = {
    "description": "Too many requests from this client: retry after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
