"""The report an officer files: an A4 PDF with nothing outside the page, a map in the site's
Gauss-Krüger zone showing every finding, Beijing time, and the editable 研判意见 (DOCX)."""

import copy
import datetime as dt
import io
import re
from urllib.parse import unquote

import docx
import pdfplumber
import pytest
import shapely
from docx.oxml.ns import qn

from app.render.mapframe import (
    MAX_ASPECT,
    MIN_ASPECT,
    gk_frame,
    length_label,
    map_extent,
    near_parts,
    nice_length,
)
from app.screening.opinion import DOCX_MEDIA_TYPE, opinion_docx
from app.screening.report import (
    beijing_time,
    feature_label,
    key_rows,
    percent,
    report_html,
    report_pdf,
    signed,
)
from app.store.db import session_scope
from app.store.keys import create_key
from app.store.models import Screening
from tests.report_samples import parcels_txt, point_site, road_length_m, road_site

MM = 72 / 25.4  # PDF points per millimetre


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


@pytest.fixture(scope="module")
def point(client) -> dict:
    body = {"geometry": point_site(), "project_category": "化工", "project_name": "光雾山化工厂"}
    resp = client.post("/screenings", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def road(client) -> dict:
    body = {
        "geometry": road_site(),
        "project_category": "线性基础设施",
        "project_name": "巴中南北向二级公路改建工程",
        "buffer_m": 200,
    }
    resp = client.post("/screenings", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def parcels(client) -> dict:
    files = {"file": ("报盘坐标.txt", parcels_txt().encode("gbk"))}
    resp = client.post("/screenings", files=files, data={"project_category": "工业"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def assert_inside_pages(pdf: bytes) -> list[dict]:
    """Every character and image of every page lies inside the page, and every image inside
    the page's margins (15 mm at the sides, 20 mm top, 18 mm bottom); the images, by page."""
    images = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert abs(doc.pages[0].width - 210 * MM) < 1 and abs(doc.pages[0].height - 297 * MM) < 1
        for number, page in enumerate(doc.pages, start=1):
            w, h = page.width, page.height
            for box in [*page.chars, *page.images]:
                where = f"page {number}: {box.get('text', 'image')!r} at {box['x0']:.1f}"
                assert box["x0"] >= -0.5 and box["x1"] <= w + 0.5, where
                assert box["top"] >= -0.5 and box["bottom"] <= h + 0.5, where
            for image in page.images:
                where = f"page {number}: image {image['x0']:.1f}, {image['top']:.1f}"
                assert image["x0"] >= 14 * MM and image["x1"] <= w - 14 * MM, where
                assert image["top"] >= 19 * MM and image["bottom"] <= h - 17 * MM, where
                images.append({**image, "page": number})
    return images


def pdf_text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "".join(page.extract_text() or "" for page in doc.pages)


def get_pdf(client, screening: dict) -> bytes:
    resp = client.get(f"/screenings/{screening['id']}/report.pdf")
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    return resp.content


def test_point_report_fits_the_page_with_map_and_locator(client, point):
    pdf = get_pdf(client, point)
    images = assert_inside_pages(pdf)
    assert len(images) == 2  # the locator map (page 1) and the site map
    assert images[0]["page"] == 1
    text = pdf_text(pdf)
    assert "第 1 页 共" in text and point["id"] in text
    assert "第 36 带" in text and "CGCS2000" in text


def test_road_across_counties_lists_every_county(client, road):
    """The 所在县 of a road across three counties names all three, not the first one."""
    counties = [c["name"] for c in road["context"]["county_shares"]]
    assert len(counties) == 3
    html = client.get(f"/screenings/{road['id']}/report.html").text
    assert f"<td>{'、'.join(counties)}</td>" in html
    assert "（分乡镇见第三部分）" in html
    # The road crosses rivers: lines meet at points, they do not "partly overlap".
    crossed = [
        f["name"] for f in road["findings"] if f["layer"] == "river" and f["distance_m"] == 0
    ]
    assert crossed and all(f"<td>{name}</td><td>相交</td>" in html for name in crossed)


def test_fifty_km_road_map_fits_one_page(client, road):
    assert 48_000 < road_length_m() < 53_000
    pdf = get_pdf(client, road)
    images = assert_inside_pages(pdf)
    site_map = max(images, key=lambda i: i["height"])
    assert site_map["height"] > 150 * MM  # a tall, portrait map, not a thumbnail
    assert site_map["height"] > site_map["width"]


def test_twenty_parcel_file_report_fits_the_page(client, parcels):
    assert parcels["site"]["parts"] == 20
    pdf = get_pdf(client, parcels)
    assert_inside_pages(pdf)


RED = (0.776, 0.157, 0.157)  # #c62828, the report's colour for a gap or a mismatch


def test_twenty_parcel_table_is_compact(client, parcels):
    """Twenty parcels take at most two pages: each row a badge and a short reason (the full
    rule messages are in the bases section), numbers unwrapped, a mismatch in red, no -0."""
    pdf = get_pdf(client, parcels)
    wrong = next(p for p in parcels["parcels"] if p["warning"])
    assert wrong["number"] == "DK-2026-003"
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        pages = [p.extract_text() or "" for p in doc.pages]
        numbers = [f"DK-2026-{k:03d}" for k in range(1, 21) if k != 3]  # 003 is also warned
        table_pages = {i for i, text in enumerate(pages) for n in numbers if n in text}
        assert all(any(n in text for text in pages) for n in numbers)  # never wrapped
        assert 1 <= len(table_pages) <= 2, table_pages
        mismatch = [
            c
            for i in table_pages | {max(table_pages) + 1}
            for c in doc.pages[i].chars
            if c["text"] == "偏"  # 面积偏差超过 1%
        ]
    assert mismatch and all(
        tuple(round(v, 3) for v in c["non_stroking_color"]) == RED for c in mismatch
    )
    text = "".join(pages)
    page_one = pages[0].replace("\n", "")
    assert "相差超过 1% 的地块 1 个：DK-2026-003（-50.00%）" in page_one, page_one
    assert "20 个地块" in page_one
    assert "环境管控单元「巴州区重点管控单元01」" in text
    assert not re.search(r"[-+−]0\.0+%?(?![0-9])", text), "a zero difference shows a sign"
    assert "-50.00%" in text  # the wrong parcel's difference keeps its sign


def test_signed_difference_is_plain_zero_when_it_rounds_to_zero():
    assert signed(-0.00001) == "0.0000" and signed(0.0) == "0.0000"
    assert signed(-0.004, 2, "%") == "0.00%" and signed(-50.0, 2, "%") == "-50.00%"
    assert signed(1.43961) == "+1.4396" and signed(None) == "—"


def test_page_one_verdict_counts_add_up(client, point):
    text = pdf_text(get_pdf(client, point)).replace("\n", "")
    found = re.search(
        r"涉及管控要素 (\d+) 项：禁止 (\d+) 项、限制 (\d+) 项、关注 (\d+) 项、无冲突 (\d+) 项", text
    )
    assert found, text[:800]
    total, *parts = map(int, found.groups())
    assert total == len(point["findings"]) == sum(parts)
    by_verdict = [f["verdict"] for f in point["findings"]]
    assert parts == [
        by_verdict.count(v) for v in ("prohibited", "restricted", "attention", "clear")
    ]


def _with_everything(result: dict) -> dict:
    """A result with the fields other parts of issue 11 add, long unbreakable values included."""
    r = copy.deepcopy(result)
    long_code = "POLYGON((3525331.771,36382769.021,3525331.771,36382769.021))" * 2
    r["parcels"] = [
        {
            "number": f"DK-2026-{k:03d}-{'X' * 40}",
            "name": f"巴中经济开发区临港产业园第{k}号地块" * 3,
            "use": long_code if k == 1 else "工业用地",
            "declared_area_ha": 2.0 + k,
            "computed_area_ha": 1.0 + k,
            "difference_ha": -1.0,
            "difference_pct": -100 / (2.0 + k),
            "verdict": "restricted",
            "verdict_label": "限制",
            "reasons": ["项目用地与永久基本农田重叠。"],
            "warning": "申报面积与计算面积相差超过 1%" if k % 2 else None,
        }
        for k in range(1, 21)
    ]
    r["by_category"] = [
        {"category": "化工", "verdict": "prohibited", "verdict_label": "禁止", "rule_ids": ["a"]},
        {"category": "居住", "verdict": "restricted", "verdict_label": "限制", "rule_ids": []},
    ]
    r["context"]["township_shares"] = [
        {
            "code": "1",
            "name": "甲镇",
            "county": "巴州区",
            "share": 0.82,
            "zone_type": "重点生态功能区",
            "county_positioning": long_code,
        },  # fmt: skip
        {
            "code": "2",
            "name": "乙镇",
            "county": "巴州区",
            "share": 0.18,
            "zone_type": "城镇化地区",
            "county_positioning": None,
        },  # fmt: skip
    ]
    r["context"]["summary"] = "跨 2 个乡镇，其中 1 个为重点生态功能区，占用地 82%"
    r["project"]["officer"] = "王晓明"
    r["project"]["industry_code"] = "C2614"
    r["project"]["industry_name"] = "有机化学原料制造"
    r["findings"][0]["within_buffer"] = True
    return r


def test_fields_from_the_other_helpers_render_and_fit(client, point):
    with session_scope() as session:
        row = session.get(Screening, point["id"])
        session.expunge(row)
        row.result = _with_everything(row.result)
        html = report_html(session, row)
        pdf = report_pdf(session, row)
        opinion = docx.Document(io.BytesIO(opinion_docx(session, row)))
    drafted = "\n".join(p.text for p in opinion.paragraphs)
    assert "经办人：王晓明" in drafted and "C2614 有机化学原料制造" in drafted
    assert "按化工类项目研判：禁止" in drafted and "跨 2 个乡镇" in drafted
    assert "核实地块DK-2026-001" in drafted and "核实地块DK-2026-002" not in drafted
    for text in ("地块编号", "申报面积（公顷）", "计算面积（公顷）", "DK-2026-020", "王晓明"):
        assert text in html, text
    assert "按各类别分别研判" in html and "跨 2 个乡镇" in html and "C2614" in html
    assert "在缓冲范围内" in html
    assert "thead { display: table-header-group; }" in html
    assert_inside_pages(pdf)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        # The long parcel table runs over pages, its header repeated on each.
        pages = [p.extract_text() or "" for p in doc.pages]
    assert sum("申报面积" in p and "DK-2026" in p for p in pages) >= 2
    assert "经办人：" in pages[-1] and "王晓明" in pages[-1]


def test_without_county_data_the_report_has_no_locator(point):
    """A screening filed without the county layer still gets its site map, and no locator."""
    with session_scope() as session:
        row = session.get(Screening, point["id"])
        session.expunge(row)
        r = copy.deepcopy(row.result)
        del r["layer_versions"]["admin_county"]
        row.result = r
        pdf = report_pdf(session, row)
    assert len(assert_inside_pages(pdf)) == 1


def test_report_time_is_beijing_time(client, point):
    created = dt.datetime.fromisoformat(point["created_at"])
    local = created.astimezone(dt.timezone(dt.timedelta(hours=8)))
    html = client.get(f"/screenings/{point['id']}/report.html").text
    html = re.sub(r"data:image/png;base64,[^\"]+", "", html)  # base64 may spell anything
    assert f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）" in html
    assert f"{created:%H:%M} UTC" not in html and "UTC" not in html
    assert beijing_time("2026-12-02T03:23:00+00:00") == "2026年12月2日 11:23（北京时间）"
    assert beijing_time("2026-12-31T17:05:00") == "2027年1月1日 01:05（北京时间）"


def test_docx_opinion_has_verdict_bases_and_chinese_fonts(client, road):
    resp = client.get(f"/screenings/{road['id']}/report.docx")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == DOCX_MEDIA_TYPE
    disposition = resp.headers["content-disposition"]
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert match and unquote(match.group(1)) == "巴中南北向二级公路改建工程-研判意见.docx"
    document = docx.Document(io.BytesIO(resp.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "研判意见" in text and f"研判结论为：{road['verdict_label']}" in text
    bases = {h["basis"] for f in road["findings"] for h in f["rules"]}
    assert bases and all(b in text for b in bases)
    assert "巴中南北向二级公路改建工程" in text and "线性基础设施" in text
    assert "经办人" in text and "审核人" in text and "北京时间" in text
    # The road's many farmland plots make one reason with their total, not one line each.
    farmland = [f for f in road["findings"] if f["layer"] == "farmland" and f["rules"]]
    assert len(farmland) >= 2
    # A line site meets plots along its length: the total is the length through them.
    total_m = sum(f["overlap_length_m"] or 0 for f in farmland)
    merged = [p.text for p in document.paragraphs if "永久基本农田" in p.text and "处" in p.text]
    assert len(merged) == 1 and f"{len(farmland)} 处" in merged[0]
    assert total_m > 0 and f"合计穿越长度 {total_m:.1f} 米" in merged[0]
    counties = "、".join(c["name"] for c in road["context"]["county_shares"])
    assert f"项目位于{counties}" in text
    # An access-list condition shared by several units is one line naming them all.
    listed = [p.split("）：", 1)[1] for p in text.splitlines() if "准入清单（" in p]
    assert listed and len(listed) == len(set(listed))
    # Conditions are whole sentences: a quoted access-list text is never cut at its 。.
    assert all(p.text.count("“") == p.text.count("”") for p in document.paragraphs), text
    versions = document.tables[-1]
    assert [c.text for c in versions.rows[0].cells][-1] == "来源说明"
    # Reference versions' notes are Chinese (versions other tests upload may say anything).
    notes = [r.cells[3].text for r in versions.rows[1:]]
    assert all(notes) and any(re.search(r"[\u4e00-\u9fff]", n) for n in notes)
    assert not any("SYNTHETIC" in n for n in notes), notes
    fonts = document.paragraphs[0].runs[0]._element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "宋体"
    assert all(
        r._element.rPr.rFonts.get(qn("w:eastAsia")) for p in document.paragraphs for r in p.runs
    )


def test_docx_is_the_callers_own(client_as, point):
    assert client_as("officer").get(f"/screenings/{point['id']}/report.docx").status_code == 404
    with session_scope() as session:
        viewer = create_key(session, "report-viewer", "viewer", "tests").secret
    headers = {"Authorization": f"Bearer {viewer}"}
    url = f"/screenings/{point['id']}/report.docx"
    assert client_as(None).get(url, headers=headers).status_code == 403


def test_map_extent_holds_every_finding_feature_near_the_site():
    frame = gk_frame(106.76)
    assert (frame.zone, frame.epsg) == (36, 4545)
    site = frame.project(shapely.geometry.shape(road_site()))
    x0, y0, x1, y1 = site.bounds
    assert 48_000 < y1 - y0 < 52_000  # projected metres: the 50 km road
    features = [
        shapely.box(x0 - 30_000, y0 - 30_000, x1 + 30_000, y1 + 30_000),  # a vast zone around
        shapely.Point(x1 + 4_000, (y0 + y1) / 2).buffer(500),  # 3.5 km east
        shapely.LineString([(x0 - 800, y0 - 900), (x0 - 800, y0 - 5_000)]),  # south of the end
        shapely.Point(x0 - 2_000, y1 + 1_500),  # a point north-west of the north end
    ]
    extent = map_extent(site, features)
    box = shapely.box(*extent)
    assert box.contains(site)
    for feature in features:
        assert box.contains(near_parts(site, feature))
        nearest = shapely.shortest_line(site, feature).coords[-1]
        assert box.intersects(shapely.Point(nearest))
    for small in features[1:]:
        assert box.contains(small) or small.length > 3_000
    w, h = extent[2] - extent[0], extent[3] - extent[1]
    assert MIN_ASPECT - 1e-9 <= h / w <= MAX_ASPECT + 1e-9
    # The vast zone is cut near the site: the map does not zoom out to its 110 km.
    assert h < 70_000


def test_point_map_widens_to_its_findings():
    """A point's map is 1.5 km across unless findings lie farther: then it shows them."""
    site = shapely.Point(382_000, 3_525_000)
    alone = shapely.box(*map_extent(site, []))
    assert alone.contains(site) and 1_500 <= alone.bounds[2] - alone.bounds[0] < 3_000
    reserve = shapely.Point(385_000, 3_525_500).buffer(400)  # 2.6 km east
    river = shapely.LineString([(370_000, 3_527_000), (395_000, 3_527_500)])  # 2 km north
    box = shapely.box(*map_extent(site, [reserve, river]))
    assert box.contains(reserve)
    assert box.contains(shapely.Point(shapely.shortest_line(site, river).coords[-1]))
    assert box.bounds[2] - box.bounds[0] < 12_000  # the 25 km river is cut near the site


def test_key_figures_group_findings_by_layer_and_verdict():
    def f(layer, verdict, name=None, area=None, share=None, distance=0.0):
        relation = "overlaps" if area else "nearby"
        return {"layer": layer, "layer_title": layer, "feature_id": 1, "name": name,
                "relation": relation, "verdict": verdict, "overlap_area_m2": area,
                "overlap_share": share, "distance_m": distance}  # fmt: skip

    rows = key_rows(
        [
            f("农田", "restricted", area=10_000, share=0.1),
            f("农田", "restricted", area=30_000, share=0.3),
            f("河流", "attention", "巴河", distance=812.0),
            f("河流", "attention", "恩阳河", distance=300.0),
            {**f("县", "clear"), "feature_id": None},  # a whole-layer finding has no feature
        ]
    )
    assert [(r.layer_title, r.count) for r in rows] == [("农田", 2), ("河流", 2)]
    assert rows[0].figure == "重叠 4.0000 公顷（占用地 40.0%）" and rows[0].names == "共 2 处"
    assert rows[1].figure == "最近 300.0 米" and rows[1].names == "巴河、恩阳河 等 2 处"
    assert percent(0.00004) == "不足 0.01%" and percent(0.0004) == "0.04%"


def test_scale_bar_lengths_are_round():
    assert nice_length(10_000) == 2000 and nice_length(1_500) == 200
    assert nice_length(60_000) == 10_000
    assert length_label(2000) == "2 千米" and length_label(500) == "500 米"


def test_report_html_still_renders_an_old_result(point):
    """Screenings filed before issue 11 lack the new fields: the report renders them."""
    with session_scope() as session:
        row = session.get(Screening, point["id"])
        session.expunge(row)
        r = copy.deepcopy(row.result)
        for key in ("coverage", "complete", "verdict_label"):
            r.pop(key, None)
        row.result = r
        html = report_html(session, row)
    assert "研判结论" in html and "禁止" in html


def test_docx_of_a_parcel_file_reads_well(client, parcels):
    """Conditions keep a quoted access-list text whole and do not restate where the site lies;
    a 报盘 file's parts are 地块; a one-township site is located once."""
    resp = client.get(f"/screenings/{parcels['id']}/report.docx")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(resp.content)).paragraphs]
    assert all(p.count("“") == p.count("”") for p in paragraphs), paragraphs
    site = next(p for p in paragraphs if p.startswith("项目位于"))
    assert "共 20 个地块，" in site and "（部分）" not in site
    assert site.count("位于") == 1, site
    conditions = [p for p in paragraphs if re.match(r"\d+\. ", p)]
    assert conditions and not any(re.match(r"\d+\. 项目(用地)?位于", p) for p in conditions)
    assert any("核实地块DK-2026-003" in p for p in conditions)


def test_nameless_features_are_shown_by_their_code():
    plot = {"layer": "farmland", "layer_title": "永久基本农田", "feature_id": 7, "name": None,
            "attributes": {"code": "JBNT511902-0037"}, "relation": "overlaps",
            "verdict": "restricted", "overlap_length_m": 188.0}  # fmt: skip
    assert feature_label(plot) == "JBNT511902-0037"
    assert feature_label({**plot, "name": "巴河"}) == "巴河"
    assert feature_label({**plot, "attributes": None}) is None
    assert key_rows([plot])[0].names == "JBNT511902-0037"
