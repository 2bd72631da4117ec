"""Read vector files (GeoJSON, Shapefile, GeoPackage, KML/KMZ, CSV) into geometries + records."""

import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from app.errors import InvalidInput, UnreadableFile
from app.io.archives import check_archive

VECTOR_SUFFIXES = {".geojson", ".json", ".shp", ".gpkg", ".kml", ".kmz", ".csv"}
LON_COLUMNS = ("lon", "lng", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
# How much of a DBF is sampled to tell its text encoding (header and first records).
DBF_SAMPLE_BYTES = 4 * 1024 * 1024
# The folders of an absolute path (also after /vsizip/): "/tmp/redline-upload-x/" and the like.
_FOLDERS = re.compile(r"(?<![\w.:/])(?:/vsi\w+/)?/(?:[^/\s'\"]+/)+")


@dataclass
class SourceData:
    """Geometries (shapely array, possibly with None) and one attribute dict per feature."""

    geometries: np.ndarray
    records: list[dict]
    crs: pyproj.CRS | None
    format: str
    warnings: list[str] = field(default_factory=list)


def without_paths(error: object) -> str:
    """An error message with the folders of any file path dropped (the server's temp paths)."""
    return _FOLDERS.sub("", str(error))


def read_vector(path: Path, encoding: str | None = None, per_row: bool = False) -> SourceData:
    """Read any supported file; raise UnreadableFile with what to do next.

    With per_row, a CSV row whose coordinates are missing or unreadable gets geometry None
    (a batch reports that row and screens the others) instead of failing the file.
    """
    if not path.exists() or path.stat().st_size == 0:
        raise UnreadableFile(
            f"文件“{path.name}”是空的：请上传含有地块或站点的文件。"
            f"The file {path.name!r} is empty. Upload a file with features."
        )
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _read_zip(path, encoding)
    if suffix == ".csv":
        return _read_csv(path, encoding, per_row)
    if suffix not in VECTOR_SUFFIXES:
        raise UnreadableFile(
            f"不支持的文件类型“{suffix}”：请上传 GeoJSON、Shapefile（压缩为 .zip）、GeoPackage、"
            f"KML/KMZ 或 CSV 文件。Unsupported file type {suffix!r}. Use GeoJSON, zipped "
            "Shapefile, GeoPackage, KML/KMZ or CSV."
        )
    if suffix == ".kmz":
        check_archive(path)
    if suffix == ".shp":
        missing = [s for s in (".dbf", ".shx") if not path.with_suffix(s).exists()]
        if missing:
            raise UnreadableFile(
                f"该 Shapefile 缺少 {'、'.join(missing)} 文件：请把各组成文件打包为一个 .zip 上传。"
                f"The Shapefile is missing {', '.join(missing)}. Upload all parts as one .zip."
            )
        if encoding is None and not path.with_suffix(".cpg").exists():
            with path.with_suffix(".dbf").open("rb") as dbf:
                encoding = dbf_encoding(dbf.read(DBF_SAMPLE_BYTES))
    return _read_ogr(str(path), _format_name(suffix), encoding)


def _format_name(suffix: str) -> str:
    return {
        ".geojson": "GeoJSON",
        ".json": "GeoJSON",
        ".shp": "Shapefile",
        ".gpkg": "GeoPackage",
        ".kml": "KML",
        ".kmz": "KMZ",
    }[suffix]


def _read_zip(path: Path, encoding: str | None) -> SourceData:
    check_archive(path)  # from the directory, before testzip inflates every member
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.startswith("__MACOSX")]
            if zf.testzip() is not None:
                raise zipfile.BadZipFile("CRC check failed")
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(
            f"“{path.name}”不是可读取的 zip 压缩包（{without_paths(exc)}）：请重新压缩后再上传。"
            f"{path.name!r} is not a readable zip archive ({without_paths(exc)}). "
            "Re-create the zip and upload it again."
        ) from exc
    by_suffix = {Path(n).suffix.lower(): n for n in names}
    for suffix in (".shp", ".gpkg", ".geojson", ".json", ".kml"):
        if suffix in by_suffix:
            inner = by_suffix[suffix]
            if suffix == ".shp":
                stem = inner[: -len(".shp")]
                missing = [
                    s
                    for s in (".dbf", ".shx")
                    if stem + s not in names and stem + s.upper() not in names
                ]
                if missing:
                    raise UnreadableFile(
                        f"压缩包中的 Shapefile 缺少 {'、'.join(missing)} 文件：请把 .shp、.shx、"
                        ".dbf、.prj、.cpg 一并压缩。The zipped Shapefile lacks "
                        f"{', '.join(missing)}; include every part (.shp, .shx, .dbf, .prj, .cpg)."
                    )
                if encoding is None and not {stem + ".cpg", stem + ".CPG"} & set(names):
                    dbf = stem + ".dbf" if stem + ".dbf" in names else stem + ".DBF"
                    with zipfile.ZipFile(path) as zf, zf.open(dbf) as member:
                        encoding = dbf_encoding(member.read(DBF_SAMPLE_BYTES))
            return _read_ogr(f"/vsizip/{path}/{inner}", _format_name(suffix), encoding)
    raise UnreadableFile(
        f"压缩包“{path.name}”中没有 .shp、.gpkg、.geojson 或 .kml 文件：请检查压缩的文件。"
        f"The zip {path.name!r} holds no .shp, .gpkg, .geojson or .kml file."
    )


