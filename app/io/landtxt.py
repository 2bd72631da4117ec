"""The Ministry of Natural Resources' land-approval coordinate file (报盘 TXT).

[属性描述] holds key=value lines (坐标系, 几度分带, 带号, 计量单位 …); [地块坐标] holds parcels:
a header ending in '@' (点数, 面积(公顷), 地块编号, 地块名称, 图形属性, 图幅号, 用途, 地类编码),
then points '点号,圈号,X,Y' with X northing and Y easting. Ring 1 is the outer ring, further
ring numbers are holes.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from app.errors import CrsError, InvalidInput
from app.geo.crs import gk_zone_epsg

_CGCS2000 = ("2000", "CGCS")
_OLD_DATUMS = ("1980", "西安", "1954", "北京")


@dataclass
class Parcel:
    """One parcel of the file: its header fields and its rings of (easting, northing) by 圈号."""

    number: str
    name: str
    shape: str  # 点 / 线 / 面
    use: str
    declared_area_ha: float | None
    line: int  # where its header is, for messages
    rings: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    sheet: str = ""  # 图幅号
    land_class: str = ""  # 地类编码

    def geometry(self) -> shapely.Geometry:
        """Easting/northing geometry: the first ring outer, the others holes."""
        rings = list(self.rings.values())
        if self.shape == "点":
            return shapely.MultiPoint([p for ring in rings for p in ring])
        if self.shape == "线":
            return (
                shapely.MultiLineString(rings) if len(rings) > 1 else shapely.LineString(rings[0])
            )
        return shapely.Polygon(rings[0], rings[1:])


@dataclass
class LandFile:
    """A parsed coordinate file: the [属性描述] header, the EPSG code it fixes, the parcels."""

    header: dict[str, str]
    epsg: int
    parcels: list[Parcel]


def read_text(path: Path) -> str:
    """The file's text, decoded as UTF-8 (with or without BOM) or else GBK (gb18030)."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        "坐标文件既不是 UTF-8 也不是 GBK 编码：请另存为 UTF-8 或 GBK 文本后重新上传。"
        "The coordinate file is neither UTF-8 nor GBK text."
    )


def parse_land_file(text: str) -> LandFile:
    """Parse 报盘 TXT text; InvalidInput or CrsError name the offending line."""
    header: dict[str, str] = {}
    parcels: list[Parcel] = []
    section = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "属性描述":
            key, sep, value = line.partition("=")
            if not sep:
                raise InvalidInput(
                    f"第 {lineno} 行：[属性描述] 中应为“键=值”，实际为“{line}”。"
                    f"Line {lineno}: expected key=value in [属性描述], got {line!r}."
                )
            header[key.strip()] = value.strip()
        elif section == "地块坐标":
            if line.endswith("@"):
                parcels.append(_parcel_header(line, lineno))
            elif not parcels:
                raise InvalidInput(
                    f"第 {lineno} 行：界址点出现在地块头行（以 @ 结尾）之前，请先写地块头行。"
                    f"Line {lineno}: a point comes before any parcel header (…,@)."
                )
            else:
                _add_point(parcels[-1], line, lineno)
        else:
            raise InvalidInput(
                f"第 {lineno} 行：内容“{line}”不在 [属性描述] 或 [地块坐标] 段内。"
                f"Line {lineno}: text outside [属性描述] / [地块坐标]: {line!r}."
            )
    if not parcels:
        raise InvalidInput(
            "坐标文件的 [地块坐标] 段中没有地块：请检查文件是否为报盘坐标文件。"
            "The coordinate file has no [地块坐标] parcels."
        )
    for parcel in parcels:
        _check_rings(parcel)
    return LandFile(header, _epsg(header, parcels), parcels)


def _parcel_header(line: str, lineno: int) -> Parcel:
    fields = [f.strip() for f in line.rstrip("@").split(",")]
    if len(fields) < 5:
        raise InvalidInput(
            f"第 {lineno} 行：地块头行应为“界址点数,地块面积,地块编号,地块名称,图形属性,…,@”，"
            f"实际为“{line}”。"
            f"Line {lineno}: a parcel header needs 点数,面积,编号,名称,图形属性,…,@; got {line!r}."
        )
    try:
        area = float(fields[1]) if fields[1] else None
    except ValueError as exc:
        raise InvalidInput(
            f"第 {lineno} 行：地块面积“{fields[1]}”不是数字（单位：公顷）。"
            f"Line {lineno}: parcel area {fields[1]!r} is not a number."
        ) from exc
    shape = fields[4] or "面"
    if shape not in ("点", "线", "面"):
        raise InvalidInput(
            f"第 {lineno} 行：图形属性应为“点”“线”或“面”，实际为“{shape}”。"
            f"Line {lineno}: 图形属性 must be 点, 线 or 面, not {shape!r}."
        )
    extra = fields[5:8] + [""] * (8 - len(fields))  # 图幅号, 用途, 地类编码 may be left off
    sheet, use, land_class = extra[:3]
    return Parcel(
        fields[2], fields[3], shape, use, area, lineno, sheet=sheet, land_class=land_class
    )


