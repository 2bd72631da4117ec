"""A batch's point figures, computed for many points at once (`site.point_figures`,
`local.gk_coordinates_many`), are the ones a site computes alone."""

import numpy as np
import pyproj
import shapely

from app.geo.geojson import geojson
from app.geo.local import gk_coordinates, gk_coordinates_many
from app.screening.site import Site, point_figures


def _points(n: int) -> np.ndarray:
    # Across several 3° zones, with points on zone edges (106.5°, 109.5°).
    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.uniform(100.0, 116.0, n), rng.uniform(21.0, 45.0, n)])
    xy[:2, 0] = [106.5, 109.5]
    return xy


def test_points_figures_at_once_equal_each_alone():
    xy = _points(400)
    for (x, y), (figures, geometry) in zip(xy.tolist(), point_figures(xy), strict=True):
        alone = Site(shapely.Point(x, y), "EPSG:4490", "CSV", 1)
        assert figures == alone.figures()
        assert geometry == geojson(alone.geometry)
        known = Site(shapely.Point(x, y), "EPSG:4490", "CSV", 1, known=(figures, geometry))
        assert known.figures() is figures and known.geojson() is geometry


def test_surveyor_coordinates_at_once_are_each_points_own():
    xy = _points(300)
    many = gk_coordinates_many(xy[:, 0], xy[:, 1])
    assert many == [gk_coordinates(x, y) for x, y in xy.tolist()]
    assert many[0]["zone"] == 36 and many[1]["zone"] == 37  # edges go east
    # Independently: pyproj straight to the zone's EPSG code.
    for (x, y), gk in zip(xy[:20].tolist(), many[:20], strict=True):
        east, north = pyproj.Transformer.from_crs(4490, gk["epsg"], always_xy=True).transform(x, y)
        assert abs(gk["y_easting"] - east) < 1e-3 and abs(gk["x_northing"] - north) < 1e-3
        assert str(int(gk["y_easting"])).startswith(str(gk["zone"]))