def _read_ogr(source: str, fmt: str, encoding: str | None) -> SourceData:
    try:
        layers = pyogrio.list_layers(source)
        warnings: list[str] = []
        if fmt == "GeoPackage" and len(layers) > 1:
            warnings.append(
                f"GeoPackage 中有 {len(layers)} 个图层，只读取了第一个“{layers[0][0]}”。"
                f"The GeoPackage has {len(layers)} layers; read the first, {layers[0][0]!r}"
            )
            layers = layers[:1]
        # KML keeps features in folders, each a layer: read them all.
        frames = [
            pyogrio.read_dataframe(source, layer=name, encoding=encoding)
            for name, _ in (layers if fmt in ("KML", "KMZ") else layers[:1])
        ]
    except (DataSourceError, DataLayerError, UnicodeDecodeError) as exc:
        raise UnreadableFile(
            f"无法读取该 {fmt} 文件（{without_paths(exc)}）：请检查文件是否完整，重新导出后上传。"
            f"The {fmt} file cannot be read: {without_paths(exc)}"
        ) from exc
    frames = [f for f in frames if len(f)]
    if not frames:
        raise InvalidInput(
            "文件中没有任何要素：请确认导出的是正确的图层。"
            "The file contains no features. Check that you exported the right layer."
        )
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    crs = pyproj.CRS.from_user_input(frame.crs) if frame.crs is not None else None
    records = frame.drop(columns="geometry").to_dict(orient="records")
    if fmt in ("KML", "KMZ"):
        records = [_kml_attributes(r) for r in records]
    return SourceData(np.asarray(frame.geometry.values, dtype=object), records, crs, fmt, warnings)


def _kml_attributes(record: dict) -> dict:
    # LIBKML adds styling/display fields that are not data.
    noise = {
        "description",
        "timestamp",
        "begin",
        "end",
        "altitudeMode",
        "tessellate",
        "extrude",
        "visibility",
        "drawOrder",
        "icon",
        "snippet",
    }
    return {k: v for k, v in record.items() if k not in noise}


