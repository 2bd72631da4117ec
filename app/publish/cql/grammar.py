"""CQL2 text parsing: pygeofilter's own grammar with two fixes (AND precedence, '' escapes)."""

from functools import lru_cache
from pathlib import Path

import pygeofilter.parsers.cql2_text.parser as cql2_parser
from lark import Lark
from lark.exceptions import LarkError
from pygeofilter import ast

from app.publish.cql.model import BadParameter

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
