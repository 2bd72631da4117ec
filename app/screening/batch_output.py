"""Batch rows written out: JSON with English keys; CSV and XLSX with Chinese headers.

CSV is UTF-8 with a BOM, so Excel opens the Chinese text right. The spreadsheet columns,
their order and headers are data (layers/screening/batch_columns.yaml `output`).
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd

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


def _cell(key: str, value: Any) -> Any:
    """A value as a spreadsheet shows it: 是/否, layer titles instead of ids, Beijing time."""
    if key == "created_at":
        return beijing_time(value, with_zone=False) or None  # the header says （北京时间）
    if key == "complete" and value is not None:
        return YES_NO[bool(value)]
    if key == "hit_layers" and value:
        return "、".join(catalog()[k].title_zh if k in catalog() else k for k in value.split(";"))
    return value


def table(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table with Chinese headers (columns no row has a value for are kept)."""
    columns = headers()
    return pd.DataFrame(
        [[_cell(k, r.get(k)) for k in columns] for r in rows], columns=list(columns.values())
    )


def write_rows(rows: list[dict], fmt: str, path: Path) -> Path:
    """Write rows as JSON, CSV (UTF-8 with BOM) or XLSX."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"不支持的结果格式“{fmt}”：请用 {'、'.join(FORMATS)} 之一。"
            f"format must be one of {', '.join(FORMATS)}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt == "csv":
        table(rows).to_csv(path, index=False, encoding="utf-8-sig")
    else:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            table(rows).to_excel(writer, index=False, sheet_name=SHEET)
            _readable(writer.sheets[SHEET])
    return path


def _readable(sheet: Any) -> None:
    """Keep the header row in view and widen columns to their header (CJK counts double)."""
    sheet.freeze_panes = "B2"
    for cells in sheet.iter_cols(max_row=1):
        header = str(cells[0].value or "")
        width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in header)
        sheet.column_dimensions[cells[0].column_letter].width = max(8, width + 2)
