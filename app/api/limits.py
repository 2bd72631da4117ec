"""Request body limits, enforced before a route sees the body (pure ASGI middleware).

Multipart uploads may be as large as REDLINE_MAX_UPLOAD_MB; any other body is JSON and has its
own, smaller limit, plus limits on nesting depth and on the length of any one string. The size
is refused from `Content-Length` before anything is read, and counted while streaming (chunked
uploads), so nothing past the limit is read or spooled to disk.
"""

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings

MEDIA_TYPE = b"application/problem+json"
_PROBLEMS = "https://redline.example.org/problems/"
# Room for the multipart boundaries and text fields around the file itself.
_MULTIPART_SLACK = 1024 * 1024


def _problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": _PROBLEMS + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


def too_large(limit_mb: int, what: str) -> dict[str, Any]:
    """The 413 problem for a body over its limit, saying the limit and what to do."""
    return _problem(
        413,
        "too-large",
        "The request body is too large",
        f"{what} is larger than the limit of {limit_mb} MB. Split the file into smaller ones, "
        "or ask an administrator to raise REDLINE_MAX_UPLOAD_MB (REDLINE_MAX_JSON_MB for JSON). "
        "请拆分文件后重新上传，或请管理员调高上限。",
        limit_mb=limit_mb,
    )


def json_shape_problem(value: Any) -> dict[str, Any] | None:
    """A problem when parsed JSON nests deeper or holds a longer string than allowed."""
    settings = get_settings()
    max_depth = settings.max_json_depth
    max_chars = settings.max_json_string_mb * 1024 * 1024
    stack: list[tuple[Any, int]] = [(value, 1)]
    # Iterative walk: a recursive one would be the very stack overflow this guards against.
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, str) and len(item) > max_chars:
                return _problem(
                    413,
                    "string-too-long",
                    "A string in the request is too long",
                    f"A JSON string has {len(item)} characters; the limit is {max_chars}.",
                )
            continue
        if depth > max_depth:
            return _too_deep(max_depth)
        stack.extend((child, depth + 1) for child in children)
    return None


class BodyLimits:
    """ASGI middleware: 413/422 problem+json for bodies over the size, depth or string limits."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap the application."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the body's declared size, then count it while it streams in."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        settings = get_settings()
        multipart = content_type.startswith(("multipart/", "application/x-www-form-urlencoded"))
        limit_mb = settings.max_upload_mb if multipart else settings.max_json_mb
        limit = limit_mb * 1024 * 1024 + (_MULTIPART_SLACK if multipart else 0)
        what = "The upload" if multipart else "The JSON body"
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _send_problem(send, too_large(limit_mb, what))
            return
        if multipart:
            await _Streamed(self.app, limit, too_large(limit_mb, what))(scope, receive, send)
            return
        body = await _read_body(receive, limit)
        if body is None:
            await _send_problem(send, too_large(limit_mb, what))
            return
        problem = _check_json(body)
        if problem is not None:
            await _send_problem(send, problem)
            return
        await self.app(scope, _replay(body, receive), send)


def _too_deep(max_depth: int) -> dict[str, Any]:
    return _problem(
        422,
        "too-deep",
        "The JSON body is nested too deeply",
        f"The JSON body nests deeper than {max_depth} levels; flatten it.",
    )


def _check_json(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except RecursionError:  # the parser itself gave up on the nesting
        return _too_deep(get_settings().max_json_depth)
    except ValueError:
        return None  # not JSON: the route says what it expected
    return json_shape_problem(value)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _Streamed:
    """Pass the body through while counting; past the limit answer 413 and end the body."""

    def __init__(self, app: ASGIApp, limit: int, problem: dict[str, Any]) -> None:
        self.app, self.limit, self.problem = app, limit, problem
        self.size = 0
        self.refused = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a counting receive; its response is dropped once refused."""

        async def counted() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.size += len(message.get("body", b""))
                if self.size > self.limit:
                    await self._refuse(send)
                    return {"type": "http.disconnect"}  # the app stops reading here
            return message

        async def guarded(message: Message) -> None:
            if self.refused:
                return
            self.started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not self.refused:
                raise  # the app's own error, not the cut-off body

    async def _refuse(self, send: Send) -> None:
        self.refused = True
        if not self.started:
            await _send_problem(send, self.problem)


async def _send_problem(send: Send, problem: dict[str, Any]) -> None:
    body = json.dumps(problem, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem["status"],
            "headers": [
                (b"content-type", MEDIA_TYPE),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
