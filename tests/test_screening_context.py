"""Distances from the site itself whatever the buffer, and the context of sites spanning units.

Figures are checked against geometries read back from the database and measured here
independently (shapely cut, pyproj geodesics / a local azimuthal equidistant projection).
"""

import functools
import re

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import text

from app.catalog import Rule, catalog
from app.screening import findings
from app.screening.rules import apply_rules
from app.store.db import get_engine, session_scope
from app.store.layers import active_versions
from tests.factories import GEOD
from tests.test_screening import circle, edge_site, finding, ref_features, screen

YANGTZE_RULE = "长江保护法"


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


@functools.cache
def db_features(layer: str) -> list[tuple[dict, shapely.Geometry]]:
    """The active features of a layer, read back from the database."""
    sql = text("""
        SELECT f.attributes, ST_AsBinary(f.geom) FROM feature f
        JOIN layer l ON l.active_version_id = f.version_id
        WHERE l.id = :layer ORDER BY f.id""")
    with get_engine().connect() as conn:
        return [(a, shapely.from_wkb(bytes(g))) for a, g in conn.execute(sql, {"layer": layer})]


def aeqd_distance(lon: float, lat: float, geom: shapely.Geometry) -> float:
    """Metres from (lon, lat) to GEOM in an azimuthal equidistant projection centred there."""
    to_local = pyproj.Transformer.from_crs(
        4490, f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=GRS80", always_xy=True
    )
    local = shapely.transform(
        geom, lambda xy: np.column_stack(to_local.transform(xy[:, 0], xy[:, 1]))
    )
    return local.distance(shapely.Point(0, 0))


def near_river(metres: float) -> tuple[float, float, float]:
    """A point METRES east of the middle of 巴河, and its true distance to the river (DB)."""
    _, river = next((p, g) for p, g in ref_features("river") if p["name"] == "巴河")
    on_river = river.interpolate(0.5, normalized=True)
    lon, lat, _ = GEOD.fwd(on_river.x, on_river.y, 90, metres)
    _, stored = next((a, g) for a, g in db_features("river") if a["name"] == "巴河")
    return lon, lat, aeqd_distance(lon, lat, stored)


def stated_distance(message: str) -> float:
    """The distance in metres a message states ("…」（…）685.9 米")."""
    return float(re.search(r"(\d+(?:\.\d+)?) 米", message).group(1))


def test_buffered_chemical_plant_is_judged_on_its_true_distance(client):
    lon, lat, expected = near_river(700)
    assert 600 < expected < 1000  # within the 1 km rule, beyond the 500 m buffer
    point = {"type": "Point", "coordinates": [lon, lat]}
    result = screen(client, geometry=point, project_category="化工", buffer_m=500)
    f = finding(result, "river", "巴河")
    assert f["distance_m"] == pytest.approx(expected, abs=0.5)
    assert f["within_buffer"] is False
    rule = next(r for r in f["rules"] if YANGTZE_RULE in r["basis"])
    assert rule["verdict"] == "prohibited" and result["verdict"] == "prohibited"
    # The message states the plant's own distance, not the buffer's (685.9, not 185.9).
    assert stated_distance(rule["message"]) == pytest.approx(expected, abs=0.06)
    plain = screen(client, geometry=point, project_category="化工")
    assert finding(plain, "river", "巴河")["distance_m"] == pytest.approx(f["distance_m"])
    assert "within_buffer" not in finding(plain, "river", "巴河")


def test_a_plant_beyond_1km_is_not_pulled_in_by_its_buffer(client):
    lon, lat, expected = near_river(1300)
    assert 1000 < expected < 1500  # buffered by 500 m it would have been "within 1 km"
    point = {"type": "Point", "coordinates": [lon, lat]}
    result = screen(client, geometry=point, project_category="化工", buffer_m=500)
    f = finding(result, "river", "巴河")
    assert f["distance_m"] == pytest.approx(expected, abs=0.5)
    assert not any(YANGTZE_RULE in r["basis"] for r in f["rules"])


def test_the_buffer_widens_the_search_by_the_layers_radius_plus_the_buffer(client):
    spec = catalog()["river"]
    # The river bends: step east until the true distance lies between radius and radius + 500.
    lon, lat, expected = next(
        found
        for metres in range(int(spec.search_radius_m), int(spec.search_radius_m) + 3000, 50)
        if spec.search_radius_m + 100
        < (found := near_river(metres))[2]
        < spec.search_radius_m + 400
    )
    point = {"type": "Point", "coordinates": [lon, lat]}
    assert not [f for f in screen(client, geometry=point)["findings"] if f["name"] == "巴河"]
    f = finding(screen(client, geometry=point, buffer_m=500), "river", "巴河")
    assert f["distance_m"] == pytest.approx(expected, abs=0.5)
    assert f["within_buffer"] is False


