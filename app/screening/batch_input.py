"""A batch file read: its sites, each row's own project fields, and why a row cannot be used.

The per-row columns (项目名称/name, 项目类别/category, 行业代码/industry_code, 缓冲距离（米）/
buffer_m) are found by the header names of layers/screening/batch_columns.yaml. Problems are
the reasons in Chinese; the row number (第 n 行) is added where the row is reported.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import shapely

from app.catalog import project_categories
from app.catalog.yamlfile import load_yaml
from app.config import get_settings
from app.errors import InvalidInput
from app.geo import crs as crs_mod
from app.geo.normalize import normalize_geometries
from app.io.readers import read_vector
from app.screening.batch_points import bounds_of, point_mask
from app.screening.projects import ProjectKind, UnknownProject, resolve_project
from app.screening.service import MAX_BUFFER_M

MAX_SITES = 100_000
MISSING = "坐标缺失或无法识别（经纬度须为数字，WKT 须完整有效）"
EMPTY = "几何图形为空"
NUL_CELL = "单元格中有空字符（NUL，常见于损坏或编码不对的文件）：请删去后重新上传此行"
OUTSIDE_CHINA = "坐标不在国内：请检查坐标系（crs）是否选对、经纬度是否颠倒"
# GB/T 4754-2017: 门类 letter, optionally with the 大类/中类/小类 digits (C, C26, C261, C2614);
# the digits alone are also common in forms.
_HALF_WIDTH = str.maketrans({"（": "(", "）": ")", "\u3000": ""})


@lru_cache
def batch_columns() -> dict[str, Any]:
    """layers/screening/batch_columns.yaml (input aliases, output headers), read once."""
    path = get_settings().catalog_dir / "screening" / "batch_columns.yaml"
    with path.open(encoding="utf-8") as fh:
        return load_yaml(fh)


def _header_key(name: object) -> str:
    """A header as compared: no spaces, lower case, half-width brackets."""
    return str(name).translate(_HALF_WIDTH).replace(" ", "").lower()


def find_columns(headers: list[Any]) -> dict[str, Any]:
    """Per-row field → the file's header that holds it (the first alias present)."""
    present = {_header_key(h): h for h in headers}
    found = {}
    for name, aliases in batch_columns()["input"].items():
        hit = next((present[_header_key(a)] for a in aliases if _header_key(a) in present), None)
        if hit is not None:
            found[name] = hit
    return found


