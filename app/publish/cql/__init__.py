"""CQL2 text filters (OGC API - Features Part 3) → SQL, via pygeofilter.

`grammar` parses (pygeofilter's grammar, two fixes), `sql` translates with a pygeofilter
Evaluator, `model` holds the queryable and error types both share.
"""

from app.publish.cql.grammar import parse
from app.publish.cql.model import (
    BadParameter,
    GeometryLiteral,
    Intersects,
    Kind,
    Queryable,
    SpatialContext,
    coerce,
)
from app.publish.cql.sql import geojson_literal, to_where

__all__ = [
    "BadParameter",
    "GeometryLiteral",
    "Intersects",
    "Kind",
    "Queryable",
    "SpatialContext",
    "coerce",
    "geojson_literal",
    "parse",
    "to_where",
]
