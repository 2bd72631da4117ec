"""app/render draws site maps and charts from catalog styles alone."""

import shapely

from app.catalog import catalog
from app.render.charts import bar_chart
from app.render.sitemap import MapLayer, site_map_png


def test_site_map_and_bar_chart_are_images():
    site = shapely.Point(106.8, 32.3).buffer(0.002)
    near = shapely.Point(106.801, 32.301).buffer(0.004)
    layer = MapLayer(catalog()["water_source"], [(near, {"grade": "一级"})])
    assert site_map_png(site, [layer], "测试").startswith(b"\x89PNG")
    svg = bar_chart(["甲", "乙"], [2.5, 1.0], "#4caf50", "面积", "标题", fmt="svg")
    assert svg.startswith(b"<?xml") and b"2.50" in svg
