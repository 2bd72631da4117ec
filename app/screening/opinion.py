"""The editable 研判意见 (report.docx): a draft opinion in official Chinese, built from a filed
screening's findings, for the officer to edit and sign in Word."""

import io
import re
from typing import Any

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.run import Run
from sqlalchemy.orm import Session

from app.geo.measure import area_units
from app.screening.context import place
from app.screening.models import LABELS
from app.screening.report import beijing_time, version_rows
from app.store.models import Screening

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BODY_FONT = "仿宋"  # Word substitutes 仿宋_GB2312 / FangSong where 仿宋 is missing
HEADING_FONT = "黑体"
TITLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
NUMERALS = "一二三四五六七八九十"
# Sentences of a rule message that state what the project must do.
_DUTY = re.compile(r"须|应|不得|禁止|严格|落实|避让|控制|审批|论证")
# Sentences that state where the site lies (a reason, not a condition), or quote an access
# list whose applicable conditions are listed on their own.
_NOT_DUTY = re.compile(r"^项目(用地)?(位于|涉及|不在)|准入清单：“")
# A sentence ends at 。 outside quotation marks.
_SENTENCE = re.compile(r"(?:“[^”]*”|[^。“])+。?")


def _fonts(run: Run, east_asia: str, size: float, bold: bool = False) -> None:
    """Latin and CJK fonts on the run itself, so Word shows the Chinese in `east_asia`."""
    run.font.name = LATIN_FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    r_fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    r_fonts.set(qn("w:eastAsia"), east_asia)
    r_fonts.set(qn("w:hint"), "eastAsia")


def _para(
    doc: DocumentType,
    text: str,
    font: str = BODY_FONT,
    size: float = 14,
    bold: bool = False,
    indent: bool = True,
    align: WD_ALIGN_PARAGRAPH | None = None,
) -> None:
    paragraph = doc.add_paragraph()
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.line_spacing = Pt(size * 1.75)
    _fonts(paragraph.add_run(text), font, size, bold)


def _cn(n: int) -> str:
    """Chinese numerals 1-99: 一, 十二, 二十三."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else NUMERALS[tens - 1] + "十")
    return head + (NUMERALS[ones - 1] if ones else "") if n > 10 else NUMERALS[n - 1]


def _heading(doc: DocumentType, number: int, text: str) -> None:
    _para(doc, f"{_cn(number)}、{text}", HEADING_FONT, 14)


def _setup(doc: DocumentType) -> None:
    """A4 portrait with the margins of official documents; 仿宋 as the default CJK font."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)


def _site_text(r: dict[str, Any]) -> str:
    site, context = r["site"], r["context"]
    townships = "、".join(t for t in context.get("townships") or [] if t)
    # A site across counties names each of them, not the first one only.
    shares = [c.get("name") for c in context.get("county_shares") or [] if c.get("name")]
    counties = "、".join(dict.fromkeys(shares)) or context.get("county") or ""
    where = place(counties, townships) or "所报坐标位置"
    if site["kind"] == "polygon":
        units = area_units(site["area_m2"])
        size = f"用地面积 {units['ha']:.4f} 公顷（{units['mu']:.2f} 亩）"
    elif site["kind"] == "line":
        size = f"线路长约 {site['length_m'] / 1000:.2f} 千米"
    else:
        size = "为点状选址"
    if (site.get("parts") or 1) > 1:
        unit = "个地块" if r.get("parcels") else "个部分"
        size = f"共 {site['parts']} {unit}，{size}"
    c = site["centroid"]
    gk = c.get("gauss_kruger") or {}
    text = f"项目位于{where}，{size}，中心点坐标为东经 {c['lon']}°、北纬 {c['lat']}°（CGCS2000）"
    if gk:
        text += (
            f"，高斯-克吕格 3° 带第 {gk.get('zone')} 带坐标 "
            f"X={gk.get('x_northing')}、Y={gk.get('y_easting')}"
        )
    source = site.get("source_format") or "坐标数据"
    text += f"。选址坐标来源：{source}，坐标系 {site.get('source_crs') or '未注明'}。"
    # A one-township summary (位于…) repeats the first sentence; one across units adds to it.
    if context.get("summary") and not context["summary"].startswith("位于"):
        text += f"{context['summary']}。".replace("。。", "。")
    return text


def _reasons(r: dict[str, Any]) -> list[str]:
    """Each rule the findings meet, with its legal basis, most severe first; a rule met by
    several features of one layer (ten farmland plots) is one reason with their total."""
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for f in r.get("findings") or []:
        for hit in f.get("rules") or []:
            groups.setdefault((f["layer"], hit["rule_id"]), []).append((f, hit))
    out: list[str] = []
    for members in groups.values():
        hit = members[0][1]
        text = hit["message"].rstrip("。") + "。" if len(members) == 1 else _merged(members)
        if any(m.get("within_buffer") for m, _ in members):
            text += "该要素位于研判缓冲范围内。"
        if hit.get("basis"):
            text += f"依据：{hit['basis']}。"
        if text not in out:
            out.append(text)
    return out


