"""Region-scoped layer versions, the region table and the three reference regions.

Work that would change the shared reference state (loading 达州市 and 巫山县, further
scoped imports) runs in one transaction that is rolled back at the end of the module, so
the other test modules keep seeing 巴中市 alone.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.config import get_settings
from app.store.db import get_engine
from app.store.imports import ImportRequest, import_file
from app.store.reference import load_reference, reference_root
from app.summary.diff import diff_versions
from app.summary.service import summarize
from tests.region_state import load_all_regions, rolled_back_session

ROOT = reference_root(get_settings().reference_dir)
DAZHOU = ROOT / "dazhou"

_ACTIVE = (
    "SELECT f.attributes, f.area_m2, f.county_code, f.origin_version FROM feature f "
    "JOIN layer l ON l.active_version_id = f.version_id WHERE l.id = :layer "
    "AND f.county_code LIKE :prefix ORDER BY f.attributes->>'code', f.area_m2"
)


def active(session: Session, layer: str, prefix: str = "") -> list[tuple]:
    """The active version's features of a layer within a code prefix."""
    rows = session.execute(text(_ACTIVE), {"layer": layer, "prefix": prefix + "%"}).all()
    return [(json.dumps(r.attributes, sort_keys=True), round(r.area_m2 or 0, 3)) for r in rows]


def county_rows(session: Session, prefix: str) -> list[dict]:
    """The by=county redline summary rows of the counties within a code prefix."""
    rows = summarize(session, "county", layers=["redline"])["rows"]
    return [r for r in rows if str(r["code"]).startswith(prefix)]


def geojson_subset(src: Path, dst: Path, keep: slice, shrink_first: bool = False) -> Path:
    """A copy of a reference file with some features (the first optionally halved)."""
    doc = json.loads(src.read_text(encoding="utf-8"))
    doc["features"] = doc["features"][keep]
    if shrink_first:
        import shapely
        from shapely.geometry import mapping, shape

        g = shape(doc["features"][0]["geometry"])
        minx, miny, maxx, maxy = g.bounds
        half = g.intersection(shapely.box(minx, miny, (minx + maxx) / 2, maxy))
        doc["features"][0]["geometry"] = mapping(half)
    dst.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def baseline(reference) -> dict:
    """Bazhong's committed state, before any other region is loaded."""
    with Session(get_engine()) as session:
        return {
            "redline": active(session, "redline", "5119"),
            "summary": county_rows(session, "5119"),
        }


@pytest.fixture(scope="module")
def regions(baseline) -> Iterator[Session]:
    """A session holding all three reference regions; rolled back afterwards."""
    with rolled_back_session() as session:
        load_all_regions(session)
        yield session


@pytest.fixture
def scratch(regions: Session) -> Iterator[Session]:
    """The three-region session, with this test's changes undone afterwards."""
    nested = regions.begin_nested()
    yield regions
    nested.rollback()


def count(session: Session, sql: str, **params) -> int:
    return int(session.scalar(text(sql), params))


# API tests first: the module's session below holds row locks until the module ends.
def test_a_feature_outside_the_region_is_rejected(client, reference, tmp_path):
    # Dazhou's redline named as Bazhong's: every feature lies outside 511900.
    path = DAZHOU / "redline.geojson"
    before = client.get("/layers/redline/versions").json()
    with path.open("rb") as fh:
        resp = client.post(
            "/layers/redline/versions",
            files={"file": ("dz.geojson", fh)},
            data={"region": "511900", "confirm": "true"},
        )
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert "outside region 511900" in body["detail"]
    assert body["outside"][0]["feature"] == 1 and body["outside"][0]["name"]
    assert client.get("/layers/redline/versions").json() == before


def test_an_unknown_region_or_a_bad_code_is_refused(client, reference, tmp_path):
    path = ROOT / "bazhong" / "redline.geojson"
    for region, status in (("420100", 422), ("5119", 422), ("51190x", 422)):
        with path.open("rb") as fh:
            resp = client.post(
                "/layers/redline/versions",
                files={"file": ("r.geojson", fh)},
                data={"region": region},
            )
        assert resp.status_code == status, (region, resp.text)


def test_three_regions_load_side_by_side(regions: Session, baseline: dict):
    s = regions
    counties = count(
        s, "SELECT count(*) FROM feature f JOIN layer l ON l.active_version_id = f.version_id "
        "WHERE l.id = 'admin_county'"
    )
    assert counties == 5 + 7 + 1
    townships = dict(s.execute(text(
        "SELECT left(f.county_code, 4), count(*) FROM feature f JOIN layer l "
        "ON l.active_version_id = f.version_id WHERE l.id = 'township' GROUP BY 1"
    )).all())
    assert townships == {"5119": 139, "5117": 92, "5002": 26}
    coverage = s.scalar(text(
        "SELECT v.coverage_codes FROM layer_version v JOIN layer l "
        "ON l.active_version_id = v.id WHERE l.id = 'redline'"
    ))
    assert coverage == ["500237", "511700", "511900"]
    # Bazhong's redline came through two copies untouched, and so did its summary's areas
    # (Dazhou's redline may reach up to the 50 m edge tolerance into 通江县: 1.2 m²).
    assert active(s, "redline", "5119") == baseline["redline"]
    after = county_rows(s, "5119")
    assert [r["code"] for r in after] == [r["code"] for r in baseline["summary"]]
    for row, base in zip(after, baseline["summary"], strict=True):
        got, want = row["layers"]["redline"]["area_km2"], base["layers"]["redline"]["area_km2"]
        assert got == pytest.approx(want, abs=1e-5), row["name"]


