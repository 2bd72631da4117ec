"""Summaries as tables a spreadsheet opens cleanly: Chinese headers with units."""

import io

import pandas as pd

from app.catalog import get_layer_spec
from app.errors import NotFound

BY_LABELS = {
    "province": "省（直辖市）",
    "city": "市",
    "county": "县（区）",
    "township": "乡镇（街道）",
    "village": "村（社区）",
}


# The summary's `notes` (API fields, in English) as the 说明 sheet says them.
NOTES_ZH = {
    "area_km2": "面积（平方公里）：单元内该图层全部要素的并集面积，要素相互重叠的部分只计一次。",
    "listed_sum_km2": "名录面积合计（简单加总）：与单元相交的各要素公布面积的简单加总，"
    "每个要素全额计入，与规划表格的加总口径一致。",
    "share": "占比（%）：覆盖面积除以单元自身的椭球面积。",
    "region": "统计范围：规划所在地区，即代码前缀与该地区代码相同的已载入县级行政区的并集；"
    "其他地区的数据不计入。",
    "plan": "规划数：plan 开头的数字取自规划本身，并注明出处；规划未列明的数字留空，"
    "但仍并列给出数据实测值。",
    "data": "实测数：不带 plan 的数字由现行图层实测，面积为椭球面积；"
    "除标明 listed_sum 的简单加总外，地区内重叠部分只计一次。",
}


def note_lines(summary: dict) -> list[str]:
    """The 说明 sheet: what each figure means, then the data versions, in Chinese."""
    lines = []
    for key, text in summary.get("notes", {}).items():
        if key == "rows":
            label = BY_LABELS.get(summary.get("by", ""), "统计单元")
            lines.append(f"统计单元：未载入{label}数据，导入该级单元图层后才有统计行。")
        else:
            lines.append(NOTES_ZH.get(key, text))
    for layer_id, version in summary.get("layer_versions", {}).items():
        try:
            title = get_layer_spec(layer_id).title_zh
        except NotFound:
            title = layer_id
        lines.append(f"数据版本：{title}（{layer_id}）第 {version} 版")
    return lines


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
        notes = pd.DataFrame({"说明": note_lines(summary)})
        notes.to_excel(writer, index=False, sheet_name="说明")
        writer.sheets["说明"].column_dimensions["A"].width = 100
    return buf.getvalue()
