"""The land-approval coordinate TXT (报盘 TXT) parser: encodings, parcels, rings, CRS, errors.

Pure unit tests (no database): texts are built here, written to tmp files as UTF-8 or GBK
bytes and read with load_land_file, or passed as strings to parse_land_file.
"""

import re
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely

from app.errors import CrsError, InvalidInput
from app.geo.crs import SourceCrs, to_storage
from app.io.landtxt import load_land_file, parse_land_file

HEADER = """\
[属性描述]
坐标系={datum}
几度分带={width}
投影类型=高斯克吕格
计量单位={unit}
带号={zone}
精度=0.001
[地块坐标]
"""

# The sample of docs/domain.md §6, verbatim.
SAMPLE = """\
[属性描述]
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号=36
精度=0.001
[地块坐标]
5,2.0000,1,示例项目用地,面,,建设用地,,@
J1,1,3525000.000,36400000.000
J2,1,3525000.000,36400200.000
J3,1,3524900.000,36400200.000
J4,1,3524900.000,36400000.000
J1,1,3525000.000,36400000.000
"""

# (northing X, easting Y) of the sample's ring, without the zone prefix.
SQUARE_NE = [
    (3525000.0, 400000.0),
    (3525000.0, 400200.0),
    (3524900.0, 400200.0),
    (3524900.0, 400000.0),
    (3525000.0, 400000.0),
]


def header(datum="2000国家大地坐标系", width="3", unit="米", zone="36") -> str:
    return HEADER.format(datum=datum, width=width, unit=unit, zone=zone)


def points(
    ne: list[tuple[float, float]], ring: int = 1, prefix: int | None = 36, start: int = 1
) -> str:
    """Point lines 'J<n>,<ring>,X,Y' for (northing, easting) pairs; prefix the zone or not."""
    offset = prefix * 1_000_000 if prefix else 0
    return "".join(f"J{start + i},{ring},{n:.3f},{e + offset:.3f}\n" for i, (n, e) in enumerate(ne))


def parcel(
    number: str,
    name: str,
    count: int,
    area: str = "2.0000",
    use: str = "建设用地",
    shape: str = "面",
) -> str:
    return f"{count},{area},{number},{name},{shape},,{use},,@\n"


