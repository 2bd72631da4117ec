"""Batch rows written out: JSON with English keys; CSV and XLSX with Chinese headers.

CSV is UTF-8 with a BOM, so Excel opens the Chinese text right. The spreadsheet columns,
their order and headers are data (layers/screening/batch_columns.yaml `output`). Rows are
written as they come, so a batch's result never sits whole in memory.
"""

import contextlib
import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import orjson
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from app.catalog import catalog
from app.errors import InvalidInput
from app.screening.batch_input import batch_columns
from app.screening.report import beijing_time

FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SHEET = "研判结果"
YES_NO = {True: "是", False: "否"}


def headers() -> dict[str, str]:
    """JSON key → Chinese header, in spreadsheet order (finding layers' columns after zone_type)."""
    table = batch_columns()
    layer_columns = {
        f"{layer_id}_{measure}": template.format(title=spec.title_zh)
        for layer_id, spec in catalog().items()
        if spec.screening_role == "finding"
        for measure, template in table["layer_columns"].items()
    }
    out: dict[str, str] = {}
    for key, header in table["output"].items():
        out[key] = header
        if key == "zone_type":
            out.update(layer_columns)
    return out


# The columns _cell shows otherwise than as given (the others are written as they are).
_SHOWN = frozenset({"created_at", "complete", "hit_layers"})


def _cell(key: str, value: Any) -> Any:
    """A value as a spreadsheet shows it: 是/否, layer titles instead of ids, Beijing time."""
    if key == "created_at":
        return beijing_time(value, with_zone=False) or None  # the header says （北京时间）
    if key == "complete" and value is not None:
        return YES_NO[bool(value)]
    if key == "hit_layers" and value:
        return "、".join(catalog()[k].title_zh if k in catalog() else k for k in value.split(";"))
    return value


def _json(rows: Iterable[dict], fh: BinaryIO) -> None:
    """A JSON array, one row at a time."""
    fh.write(b"[")
    for n, row in enumerate(rows):
        fh.write(b"," * bool(n) + orjson.dumps(row))
    fh.write(b"]")


def _csv(rows: Iterable[dict], fh: TextIO) -> None:
    """CSV with Chinese headers, one row at a time (empty cells for missing values: the csv
    module writes None as an empty cell)."""
    columns = headers()
    out = csv.writer(fh, lineterminator="\n")
    out.writerow(columns.values())
    keys = list(columns)
    shown = [(i, k) for i, k in enumerate(keys) if k in _SHOWN]
    times = _Minutes()
    for row in rows:
        cells = [row.get(k) for k in keys]
        for i, k in shown:
            cells[i] = times(cells[i]) if k == "created_at" else _cell(k, cells[i])
        out.writerow(cells)


class _Minutes:
    """`_cell("created_at", …)` remembered per minute: a batch's rows are filed within
    a few minutes, and Beijing time shows the minute (the one part of a row's cost that
    was the clock)."""

    def __init__(self) -> None:
        self._known: dict[str, Any] = {}

    def __call__(self, value: str | None) -> Any:
        # ISO with an offset (2026-12-02T07:19:36.184819+00:00): its minute and offset say
        # all Beijing time shows; anything else is converted as it is.
        if value and len(value) > 22 and value[10] == "T" and value[-6] in "+-":
            key = value[:16] + value[-6:]
        else:
            return _cell("created_at", value)
        shown = self._known.get(key)
        if shown is None:
            shown = self._known[key] = _cell("created_at", value)
        return shown


def _xlsx(rows: Iterable[dict], path: Path) -> None:
    """XLSX with Chinese headers, streamed (openpyxl's write-only mode keeps no rows)."""
    columns = headers()
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    _readable(sheet, list(columns.values()))
    sheet.append(list(columns.values()))
    try:
        for row in rows:
            sheet.append([_cell(k, row.get(k)) for k in columns])
    except BaseException:
        # Saved anyway (then deleted by write_rows): it closes the sheet's open stream.
        with contextlib.suppress(Exception):
            book.save(path)
        raise
    book.save(path)


def write_rows(rows: Iterable[dict], fmt: str, path: Path) -> Path:
    """Write rows as JSON, CSV (UTF-8 with BOM) or XLSX, as they come: the file is written
    beside PATH and moved there once complete, so PATH never holds half a result."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"不支持的结果格式“{fmt}”：请用 {'、'.join(FORMATS)} 之一。"
            f"format must be one of {', '.join(FORMATS)}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        if fmt == "json":
            with partial.open("wb") as fh:
                _json(rows, fh)
        elif fmt == "csv":
            with partial.open("w", encoding="utf-8-sig", newline="") as fh:
                _csv(rows, fh)
        else:
            _xlsx(rows, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return path


def _readable(sheet: Any, header: list[str]) -> None:
    """Keep the header row in view and widen columns to their header (CJK counts double)."""
    sheet.freeze_panes = "B2"
    for n, name in enumerate(header, start=1):
        width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)
        sheet.column_dimensions[get_column_letter(n)].width = max(8, width + 2)
