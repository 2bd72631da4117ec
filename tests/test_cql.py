"""CQL2 → SQL without a database: upstream grammar canary, bound parameters, precedence."""

import datetime as dt

import pytest
from pygeofilter import ast
from pygeofilter.parsers.cql2_text import parse as stock_parse
from sqlalchemy import Column, Integer, MetaData, String, Table, func
from sqlalchemy.dialects import postgresql

from app.publish import cql

_TABLE = Table(
    "t",
    MetaData(),
    Column("name", String),
    Column("code", Integer),
    Column("area", Integer),
    Column("day", String),
)
QUERYABLES = {
    "name": cql.Queryable("name", "string", _TABLE.c.name),
    "code": cql.Queryable("code", "integer", _TABLE.c.code),
    "area": cql.Queryable("area", "number", _TABLE.c.area),
    "day": cql.Queryable("day", "date", _TABLE.c.day),
}
SPATIAL = cql.SpatialContext(
    geometry=func.geom(),
    literal=lambda geometry: cql.geojson_literal(geometry, 4326, north_first=False),
    intersects=lambda other: func.ST_Intersects(func.geom(), other),
)


def compile_filter(text: str):
    return cql.to_where(text, QUERYABLES, SPATIAL).compile(dialect=postgresql.dialect())


def test_upstream_pygeofilter_still_gives_and_and_or_equal_precedence():
    tree = stock_parse("p1 = 1 OR p2 = 2 AND p3 = 3")
    assert isinstance(tree, ast.And), (
        "pygeofilter now binds AND tighter than OR: drop the grammar fix in "
        "app/publish/cql/grammar.py (_CONDITION_RULES) and parse with pygeofilter directly."
    )


def test_our_parser_binds_and_tighter_than_or():
    tree = cql.parse("p1 = 1 OR p2 = 2 AND p3 = 3")
    assert isinstance(tree, ast.Or) and isinstance(tree.rhs, ast.And)
    assert cql.parse("name = 'it''s'").rhs == "it's"


LITERALS = {
    "name = 'Sentinel-Name' OR name LIKE 'Pat%tern'": ["Sentinel-Name", "Pat%tern"],
    "code IN (4711, 4712) AND NOT area BETWEEN 12345.5 AND 67890.25": [
        4711,
        4712,
        12345.5,
        67890.25,
    ],
    "day >= DATE('2023-01-31') AND 98765 > code": [dt.date(2023, 1, 31), 98765],
    "S_INTERSECTS(geometry, POINT(106.8511 32.6277)) AND S_WITHIN(geometry, BBOX(1,2,3,4))": [],
}


@pytest.mark.parametrize("text", list(LITERALS))
def test_every_literal_is_a_bound_parameter(text):
    compiled = compile_filter(text)
    sql = str(compiled)
    for value in LITERALS[text]:
        assert value in compiled.params.values()
        assert str(value) not in sql and str(value).replace("-", "") not in sql
    for number in ("106.8511", "32.6277", "Sentinel", "4711"):
        assert number not in sql
    geometries = [v for v in compiled.params.values() if isinstance(v, str) and "coord" in v]
    assert all("106.8511" in g for g in geometries if "Point" in g)


def test_mirrored_comparison_keeps_its_meaning():
    sql = str(compile_filter("98765 > code"))
    assert "t.code < " in sql


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nope = 1", ["nope", "queryable"]),
        ("name = 5", ["name", "text"]),
        ("code + 1 = 2", ["Add", "property name"]),
        ("S_INTERSECTS(name, POINT(1 2))", ["geometry"]),
        ("day T_AFTER TIMESTAMP('2020-01-01T00:00:00Z')", ["TimeAfter"]),
    ],
)
def test_untranslatable_filters_are_bad_parameters(text, words):
    with pytest.raises(cql.BadParameter) as caught:
        compile_filter(text)
    for word in words:
        assert word in str(caught.value)
