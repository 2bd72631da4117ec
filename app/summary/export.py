"""Summaries as tables a spreadsheet opens cleanly: Chinese headers with units."""

import io

import pandas as pd

from app.catalog import get_layer_spec

BY_LABELS = {
    "province": "省（直辖市）",
    "city": "市",
    "county": "县（区）",
    "township": "乡镇（街道）",
    "village": "村（社区）",
}


def summary_frame(summary: dict) -> pd.DataFrame:
    """A summary as a table with Chinese headers and units, one row per unit."""
    records = []
    for row in summary["rows"]:
        rec = {"代码": row["code"], BY_LABELS[summary["by"]]: row["name"]}
        rec["上级行政区代码"] = row.get("parent_code")
        rec["上级行政区名称"] = row.get("parent_name")
        if summary["by"] == "township":
            rec["所属县（区）"] = row["parent"]
            rec["主体功能区类型"] = row.get("zone_type")
        rec["面积（平方公里）"] = round(row["area_km2"], 4)
        for layer_id, f in row["layers"].items():
            title = get_layer_spec(layer_id).title_zh
            if "area_km2" in f:
                rec[f"{title}面积（平方公里）"] = round(f["area_km2"], 4)
                rec[f"{title}面积（公顷）"] = round(f["area_ha"], 2)
                rec[f"{title}面积（亩）"] = round(f["area_mu"], 1)
                rec[f"{title}占比（%）"] = round(100 * (f["share"] or 0), 3)
            if "length_km" in f:
                rec[f"{title}长度（公里）"] = round(f["length_km"], 3)
            rec[f"{title}个数（个）"] = f["count"]
            if "listed_sum_km2" in f:
                rec[f"{title}名录面积合计（平方公里，简单加总）"] = round(f["listed_sum_km2"], 2)
        for stats in (row.get("rasters") or {}).values():
            for label, share in (stats.get("class_shares") or {}).items():
                rec[f"{stats['title_zh']}·{label}占比（%）"] = round(100 * share, 3)
        records.append(rec)
    return pd.DataFrame(records)


def to_csv(summary: dict) -> bytes:
    """The summary table as CSV bytes (UTF-8 with BOM)."""
    # UTF-8 with BOM: Excel and WPS then read the Chinese headers correctly.
    return summary_frame(summary).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(summary: dict) -> bytes:
    """The summary table as an XLSX workbook: the figures sheet and a 说明 sheet."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame = summary_frame(summary)
        frame.to_excel(writer, index=False, sheet_name="面积统计")
        sheet = writer.sheets["面积统计"]
        for i, column in enumerate(frame.columns, start=1):
            width = max(len(str(column)) * 2, 10)
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(width, 40)
        notes = pd.DataFrame(
            {
                "说明": [f"{k}: {v}" for k, v in summary["notes"].items()]
                + [f"数据版本 {k}: v{v}" for k, v in summary["layer_versions"].items()]
            }
        )
        notes.to_excel(writer, index=False, sheet_name="说明")
    return buf.getvalue()