def test_a_second_load_adds_no_version(regions: Session):
    before = count(regions, "SELECT count(*) FROM layer_version")
    again = load_reference(regions, ROOT)
    assert set(again.values()) == {None}
    assert count(regions, "SELECT count(*) FROM layer_version") == before


def test_region_table_holds_the_hierarchy(regions: Session):
    rows = {
        code: (level, name, parent)
        for code, level, name, parent in regions.execute(
            text("SELECT code, level, name, parent_code FROM region")
        )
    }
    assert rows["510000"] == ("province", "四川省", None)
    assert rows["500000"] == ("province", "重庆市", None)
    assert rows["511900"] == ("city", "巴中市", "510000")
    assert rows["511700"] == ("city", "达州市", "510000")
    assert rows["511902"][0::2] == ("county", "511900")
    assert rows["511781"][0::2] == ("county", "511700")
    # A 直辖市's county hangs directly from the municipality.
    assert rows["500237"] == ("county", "巫山县", "500000")
    townships = [r for r in rows.values() if r[0] == "township"]
    assert len(townships) == 139 + 92 + 26
    assert all(rows[parent][0] == "county" for _, _, parent in townships)


def test_a_dazhou_import_leaves_bazhong_unchanged(scratch: Session, baseline: dict, tmp_path):
    path = geojson_subset(
        DAZHOU / "redline.geojson", tmp_path / "dz.geojson", slice(None), shrink_first=True
    )
    summary_before = county_rows(scratch, "5119")
    dazhou_before = active(scratch, "redline", "5117")
    version = import_file(
        scratch,
        ImportRequest("redline", path, confirm=True, region="511700", actor="test"),
    )
    scope = version.report["scope"]
    assert scope == {"region_code": "511700", "added": 10, "copied": 15, "replaced": 10}
    assert version.feature_count == 10 + 11 + 4
    assert active(scratch, "redline", "5119") == baseline["redline"]
    assert active(scratch, "redline", "5117") != dazhou_before
    assert county_rows(scratch, "5119") == summary_before
    origins = dict(scratch.execute(text(
        "SELECT left(f.county_code, 4), max(f.origin_version) FROM feature f "
        "WHERE f.version_id = :v GROUP BY 1"), {"v": version.id}).all())
    assert origins["5117"] == version.version and origins["5119"] < version.version


def test_a_region_shrink_is_checked_on_the_region(scratch: Session, tmp_path):
    from app.store.imports import ShrinkNeedsConfirm

    path = geojson_subset(DAZHOU / "redline.geojson", tmp_path / "dz.geojson", slice(0, 5))
    with pytest.raises(ShrinkNeedsConfirm, match="region 511700"):
        import_file(scratch, ImportRequest("redline", path, region="511700"))


def test_an_unscoped_import_replaces_the_whole_layer(scratch: Session, tmp_path):
    path = geojson_subset(DAZHOU / "redline.geojson", tmp_path / "dz.geojson", slice(0, 3))
    version = import_file(scratch, ImportRequest("redline", path, confirm=True))
    assert version.feature_count == 3
    assert version.region_code is None and version.coverage_codes is None
    assert active(scratch, "redline", "5119") == []


def test_diff_per_region(scratch: Session, tmp_path):
    path = geojson_subset(
        DAZHOU / "redline.geojson", tmp_path / "dz.geojson", slice(None), shrink_first=True
    )
    import_file(scratch, ImportRequest("redline", path, confirm=True, region="511700"))
    dazhou = diff_versions(scratch, "redline", region="511700")
    assert len(dazhou.features.changed) == 1 and dazhou.features.unchanged_count == 9
    assert dazhou.from_.feature_count == dazhou.to.feature_count == 10
    assert dazhou.area.lost_km2 > 1 and dazhou.area.gained_km2 == pytest.approx(0, abs=1e-6)
    assert not dazhou.binding_check.passed
    bazhong = diff_versions(scratch, "redline", region="511900")
    assert bazhong.features.changed == [] and bazhong.features.unchanged_count == 11
    assert bazhong.area.lost_km2 == pytest.approx(0, abs=1e-6)
    assert bazhong.binding_check.passed
    whole = diff_versions(scratch, "redline")
    assert whole.from_.feature_count == whole.to.feature_count == 25
    assert whole.area.lost_km2 == pytest.approx(dazhou.area.lost_km2, rel=1e-6)


def test_township_key_is_the_code(scratch: Session, tmp_path):
    path = geojson_subset(DAZHOU / "township.geojson", tmp_path / "tw.geojson", slice(None))
    doc = json.loads(path.read_text(encoding="utf-8"))
    old_name = doc["features"][0]["properties"]["name"]
    doc["features"][0]["properties"]["name"] = "改名镇"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    import_file(scratch, ImportRequest("township", path, region="511700"))
    result = diff_versions(scratch, "township", region="511700")
    # Matched by code, a renamed township is a change, not a removal plus an addition.
    assert result.features.added == [] and result.features.removed == []
    (renamed,) = result.features.changed
    assert renamed.attribute_changes == {"name": [old_name, "改名镇"]}
    assert result.features.unchanged_count == 91
