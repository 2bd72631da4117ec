"""CQL2 text → a SQLAlchemy WHERE clause over one layer's features, via pygeofilter's AST.

User values only ever become bound parameters; property names are looked up in the
layer's queryables, so nothing a client sends is pasted into SQL.
"""

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pygeofilter.parsers.cql2_text.parser as cql2_parser
from geoalchemy2 import Geometry
from lark import Lark
from lark.exceptions import LarkError
from pygeofilter import ast, values
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Float,
    String,
    and_,
    bindparam,
    false,
    func,
    not_,
    or_,
    true,
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


# pygeofilter 0.4 gives AND and OR the same precedence and reads strings without the
# '' escape; CQL2 binds AND tighter and allows 'it''s'. Both are fixed in a copy of its grammar.
_CONDITION_RULES = """?condition: condition_1
          | condition "AND"i condition_1                                 -> and_
          | condition "OR"i condition_1                                   -> or_

?condition_1: predicate
            | "NOT"i predicate                                               -> not_
            | "NOT"i "(" predicate ")"                                       -> not_
            | "(" condition ")"
"""
_CQL2_CONDITION_RULES = """?condition: boolean_term
          | condition "OR"i boolean_term                                  -> or_

?boolean_term: condition_1
          | boolean_term "AND"i condition_1                              -> and_

?condition_1: predicate
            | "NOT"i condition_1                                             -> not_
            | "(" condition ")"
"""
_STRING_RULE = """SINGLE_QUOTED: "'" /.*?/ "'\""""
_CQL2_STRING_RULE = """SINGLE_QUOTED: /'(?:[^']|'')*'/"""


class _Transformer(cql2_parser.CQLTransformer):
    def SINGLE_QUOTED(self, token: str) -> str:  # lark calls terminals by their own name
        return token[1:-1].replace("''", "'")


@lru_cache
def _parser() -> Lark:
    path = Path(cql2_parser.__file__).with_name("grammar.lark")
    grammar = path.read_text(encoding="utf-8")
    for old, new in ((_CONDITION_RULES, _CQL2_CONDITION_RULES), (_STRING_RULE, _CQL2_STRING_RULE)):
        if old not in grammar:
            raise RuntimeError("pygeofilter's CQL2 grammar changed; review app/publish/cql.py")
        grammar = grammar.replace(old, new)
    return Lark(
        grammar,
        parser="lalr",
        maybe_placeholders=False,
        transformer=_Transformer(),
        import_paths=[path.parent.parent],
        source_path=str(path),
    )


def parse(text: str) -> ast.Node:
    """Parse CQL2 text; a syntax error becomes a 400 that quotes the parser."""
    try:
        return _parser().parse(text)
    except LarkError as exc:
        first_line = str(exc).strip().splitlines()[0].rstrip(".")
        raise BadParameter(
            f"filter is not valid CQL2 text: {first_line}. Example: "
            "zone_type = '重点生态功能区' AND S_INTERSECTS(geometry, POINT(106.85 32.62))."
        ) from exc


