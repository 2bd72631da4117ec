"""app/render draws from catalog styles alone, and sits below the services that use it."""

import ast
from pathlib import Path

import shapely

from app.catalog import catalog
from app.render.charts import bar_chart
from app.render.sitemap import MapLayer, site_map_png

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {"app.catalog", "app.geo", "app.errors", "app.config", "app.render"}


def _app_imports(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "app" / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("app.")}


def test_render_and_catalog_import_nothing_above_them():
    for package in ("render", "catalog"):
        above = {n for n in _app_imports(package) if ".".join(n.split(".")[:2]) not in ALLOWED}
        assert not above, f"app/{package} imports {sorted(above)}"


def test_summary_and_screening_draw_through_render_not_each_other():
    assert not {n for n in _app_imports("summary") if n.startswith("app.screening")}
    assert not {n for n in _app_imports("screening") if n.startswith("app.summary.chart")}


def test_site_map_and_bar_chart_are_images():
    site = shapely.Point(106.8, 32.3).buffer(0.002)
    near = shapely.Point(106.801, 32.301).buffer(0.004)
    layer = MapLayer(catalog()["water_source"], [(near, {"grade": "一级"})])
    assert site_map_png(site, [layer], "测试").startswith(b"\x89PNG")
    svg = bar_chart(["甲", "乙"], [2.5, 1.0], "#4caf50", "面积", "标题", fmt="svg")
    assert svg.startswith(b"<?xml") and b"2.50" in svg
