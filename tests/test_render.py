"""app/render draws site maps and charts from catalog styles alone."""

import io

import shapely
from matplotlib.image import imread

from app.catalog import catalog
from app.render.charts import bar_chart
from app.render.mapframe import gk_frame, map_extent
from app.render.sitemap import MapLayer, locator_png, site_map_png


def test_site_map_and_bar_chart_are_images():
    frame = gk_frame(106.8)
    site = frame.project(shapely.Point(106.8, 32.3).buffer(0.002))
    near = frame.project(shapely.Point(106.801, 32.301).buffer(0.004))
    layer = MapLayer(catalog()["water_source"], [(near, {"grade": "一级"})])
    extent = map_extent(site, [near])
    assert site_map_png(site, [layer], "测试", extent).startswith(b"\x89PNG")
    svg = bar_chart(["甲", "乙"], [2.5, 1.0], "#4caf50", "面积", "标题", fmt="svg")
    assert svg.startswith(b"<?xml") and b"2.50" in svg


def test_a_tall_extent_makes_a_portrait_map():
    """A north-south road gets a map taller than wide; the locator map draws its county."""
    frame = gk_frame(106.76)
    road = frame.project(shapely.LineString([(106.76, 31.62), (106.76, 32.07)]))
    extent = map_extent(road, [])
    image = imread(io.BytesIO(site_map_png(road, [], "道路", extent)))
    assert image.shape[0] > image.shape[1]
    county = road.buffer(20_000)
    locator = imread(io.BytesIO(locator_png(road, [(county, "巴州区")], county.bounds)))
    assert locator.shape[0] > 100
