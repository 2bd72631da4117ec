"""CQL2 AST → SQLAlchemy condition through pygeofilter's Evaluator extension point.

User values only ever become bound parameters; property names are looked up in the
layer's queryables, so nothing a client sends is pasted into SQL.
"""

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
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

from app.publish.cql.grammar import parse
from app.publish.cql.model import (
    KIND_TEXT,
    BadParameter,
    Kind,
    Queryable,
    SpatialContext,
    coerce,
)

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


# Operands as the evaluator hands them up the tree, before a predicate turns them into SQL:
# a literal only becomes a bound parameter once the property it is compared with fixes its type.
@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _GeometryValue:
    geometry: dict[str, Any]  # GeoJSON-like, in the filter CRS


@dataclass(frozen=True)
class _GeometryProperty:
    """The feature geometry, named `geometry` in filters."""


@dataclass(frozen=True)
class _Unsupported:
    what: str  # e.g. "Add" or "Function": expressions this service cannot translate


class _SqlEvaluator(Evaluator):
    """pygeofilter AST → SQLAlchemy condition; children arrive already evaluated."""

    def __init__(self, queryables: Mapping[str, Queryable], spatial: SpatialContext) -> None:
        self.queryables = queryables
        self.spatial = spatial

    # --- operands ---

    @handle(ast.Attribute)
    def attribute(self, node: ast.Attribute) -> Queryable | _GeometryProperty:
        if node.name == "geometry":
            return _GeometryProperty()
        queryable = self.queryables.get(node.name)
        if queryable is None:
            raise BadParameter(
                f"The filter uses the property {node.name!r}, which is not queryable here. "
                f"Queryables: {self._names()} (see the collection's /queryables)."
            )
        return queryable

    @handle(str, int, float, bool, dt.date, dt.datetime)
    def literal(self, node: Any) -> _Literal:
        return _Literal(node)

    @handle(values.Geometry)
    def geometry(self, node: values.Geometry) -> _GeometryValue:
        return _GeometryValue(node.geometry)

    @handle(ast.Function)
    def function(self, node: ast.Function, *arguments: Any) -> _GeometryValue | _Unsupported:
        if node.name.lower() != "bbox":
            return _Unsupported("Function")
        return _GeometryValue(_bbox_polygon(node.arguments))

    def adopt(self, node: Any, *sub_args: Any) -> Any:
        """No handler: a condition cannot be translated (400); an expression becomes a marker."""
        if isinstance(node, ast.Condition | ast.Predicate):
            raise BadParameter(
                f"The filter uses {type(node).__name__}, which this service does not support. "
                "Use comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT and S_INTERSECTS."
            )
        return _Unsupported(type(node).__name__)

    def adopt_result(self, result: Any) -> ColumnElement:
        """The whole filter must be a condition, not a bare property or value."""
        if not isinstance(result, ColumnElement):
            raise BadParameter(
                "The filter is not a condition: compare a property, e.g. zone_type = '城镇化地区'."
            )
        return result

    # --- logic ---

    @handle(ast.And)
    def and_(self, node: ast.And, lhs: ColumnElement, rhs: ColumnElement) -> ColumnElement:
        return and_(lhs, rhs)

    @handle(ast.Or)
    def or_(self, node: ast.Or, lhs: ColumnElement, rhs: ColumnElement) -> ColumnElement:
        return or_(lhs, rhs)

    @handle(ast.Not)
    def not_(self, node: ast.Not, sub: ColumnElement) -> ColumnElement:
        return not_(sub)

    @handle(ast.Include)
    def include(self, node: ast.Include) -> ColumnElement:
        return false() if node.not_ else true()

    # --- predicates ---

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node: ast.Comparison, lhs: Any, rhs: Any) -> ColumnElement:
        kind = type(node)
        if isinstance(rhs, Queryable) and not isinstance(lhs, Queryable):
            lhs, rhs = rhs, lhs  # '南江县' = county reads like county = '南江县'
            kind = _MIRRORED.get(kind, kind)
        queryable = self._queryable(lhs)
        right = rhs.column if isinstance(rhs, Queryable) else self._bound(rhs, queryable)
        return _COMPARISONS[kind](queryable.column, right)

    @handle(ast.IsNull)
    def is_null(self, node: ast.IsNull, lhs: Any) -> ColumnElement:
        column = self._queryable(lhs).column
        return column.is_not(None) if node.not_ else column.is_(None)

    @handle(ast.Like)
    def like(self, node: ast.Like, lhs: Any) -> ColumnElement:
        queryable = self._queryable(lhs)
        if queryable.kind != "string":
            raise BadParameter(f"LIKE needs a text property; {queryable.name} is not text.")
        pattern = bindparam(None, self._check(node.pattern, "string", queryable.name), String())
        # CQL2 wildcards are SQL's own (% and _, backslash escapes), so the pattern passes as is.
        column = queryable.column
        matched = column.ilike(pattern) if node.nocase else column.like(pattern)
        return not_(matched) if node.not_ else matched

    @handle(ast.In)
    def in_(self, node: ast.In, lhs: Any, *options: Any) -> ColumnElement:
        queryable = self._queryable(lhs)
        matched = queryable.column.in_([self._bound(o, queryable) for o in options])
        return not_(matched) if node.not_ else matched

    @handle(ast.Between)
    def between(self, node: ast.Between, lhs: Any, low: Any, high: Any) -> ColumnElement:
        queryable = self._queryable(lhs)
        matched = queryable.column.between(
            self._bound(low, queryable), self._bound(high, queryable)
        )
        return not_(matched) if node.not_ else matched

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial_relation(self, node: ast.Node, lhs: Any, rhs: Any) -> ColumnElement:
        if not isinstance(lhs, _GeometryProperty):
            raise BadParameter(
                "Spatial functions take the property 'geometry' first, e.g. "
                "S_INTERSECTS(geometry, POINT(106.85 32.62))."
            )
        if not isinstance(rhs, _GeometryValue):
            raise BadParameter(
                "The second argument of a spatial function must be a WKT geometry or BBOX(...) "
                "literal, e.g. POINT(106.85 32.62)."
            )
        other = self.spatial.literal(rhs.geometry)
        if isinstance(node, ast.GeometryIntersects):
            return self.spatial.intersects(other)
        if isinstance(node, ast.GeometryDisjoint):
            return not_(self.spatial.intersects(other))
        return getattr(func, _SPATIAL[type(node)])(self.spatial.geometry, other)

    # --- helpers ---

    def _queryable(self, operand: Any) -> Queryable:
        if isinstance(operand, Queryable):
            return operand
        if isinstance(operand, _GeometryProperty):
            raise BadParameter(
                "The filter compares geometry: use a spatial function such as "
                "S_INTERSECTS(geometry, POINT(106.85 32.62))."
            )
        what = operand.what if isinstance(operand, _Unsupported) else _describe(operand)
        raise BadParameter(
            f"The filter compares {what}: one side must be a property name "
            f"({self._names()}); functions and arithmetic are not supported."
        )

    def _bound(self, operand: Any, queryable: Queryable) -> ColumnElement:
        if not isinstance(operand, _Literal):
            raise BadParameter(
                f"The filter compares {queryable.name} with {_describe(operand)}: "
                "compare properties with literal values or other properties."
            )
        checked = self._check(operand.value, queryable.kind, queryable.name)
        return bindparam(None, checked, _SQL_TYPES[queryable.kind])

    def _check(self, value: Any, kind: Kind, name: str) -> Any:
        """The literal as the Python value the property's type expects, or a 400."""
        try:
            return coerce(value, kind)
        except (TypeError, ValueError) as exc:
            raise BadParameter(
                f"The filter compares {name} ({KIND_TEXT[kind]}) with {value!r}. {exc}"
            ) from exc

    def _names(self) -> str:
        return ", ".join(sorted(self.queryables))


def _describe(operand: Any) -> str:
    if isinstance(operand, _Literal):
        return repr(operand.value)
    if isinstance(operand, _Unsupported):
        return operand.what
    return "a geometry" if isinstance(operand, _GeometryValue | _GeometryProperty) else "?"


_MIRRORED = {
    ast.LessThan: ast.GreaterThan,
    ast.LessEqual: ast.GreaterEqual,
    ast.GreaterThan: ast.LessThan,
    ast.GreaterEqual: ast.LessEqual,
}


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
    return _SqlEvaluator(queryables, spatial).evaluate(parse(text))


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