def _read_csv(path: Path, encoding: str | None, per_row: bool = False) -> SourceData:
    frame = _read_csv_text(path, encoding)
    if frame.empty:
        raise InvalidInput(
            "该 CSV 文件只有表头，没有数据行：请每个站点填写一行。The CSV has a header but no rows."
        )
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    wkt_col = next((lowered[c] for c in WKT_COLUMNS if c in lowered), None)
    lon_col = next((lowered[c] for c in LON_COLUMNS if c in lowered), None)
    lat_col = next((lowered[c] for c in LAT_COLUMNS if c in lowered), None)
    if wkt_col is not None:
        try:
            text = frame[wkt_col].astype(str).to_numpy()
            if per_row:  # a missing or unreadable cell: None, that row's problem
                text = np.array([v if isinstance(v, str) else None for v in frame[wkt_col]])
            geoms = shapely.from_wkt(text, on_invalid="ignore" if per_row else "raise")
        except shapely.errors.GEOSException as exc:
            raise InvalidInput(
                f"“{wkt_col}”列中有不是 WKT 的内容（{exc}）：请填写完整的 WKT，"
                f"如 POINT (106.75 31.85)。Column {wkt_col!r} holds text that is not WKT: {exc}"
            ) from exc
        attrs = frame.drop(columns=[wkt_col])
    elif lon_col is not None and lat_col is not None:
        lon = pd.to_numeric(frame[lon_col], errors="coerce")
        lat = pd.to_numeric(frame[lat_col], errors="coerce")
        bad = frame.index[lon.isna() | lat.isna()]
        if len(bad) and not per_row:
            lines = [str(i + 2) for i in bad[:10]]
            rows = ", ".join(lines)
            raise InvalidInput(
                f"第 {'、'.join(lines)} 行的 {lon_col}/{lat_col} 不是数字：经纬度请填写十进制度数，"
                f"如 106.75。Non-numeric {lon_col}/{lat_col} on CSV line(s) {rows}."
            )
        geoms = shapely.points(lon.to_numpy(), lat.to_numpy())
        geoms[(lon.isna() | lat.isna()).to_numpy()] = None
        attrs = frame.drop(columns=[lon_col, lat_col])
    else:
        found = ", ".join(map(str, frame.columns))
        raise InvalidInput(
            "文件中没有找到坐标列：请提供 lon/lat（经度/纬度）列或 WKT 列（wkt/geometry）。"
            f"现有列：{found}。The CSV needs a WKT column (wkt/geometry) or longitude and "
            f"latitude columns (lon/lat, 经度/纬度). Columns found: {found}."
        )
    # Column by column, then zipped: `to_dict(orient="records")` took 80 ms of the 130 a
    # 10 000-row upload spent here, boxing each cell (all are str or None already).
    names = list(attrs.columns)
    cells = [attrs[c].astype(object).where(attrs[c].notna(), None).tolist() for c in names]
    records = (
        [dict(zip(names, row, strict=True)) for row in zip(*cells, strict=True)]
        if names
        else [{} for _ in range(len(attrs))]  # only coordinates: zip(*[]) would give no rows
    )
    return SourceData(np.asarray(geoms, dtype=object), records, None, "CSV")


def _read_csv_text(path: Path, encoding: str | None) -> pd.DataFrame:
    # Chinese office software writes GBK (GB18030) CSVs; try UTF-8 first, then GB18030.
    for enc in [encoding] if encoding else ["utf-8-sig", "gb18030"]:
        try:
            return pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, na_values=[""])
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise UnreadableFile(
                f"无法解析该 CSV 文件（{exc}）：请检查分隔符和引号，另存为标准 CSV 后重试。"
                f"The CSV cannot be parsed: {exc}"
            ) from exc
    raise UnreadableFile(
        "该 CSV 文件既不是 UTF-8 也不是 GBK 编码：请另存为 UTF-8 编码后重试。"
        "The CSV is neither UTF-8 nor GBK text; save it as UTF-8 and retry."
    )


def dbf_encoding(sample: bytes) -> str | None:
    """The encoding to read a DBF without .cpg in: None (GDAL's choice) for ASCII or a declared
    code page, UTF-8 when its text is UTF-8; a 422 suggesting encoding=gbk for anything else."""
    if len(sample) < 32 or sample[29] != 0:  # byte 29: the code page the DBF declares
        return None
    records, header_len, record_len = struct.unpack("<IHH", sample[4:12])
    fields: list[tuple[int, int]] = []  # (offset in record, length) of text fields
    offset = 1  # each record starts with its deletion flag
    for start in range(32, min(header_len, len(sample)) - 31, 32):
        if sample[start] == 0x0D:
            break
        if sample[start + 11 : start + 12] == b"C":
            fields.append((offset, sample[start + 16]))
        offset += sample[start + 16]
    values = [
        sample[base + at : base + at + size].rstrip(b" \x00")
        for base in range(
            header_len, min(len(sample), header_len + records * record_len), record_len
        )
        for at, size in fields
    ]
    if all(v.isascii() for v in values):
        return None
    try:
        for value in values:
            value.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableFile(
            "字段文本不是 UTF-8 编码，且文件没有 .cpg 说明编码：请用 encoding=gbk 重新上传"
            "（或附上 .cpg 文件）。The attribute text is not UTF-8 and the Shapefile has no "
            ".cpg naming its encoding: upload it again with encoding=gbk (or the right one), "
            "or include its .cpg file."
        ) from None
    return "utf-8"
