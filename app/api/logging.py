"""Structured logs: one JSON object per line, with the request id; one line per request."""

import json
import logging
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import metrics
from app.api.request_id import current_request_id

LOGGER = "redline"
access_log = logging.getLogger(f"{LOGGER}.access")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON (the traceback, if any, as one string field)."""
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            line["request_id"] = request_id
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Send the `redline` loggers (app.* modules log under `app`) to stderr as JSON lines."""
    for name in (LOGGER, "app"):
        logger = logging.getLogger(name)
        if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
        # Propagation stays on: the root logger has no handler under uvicorn, so no line is
        # written twice, and test log capture still sees the records.
        logger.setLevel(level)


def _route_template(scope: Scope) -> str:
    # The matched route's template keeps the label set small; unmatched paths share one label.
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class AccessLogMiddleware:
    """Pure ASGI middleware: log each request as JSON and record its metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then log method, route template, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - start
            route = _route_template(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