def _add_point(parcel: Parcel, line: str, lineno: int) -> None:
    fields = [f.strip() for f in line.split(",")]
    if len(fields) < 4:
        raise InvalidInput(
            f"第 {lineno} 行：界址点应为“点号,圈号,X坐标,Y坐标”，实际为“{line}”。"
            f"Line {lineno}: a point needs 点号,圈号,X,Y; got {line!r}."
        )
    try:
        x_north, y_east = float(fields[2]), float(fields[3])
    except ValueError as exc:
        raise InvalidInput(
            f"第 {lineno} 行：X、Y 坐标不是数字（“{line}”）。"
            f"Line {lineno}: X/Y are not numbers in {line!r}."
        ) from exc
    parcel.rings.setdefault(fields[1], []).append((y_east, x_north))


_MIN_POINTS = {"点": 1, "线": 2, "面": 4}


def _check_rings(parcel: Parcel) -> None:
    where = f"Parcel {parcel.number} (line {parcel.line})"
    where_zh = f"地块 {parcel.number}（第 {parcel.line} 行）"
    if not parcel.rings:
        raise InvalidInput(
            f"{where_zh}没有界址点：请在地块头行后添加“点号,圈号,X坐标,Y坐标”行。"
            f"{where} has no points: add 点号,圈号,X,Y lines after its header."
        )
    for ring_no, ring in parcel.rings.items():
        if len(ring) < _MIN_POINTS[parcel.shape]:
            closed = "（首尾点相同）" if parcel.shape == "面" else ""
            raise InvalidInput(
                f"{where_zh}第 {ring_no} 圈只有 {len(ring)} 个点，{parcel.shape}至少需要 "
                f"{_MIN_POINTS[parcel.shape]} 个点{closed}。"
                f"{where} ring {ring_no} has {len(ring)} points; a {parcel.shape} needs at "
                f"least {_MIN_POINTS[parcel.shape]}"
                + (" (first = last)." if parcel.shape == "面" else ".")
            )
        if parcel.shape == "面" and ring[0] != ring[-1]:
            ring.append(ring[0])  # many exporters leave the ring open


def _epsg(header: dict[str, str], parcels: list[Parcel]) -> int:
    datum = header.get("坐标系", "")
    if any(token in datum for token in _OLD_DATUMS):
        raise CrsError(
            f"文件使用的是{datum}，目前只支持 2000国家大地坐标系（CGCS2000）："
            "请向测绘单位索取 CGCS2000 坐标。"
            f"The file uses {datum}; only 2000国家大地坐标系 (CGCS2000) is supported without a "
            "configured datum transformation. Ask the surveyor for CGCS2000 coordinates."
        )
    if datum and not any(token in datum for token in _CGCS2000):
        raise CrsError(
            f"无法识别的坐标系“{datum}”：应为 2000国家大地坐标系。"
            f"Unknown 坐标系 {datum!r}; expected 2000国家大地坐标系."
        )
    unit = header.get("计量单位", "米")
    if unit not in ("米", "m"):
        raise CrsError(
            f"不支持计量单位“{unit}”：坐标须以米为单位。"
            f"计量单位 {unit!r} is not supported; coordinates must be in metres (米)."
        )
    width_text = re.sub(r"\D", "", header.get("几度分带", "3")) or "3"  # '3度' → 3
    width = int(width_text)
    eastings = [e for p in parcels for ring in p.rings.values() for e, _ in ring]
    prefixed = all(e >= 1e7 for e in eastings)
    if not prefixed and any(e >= 1e7 for e in eastings):
        raise InvalidInput(
            "部分 Y 坐标带有带号、部分不带：请统一坐标写法。"
            "Some eastings carry the zone number and others do not."
        )
    zone_text = header.get("带号", "")
    zone = int(zone_text) if re.fullmatch(r"\d+", zone_text) else None
    if prefixed:
        prefix = {int(e // 1_000_000) for e in eastings}
        if len(prefix) != 1:
            raise InvalidInput(
                f"Y 坐标带有不同的带号（{'、'.join(map(str, sorted(prefix)))}）："
                "一个文件只能用一个带。"
                f"Eastings carry different zone numbers: {sorted(prefix)}."
            )
        found = prefix.pop()
        if zone is not None and zone != found:
            raise CrsError(
                f"文件头写带号={zone}，但 Y 坐标带的是 {found} 带：请更正文件头。"
                f"带号={zone} but the eastings carry zone {found}; fix the header."
            )
        zone = found
    if zone is None:
        raise CrsError(
            "文件头没有带号，Y 坐标也未带带号：请在 [属性描述] 中填写带号。"
            "The header has no 带号 and the eastings carry no zone number."
        )
    return gk_zone_epsg(zone, width, zone_prefixed=prefixed)


def load_land_file(path: Path) -> LandFile:
    """Read and parse a 报盘 TXT file from disk."""
    return parse_land_file(read_text(path))
