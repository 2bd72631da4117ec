"""The seven layer kinds the seeds name: catalog, synthetic Bazhong data, rebuild, screening."""

import json
import shutil
import sys
from pathlib import Path

import pyproj
import pytest
import shapely
import yaml
from shapely.geometry import mapping, shape

from app.catalog import catalog
from app.screening.screen_one import screen_site
from app.screening.service import ScreeningRequest
from app.screening.site import build_site
from tests.factories import GEOD
from tests.region_state import load_all_regions, rolled_back_session

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "layers" / "data" / "bazhong"
NEW = [
    "shoreline_zone",
    "eco_corridor",
    "fish_germplasm",
    "industrial_park",
    "sewage_outfall",
    "heavy_metal_zone",
    "abandoned_mine",
]
# Metres for independent distance checks: CGCS2000 / 3-degree Gauss-Kruger CM 108E.
TO_M = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4545", always_xy=True)


def features(layer: str) -> list[tuple[dict, shapely.Geometry]]:
    data = json.loads((REF / f"{layer}.geojson").read_text(encoding="utf-8"))
    return [(f["properties"], shape(f["geometry"])) for f in data["features"]]


def metric(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(
        g, lambda c: __import__("numpy").column_stack(TO_M.transform(c[:, 0], c[:, 1]))
    )


def test_each_new_kind_is_a_complete_catalog_entry():
    for layer_id in NEW:
        spec = catalog()[layer_id]
        assert all(a.label_zh for a in spec.attributes), layer_id
        assert spec.screening_role == "finding"
        assert spec.style.z and spec.rules, layer_id
        assert all(r.basis and r.message.endswith('。"') is False for r in spec.rules)
    assert catalog()["sewage_outfall"].geometry_type == "point"
    assert catalog()["industrial_park"].attribute("park_type").allowed == ["化工园区", "工业园区"]


def test_manifest_and_readme_say_the_new_layers_are_synthetic():
    manifest = yaml.safe_load((REF / "manifest.yaml").read_text(encoding="utf-8"))
    readme = (REF / "README.md").read_text(encoding="utf-8")
    for layer_id in NEW:
        entry = manifest["layers"][layer_id]
        assert entry["source"] == "synthetic" and "SYNTHETIC" in entry["note"]
        assert entry["features"] == len(features(layer_id)) > 0
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{layer_id}`"))
        assert "**SYNTHETIC**" in row
    assert "rasters" in manifest  # the rasters' entries survive the rewrite


def test_seed_layers_rebuild_byte_identical(tmp_path):
    """The layers rebuild on their own from the Bazhong files, to the same bytes."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from refdata import seedlayers

    for path in REF.iterdir():
        if path.suffix in (".geojson", ".yaml", ".md"):
            shutil.copy(path, tmp_path / path.name)
    seedlayers.build(tmp_path)
    for name in [f"{layer}.geojson" for layer in NEW] + ["manifest.yaml", "README.md"]:
        assert (tmp_path / name).read_bytes() == (REF / name).read_bytes(), name


def test_real_names_from_the_plan():
    parks = {p["name"]: p["park_type"] for p, _ in features("industrial_park")}
    assert parks["巴中曾口—金堂化工园区"] == parks["平昌石龙门化工园区"] == "化工园区"
    assert parks["巴中经济技术开发区"] == "工业园区"
    names = {p["name"] for p, _ in features("fish_germplasm")}
    assert names == {"恩阳河中华鳖国家级水产种质资源保护区"}
    zones = {p["zone_type"] for p, _ in features("shoreline_zone")}
    assert zones == {"岸线保护区", "岸线保留区", "岸线控制利用区", "岸线开发利用区"}


def test_chemical_parks_keep_a_kilometre_from_every_river():
    rivers = shapely.union_all([metric(g) for _, g in features("river")])
    for props, g in features("industrial_park"):
        if props["park_type"] == "化工园区":
            assert metric(g).distance(rivers) > 1000, props["name"]


def test_mine_priority_follows_the_one_kilometre_rule():
    """Checked independently: geodesic distance to the nearest river line."""
    rivers = [(p["name"], metric(g)) for p, g in features("river")]
    for props, g in features("abandoned_mine"):
        m = metric(g)
        name, d = min(((n, m.distance(r)) for n, r in rivers), key=lambda t: t[1])
        if d <= 990:
            assert props["priority"] and name in props["reason"], props
        if props["reason"] and "两侧一公里" in props["reason"]:
            assert d <= 1010, (props, d)
    assert any(p["priority"] for p, _ in features("abandoned_mine"))
    assert not all(p["priority"] for p, _ in features("abandoned_mine"))


# --- screening against the loaded data --------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(reference):
    return reference


def screen(client, geom: shapely.Geometry, category: str | None) -> dict:
    resp = client.post(
        "/screenings", json={"geometry": mapping(geom), "project_category": category}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def hits(result: dict, layer: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in result["findings"]:
        if f["layer"] == layer:
            for r in f["rules"]:
                out.setdefault(r["rule_id"], []).append(f)
    return out


def inside_point(layer: str, **where: str) -> shapely.Point:
    g = next(g for p, g in features(layer) if all(p.get(k) == v for k, v in where.items()))
    return g.representative_point()


@pytest.mark.usefixtures("loaded")
def test_chemical_project_inside_outside_and_in_a_general_park(client):
    inside = screen(client, inside_point("industrial_park", name="巴中曾口—金堂化工园区"), "化工")
    rules = hits(inside, "industrial_park")
    assert "park-chemical-inside" in rules and "park-chemical-outside" not in rules
    general = screen(client, inside_point("industrial_park", name="巴中经济技术开发区"), "化工")
    rules = hits(general, "industrial_park")
    assert "park-chemical-general-park" in rules and "park-chemical-outside" not in rules
    assert general["verdict"] in ("restricted", "prohibited")
    far = screen(client, inside_point("township", name="光雾山镇"), "化工")
    assert hits(far, "industrial_park")["park-chemical-outside"][0]["verdict"] == "restricted"
    # an industry project in the same park: no chemical rule
    assert not hits(
        screen(client, inside_point("industrial_park", name="巴中经济技术开发区"), "工业"),
        "industrial_park",
    )


@pytest.mark.usefixtures("loaded")
def test_development_in_a_shoreline_protection_zone_is_prohibited(client):
    point = inside_point("shoreline_zone", zone_type="岸线保护区")
    result = screen(client, point, "工业")
    rules = hits(result, "shoreline_zone")
    assert rules["shoreline-protection-development"][0]["verdict"] == "prohibited"
    assert result["verdict"] == "prohibited"


@pytest.mark.usefixtures("loaded")
def test_polluting_project_in_the_germplasm_core_zone(client):
    result = screen(client, inside_point("fish_germplasm", zone="核心区"), "工业")
    hit = hits(result, "fish_germplasm")["germplasm-core-polluting"][0]
    assert hit["verdict"] == "prohibited"
    message = hit["rules"][0]["message"]
    assert "实行永久禁捕" in message and "第二十条" in hit["rules"][0]["basis"]


@pytest.mark.usefixtures("loaded")
def test_outfall_nearby_states_the_true_distance(client):
    props, outfall = features("sewage_outfall")[10]
    lon, lat, _ = GEOD.fwd(outfall.x, outfall.y, 45.0, 600.0)
    site = shapely.Point(lon, lat)
    result = screen(client, site, "工业")
    found = [
        f
        for f in hits(result, "sewage_outfall").get("outfall-nearby-polluting", [])
        if f["name"] == props["name"]
    ]
    assert found, result["findings"]
    assert found[0]["distance_m"] == pytest.approx(600.0, abs=1.0)
    assert f"{found[0]['distance_m']:.1f} 米" in found[0]["rules"][0]["message"]
    # not a polluting project: reported, no rule
    assert not hits(screen(client, site, "居住"), "sewage_outfall")


@pytest.mark.usefixtures("loaded")
def test_heavy_metal_zone_restricts_emitting_projects(client):
    point = inside_point("heavy_metal_zone", code="HM51192201")
    assert hits(screen(client, point, "采矿"), "heavy_metal_zone")["heavy-metal-emitting"]
    assert "heavy-metal-emitting" not in hits(screen(client, point, "旅游"), "heavy_metal_zone")


@pytest.mark.usefixtures("loaded")
def test_abandoned_mine_rules(client):
    props, mine = next((p, g) for p, g in features("abandoned_mine") if p["priority"])
    point = mine.representative_point()
    restoration = hits(screen(client, point, "生态修复"), "abandoned_mine")
    hit = restoration["mine-restoration-priority"][0]
    assert props["reason"] in hit["rules"][0]["message"]
    assert hits(screen(client, point, "采矿"), "abandoned_mine")["mine-mining"][0]["verdict"] == (
        "restricted"
    )


def test_dazhou_sites_report_the_new_layers_as_not_covering(reference):
    """Only Bazhong has data for the new kinds: elsewhere coverage says so, honestly."""
    with rolled_back_session() as session:
        load_all_regions(session)
        county = json.loads((ROOT / "layers/data/dazhou/admin_county.geojson").read_text("utf-8"))
        point = shape(county["features"][0]["geometry"]).representative_point()
        site = build_site([point], "EPSG:4490", None, "wkt")
        result = screen_site(session, ScreeningRequest(site, "达州测试", "化工", 0.0, "tests"))
    coverage = {c.layer: c.covered for c in result.coverage}
    for layer_id in NEW:
        assert coverage[layer_id] is False, layer_id
    assert result.complete is False
    # the chemical project there is not silently cleared of the park requirement
    outside = [f for f in result.findings if f.layer == "industrial_park"]
    assert outside and "请核对当地认定的化工园区名单" in outside[0].rules[0].message
