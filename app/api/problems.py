"""Every error leaves the API as application/problem+json."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.errors import RedlineError

MEDIA_TYPE = "application/problem+json"


def problem_response(body: dict) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
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
        return problem_response(
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "detail": str(exc.detail),
            }
        )