def test_a_feature_within_the_buffer_is_said_to_be(client):
    lon, lat, expected = near_river(300)
    spec = catalog()["river"]
    with session_scope() as session:
        version = active_versions(session)["river"]
        point = shapely.Point(lon, lat)
        [found] = findings.find_many(
            session, spec, version.id, [point], [0.0], spec.search_radius_m, [500.0]
        )
    river = next(f for f in found if f["name"] == "巴河")
    assert river["within_buffer"] is True
    assert river["distance_m"] == pytest.approx(expected, abs=0.5)
    rule = Rule(
        id="t",
        relation=["nearby"],
        within_m=1000,
        verdict="attention",
        message="项目距「{name}」{distance_m} 米{buffer_text}。",
        basis="B",
    )
    [hit] = apply_rules([rule], river, None, {})
    metres = round(river["distance_m"], 1)
    assert hit.message == f"项目距「巴河」{metres} 米（在项目 500 米缓冲范围内）。"
    far = {**river, "within_buffer": False}
    assert apply_rules([rule], far, None, {})[0].message.endswith(" 米。")


def test_buffered_polygon_overlaps_with_the_site_itself(client):
    name = "米仓山—光雾山水源涵养生态保护红线"
    site, feature = edge_site("redline", name, 1200)
    expected = abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(site & feature))[0])
    result = screen(client, geometry=mapping(site), project_category="工业", buffer_m=800)
    f = finding(result, "redline", name)
    assert f["overlap_area_m2"] == pytest.approx(expected, rel=1e-3)
    assert f["overlap_share"] == pytest.approx(expected / result["site"]["area_m2"], rel=1e-3)
    assert f["distance_m"] == 0 and f["within_buffer"] is False
    assert result["site"]["search_area_m2"] > 2 * result["site"]["area_m2"]


@pytest.fixture(scope="module")
def road() -> tuple[shapely.LineString, list[tuple[dict, shapely.Geometry]]]:
    """A road through four adjacent townships, three of them 重点生态功能区, crossing no
    other: built and checked with shapely on the township layer read back from the DB."""
    towns = db_features("township")
    geoms = [g for _, g in towns]
    tree = shapely.STRtree(geoms)
    eco = [i for i, (a, _) in enumerate(towns) if a["zone_type"] == "重点生态功能区"]

    def neighbours(i: int) -> list[int]:
        return [int(j) for j in tree.query(geoms[i], predicate="intersects") if j != i]

    for a in eco:
        for b in neighbours(a):
            for c in neighbours(b):
                for d in neighbours(c):
                    chain = [a, b, c, d]
                    zones = [towns[k][0]["zone_type"] for k in chain]
                    if len(set(chain)) < 4 or zones.count("重点生态功能区") != 3:
                        continue
                    line = shapely.LineString(
                        [shapely.point_on_surface(geoms[k]).coords[0] for k in chain]
                    )
                    hit = [
                        int(j)
                        for j in tree.query(line, predicate="intersects")
                        if line.intersection(geoms[j]).length > 1e-6
                    ]
                    if sorted(hit) == sorted(chain):
                        return line, [towns[k] for k in chain]
    raise AssertionError("no four-township road in the reference data")


def test_a_road_across_four_townships_lists_each_with_its_share(client, road):
    line, towns = road
    result = screen(client, geometry=mapping(line), project_category="化工")
    ctx = result["context"]
    total = GEOD.geometry_length(line)
    expected = {a["name"]: GEOD.geometry_length(line.intersection(g)) / total for a, g in towns}
    shares = {u["name"]: u["share"] for u in ctx["township_shares"]}
    assert set(shares) == set(expected)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
    for name, share in expected.items():
        assert shares[name] == pytest.approx(share, rel=5e-3), name
    by_name = {u["name"]: u for u in ctx["township_shares"]}
    for a, _ in towns:
        assert by_name[a["name"]]["zone_type"] == a["zone_type"]
        assert by_name[a["name"]]["county"] == a["county"]
        assert by_name[a["name"]]["county_positioning"] == a.get("county_positioning")
    # The main township is the one holding most of the road, not the first one found.
    main = max(expected, key=expected.get)
    assert ctx["township"] == main and ctx["zone_type"] == by_name[main]["zone_type"]
    eco_share = sum(s for n, s in shares.items() if by_name[n]["zone_type"] == "重点生态功能区")
    pct = f"{eco_share * 100:.1f}".removesuffix(".0")
    assert ctx["summary"].endswith(f"个乡镇，其中 3 个为重点生态功能区，占线路长度 {pct}%")
    assert re.match(r"跨 (\d 个区县、)?4 个乡镇，", ctx["summary"]), ctx["summary"]
    assert sum(u["share"] for u in ctx["county_shares"]) == pytest.approx(1.0, abs=1e-4)
    # Every 重点生态功能区 township restricts the chemical plant: the verdict is the strictest.
    eco = {a["name"] for a, _ in towns if a["zone_type"] == "重点生态功能区"}
    restricted = {
        f["name"]
        for f in result["findings"]
        if f["layer"] == "township" and f["verdict"] == "restricted"
    }
    assert restricted == eco
    assert result["verdict"] in ("restricted", "prohibited")


