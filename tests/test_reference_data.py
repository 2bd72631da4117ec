"""The Bazhong reference data, loaded into PostGIS through the import path, match the plan."""

import pytest
import shapely
from sqlalchemy import text

from app.store.db import get_engine, session_scope
from tests.factories import GEOD
from tests.test_reference_files import CITY_KM2, LAYERS, PA_TABLE, REDLINE_KM2, ZONE_COUNTS

# The plan's figures, shared with the file-level checks.
PROTECTED_AREAS = {name: row[1] for name, row in PA_TABLE.items()}
TOWNSHIPS_PER_COUNTY = {county: sum(counts) for county, counts in ZONE_COUNTS.items()}


# Bazhong's features: other reference regions (达州市, 巫山县) may share the layers.
BAZHONG = "5119"


def active_sql(layer: str) -> str:
    return (
        f"SELECT f.* FROM feature f JOIN layer l ON l.active_version_id = f.version_id "
        f"WHERE l.id = '{layer}' AND f.county_code LIKE '{BAZHONG}%'"
    )


def query(sql: str) -> list:
    with get_engine().connect() as conn:
        return conn.execute(text(sql)).all()


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def test_every_reference_layer_is_served(client):
    layers = {layer["id"]: layer for layer in client.get("/layers").json()}
    for layer_id in LAYERS:
        assert layers[layer_id]["active_version"] is not None, layer_id
        body = client.get(f"/layers/{layer_id}/features", params={"limit": 5}).json()
        assert body["numberMatched"] == layers[layer_id]["feature_count"] > 0
    counts = {
        layer: query(f"SELECT count(*) FROM ({active_sql(layer)}) x")[0][0]
        for layer in ("admin_county", "township", "protected_area")
    }
    assert counts == {"admin_county": 5, "township": 139, "protected_area": 13}


def test_city_area_matches_the_plan():
    (km2,) = query(
        "SELECT ST_Area(ST_Union(geom)::geography) / 1e6 FROM ("
        + active_sql("admin_county")
        + ") c"
    )[0]
    assert km2 == pytest.approx(CITY_KM2, rel=0.002)


def test_townships_by_zone_type_and_county():
    rows = dict(
        query(
            "SELECT attributes->>'zone_type', count(*) FROM ("
            + active_sql("township")
            + ") t GROUP BY 1"
        )
    )
    assert rows == {"重点生态功能区": 35, "农产品主产区": 59, "城镇化地区": 45}
    per_county = dict(
        query(
            "SELECT attributes->>'county', count(*) FROM ("
            + active_sql("township")
            + ") t GROUP BY 1"
        )
    )
    assert per_county == TOWNSHIPS_PER_COUNTY
    (heritage,) = query(
        "SELECT count(*) FROM ("
        + active_sql("township")
        + ") t WHERE (attributes->>'overlay_heritage')::boolean"
    )[0]
    assert heritage == 49


def test_townships_partition_their_counties():
    rows = query(
        "SELECT c.attributes->>'name', "
        "ST_Area(ST_SymDifference(c.geom, t.u)::geography) / 1e6, t.sum_km2, "
        "ST_Area(t.u::geography) / 1e6 "
        "FROM (" + active_sql("admin_county") + ") c JOIN ("
        "  SELECT attributes->>'county' AS county, ST_Union(geom) AS u,"
        "         sum(area_m2) / 1e6 AS sum_km2"
        "  FROM (" + active_sql("township") + ") x GROUP BY 1) t "
        "ON t.county = c.attributes->>'name'"
    )
    assert len(rows) == 5
    for name, gap_or_overlap_km2, sum_km2, union_km2 in rows:
        assert gap_or_overlap_km2 < 0.01, name
        assert sum_km2 == pytest.approx(union_km2, abs=0.01), name


def test_protected_areas_match_the_plan_table():
    rows = query(
        "SELECT attributes->>'name', area_m2 / 1e6 FROM (" + active_sql("protected_area") + ") p"
    )
    areas = dict(rows)
    assert set(areas) == set(PROTECTED_AREAS)
    for name, km2 in PROTECTED_AREAS.items():
        assert areas[name] == pytest.approx(km2, rel=0.005), name
    assert sum(areas.values()) == pytest.approx(1560.07, rel=0.005)
    (union_km2,) = query(
        "SELECT ST_Area(ST_Union(geom)::geography) / 1e6 FROM ("
        + active_sql("protected_area")
        + ") p"
    )[0]
    # The scenic area overlaps the reserves, so the dissolved union is below the plain sum.
    assert union_km2 < sum(areas.values()) - 1


def test_redline_total():
    (km2,) = query(
        "SELECT ST_Area(ST_Union(geom)::geography) / 1e6 FROM (" + active_sql("redline") + ") r"
    )[0]
    assert km2 == pytest.approx(REDLINE_KM2, rel=0.01)


def test_stored_areas_agree_with_an_independent_geodesic_computation():
    rows = query("SELECT ST_AsBinary(geom), area_m2 FROM (" + active_sql("protected_area") + ") p")
    for wkb, area_m2 in rows:
        geom = shapely.orient_polygons(shapely.from_wkb(bytes(wkb)))
        geod_m2 = abs(GEOD.geometry_area_perimeter(geom)[0])
        assert area_m2 == pytest.approx(geod_m2, rel=1e-4)


def test_loading_again_duplicates_nothing():
    from app.config import get_settings
    from app.store.reference import load_reference

    (versions_before,) = query("SELECT count(*) FROM layer_version")[0]
    with session_scope() as session:
        again = load_reference(session, get_settings().reference_dir)
    assert set(again.values()) == {None}
    assert query("SELECT count(*) FROM layer_version")[0][0] == versions_before
