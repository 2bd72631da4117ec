"""Every error leaves the API as application/problem+json, and the OpenAPI document says so."""

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.api.models.problem import Problem
from app.errors import RedlineError

_log = logging.getLogger("redline.errors")
MEDIA_TYPE = "application/problem+json"
_REF = "#/components/schemas/{model}"
# What each status means for this API (app/errors.py and the routes' own errors).
_MEANING = {
    400: "The request cannot be served",
    404: "Not found: no such layer, version, job, screening or raster",
    409: "Conflict: the resource is not in a state to serve this",
    422: "The request or its input cannot be used",
}


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

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
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
