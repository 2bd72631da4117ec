"""Summaries from figures stored at import, and their cached bodies.

The stored figures are checked against the request-time computation they replace; the
cached body against the response model it used to go through; a new import against the
cache (the next summary shows the new version).
"""

import pytest
from sqlalchemy import event, text

from tests.factories import SQUARE, SQUARE_B
from tests.test_screening import geod_area
from tests.test_summaries import get, parcel_km2, upload_parcels


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def active(session, layer_id: str):
    from app.store.layers import active_versions

    return active_versions(session)[layer_id]


# The request-time computation summaries ran before figures were stored at import (frozen
# here, so a change to the stored path cannot change the reference it is held to).
OLD_COVER = """
WITH u AS ({units}),
pieces AS (
  SELECT u.code, p.feature_id,
         CASE WHEN ST_CoveredBy(p.geom, u.geom) THEN p.geom
              ELSE ST_Intersection(p.geom, u.geom) END AS g
  FROM u JOIN feature_part p ON p.version_id = :layer_v AND p.geom && u.geom
   AND ST_Intersects(p.geom, u.geom)
  JOIN feature f ON f.id = p.feature_id
  WHERE f.county_code IS NULL OR left(f.county_code, :home) = left(u.code, :home)
)
SELECT code, count(DISTINCT feature_id) AS count,
       CASE WHEN :dim = 2 THEN ST_Area(ST_UnaryUnion(ST_Collect(
            ST_CollectionExtract(g, 3)))::geography) END AS area_m2,
       CASE WHEN :dim = 1 THEN ST_Length(ST_UnaryUnion(ST_Collect(
            ST_CollectionExtract(g, 2)))::geography) END AS length_m,
       array_agg(DISTINCT feature_id) AS feature_ids
FROM pieces GROUP BY code
"""
OLD_LISTED = "SELECT id, (attributes->>:attr)::float8 FROM feature WHERE version_id = :v"
DIM = {"polygon": 2, "line": 1, "point": 0}


def old_coverage(session, units, spec, version) -> dict[str, list]:
    """{code: [count, area_m2, length_m, listed_km2]} the way summaries computed it."""
    from app.summary.units import unit_sql

    rows = session.execute(
        text(OLD_COVER.format(units=unit_sql(units))),
        {"v": units.version.id, "layer_v": version.id, "dim": DIM[spec.geometry_type], "home": 4},
    ).all()
    attr = spec.summary.listed_area_attribute
    listed = dict(session.execute(text(OLD_LISTED), {"attr": attr, "v": version.id}).all())
    return {
        r.code: [
            r.count,
            r.area_m2,
            r.length_m,
            sum(listed.get(i) or 0.0 for i in r.feature_ids) if attr else None,
        ]
        for r in rows
    }


def stored_figures(session, unit_version_id: int) -> dict[int, dict]:
    """Layer version id → the figures unit_cover holds for the units of a version."""
    rows = session.execute(
        text(
            "SELECT layer_version_id, figures FROM unit_cover "
            "WHERE unit_version_id = :u AND home = 4"
        ),
        {"u": unit_version_id},
    )
    return {r.layer_version_id: r.figures for r in rows}


@pytest.mark.parametrize("by", ["township", "county"])
def test_import_time_figures_equal_the_request_time_computation(by):
    from app.catalog import get_layer_spec
    from app.store.db import session_scope
    from app.summary.service import default_layers, summarize
    from app.summary.units import UNIT_LAYERS, unit_set
    from app.summary.versions import versions_in_force

    with session_scope() as session:
        versions = versions_in_force(session)
        units = unit_set(session, by, versions)
        stored = stored_figures(session, versions[UNIT_LAYERS[by]].id)
        layers = default_layers(versions)
        assert len(layers) >= 10
        if by == "county":  # counties are filled on their first summary (maybe this one)
            summarize(session, by)
            stored = stored_figures(session, versions[UNIT_LAYERS[by]].id)
        for layer_id in layers:
            version = versions[layer_id]
            # Townships: filled by the import path, not on first use.
            assert version.id in stored, layer_id
            old = old_coverage(session, units, get_layer_spec(layer_id), version)
            kept = stored[version.id]
            assert kept.keys() == old.keys(), layer_id
            for code, (count, area, length, listed) in old.items():
                assert kept[code][0] == count
                for got, want in zip(kept[code][1:], (area, length, listed), strict=True):
                    assert got == (pytest.approx(want, rel=1e-12) if want else want)
        assert any(stored[versions[i].id] for i in layers)  # not all empty


def test_unit_areas_are_the_measured_ones():
    from app.store.db import session_scope
    from app.summary.units import unit_rows, unit_set
    from app.summary.versions import versions_in_force

    with session_scope() as session:
        versions = versions_in_force(session)
        rows = unit_rows(session, unit_set(session, "township", versions))
        measured = dict(
            session.execute(
                text(
                    "SELECT attributes->>'code', ST_Area(geom::geography) FROM feature "
                    "WHERE version_id = :v"
                ),
                {"v": versions["township"].id},
            ).all()
        )
    assert len(rows) == 139
    for row in rows:
        assert row["area_m2"] == pytest.approx(measured[row["code"]], rel=1e-12)


def test_the_body_is_what_the_response_model_gave(client):
    from app.api.models.summaries import Summary
    from app.store.db import session_scope
    from app.summary.service import summarize

    for params in ({"by": "township"}, {"by": "county", "region": "511900"}, {"by": "city"}):
        body = get(client, "/summaries", **params).json()
        with session_scope() as session:
            result = summarize(session, params["by"], region=params.get("region"))
        model = Summary.model_validate(result).model_dump(mode="json", exclude_unset=True)
        assert body == model


def test_a_new_import_shows_in_the_next_summary(client, tmp_path):
    params = {"by": "township", "layers": "test_parcel"}
    first = upload_parcels(client, tmp_path, [SQUARE])
    one = get(client, "/summaries", **params).json()
    assert one["layer_versions"]["test_parcel"] == first
    assert get(client, "/summaries", **params).json() == one  # now served from the cache
    second = upload_parcels(client, tmp_path, [SQUARE, SQUARE_B])
    two = get(client, "/summaries", **params).json()
    assert two["layer_versions"]["test_parcel"] == second
    total = sum(parcel_km2({"rows": [r]}) for r in two["rows"])
    assert total == pytest.approx((geod_area(SQUARE) + geod_area(SQUARE_B)) / 1e6, rel=1e-3)
    assert sum(parcel_km2({"rows": [r]}) for r in one["rows"]) == pytest.approx(
        geod_area(SQUARE) / 1e6, rel=1e-3
    )


def test_a_warm_summary_reads_no_database(client_as):
    from app.store.db import get_read_engine

    client = client_as(None)  # an open read: no key to look up
    params = {"by": "township", "layers": "redline,protected_area"}
    first = get(client, "/summaries", **params).content
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = get_read_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        again = get(client, "/summaries", **params).content
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert again == first
    assert statements == []


def test_cache_off_computes_every_request(client, monkeypatch):
    from app.config import get_settings
    from app.summary import service

    calls: list[int] = []
    real = service.stored_coverage

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "stored_coverage", counting)
    monkeypatch.setenv("REDLINE_SUMMARY_CACHE_ENTRIES", "0")
    get_settings.cache_clear()
    try:
        params = {"by": "county", "layers": "redline"}
        one = get(client, "/summaries", **params).json()
        two = get(client, "/summaries", **params).json()
    finally:
        monkeypatch.delenv("REDLINE_SUMMARY_CACHE_ENTRIES")
        get_settings.cache_clear()
    assert one == two and len(calls) == 2
