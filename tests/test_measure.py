"""Area units: one conversion of m² to km², 公顷 and 亩 for the whole project."""

import pytest

from app.geo.measure import area_units
from app.screening.rules import overlap_text


def test_one_hectare_is_fifteen_mu():
    assert area_units(10_000.0) == pytest.approx({"m2": 1e4, "km2": 0.01, "ha": 1.0, "mu": 15.0})


def test_rule_messages_use_the_same_units():
    text = overlap_text({"overlap_area_m2": 6_000_000 / 9, "overlap_share": 1.0})
    assert text == "全部位于其范围内，面积 66.6667 公顷（1000.00 亩）"
