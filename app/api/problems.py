"""Every error leaves the API as application/problem+json, and the OpenAPI document says so."""

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors as pg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from app.api.models.problem import Problem
from app.config import get_settings
from app.errors import RedlineError

_log = logging.getLogger("redline.errors")
# What FastAPI says when a JSON body cannot be decoded (bad UTF-8, broken JSON).
_UNPARSABLE_BODY = "There was an error parsing the body"
MEDIA_TYPE = "application/problem+json"
_REF = "#/components/schemas/{model}"
# What each status means for this API (app/errors.py and the routes' own errors).
_MEANING = {
    400: "The request cannot be served",
    401: "No API key, or a wrong or revoked one (send `Authorization: Bearer <key>`)",
    403: "The API key's role does not allow this",
    404: "Not found: no such layer, version, job, screening or raster",
    409: "Conflict: the resource is not in a state to serve this",
    413: "The request body, an archive in it or a raster is larger than allowed",
    422: "The request or its input cannot be used",
    429: "Too many requests from this client: retry after Retry-After seconds",
    503: "The database is unreachable or busy, or the request took too long: retry after "
    "Retry-After seconds",
}
# Seconds a client should wait before retrying while the database is unreachable.
RETRY_AFTER_S = 5


def problem_responses(*statuses: int) -> dict[int | str, Any]:
    """`responses=` entries documenting these error statuses as application/problem+json."""
    return {
        status: {
            "description": _MEANING.get(status, "Error"),
            "content": {MEDIA_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}},
        }
        for status in statuses
    }


def problem_response(body: dict) -> JSONResponse:
    """A problem document as the response, with its status."""
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE)


def unavailable() -> JSONResponse:
    """503 problem+json with Retry-After: the database cannot be reached right now."""
    response = problem_response(
        {
            "type": "https://redline.example.org/problems/database-unavailable",
            "title": "The database is unavailable",
            "status": 503,
            "detail": f"The service cannot reach its database; retry in {RETRY_AFTER_S} s.",
        }
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _with_problem_schema(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    # problem_responses refer to Problem by $ref: add it (and what it refers to) to components.
    def build() -> dict[str, Any]:
        schema = openapi()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in components:
            problem = Problem.model_json_schema(ref_template=_REF)
            components.update(problem.pop("$defs", {}))
            components["Problem"] = problem
        return schema

    return build


def install(app: FastAPI) -> None:
    """Register the problem+json exception handlers and the Problem schema."""
    app.openapi = _with_problem_schema(app.openapi)  # type: ignore[method-assign]

    @app.exception_handler(RedlineError)
    async def redline_error(_: Request, exc: RedlineError) -> JSONResponse:
        return problem_response(exc.problem())

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
        return problem_response(
            {
                "type": "https://redline.example.org/problems/invalid-request",
                "title": "The request is not valid",
                "status": 422,
                "detail": f"{detail}. See /docs for the expected parameters.",
                "errors": errors,
            }
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DBAPIError)
    async def database_fault(_: Request, exc: Exception) -> JSONResponse:
        limit = database_limit_problem(exc) if isinstance(exc, OperationalError) else None
        if limit is not None:  # a statement cut off by a limit: the request was too heavy
            response = problem_response(limit)
            response.headers["Retry-After"] = "30"
            return response
        if isinstance(exc, DBAPIError) and not (
            isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
        ):
            raise exc  # a fault of the request or the code, not of the database's reach
        return unavailable()

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            # FastAPI's own JSON body parsing: the same 422 as any other unusable input.
            return problem_response(
                {
                    "type": "https://redline.example.org/problems/invalid-request",
                    "title": "The request is not valid",
                    "status": 422,
                    "detail": "The request body is not JSON (UTF-8) of the documented shape; "
                    "see /docs.",
                }
            )
        response = problem_response(
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "detail": str(exc.detail),
            }
        )
        # Starlette's 405 names the allowed methods in Allow (RFC 9110 requires it).
        response.headers.update(exc.headers or {})
        return response

    install_fallback(app)


def database_limit_problem(exc: OperationalError) -> dict[str, Any] | None:
    """The problem for a statement cut off by a database limit (timeout, temp files), or None."""
    settings = get_settings()
    if isinstance(exc.orig, pg.QueryCanceled):
        return {
            "type": "https://redline.example.org/problems/query-timeout",
            "title": "The request took too long",
            "status": 503,
            "detail": f"The query took longer than {settings.statement_timeout_s} s and was "
            "stopped; narrow the request (a smaller area, fewer layers or sites) and retry.",
        }
    if isinstance(exc.orig, pg.DiskFull | pg.ConfigurationLimitExceeded):
        return {
            "type": "https://redline.example.org/problems/database-limit",
            "title": "The request needs more working space than allowed",
            "status": 503,
            "detail": "The database ran out of working space (temporary files) for this request; "
            "narrow the request or simplify the geometries, and retry later.",
        }
    return None


def install_fallback(app: FastAPI) -> None:
    """A generic 500 problem for unexpected exceptions: the request id only, traceback logged."""

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        _log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
        response = problem_response(
            {
                "type": "about:blank",
                "title": "Internal server error",
                "status": 500,
                "detail": f"An unexpected error occurred; quote request id {request_id} "
                "to the operator.",
                "request_id": request_id,
            }
        )
        # This handler runs outside the request-id middleware: echo the id here.
        response.headers["X-Request-ID"] = str(request_id)
        return response