def _cell(value: object) -> str | None:
    """A cell as text, stripped; None when empty (or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id read as 12.0 is row "12"
    return str(value).strip() or None


@dataclass(frozen=True)
class RowFields:
    """What one row says about its project: cells as given (stripped), None when empty."""

    name: str | None = None
    category: str | None = None
    industry_code: str | None = None
    eia_item: str | None = None
    buffer_m: str | None = None


@dataclass
class BatchSites:
    """Sites read from one file, in file order, with why a row cannot be screened."""

    geometries: list[shapely.Geometry | None]  # None where the row could not be used
    labels: list[str]
    problems: dict[int, str]  # row index → the reason in Chinese
    fields: list[RowFields] = field(default_factory=list)  # empty: no per-row columns
    source_crs: str = "EPSG:4490"
    source_format: str = "CSV"
    offset: int = 0  # the file's row index of the first site here (a window of a batch)

    @property
    def total(self) -> int:
        """How many rows."""
        return len(self.geometries)

    def windows(self, size: int) -> Iterator["BatchSites"]:
        """The rows, SIZE at a time, in file order (as a SitesFile reads them)."""
        for start in range(self.offset, self.offset + self.total, size):
            yield self.window(start, min(start + size, self.offset + self.total))

    def geometry(self, i: int) -> shapely.Geometry | None:
        """The site of row i (the file's row index)."""
        return self.geometries[i - self.offset]

    def label(self, i: int) -> str:
        """The label of row i."""
        return self.labels[i - self.offset]

    def row(self, i: int) -> RowFields:
        """The project fields of row i (all empty when the file has none)."""
        return self.fields[i - self.offset] if self.fields else RowFields()

    def window(self, start: int, end: int) -> "BatchSites":
        """Rows START to END (file row indexes) alone: what a worker process screens."""
        lo, hi = start - self.offset, end - self.offset
        return BatchSites(
            self.geometries[lo:hi],
            self.labels[lo:hi],
            {i: p for i, p in self.problems.items() if start <= i < end},
            self.fields[lo:hi],
            self.source_crs,
            self.source_format,
            start,
        )


def _row_fields(records: list[dict]) -> tuple[list[RowFields], list[str], set[int]]:
    """Each record's project fields, its label (name, else id, else the row number), and
    the rows with a NUL in a cell (taken out: PostgreSQL's text holds none)."""
    columns = find_columns(list(records[0].keys()) if records else [])
    fields, labels, nul = [], [], set()
    for i, rec in enumerate(records):
        cells = {k: _cell(rec.get(col)) for k, col in columns.items()}
        if any(c and "\x00" in c for c in cells.values()):
            nul.add(i)
            cells = {k: c.replace("\x00", "") or None if c else c for k, c in cells.items()}
        label = cells.pop("label", None)
        row = RowFields(**{**cells, "name": cells.get("name") or label})
        fields.append(row)
        labels.append(row.name or str(i + 1))
    return fields, labels, nul


def read_sites(path: Path, crs: str | None, encoding: str | None) -> BatchSites:
    """Read a CSV (lon/lat or WKT; UTF-8 or GBK), GeoJSON, GeoPackage or zipped Shapefile."""
    data = read_vector(path, encoding, per_row=True)
    n = len(data.geometries)
    if n > MAX_SITES:
        raise InvalidInput(
            f"文件中有 {n} 个站点，一次批量研判最多 {MAX_SITES} 个：请把文件拆分后分批上传。"
            f"The file has {n} sites; a batch takes at most {MAX_SITES}. Split the file."
        )
    found = crs_mod.from_pyproj(data.crs).label if data.crs is not None else None
    source = crs_mod.parse_crs(crs or found or "EPSG:4490")
    fields, labels, nul = _row_fields(data.records)
    problems: dict[int, str] = dict.fromkeys(nul, NUL_CELL)
    geoms: list[shapely.Geometry | None] = [None] * n
    usable = [i for i, g in enumerate(data.geometries) if g is not None and not g.is_empty]
    for i in set(range(n)) - set(usable):
        problems[i] = MISSING if data.geometries[i] is None else EMPTY
    checked = normalize_geometries(
        [data.geometries[i] for i in usable], source, get_settings().coverage_bbox
    )
    for j in checked.out_of_range:
        problems[usable[j]] = OUTSIDE_CHINA
    for j, note in checked.unrepairable.items():
        problems[usable[j]] = f"图形无效且无法修复（{note}）"
    for i, g in zip(usable, checked.geometries, strict=True):
        geoms[i] = g
    return BatchSites(geoms, labels, problems, fields, source.label, data.format)


class RowProblem(ValueError):
    """Why one row cannot be screened (Chinese); the other rows still are."""


def row_project(
    category: str | None, industry_code: str | None, eia_item: str | None
) -> ProjectKind:
    """The one place a row's project is resolved: category, industry code and 名录 item,
    judged as the service judges a single site (unspecified → every category)."""
    names = project_categories().names
    if category is not None and category not in names:
        raise InvalidInput(f"项目类别「{category}」无法识别，可填：{'、'.join(names)}")
    try:
        return resolve_project(category, industry_code.upper() if industry_code else None, eia_item)
    except UnknownProject as exc:  # a row's error is read in Chinese, beside the others
        raise InvalidInput(exc.zh) from None


def row_buffer(cell: str | None, default: float) -> float:
    """The row's buffer in metres (the request's when the cell is empty)."""
    if cell is None:
        return default
    try:
        value = float(cell.removesuffix("米").replace(",", "").strip())
    except ValueError:
        raise RowProblem(f"缓冲距离「{cell}」不是数字（单位：米）") from None
    if not (math.isfinite(value) and 0 <= value <= MAX_BUFFER_M):
        raise RowProblem(f"缓冲距离 {cell} 米超出范围，应在 0 至 {MAX_BUFFER_M} 米之间")
    return value


def resolve_row(
    fields: RowFields, category: str | None, buffer_m: float
) -> tuple[ProjectKind, float]:
    """A row's project and buffer, its empty cells taking the request's values."""
    try:
        project = row_project(fields.category or category, fields.industry_code, fields.eia_item)
    except InvalidInput as exc:
        raise RowProblem(exc.detail) from None
    return project, row_buffer(fields.buffer_m, buffer_m)


class Sites(Protocol):
    """A batch's rows as iter_rows reads them: in windows, never necessarily all at once
    (BatchSites in memory, or a queued batch's SitesFile)."""

    @property
    def total(self) -> int:
        """How many rows."""
        ...

    def windows(self, size: int) -> Iterator[BatchSites]:
        """The rows, SIZE at a time, in file order."""
        ...


def _max_buffer(sites: BatchSites, buffer_m: float) -> float:
    """The widest buffer any row asks for (rows whose buffer is unusable are not screened)."""
    widest = buffer_m
    for f in sites.fields:
        if f.buffer_m is not None:
            try:
                widest = max(widest, row_buffer(f.buffer_m, buffer_m))
            except RowProblem:
                continue
    return widest


def survey(sites: Sites, buffer_m: float, size: int) -> tuple[tuple[float, ...] | None, float]:
    """The extent of the batch's point sites (None: it has none) and its widest buffer, read
    SIZE rows at a time."""
    extent: list[tuple[float, ...]] = []
    widest = buffer_m
    for window in sites.windows(size):
        geoms = np.asarray(window.geometries, dtype=object)
        points = geoms[point_mask(window.geometries)]
        if len(points):
            extent.append(bounds_of(points))
        widest = max(widest, _max_buffer(window, buffer_m))
    if not extent:
        return None, widest
    box = np.array(extent)
    return (*box[:, :2].min(axis=0).tolist(), *box[:, 2:].max(axis=0).tolist()), widest