def test_a_polygon_across_two_townships_has_area_shares(client, road):
    line, towns = road
    (a, ga), (b, gb) = towns[:2]
    border = ga.boundary.intersection(gb.boundary)
    p = shapely.point_on_surface(border) if not border.is_empty else line.interpolate(0.2, True)
    site = circle(p.x, p.y, 400)
    result = screen(client, geometry=mapping(site))
    area = abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(site))[0])
    shares = {u["name"]: u["share"] for u in result["context"]["township_shares"]}
    for props, g in db_features("township"):
        if props["name"] in shares:
            piece = shapely.orient_polygons(site.intersection(g))
            expected = abs(GEOD.geometry_area_perimeter(piece)[0]) / area
            assert shares[props["name"]] == pytest.approx(expected, rel=5e-3, abs=1e-6)
    assert len(shares) >= 2
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
    assert "占用地" in result["context"]["summary"] or "均为" in result["context"]["summary"]


def test_a_point_lies_wholly_in_one_township(client, road):
    _, towns = road
    props, g = towns[0]
    p = shapely.point_on_surface(g)
    ctx = screen(client, geometry=mapping(p))["context"]
    [only] = ctx["township_shares"]
    assert only["name"] == props["name"] and only["share"] == 1.0
    assert ctx["county_shares"][0]["share"] == 1.0
    assert ctx["summary"] == f"位于{props['county']}{props['name']}（{props['zone_type']}）"
    assert ctx["townships"] == [props["name"]]


def test_batch_rows_measure_from_the_site_too():
    from app.screening.batch import BatchSites, screen_batch

    lon, lat, _ = near_river(700)
    nearest = min(aeqd_distance(lon, lat, g) for _, g in db_features("river"))
    assert 600 < nearest < 1000
    [row] = screen_batch(BatchSites([shapely.Point(lon, lat)], ["厂址"], {}), "化工", 500)
    assert row["river_distance_m"] == pytest.approx(nearest, abs=0.1)
    assert row["verdict"] == "prohibited"


def test_the_summary_names_the_strictest_zone_and_its_share():
    from app.screening.context import summary
    from app.screening.models import UnitShare

    def unit(name: str, county: str, share: float, zone: str | None) -> UnitShare:
        return UnitShare(
            code=name,
            name=name,
            county=county,
            share=share,
            zone_type=zone,
            county_positioning=None,
        )

    county = [unit("通江县", "通江县", 1.0, None)]
    towns = [
        unit("甲镇", "通江县", 0.5, "农产品主产区"),
        unit("乙镇", "通江县", 0.3, "城镇化地区"),
        unit("丙乡", "通江县", 0.2, "农产品主产区"),
    ]
    assert summary(county, towns, "polygon") == "跨 3 个乡镇，其中 2 个为农产品主产区，占用地 70%"
    same = [unit(t.name, t.county, t.share, "重点生态功能区") for t in towns]
    assert summary(county, same, "line") == "跨 3 个乡镇，均为重点生态功能区"
    two = [*county, unit("南江县", "南江县", 0.0, None)]
    assert summary(two, towns[:2], "point") == (
        "跨 2 个区县、2 个乡镇，其中 1 个为农产品主产区，占点位 50%"
    )
    assert summary(county, towns[:1], "polygon") == "位于通江县甲镇（农产品主产区）"
    assert summary(county, [], "polygon") is None


def test_a_township_named_after_its_county_is_not_prefixed_twice():
    from app.screening.context import place, summary
    from app.screening.models import UnitShare

    assert place("达川区", "达川区合成02街道") == "达川区合成02街道"
    assert place("南江县", "光雾山镇") == "南江县光雾山镇"
    assert place(None, "光雾山镇") == "光雾山镇" and place("南江县", None) == "南江县"
    one = UnitShare(
        code="1",
        name="达川区合成02街道",
        county="达川区",
        share=1.0,
        zone_type="城镇化地区",
        county_positioning=None,
    )
    assert summary([one], [one], "point") == "位于达川区合成02街道（城镇化地区）"