def _merged(members: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """One sentence for a rule met by several features: how many, their total overlap or the
    nearest distance, then the rule's own requirement (its message after the first sentence)."""
    f, hit = members[0]
    area = sum(m.get("overlap_area_m2") or 0 for m, _ in members)
    length = sum(m.get("overlap_length_m") or 0 for m, _ in members)
    share = sum(m.get("overlap_share") or 0 for m, _ in members)
    text = f"项目用地涉及{f['layer_title']} {len(members)} 处"
    if area:
        units = area_units(area)
        text += f"，合计重叠 {units['ha']:.4f} 公顷（{units['mu']:.2f} 亩，占用地 {share:.2%}）"
    elif length:  # a line site: how far it runs through them
        text += f"，合计穿越长度 {length:.1f} 米"
    else:
        nearest = min(m.get("distance_m") or 0 for m, _ in members)
        text += f"，最近距离 {nearest:.1f} 米"
    rest = "。".join(s for s in hit["message"].split("。")[1:] if s)
    return f"{text}。" + (f"{rest}。" if rest else "")


def _duties(message: str) -> list[str]:
    """The sentences of a rule message that say what the project must do, quotes kept whole."""
    sentences = (s.strip() for s in _SENTENCE.findall(message))
    return [
        s if s.endswith(("。", "”")) else s + "。"
        for s in sentences
        if s and _DUTY.search(s) and not _NOT_DUTY.search(s)
    ]


def _conditions(r: dict[str, Any]) -> list[str]:
    """What the project must do: duties in restricted/attention rules, applicable access-list
    conditions, then the usual closing requirements."""
    out: list[str] = []
    for f in r.get("findings") or []:
        for hit in f.get("rules") or []:
            if hit["verdict"] in ("restricted", "attention"):
                out.extend(d for d in _duties(hit["message"]) if d not in out)
    # One line per access-list condition, naming every unit whose list has the same text.
    units: dict[tuple[str, str], list[str]] = {}
    for unit in (r.get("context") or {}).get("control_units") or []:
        for c in unit.get("conditions") or []:
            if c.get("applies") is not False:
                effect = "禁止准入" if c.get("effect") == "prohibited" else "限制准入"
                names = units.setdefault((effect, str(c.get("text")).rstrip("。")), [])
                names.append(unit.get("name") or unit.get("code"))
    for (effect, text), names in units.items():
        out.append(f"执行{'、'.join(dict.fromkeys(names))}准入清单（{effect}）：{text}。")
    for p in r.get("parcels") or []:
        if p.get("warning"):
            number = p.get("number") or p.get("name") or ""
            out.append(f"核实地块{number}的申报面积：{p['warning'].rstrip('。')}。")
    if r["verdict"] == "prohibited":
        out.append("建议调整选址，避让上述禁止类管控区域后重新研判。")
    if not r.get("complete", True):
        out.append("部分管控数据未覆盖项目用地，须补充数据后复核研判结论。")
    out.append("项目应依法开展环境影响评价，落实生态环境分区管控和准入清单要求。")
    return out


def _versions_table(doc: DocumentType, session: Session, r: dict[str, Any]) -> None:
    rows = version_rows(session, r)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    header = ("图层", "版本", "启用时间（北京时间）", "来源说明")
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _fonts(cell.paragraphs[0].add_run(text), HEADING_FONT, 10.5)
    for v in rows:
        cells = table.add_row().cells
        texts = (v.title, f"v{v.version}", v.activated or "—", v.note or "—")
        for i, (cell, text) in enumerate(zip(cells, texts, strict=True)):
            _fonts(cell.paragraphs[0].add_run(text), BODY_FONT, 9 if i == 3 else 10.5)
    for column, width in zip(table.columns, (Cm(3), Cm(1.3), Cm(3.6), Cm(7.7)), strict=True):
        for cell in column.cells:
            cell.width = width


def _project_text(p: dict[str, Any]) -> str:
    text = f"项目名称：{p.get('name') or '（未填写）'}；项目类别：{p.get('category') or '未指定'}"
    if p.get("industry_code"):
        text += f"；所属行业：{p['industry_code']} {p.get('industry_name') or ''}".rstrip()
    if p.get("eia_item"):
        text += f"；环评分类管理名录：{p['eia_item']} {p.get('eia_item_name') or ''}".rstrip()
    return text + "。"


def opinion_docx(session: Session, row: Screening) -> bytes:
    """The draft 研判意见 of a filed screening as a Word document."""
    r = row.result
    doc = Document()
    _setup(doc)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, "建设项目选址生态环境研判意见", TITLE_FONT, 20, True, False, centre)
    _para(
        doc,
        f"研判编号：{r['id']}　研判时间：{beijing_time(r['created_at'])}",
        size=10.5,
        indent=False,
        align=centre,
    )
    _heading(doc, 1, "项目基本情况")
    _para(doc, _project_text(r["project"]))
    _heading(doc, 2, "项目选址")
    _para(doc, _site_text(r))
    _heading(doc, 3, "研判结论")
    label = r.get("verdict_label") or LABELS[r["verdict"]]
    _para(
        doc,
        "经对照生态保护红线、自然保护地、饮用水水源保护区等生态环境分区管控数据研判，"
        f"该项目选址的研判结论为：{label}。",
    )
    for c in r.get("by_category") or []:
        label = c.get("verdict_label") or LABELS[c["verdict"]]
        _para(doc, f"按{c['category']}类项目研判：{label}。")
    _heading(doc, 4, "主要理由")
    reasons = _reasons(r) or ["项目用地及研判范围内未发现禁止、限制或关注类管控要素。"]
    for i, text in enumerate(reasons, start=1):
        _para(doc, f"（{_cn(i)}）{text}")
    _heading(doc, 5, "需满足的条件和建议")
    for i, text in enumerate(_conditions(r), start=1):
        _para(doc, f"{i}. {text}")
    _heading(doc, 6, "数据版本")
    _versions_table(doc, session, r)
    _para(doc, "本意见由 Redline 根据研判结果自动起草，经办人核实修改后签发。", size=10.5)
    officer = (r.get("project") or {}).get("officer")
    _para(doc, "")
    _para(
        doc,
        f"经办人：{officer or '__________'}　　审核人：__________　　日期：____年__月__日",
        indent=False,
    )
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
