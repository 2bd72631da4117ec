"""The one geometry normalisation path: reprojection, the coverage box, repair, axis order."""

import numpy as np
import pyproj
import pytest
import shapely

from app.catalog import get_layer_spec
from app.errors import ImportRejected
from app.geo.crs import parse_crs
from app.geo.normalize import looks_like_lat_lon, normalize_geometries, orient_surveyor_axes
from app.io.normalize import normalize
from app.io.readers import SourceData
from tests.factories import SQUARE

CHINA = (73.0, 3.0, 136.0, 54.0)
FLAT = shapely.Polygon([(106.8, 31.8), (106.81, 31.8), (106.82, 31.8), (106.8, 31.8)])
BOWTIE = shapely.Polygon([(106.80, 31.85), (106.82, 31.87), (106.82, 31.85), (106.80, 31.87)])
FAR = shapely.box(500000, 3500000, 501000, 3501000)  # GK metres read as degrees


def test_gauss_kruger_input_lands_where_pyproj_puts_it():
    to_gk = pyproj.Transformer.from_crs(4490, 4545, always_xy=True)
    x, y = to_gk.transform(106.75, 31.85)
    checked = normalize_geometries([shapely.Point(x, y)], parse_crs("EPSG:4545"), CHINA)
    point = checked.geometries[0]
    assert point.x == pytest.approx(106.75, abs=1e-8) and point.y == pytest.approx(31.85, abs=1e-8)
    assert checked.out_of_range == [] and checked.repaired == {} and checked.unrepairable == {}


def test_geometries_outside_the_given_box_are_flagged_with_their_bounds():
    source = parse_crs("EPSG:4490")
    checked = normalize_geometries([SQUARE, FAR], source, CHINA)
    assert checked.out_of_range == [1] and checked.geometries[1] is None
    assert checked.box(1) == (500000.0, 3500000.0, 501000.0, 3501000.0)
    assert checked.box() == (106.74, 31.84, 501000.0, 3501000.0)
    # The box is the caller's: a narrower one flags the square too.
    assert normalize_geometries([SQUARE], source, (106.75, 31.0, 107.0, 32.0)).out_of_range == [0]


def test_coordinates_that_do_not_transform_are_out_of_range():
    checked = normalize_geometries([shapely.Point(1e30, 1e30)], parse_crs("EPSG:4545"), CHINA)
    assert not np.isfinite(checked.bounds).all()
    assert checked.out_of_range == [0]


def test_repair_keeps_the_asked_family_or_each_geometry_its_own():
    line = shapely.LineString([(106.8, 31.8), (106.9, 31.9)])
    checked = normalize_geometries([BOWTIE, FLAT, line], parse_crs("EPSG:4490"), CHINA)
    assert checked.geometries[0].geom_type == "MultiPolygon" and checked.geometries[0].is_valid
    assert checked.repaired == {0: "repaired invalid geometry (Self-intersection[106.81 31.86])"}
    assert checked.unrepairable == {
        1: "invalid geometry (Self-intersection[106.81 31.8]) has no polygon part left after repair"
    }
    assert checked.geometries[2].equals(line)
    # As a line layer wants it, the flat polygon keeps its line part.
    as_line = normalize_geometries([FLAT], parse_crs("EPSG:4490"), CHINA, "line")
    assert as_line.geometries[0].geom_type in ("LineString", "MultiLineString")


def test_surveyor_axis_order_and_swapped_lat_lon_are_recognised():
    gk = parse_crs("EPSG:4524")  # zone-prefixed 3-degree zone 36
    northing_first = shapely.Point(3525000.0, 36500000.0)
    (auto,) = orient_surveyor_axes([northing_first], gk, "auto")
    assert (auto.x, auto.y) == (36500000.0, 3525000.0)
    (kept,) = orient_surveyor_axes([northing_first], gk, "east_north")
    assert kept is northing_first
    lon_lat = parse_crs("EPSG:4490")
    assert looks_like_lat_lon([shapely.Point(32.35, 106.84)], lon_lat)
    assert not looks_like_lat_lon([shapely.Point(106.84, 32.35)], lon_lat)
    assert not looks_like_lat_lon([shapely.Point(32.35, 106.84)], gk)


def _import(*geoms: shapely.Geometry) -> object:
    records = [{"name": f"地块{i}"} for i in range(len(geoms))]
    data = SourceData(np.array(geoms, dtype=object), records, None, "GeoJSON")
    return normalize(data, get_layer_spec("test_parcel"), "EPSG:4490")


def test_import_names_every_feature_outside_china():
    with pytest.raises(ImportRejected) as caught:
        _import(SQUARE, FAR)
    problem = caught.value.problem()
    where = (
        "coordinates from EPSG:4490 land at lon 500000.0000..501000.0000, lat "
        "3500000.0000..3501000.0000, outside China (73.0-136.0E, 3.0-54.0N): wrong CRS, or "
        "latitude and longitude swapped?"
    )
    assert problem["errors"] == [{"feature": 2, "problem": where}]
    assert problem["detail"] == (
        f"1 problem(s) in the file for layer test_parcel; first: feature 2: {where}. "
        "Fix the file and upload it again."
    )


def test_import_reports_repairs_and_rejects_what_cannot_be_repaired():
    assert _import(BOWTIE, SQUARE).repaired == [
        {"feature": 1, "note": "repaired invalid geometry (Self-intersection[106.81 31.86])"}
    ]
    with pytest.raises(ImportRejected) as caught:
        _import(SQUARE, FLAT)
    assert caught.value.problem()["errors"] == [
        {
            "feature": 2,
            "field": "geometry",
            "problem": "invalid geometry (Self-intersection[106.81 31.8]) has no polygon part "
            "left after repair",
        }
    ]
