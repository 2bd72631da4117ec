"""Bounds shared by every route's parameters: integers PostgreSQL can hold, no NUL, no NaN.

PostgreSQL rejects NUL in text and NaN in JSONB, and its integers overflow past 2**31-1:
such input is refused here as a 422 (400 on OGC routes) before it reaches SQL.
"""

import json
import math
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile

from app.errors import InvalidInput

MAX_INT = 2**31 - 1
"""The largest integer a parameter may carry (PostgreSQL `integer`)."""

Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")]
VersionNumber = Annotated[int, Query(ge=1, le=MAX_INT)]
# Negative tile indexes stay valid integers: the tile service answers them with 404.
TileIndex = Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)]
RowId = Annotated[int, Path(ge=1, le=MAX_INT, description="A database id.")]


def _nul_error(where: str, name: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": (where, name), "msg": "NUL characters are not allowed", "type": "value_error"}]
    )


def _takes_query(dependant: Dependant) -> bool:
    return bool(dependant.query_params) or any(_takes_query(d) for d in dependant.dependencies)


async def reject_unusable_input(request: Request) -> None:
    """Refuse NUL in the path, query and form fields (and upload names), and JSON bodies of
    body-model routes that `load_json` refuses (NaN, NUL, not UTF-8, too deep).

    Routes without query parameters ignore the query string, so theirs is not checked (they
    document no 422); servers refuse NUL in headers before the app sees them.
    """
    route = request.scope.get("route")
    takes_query = route is None or _takes_query(route.dependant)
    for where, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items() if takes_query else []),
    ):
        for name, value in items:
            if "\x00" in str(name) or "\x00" in str(value):
                raise _nul_error(where, str(name).replace("\x00", ""))
    content_type = request.headers.get("content-type", "")
    is_json = content_type.startswith("application/json") or content_type.split(";")[0].endswith(
        "+json"
    )
    if is_json and route is not None and route.dependant.body_params:
        # FastAPI parsed it already (NaN and NUL pass pydantic): check the cached bytes too.
        load_json(await request.body())
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        # Starlette caches the parsed form: the route reads the same one.
        for name, value in (await request.form()).multi_items():
            text = (value.filename or "") if isinstance(value, UploadFile) else str(value)
            if "\x00" in name or "\x00" in text:
                raise _nul_error("body", name.replace("\x00", ""))


def finite_float(value: str | None, name: str) -> float:
    """A finite number from a form field; 0 when empty."""
    try:
        number = float(value) if value not in (None, "") else 0.0
    except ValueError as exc:
        raise InvalidInput(
            f"参数 {name} 应为数字，收到的是“{value}”。{name} must be a number, not {value!r}."
        ) from exc
    if not math.isfinite(number):
        raise InvalidInput(
            f"参数 {name} 应为有限的数字，收到的是“{value}”。"
            f"{name} must be a finite number, not {value!r}."
        )
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_strings(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed in JSON strings")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def load_json(body: bytes) -> Any:
    """Parse a JSON body: UTF-8, no NaN/Infinity, no NUL in strings, not absurdly deep."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
        # A NUL can only arrive escaped (raw control characters are refused): walk the
        # parsed value only when the body holds the escape.
        if b"\\u0000" in body:
            _check_strings(value)
    except UnicodeDecodeError as exc:
        raise InvalidInput("The request body is not UTF-8 text.") from exc
    except RecursionError as exc:
        raise InvalidInput("The JSON body is nested too deeply.") from exc
    except ValueError as exc:  # JSONDecodeError included
        raise InvalidInput(f"The request body is not valid JSON: {exc}.") from exc
    return value
