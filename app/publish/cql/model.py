"""CQL2 building blocks shared by the parser, the SQL evaluator and the OGC API."""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
)

from app.errors import InvalidInput

Kind = Literal["string", "integer", "number", "boolean", "date"]
GeometryLiteral = Callable[[dict[str, Any]], ColumnElement]
Intersects = Callable[[ColumnElement], ColumnElement]


class BadParameter(InvalidInput):
    """OGC API - Features answers 400 to a query parameter it cannot use."""

    status = 400
    type = "https://redline.example.org/problems/invalid-parameter"
    title = "A query parameter is not valid"


@dataclass(frozen=True)
class Queryable:
    """A filterable property: its catalog type and the SQL expression that reads it."""

    name: str
    kind: Kind
    column: ColumnElement


@dataclass(frozen=True)
class SpatialContext:
    """How geometry literals and the feature geometry enter the SQL."""

    geometry: ColumnElement  # the feature geometry, EPSG:4490
    literal: GeometryLiteral  # GeoJSON-like dict in the filter CRS → EPSG:4490 SQL geometry
    intersects: Intersects  # literal → "feature intersects it" (uses the subdivided parts)


KIND_TEXT = {
    "string": "text: use a quoted value such as '南江县'",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean: use true or false",
    "date": "a date: use DATE('2023-01-31')",
}


def coerce(value: Any, kind: Kind) -> Any:
    """A CQL2 or query-parameter value as the Python type of the property kind."""
    if kind == "string":
        if not isinstance(value, str):
            raise TypeError("Quote text values.")
        return value
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise TypeError("Use true or false.")
        return value
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        raise TypeError("Use DATE('YYYY-MM-DD').")
    if isinstance(value, bool):
        raise TypeError("Booleans are not numbers.")
    if isinstance(value, str):
        value = int(value) if kind == "integer" and re.fullmatch(r"-?\d+", value) else float(value)
    if not isinstance(value, int | float):
        raise TypeError("Use a number.")
    return value
