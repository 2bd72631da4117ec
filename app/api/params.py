"""Bounds shared by every route's parameters: integers PostgreSQL can hold, no NUL, no NaN.

PostgreSQL rejects NUL in text and NaN in JSONB, and its integers overflow past 2**31-1:
such input is refused here as a 422 (400 on OGC routes) before it reaches SQL.
"""

import json
import math
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile

from app.errors import InvalidInput

MAX_INT = 2**31 - 1
"""The largest integer a parameter may carry (PostgreSQL `integer`)."""

Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")]
VersionNumber = Annotated[int, Query(ge=1, le=MAX_INT)]
# Negative tile indexes stay valid integers: the tile service answers them with 404.
TileIndex = Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)]


def _nul_error(where: str, name: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": (where, name), "msg": "NUL characters are not allowed", "type": "value_error"}]
    )


async def reject_nul(request: Request) -> None:
    """Refuse NUL in the path, query, headers and form fields (and upload names)."""
    for where, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
        ("header", request.headers.items()),
    ):
        for name, value in items:
            if "\x00" in str(name) or "\x00" in str(value):
                raise _nul_error(where, str(name).replace("\x00", ""))
    content_type = request.headers.get("content-type", "")
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
        raise InvalidInput(f"{name} must be a number, not {value!r}.") from exc
    if not math.isfinite(number):
        raise InvalidInput(f"{name} must be a finite number, not {value!r}.")
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
        _check_strings(value)
    except UnicodeDecodeError as exc:
        raise InvalidInput("The request body is not UTF-8 text.") from exc
    except RecursionError as exc:
        raise InvalidInput("The JSON body is nested too deeply.") from exc
    except ValueError as exc:  # JSONDecodeError included
        raise InvalidInput(f"The request body is not valid JSON: {exc}.") from exc
    return value