def write(tmp_path: Path, text: str, encoding: str, name: str = "site.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def exterior_en(geom: shapely.Polygon) -> list[tuple[float, float]]:
    return [tuple(c) for c in geom.exterior.coords]


def en(ne: list[tuple[float, float]], prefix: int | None = 36) -> list[tuple[float, float]]:
    """(easting, northing) pairs as the parser returns them (x = easting)."""
    offset = prefix * 1_000_000 if prefix else 0
    return [(e + offset, n) for n, e in ne]


# --- the docs/domain.md sample and encodings -----------------------------------------------


def test_domain_sample_utf8(tmp_path):
    land = load_land_file(write(tmp_path, SAMPLE, "utf-8"))
    assert land.epsg == 4524
    assert land.header["坐标系"] == "2000国家大地坐标系"
    assert land.header["带号"] == "36"
    assert len(land.parcels) == 1
    p = land.parcels[0]
    assert (p.number, p.name, p.shape, p.use) == ("1", "示例项目用地", "面", "建设用地")
    assert p.declared_area_ha == pytest.approx(2.0)
    assert p.line == 9
    geom = p.geometry()
    assert geom.geom_type == "Polygon"
    assert len(geom.interiors) == 0
    assert exterior_en(geom) == en(SQUARE_NE)
    assert geom.area == pytest.approx(20_000.0)  # 100 m × 200 m = 2 公顷, as declared
    assert pyproj.CRS.from_epsg(land.epsg).name == "CGCS2000 / 3-degree Gauss-Kruger zone 36"


def test_utf8_with_bom_and_crlf(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(SAMPLE.replace("\n", "\r\n").encode("utf-8-sig"))
    land = load_land_file(path)
    assert land.epsg == 4524
    assert land.header["坐标系"] == "2000国家大地坐标系"  # the BOM is not part of the key
    assert land.parcels[0].name == "示例项目用地"


def test_gbk_file_with_chinese_names(tmp_path):
    text = (
        header()
        + parcel("1", "南江县光雾山镇旅游服务设施用地", 5, use="商服用地")
        + points(SQUARE_NE)
    )
    raw = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GBK bytes, not UTF-8 by accident
    land = load_land_file(write(tmp_path, text, "gbk"))
    assert land.epsg == 4524
    assert land.header["坐标系"] == "2000国家大地坐标系"
    assert land.header["投影类型"] == "高斯克吕格"
    p = land.parcels[0]
    assert p.name == "南江县光雾山镇旅游服务设施用地"
    assert p.use == "商服用地"
    assert exterior_en(p.geometry()) == en(SQUARE_NE)


def test_neither_utf8_nor_gbk_is_rejected(tmp_path):
    path = tmp_path / "bad.txt"
    # 0x80 alone is invalid UTF-8 and invalid GB18030 (a lone lead/trail byte).
    path.write_bytes(SAMPLE.encode("utf-8") + b"\x80")
    with pytest.raises(
        InvalidInput, match="^坐标文件既不是 UTF-8 也不是 GBK 编码.*neither UTF-8 nor GBK"
    ):
        load_land_file(path)


# --- parcels and rings ---------------------------------------------------------------------


def test_several_parcels_in_one_file(tmp_path):
    second = [(n - 1000.0, e + 500.0) for n, e in SQUARE_NE]
    third = [(n - 2000.0, e + 1000.0) for n, e in SQUARE_NE]
    text = (
        header()
        + parcel("1", "一号地块", 5, area="2.0000", use="建设用地")
        + points(SQUARE_NE)
        + parcel("2", "二号地块", 5, area="2.0000", use="工业用地")
        + points(second)
        + "\n"  # blank lines are skipped
        + parcel("3", "三号地块", 5, area="", use="")
        + points(third)
    )
    land = load_land_file(write(tmp_path, text, "gbk"))
    assert land.epsg == 4524
    assert [p.number for p in land.parcels] == ["1", "2", "3"]
    assert [p.name for p in land.parcels] == ["一号地块", "二号地块", "三号地块"]
    assert [p.use for p in land.parcels] == ["建设用地", "工业用地", ""]
    assert [p.declared_area_ha for p in land.parcels] == [2.0, 2.0, None]
    assert [p.line for p in land.parcels] == [9, 15, 22]
    assert exterior_en(land.parcels[0].geometry()) == en(SQUARE_NE)
    assert exterior_en(land.parcels[1].geometry()) == en(second)
    assert exterior_en(land.parcels[2].geometry()) == en(third)
    assert not land.parcels[0].geometry().intersects(land.parcels[1].geometry())


def test_parcel_with_a_hole():
    outer = [
        (3525000.0, 400000.0),
        (3525000.0, 400300.0),
        (3524700.0, 400300.0),
        (3524700.0, 400000.0),
        (3525000.0, 400000.0),
    ]
    hole = [
        (3524900.0, 400100.0),
        (3524800.0, 400100.0),
        (3524800.0, 400200.0),
        (3524900.0, 400200.0),
        (3524900.0, 400100.0),
    ]
    text = header() + parcel("1", "带洞地块", 10) + points(outer) + points(hole, ring=2, start=6)
    land = parse_land_file(text)
    geom = land.parcels[0].geometry()
    assert geom.geom_type == "Polygon"
    assert geom.is_valid
    assert len(geom.interiors) == 1
    assert exterior_en(geom) == en(outer)
    assert [tuple(c) for c in geom.interiors[0].coords] == en(hole)
    assert geom.area == pytest.approx(300 * 300 - 100 * 100)
    assert set(land.parcels[0].rings) == {"1", "2"}


def test_open_ring_is_closed():
    open_ring = SQUARE_NE[:4]  # last point != first
    land = parse_land_file(header() + parcel("1", "未闭合", 4) + points(open_ring))
    # The parsed ring itself is closed (shapely would close it silently anyway).
    assert land.parcels[0].rings["1"] == en(SQUARE_NE)
    geom = land.parcels[0].geometry()
    coords = exterior_en(geom)
    assert len(coords) == 5
    assert coords[0] == coords[-1]
    assert coords == en(SQUARE_NE)
    assert geom.area == pytest.approx(20_000.0)


def test_ring_with_fewer_than_four_points_is_rejected():
    text = header() + parcel("7", "三点", 3) + points(SQUARE_NE[:2] + SQUARE_NE[-1:])
    with pytest.raises(
        InvalidInput,
        match=r"^地块 7（第 9 行）第 1 圈只有 3 个点.*Parcel 7 \(line 9\) ring 1 has 3 points",
    ):
        parse_land_file(text)


def test_hole_with_fewer_than_four_points_is_rejected():
    hole = [(3524950.0, 400050.0), (3524950.0, 400060.0), (3524950.0, 400050.0)]
    text = header() + parcel("1", "坏洞", 8) + points(SQUARE_NE) + points(hole, ring=2)
    with pytest.raises(InvalidInput, match="ring 2 has 3 points"):
        parse_land_file(text)


# --- CRS -----------------------------------------------------------------------------------


def test_unprefixed_eastings_3_degree_zone_36_is_epsg_4545():
    land = parse_land_file(
        header(zone="36") + parcel("1", "无带号前缀", 5) + points(SQUARE_NE, prefix=None)
    )
    assert land.epsg == 4545
    name = pyproj.CRS.from_epsg(land.epsg).name
    assert name == "CGCS2000 / 3-degree Gauss-Kruger CM 108E"
    assert exterior_en(land.parcels[0].geometry()) == en(SQUARE_NE, prefix=None)


def test_unprefixed_eastings_6_degree_zone_18():
    land = parse_land_file(
        header(width="6", zone="18") + parcel("1", "六度带", 5) + points(SQUARE_NE, prefix=None)
    )
    crs = pyproj.CRS.from_epsg(land.epsg)
    # 6° zone 18 has central meridian 18 × 6 − 3 = 105°E.
    assert re.search(r"CM 105E|zone 18\b", crs.name), crs.name
    assert "3-degree" not in crs.name
    assert land.epsg == 4507
    cm = [p.value for p in crs.coordinate_operation.params if "longitude" in p.name.lower()]
    assert cm == [105.0]


def test_prefixed_eastings_6_degree_zone_18():
    ne = [(n, e) for n, e in SQUARE_NE]
    land = parse_land_file(
        header(width="6", zone="18") + parcel("1", "六度带前缀", 5) + points(ne, prefix=18)
    )
    assert land.epsg == 4496
    assert pyproj.CRS.from_epsg(land.epsg).name == "CGCS2000 / Gauss-Kruger zone 18"


def test_zone_taken_from_the_prefix_when_the_header_has_none():
    land = parse_land_file(header(zone="") + parcel("1", "无带号", 5) + points(SQUARE_NE))
    assert land.epsg == 4524


def test_no_zone_anywhere_is_rejected():
    text = header(zone="") + parcel("1", "无带号", 5) + points(SQUARE_NE, prefix=None)
    with pytest.raises(CrsError, match="no 带号"):
        parse_land_file(text)


def test_header_zone_disagreeing_with_easting_prefix_is_rejected():
    text = header(zone="35") + parcel("1", "带号不符", 5) + points(SQUARE_NE, prefix=36)
    with pytest.raises(CrsError, match="带号=35 but the eastings carry zone 36"):
        parse_land_file(text)


def test_mixed_prefixed_and_unprefixed_eastings_are_rejected():
    text = (
        header()
        + parcel("1", "混合", 5)
        + points(SQUARE_NE[:2])
        + points(SQUARE_NE[2:], prefix=None, start=3)
    )
    with pytest.raises(InvalidInput, match="Some eastings carry the zone number"):
        parse_land_file(text)


@pytest.mark.parametrize("datum", ["1980西安坐标系", "1954北京坐标系"])
def test_old_datums_are_rejected(datum, tmp_path):
    text = header(datum=datum) + parcel("1", "旧坐标系", 5) + points(SQUARE_NE)
    with pytest.raises(CrsError) as info:
        load_land_file(write(tmp_path, text, "gbk"))
    message = str(info.value)
    assert datum in message
    assert "only" in message and "CGCS2000" in message
    assert info.value.detail == message


def test_unknown_datum_is_rejected():
    text = header(datum="WGS84") + parcel("1", "未知", 5) + points(SQUARE_NE)
    with pytest.raises(CrsError, match="Unknown 坐标系"):
        parse_land_file(text)


@pytest.mark.parametrize("unit", ["千米", "度", "ft"])
def test_units_other_than_metres_are_rejected(unit):
    text = header(unit=unit) + parcel("1", "单位", 5) + points(SQUARE_NE)
    with pytest.raises(InvalidInput, match=f"计量单位 '{unit}' is not supported"):
        parse_land_file(text)


def test_unit_m_is_accepted():
    land = parse_land_file(header(unit="m") + parcel("1", "单位", 5) + points(SQUARE_NE))
    assert land.epsg == 4524


# --- malformed lines, with their line numbers ----------------------------------------------


def test_malformed_point_line_reports_its_line_number():
    lines = SAMPLE.splitlines()
    lines[11] = "J3,1,abc,36400200"  # line 12
    with pytest.raises(InvalidInput) as info:
        parse_land_file("\n".join(lines))
    assert str(info.value).startswith("第 12 行：") and "Line 12" in str(info.value)
    assert "J3,1,abc,36400200" in str(info.value)
    assert not isinstance(info.value, CrsError)


def test_malformed_point_line_number_counts_blank_lines(tmp_path):
    text = (
        header()
        + parcel("1", "空行", 5)
        + "\n\n"
        + points(SQUARE_NE[:2])
        + "J3,1,3524900.000\n"
        + points(SQUARE_NE[3:], start=4)
    )
    with pytest.raises(
        InvalidInput, match=r"^第 14 行：界址点应为.*Line 14: a point needs 点号,圈号,X,Y"
    ):
        load_land_file(write(tmp_path, text, "gbk"))


def test_point_before_any_parcel_header_reports_its_line_number():
    text = header() + points(SQUARE_NE) + parcel("1", "迟到的表头", 5) + points(SQUARE_NE)
    with pytest.raises(
        InvalidInput,
        match=r"^第 9 行：界址点出现在地块头行.*Line 9: a point comes before any parcel header",
    ):
        parse_land_file(text)


def test_bad_parcel_area_reports_its_line_number():
    text = header() + parcel("1", "面积", 5, area="两公顷") + points(SQUARE_NE)
    with pytest.raises(
        InvalidInput,
        match=r"^第 9 行：地块面积“两公顷”不是数字.*Line 9: parcel area '两公顷' is not a number",
    ):
        parse_land_file(text)


def test_bad_header_line_reports_its_line_number():
    text = SAMPLE.replace("投影类型=高斯克吕格", "投影类型 高斯克吕格")
    with pytest.raises(
        InvalidInput, match=r"^第 4 行：\[属性描述\] 中应为“键=值”.*Line 4: expected key=value"
    ):
        parse_land_file(text)


def test_text_outside_sections_is_rejected():
    with pytest.raises(
        InvalidInput,
        match=r"^第 1 行：内容.*不在 \[属性描述\] 或 \[地块坐标\] 段内。Line 1: text outside",
    ):
        parse_land_file("坐标系=2000国家大地坐标系\n" + SAMPLE)


def test_file_without_parcels_is_rejected():
    with pytest.raises(InvalidInput, match="no \\[地块坐标\\] parcels"):
        parse_land_file(header())


def test_parcel_without_points_is_rejected():
    text = header() + parcel("1", "有点", 5) + points(SQUARE_NE) + parcel("2", "无点", 0)
    with pytest.raises(InvalidInput, match="line 15"):
        land = parse_land_file(text)
        [p.geometry() for p in land.parcels]


def test_line_parcel_with_one_point_is_rejected():
    text = header() + parcel("1", "单点线", 1, shape="线") + points(SQUARE_NE[:1])
    with pytest.raises(InvalidInput, match="line 9"):
        land = parse_land_file(text)
        [p.geometry() for p in land.parcels]


def test_non_numeric_zone_width_is_read_or_rejected_cleanly():
    text = header(width="3度") + parcel("1", "三度", 5) + points(SQUARE_NE)
    try:
        land = parse_land_file(text)
    except InvalidInput as exc:
        assert "几度分带" in str(exc)
    else:
        assert land.epsg == 4524


# --- coordinates: (easting, northing) = (x, y), round trip through storage -----------------


@pytest.mark.parametrize(
    ("zone_header", "prefix", "epsg"),
    [
        (dict(zone="36"), 36, 4524),
        (dict(zone="36"), None, 4545),
        (dict(zone="35"), 35, 4523),
        (dict(width="6", zone="18"), None, 4507),
    ],
)
def test_round_trip_through_storage_reproduces_eastings_northings(zone_header, prefix, epsg):
    land = parse_land_file(
        header(**zone_header) + parcel("1", "往返", 5) + points(SQUARE_NE, prefix=prefix)
    )
    assert land.epsg == epsg
    geom = land.parcels[0].geometry()
    stored = to_storage(np.array([geom]), SourceCrs("epsg", land.epsg))[0]
    lon, lat = stored.exterior.coords[0]
    assert 100 < lon < 112 and 30 < lat < 33  # Sichuan, lon first: x was the easting
    back = pyproj.Transformer.from_crs(4490, land.epsg, always_xy=True)
    x, y = back.transform(*np.array(stored.exterior.coords).T)
    expected = np.array(en(SQUARE_NE, prefix=prefix))
    np.testing.assert_allclose(x, expected[:, 0], rtol=0, atol=1e-3)
    np.testing.assert_allclose(y, expected[:, 1], rtol=0, atol=1e-3)


MIXED = header() + parcel("1", "混合", 5) + points(SQUARE_NE[:2])
MIXED += points(SQUARE_NE[2:], prefix=None, start=3)
BAD_FILES = {
    "no zone": header(zone="") + parcel("1", "无带号", 5) + points(SQUARE_NE, prefix=None),
    "zone mismatch": header(zone="35") + parcel("1", "不符", 5) + points(SQUARE_NE, prefix=36),
    "mixed eastings": MIXED,
    "old datum": header(datum="1980西安坐标系") + parcel("1", "旧", 5) + points(SQUARE_NE),
    "unknown datum": header(datum="WGS84") + parcel("1", "未知", 5) + points(SQUARE_NE),
    "unit": header(unit="千米") + parcel("1", "单位", 5) + points(SQUARE_NE),
    "no parcels": header(),
    "parcel without points": header() + parcel("1", "空", 5),
    "bad shape": header() + parcel("1", "形", 5, shape="圆") + points(SQUARE_NE),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_every_problem_is_said_in_chinese_first_then_english(case):
    """An officer reads the Chinese sentence (what is wrong, what to do), then the English."""
    with pytest.raises(InvalidInput) as info:
        parse_land_file(BAD_FILES[case])
    detail = info.value.detail
    assert "\u4e00" <= detail[0] <= "\u9fff", detail
    chinese, _, english = detail.partition("。")
    assert not re.search(r"[a-z]{4,}", chinese), detail  # no English words (CGCS2000 is fine)
    assert re.search(r"[a-z]{4,}", english), detail  # then the English
