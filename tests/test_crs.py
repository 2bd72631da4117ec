"""Gauss-Krüger zone arithmetic: one helper, one edge convention (pure, no database)."""

import pytest

from app.geo.crs import gk_zone_epsg, gk_zone_of, gk_zones


@pytest.mark.parametrize(
    ("lon", "zone"),
    [
        (108.0, 36),  # central meridian of zone 36
        (106.4999, 35),
        (106.5, 36),  # western edge of zone 36 belongs to it
        (107.4999, 36),
        (107.5, 36),
        (109.4999, 36),
        (109.5, 37),  # round(109.5 / 3) == 36 (half to even) would put it in zone 36
        (75.0, 25),
        (135.0, 45),
    ],
)
def test_zone_of_longitude_sends_edges_east(lon, zone):
    assert gk_zone_of(lon) == zone


def test_zones_spanned_use_the_same_convention_and_stay_in_china():
    assert list(gk_zones(106.2, 109.5)) == [35, 36, 37]
    assert list(gk_zones(106.5, 109.4999)) == [36]
    assert list(gk_zones(60.0, 140.0)) == list(range(25, 46))


def test_zone_epsg_codes():
    assert gk_zone_epsg(36) == 4524 and gk_zone_epsg(36, zone_prefixed=False) == 4545
    assert gk_zone_epsg(18, width=6) == 4496


def test_one_bbox_parser_for_layers_and_ogc():
    from app.errors import InvalidInput
    from app.publish.cql import BadParameter
    from app.store.features import parse_bbox

    assert parse_bbox("106.5,31.5,107.5,32.5") == (106.5, 31.5, 107.5, 32.5)
    assert parse_bbox("1,2,0,3,4,9") == (1.0, 2.0, 3.0, 4.0)  # heights dropped
    assert parse_bbox(None) is None and parse_bbox("") is None
    for bad in ("1,2,3", "a,b,c,d", "3,2,1,4"):
        with pytest.raises(InvalidInput):
            parse_bbox(bad)
        with pytest.raises(BadParameter):
            parse_bbox(bad, BadParameter)