_COMPARISONS: dict[type, Callable[[Any, Any], ColumnElement]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_SPATIAL: dict[type, str] = {
    ast.GeometryContains: "ST_Contains",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}
_SQL_TYPES = {
    "string": String(),
    "integer": BigInteger(),
    "number": Float(),
    "boolean": Boolean(),
    "date": Date(),
}


class _Translator:
    def __init__(self, queryables: Mapping[str, Queryable], spatial: SpatialContext) -> None:
        self.queryables = queryables
        self.spatial = spatial

    def condition(self, node: ast.Node) -> ColumnElement:
        handlers: dict[type, Callable[[Any], ColumnElement]] = {
            ast.And: self._and,
            ast.Or: self._or,
            ast.Not: self._not,
            ast.Include: self._include,
            ast.IsNull: self._is_null,
            ast.Like: self._like,
            ast.In: self._in,
            ast.Between: self._between,
            ast.GeometryIntersects: self._intersects,
            ast.GeometryDisjoint: self._disjoint,
        }
        handler = handlers.get(type(node))
        if handler is not None:
            return handler(node)
        if type(node) in _COMPARISONS:
            return self._comparison(node)
        if type(node) in _SPATIAL:
            self._check_geometry_property(node.lhs)
            return getattr(func, _SPATIAL[type(node)])(
                self.spatial.geometry, self._geometry(node.rhs)
            )
        raise BadParameter(
            f"The filter uses {type(node).__name__}, which this service does not support. "
            "Use comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT and S_INTERSECTS."
        )

    def _and(self, node: ast.And) -> ColumnElement:
        return and_(self.condition(node.lhs), self.condition(node.rhs))

    def _or(self, node: ast.Or) -> ColumnElement:
        return or_(self.condition(node.lhs), self.condition(node.rhs))

    def _not(self, node: ast.Not) -> ColumnElement:
        return not_(self.condition(node.sub_node))

    def _include(self, node: ast.Include) -> ColumnElement:
        return false() if node.not_ else true()

    def _is_null(self, node: ast.IsNull) -> ColumnElement:
        column = self._attribute(node.lhs).column
        return column.is_not(None) if node.not_ else column.is_(None)

    def _like(self, node: ast.Like) -> ColumnElement:
        queryable = self._attribute(node.lhs)
        if queryable.kind != "string":
            raise BadParameter(f"LIKE needs a text property; {queryable.name} is not text.")
        pattern = bindparam(None, self._check(node.pattern, "string", queryable.name), String())
        # CQL2 wildcards are SQL's own (% and _, backslash escapes), so the pattern passes as is.
        column = queryable.column
        matched = column.ilike(pattern) if node.nocase else column.like(pattern)
        return not_(matched) if node.not_ else matched

    def _in(self, node: ast.In) -> ColumnElement:
        queryable = self._attribute(node.lhs)
        options = [self._literal(v, queryable) for v in node.sub_nodes]
        matched = queryable.column.in_(options)
        return not_(matched) if node.not_ else matched

    def _between(self, node: ast.Between) -> ColumnElement:
        queryable = self._attribute(node.lhs)
        low, high = self._literal(node.low, queryable), self._literal(node.high, queryable)
        matched = queryable.column.between(low, high)
        return not_(matched) if node.not_ else matched

    def _intersects(self, node: ast.GeometryIntersects) -> ColumnElement:
        self._check_geometry_property(node.lhs)
        return self.spatial.intersects(self._geometry(node.rhs))

    def _disjoint(self, node: ast.GeometryDisjoint) -> ColumnElement:
        self._check_geometry_property(node.lhs)
        return not_(self.spatial.intersects(self._geometry(node.rhs)))

    def _comparison(self, node: ast.Comparison) -> ColumnElement:
        lhs, rhs = node.lhs, node.rhs
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs  # '南江县' = county reads like county = '南江县'
            compare = _COMPARISONS[_MIRRORED.get(type(node), type(node))]
        else:
            compare = _COMPARISONS[type(node)]
        queryable = self._attribute(lhs)
        if isinstance(rhs, ast.Attribute):
            return compare(queryable.column, self._attribute(rhs).column)
        return compare(queryable.column, self._literal(rhs, queryable))

    def _attribute(self, node: Any) -> Queryable:
        if not isinstance(node, ast.Attribute):
            what = type(node).__name__ if isinstance(node, ast.Node) else repr(node)
            raise BadParameter(
                f"The filter compares {what}: one side must be a property name "
                f"({self._names()}); functions and arithmetic are not supported."
            )
        queryable = self.queryables.get(node.name)
        if queryable is None:
            raise BadParameter(
                f"The filter uses the property {node.name!r}, which is not queryable here. "
                f"Queryables: {self._names()} (see the collection's /queryables)."
            )
        return queryable

    def _literal(self, value: Any, queryable: Queryable) -> ColumnElement:
        checked = self._check(value, queryable.kind, queryable.name)
        return bindparam(None, checked, _SQL_TYPES[queryable.kind])

    def _check(self, value: Any, kind: Kind, name: str) -> Any:
        """The literal as the Python value the property's type expects, or a 400."""
        try:
            return coerce(value, kind)
        except (TypeError, ValueError) as exc:
            raise BadParameter(
                f"The filter compares {name} ({_KIND_TEXT[kind]}) with {value!r}. {exc}"
            ) from exc

    def _check_geometry_property(self, node: Any) -> None:
        if not (isinstance(node, ast.Attribute) and node.name == "geometry"):
            raise BadParameter(
                "Spatial functions take the property 'geometry' first, e.g. "
                "S_INTERSECTS(geometry, POINT(106.85 32.62))."
            )

    def _geometry(self, node: Any) -> ColumnElement:
        if isinstance(node, values.Geometry):
            return self.spatial.literal(node.geometry)
        if isinstance(node, ast.Function) and node.name == "bbox":
            return self.spatial.literal(_bbox_polygon(node.arguments))
        raise BadParameter(
            "The second argument of a spatial function must be a WKT geometry or BBOX(...) "
            "literal, e.g. POINT(106.85 32.62)."
        )

    def _names(self) -> str:
        return ", ".join(sorted(self.queryables))


_MIRRORED = {
    ast.LessThan: ast.GreaterThan,
    ast.LessEqual: ast.GreaterEqual,
    ast.GreaterThan: ast.LessThan,
    ast.GreaterEqual: ast.LessEqual,
}
_KIND_TEXT = {
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


def _bbox_polygon(arguments: list[Any]) -> dict[str, Any]:
    """CQL2 BBOX(x1, y1, x2, y2) (or 6 numbers with heights) as a GeoJSON polygon."""
    if len(arguments) not in (4, 6) or not all(
        isinstance(a, int | float) and not isinstance(a, bool) for a in arguments
    ):
        raise BadParameter("BBOX takes 4 numbers: BBOX(minx, miny, maxx, maxy).")
    half = len(arguments) // 2
    x1, y1, x2, y2 = arguments[0], arguments[1], arguments[half], arguments[half + 1]
    ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
    return {"type": "Polygon", "coordinates": [ring]}


def to_where(
    text: str, queryables: Mapping[str, Queryable], spatial: SpatialContext
) -> ColumnElement:
    """The SQL condition of a CQL2 text filter."""
    return _Translator(queryables, spatial).condition(parse(text))


def geojson_literal(
    geometry: dict[str, Any], srid: int, north_first: bool, densify: bool = False
) -> ColumnElement:
    """A GeoJSON-like dict in (srid, axis order) as an EPSG:4490 SQL geometry, bound."""
    value: ColumnElement = func.ST_GeomFromGeoJSON(bindparam(None, json.dumps(geometry), String()))
    if north_first:
        value = func.ST_FlipCoordinates(value)
    value = func.ST_SetSRID(value, srid)
    if densify:
        # Edges straight in a projected CRS are curves in lon/lat: keep vertices every 100 m.
        value = func.ST_Segmentize(value, 100.0)
    return func.ST_Transform(value, 4490, type_=Geometry(srid=4490))
