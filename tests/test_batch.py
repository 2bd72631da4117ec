"""Batch screening: one row per site; small batches answer at once, large ones run as jobs."""

import csv
import datetime as dt
import io
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import shapely
from openpyxl import load_workbook
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.routes.screenings import SYNC_SITES
from app.config import get_settings
from app.screening import batch
from app.screening.batch_output import headers
from app.store.db import session_scope
from app.store.models import Screening
from tests.factories import GEOD
from tests.region_state import import_other_counties, rolled_back_session
from tests.test_screening import ref_features


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def sites_csv(n: int, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(106.6, 107.3, n), rng.uniform(31.7, 32.4, n)
    rows = [f"工地{i},{x:.6f},{y:.6f}" for i, (x, y) in enumerate(zip(lon, lat, strict=True))]
    return ("name,lon,lat\n" + "\n".join(rows) + "\n成都,104.06,30.67\n").encode("utf-8")


def test_small_batch_answers_at_once_with_one_row_per_site(client):
    resp = client.post(
        "/screenings/batch",
        files={"file": ("s.csv", sites_csv(20))},
        data={"project_category": "化工", "format": "json"},
    )
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert len(rows) == 21
    assert rows[0]["site"] == "工地0"
    assert rows[-1]["verdict"] == "error"
    assert rows[-1]["problem"] == "第 21 行：项目用地不在已加载数据覆盖的区县范围内"
    assert {r["verdict"] for r in rows[:-1]} <= {"prohibited", "restricted", "attention", "clear"}
    # Each row agrees with a single screening of the same site.
    one = client.post(
        "/screenings",
        json={
            "geometry": {
                "type": "Point",
                "coordinates": [
                    float(x) for x in sites_csv(20).decode().split("\n")[1].split(",")[1:]
                ],
            },
            "project_category": "化工",
        },
    ).json()
    assert rows[0]["verdict"] == one["verdict"]


def test_batch_csv_and_xlsx_outputs(client):
    csv = client.post(
        "/screenings/batch", files={"file": ("s.csv", sites_csv(5))}, data={"format": "csv"}
    )
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    assert "工地0" in csv.content.decode("utf-8-sig")
    xlsx = client.post(
        "/screenings/batch", files={"file": ("s.csv", sites_csv(5))}, data={"format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.title == "研判结果" and sheet.max_row == 7


def test_large_batch_runs_as_a_job_with_progress(client, worker, monkeypatch):
    # Hold the job at its first chunk, so the early result request meets an unfinished job.
    gate = threading.Event()
    screen = batch._screen_rows

    def held(*args, **kwargs):
        gate.wait(timeout=60)
        return screen(*args, **kwargs)

    monkeypatch.setattr(batch, "_screen_rows", held)
    try:
        resp = client.post(
            "/screenings/batch",
            files={"file": ("s.csv", sites_csv(SYNC_SITES + 50))},
            data={"project_category": "工业"},
        )
        assert resp.status_code == 202, resp.text
        job = resp.json()
        assert job["total"] == SYNC_SITES + 51
        assert resp.headers["location"] == f"/jobs/{job['id']}"
        early = client.get(f"/jobs/{job['id']}/result")
        assert early.status_code == 409, early.text
        problem = early.json()
        assert problem["type"].endswith("/job-not-done")
        assert problem["job"]["status"] in ("queued", "running")  # a worker may have it
        assert f"poll /jobs/{job['id']}" in problem["detail"]
    finally:
        gate.set()
    for _ in range(240):
        status = client.get(f"/jobs/{job['id']}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert status["status"] == "done", status
    assert status["done"] == status["total"] and status["percent"] == 100
    rows = json.loads(client.get(status["links"]["result"]).content)
    assert len(rows) == SYNC_SITES + 51


def test_batch_bad_input(client):
    resp = client.post("/screenings/batch", files={"file": ("s.csv", b"a,b\n1,2\n")})
    assert resp.status_code == 422 and "lon/lat" in resp.json()["detail"]
    resp = client.post(
        "/screenings/batch",
        files={"file": ("s.csv", sites_csv(3))},
        data={"project_category": "造船"},
    )
    assert resp.status_code == 422
    resp = client.post(
        "/screenings/batch", files={"file": ("s.csv", sites_csv(3))}, data={"format": "pdf"}
    )
    assert resp.status_code == 422


def _starts_chinese(text: str) -> bool:
    return "\u4e00" <= text[0] <= "\u9fff" or text[0] in "“（"


WHOLE_FILE_PROBLEMS = {
    "no coordinate columns": ({"file": ("s.csv", b"a,b\n1,2\n")}, {}, "lon/lat（经度/纬度）"),
    "header only": ({"file": ("s.csv", b"name,lon,lat\n")}, {}, "只有表头"),
    "empty file": ({"file": ("s.csv", b"")}, {}, "是空的"),
    "unsupported type": ({"file": ("s.doc", b"hello")}, {}, "不支持的文件类型"),
    "not a zip": ({"file": ("s.zip", b"not a zip")}, {}, "不是可读取的 zip"),
    "no extension": ({"file": ("sites", b"name,lon,lat\n")}, {}, "扩展名"),
    "wrong format": ({"file": ("s.csv", sites_csv(3))}, {"format": "pdf"}, "结果格式"),
    "buffer not a number": ({"file": ("s.csv", sites_csv(3))}, {"buffer_m": "五百"}, "数字"),
    "buffer out of range": ({"file": ("s.csv", sites_csv(3))}, {"buffer_m": "-5"}, "缓冲距离"),
    "no file": (None, {"project_category": "化工"}, "没有收到站点文件"),
    "too many sites": ({"file": ("s.csv", sites_csv(3))}, {}, "最多 2 个"),
}


@pytest.mark.parametrize("case", list(WHOLE_FILE_PROBLEMS))
def test_whole_file_problems_say_in_chinese_first_what_to_do(client, monkeypatch, case):
    """Every problem with the whole file: a 422 whose detail is Chinese, then English."""
    from app.screening import batch_input

    if case == "too many sites":
        monkeypatch.setattr(batch_input, "MAX_SITES", 2)
    files, data, chinese = WHOLE_FILE_PROBLEMS[case]
    resp = client.post("/screenings/batch", files=files, data=data)
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert _starts_chinese(detail) and chinese in detail, detail
    assert re.search(r"。[A-Za-z`'(]", detail), detail  # the Chinese sentence, then English


def test_batch_rows_are_counted_as_filed_screenings(client):
    """/metrics counts each filed row under its verdict, as a single screening is; a refused
    row (outside the loaded counties) is not filed and not counted."""
    from app.api.metrics import REGISTRY

    def counts() -> dict[str, float]:
        return {
            v: REGISTRY.get_sample_value("redline_screenings_total", {"verdict": v}) or 0.0
            for v in ("prohibited", "restricted", "attention", "clear")
        }

    before = counts()
    resp = client.post(
        "/screenings/batch",
        files={"file": ("s.csv", sites_csv(6))},
        data={"project_category": "化工", "format": "json"},
    )
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    filed = Counter(r["verdict"] for r in rows if r["verdict"] != "error")
    assert sum(filed.values()) == 6 and rows[-1]["verdict"] == "error"
    after = counts()
    assert {v: after[v] - before[v] for v in after} == {v: filed.get(v, 0) for v in after}


def test_jobs_cut_off_by_a_restart_are_marked_failed(database):
    """A job whose worker died and that has no queue entry to retry fails, in both languages."""
    from app.store.db import session_scope
    from app.store.jobs import create_job, get_job, recover_interrupted_jobs

    with session_scope() as session:
        job = create_job(session, "screening-batch", 10, {})
        job.status, job.owner = "running", f"{socket.gethostname()} 999999999 1"
        job_id = job.id
    assert recover_interrupted_jobs() >= 1
    with session_scope() as session:
        job = get_job(session, job_id)
        assert job.status == "failed" and job.error["title"] == "Interrupted"
        detail = job.error["detail"]
        assert "请重新提交" in detail and "submit the batch again" in detail


FLAT = "POLYGON ((106.8 31.8, 106.81 31.8, 106.82 31.8, 106.8 31.8))"
BOWTIE = "POLYGON ((106.8 31.85, 106.82 31.87, 106.82 31.85, 106.8 31.87, 106.8 31.85))"


def wkt_sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.csv"
    rows = [
        ("a", "POINT (106.8 31.8)"),
        ("b", "POINT (500000 3500000)"),
        ("c", FLAT),
        ("d", BOWTIE),
        ("e", "LINESTRING (106.8 31.8, 106.9 31.9)"),
        ("f", "POINT (150 31)"),
    ]
    path.write_text("name,wkt\n" + "".join(f'{n},"{w}"\n' for n, w in rows), encoding="utf-8")
    return path


def test_batch_rows_outside_china_or_beyond_repair_say_why(tmp_path):
    sites = batch.read_sites(wkt_sites(tmp_path), None, None)
    assert sites.labels == ["a", "b", "c", "d", "e", "f"]
    outside = "坐标不在国内：请检查坐标系（crs）是否选对、经纬度是否颠倒"
    assert sites.problems == {
        1: outside,
        2: "图形无效且无法修复（invalid geometry (Self-intersection[106.81 31.8]) has no "
        "polygon part left after repair）",
        5: outside,
    }
    assert [g is None for g in sites.geometries] == [False, True, True, False, False, True]
    # The bow-tie is repaired into two triangles; a line stays a line.
    assert sites.geometries[3].geom_type == "MultiPolygon" and sites.geometries[3].is_valid
    assert sites.geometries[4].geom_type == "LineString"


def test_batch_checks_sites_against_the_configured_coverage_box(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "coverage_bbox", (106.0, 31.0, 106.85, 32.0))
    sites = batch.read_sites(wkt_sites(tmp_path), None, None)
    # The line reaches 106.9E, east of the configured box though well inside China.
    assert sites.problems[4] == "坐标不在国内：请检查坐标系（crs）是否选对、经纬度是否颠倒"
    assert sites.geometries[4] is None and sites.geometries[0] is not None


@pytest.fixture
def regions_session(reference) -> Iterator[Session]:
    """Bazhong's layers plus the counties of Dazhou and Wushan (as tests/test_coverage.py)."""
    with rolled_back_session() as s:
        import_other_counties(s)
        yield s


def test_batch_rows_say_whether_the_data_cover_each_site(regions_session, monkeypatch):
    @contextmanager
    def in_test_session() -> Iterator[Session]:
        yield regions_session

    monkeypatch.setattr(batch, "session_scope", in_test_session)
    sites = batch.BatchSites([Point(106.84, 32.35), Point(107.3784, 31.1593)], ["巴中", "达州"], {})
    bazhong, dazhou = batch.screen_batch(sites, "居住", 0)
    assert bazhong["complete"] is True and bazhong["warnings"] is None
    assert bazhong["verdict_label"] == bazhong["verdict_zh"]
    assert dazhou["county"] == "达川区" and dazhou["complete"] is False
    assert dazhou["verdict_label"].endswith("（不完整）")
    assert "数据未覆盖项目用地的 100.0%" in dazhou["warnings"]


# ---- per-row projects, filing, Chinese output (issue 11, item 10) ----


def near_ba_river(metres: float) -> tuple[float, float, float]:
    """A point about METRES across 巴河 from its middle, and its distance to the river measured
    independently (geodesic distances to the river densified to ~1 m, pyproj only)."""
    _, river = next((p, g) for p, g in ref_features("river") if p["name"] == "巴河")
    a = river.interpolate(0.499, normalized=True)
    b = river.interpolate(0.501, normalized=True)
    azimuth, _, _ = GEOD.inv(a.x, a.y, b.x, b.y)
    mid = river.interpolate(0.5, normalized=True)
    lon, lat, _ = GEOD.fwd(mid.x, mid.y, azimuth + 90, metres)
    dense = shapely.segmentize(river, 0.00001)
    xy = shapely.get_coordinates(dense)
    _, _, dist = GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return lon, lat, float(dist.min())


def project_csv(rows: list[tuple], encoding: str = "utf-8") -> bytes:
    """A batch file with Chinese headers (项目名称, 项目类别, 行业代码, 缓冲距离（米）, 经纬度)."""
    lines = ["项目名称,项目类别,行业代码,缓冲距离（米）,经度,纬度"]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def batch_json(client, content: bytes, **data) -> tuple[list[dict], str]:
    resp = client.post(
        "/screenings/batch", files={"file": ("s.csv", content)}, data={"format": "json", **data}
    )
    assert resp.status_code == 200, resp.text
    return resp.json(), resp.headers["X-Redline-Job"]


def test_a_rows_category_is_honoured_chemical_near_the_river_is_prohibited(client):
    lon, lat, true_distance = near_ba_river(685.9)
    assert 680 < true_distance < 690
    content = project_csv(
        [
            ("化工厂", "化工", "C2614", None, lon, lat),
            ("住宅小区", "居住", None, None, lon, lat),
            ("未填类别", None, None, None, lon, lat),
        ]
    )
    rows, _ = batch_json(client, content)
    chem, housing, blank = rows
    assert [r["row"] for r in rows] == [1, 2, 3]
    assert chem["project_category"] == "化工" and chem["industry_code"] == "C2614"
    assert chem["verdict"] == "prohibited" and chem["verdict_zh"] == "禁止"
    assert "「巴河」（重要支流）685.9 米，位于岸线一公里范围内" in chem["rules"]
    assert chem["main_conflict"]  # the most severe finding (here a water source also forbids)
    assert chem["river_distance_m"] == pytest.approx(true_distance, abs=1.0)
    assert housing["project_category"] == "居住"
    assert housing["verdict"] != "prohibited" and "岸线一公里" not in (housing["rules"] or "")
    # A row without a category gets the strictest verdict and says so, like a single site.
    single = client.post(
        "/screenings", json={"geometry": {"type": "Point", "coordinates": [lon, lat]}}
    ).json()
    assert blank["project_category"] is None and blank["verdict"] == single["verdict"]
    assert blank["verdict"] == "prohibited"
    assert blank["warnings"].startswith("类别未指定，按最严格类别研判")
    # The request's category fills the empty cells only; a row's own category wins.
    rows, _ = batch_json(client, content, project_category="化工", buffer_m="200")
    assert [r["project_category"] for r in rows] == ["化工", "居住", "化工"]
    assert [r["verdict"] for r in rows][1:] == [housing["verdict"], "prohibited"]
    assert [r["buffer_m"] for r in rows] == [200, 200, 200]


def test_each_row_is_filed_as_a_screening_with_its_report(client):
    lon, lat, _ = near_ba_river(685.9)
    content = project_csv(
        [("化工厂", "化工", "C26", 300, lon, lat), ("住宅小区", "居住", None, None, lon, lat)]
    )
    rows, job_id = batch_json(client, content, buffer_m="50")
    for row, (name, category, buffer_m) in zip(
        rows, [("化工厂", "化工", 300), ("住宅小区", "居住", 50)], strict=True
    ):
        assert row["report_url"] == f"/screenings/{row['screening_id']}/report.pdf"
        filed = client.get(f"/screenings/{row['screening_id']}")
        assert filed.status_code == 200, filed.text
        record = filed.json()
        project = {k: record["project"][k] for k in ("name", "category", "buffer_m")}
        assert project == {"name": name, "category": category, "buffer_m": buffer_m}
        assert record["verdict"] == row["verdict"] and record["verdict_label"] == row["verdict_zh"]
        assert record["site"]["geometry"]["coordinates"] == pytest.approx([lon, lat])
        assert record["inputs"]["batch"] == job_id and record["inputs"]["row"] == row["row"]
        assert record["created_by"] == "test-admin"
    assert record["inputs"]["industry_code"] is None
    assert (
        client.get(f"/screenings/{rows[0]['screening_id']}").json()["inputs"]["industry_code"]
        == "C26"
    )
    assert any(
        f["layer"] == "river" and f["rules"] and f["rules"][0]["rule_id"] == "yangtze-chemical-1km"
        for f in client.get(f"/screenings/{rows[0]['screening_id']}").json()["findings"]
    )
    pdf = client.get(rows[0]["report_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    listed = client.get("/screenings", params={"project": "化工厂", "limit": 1000}).json()
    assert rows[0]["screening_id"] in {s["id"] for s in listed}
    entry = client.get("/audit", params={"action": "screening-batch-filed"}).json()
    mine = next(e for e in entry if e["target"] == job_id)
    assert mine["detail"]["filed"] == 2 and mine["detail"]["errors"] == 0


def test_csv_and_xlsx_have_chinese_headers(client):
    lon, lat, _ = near_ba_river(685.9)
    content = project_csv([("化工厂", "化工", None, None, lon, lat)])
    csv = client.post(
        "/screenings/batch", files={"file": ("s.csv", content)}, data={"format": "csv"}
    )
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    header, first = csv.content.decode("utf-8-sig").splitlines()[:2]
    columns = header.split(",")
    assert columns[:9] == [
        "序号", "项目名称", "项目类别", "行业代码", "环评类别", "缓冲距离（米）",
        "研判结论", "结论说明", "主要冲突",
    ]  # fmt: skip
    assert {"河流最近距离（米）", "生态保护红线重叠面积（平方米）", "研判编号", "报告链接"} <= set(
        columns
    )
    assert all(not c.isascii() for c in columns), columns
    cells = dict(zip(columns, first.split(","), strict=False))
    assert cells["研判结论"] == "禁止" and cells["项目名称"] == "化工厂"
    assert cells["报告链接"] == f"/screenings/{cells['研判编号']}/report.pdf"
    # Filed times read in Beijing time (UTC+8, no daylight saving); the API keeps ISO 8601.
    filed = client.get(f"/screenings/{cells['研判编号']}").json()["created_at"]
    assert dt.datetime.fromisoformat(filed).utcoffset() is not None
    beijing = dt.datetime.fromisoformat(filed).astimezone(dt.UTC) + dt.timedelta(hours=8)
    shown = f"{beijing.year}年{beijing.month}月{beijing.day}日 {beijing:%H:%M}"
    assert cells["研判时间（北京时间）"] == shown
    xlsx = client.post(
        "/screenings/batch", files={"file": ("s.csv", content)}, data={"format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == columns
    assert values[1][6] == "禁止" and values[1][columns.index("数据覆盖完整")] == "是"
    xlsx_time = values[1][columns.index("研判时间（北京时间）")]
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", xlsx_time), xlsx_time


def test_csv_times_are_beijing_minutes_whatever_the_offset():
    from app.screening.batch_output import _csv
    from app.screening.report import beijing_time

    times = [
        "2026-12-02T15:59:59.999999+00:00",  # 23:59 in Beijing, the day before midnight
        "2026-12-02T16:00:00.000001+00:00",  # the next day there
        "2026-12-02T16:00:30.5+00:00",  # the same minute as the one before
        "2026-12-03T00:00:00+08:00",  # the same instant given in Beijing time
        "2026-12-02T16:00:00",  # naive: UTC
        None,
    ]
    out = io.StringIO()
    _csv([{"row": n, "created_at": t} for n, t in enumerate(times)], out)
    header, *lines = list(csv.reader(io.StringIO(out.getvalue())))
    shown = [line[header.index("研判时间（北京时间）")] for line in lines]
    assert shown == [beijing_time(t, with_zone=False) for t in times]
    assert shown[:2] == ["2026年12月2日 23:59", "2026年12月3日 00:00"] and shown[-1] == ""


def test_a_gbk_csv_is_read(client):
    lon, lat, _ = near_ba_river(685.9)
    content = project_csv([("化工厂", "化工", None, None, lon, lat)], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    rows, _ = batch_json(client, content)
    assert rows[0]["project_name"] == "化工厂" and rows[0]["verdict"] == "prohibited"


def test_bad_rows_say_why_in_chinese_and_the_others_are_screened(client):
    lon, lat, _ = near_ba_river(685.9)
    content = project_csv(
        [
            ("好的", "居住", None, None, lon, lat),
            ("类别错", "造船", None, None, lon, lat),
            ("缓冲错", "居住", None, "一百", lon, lat),
            ("缓冲太大", "居住", None, 60000, lon, lat),
            ("缺坐标", "居住", None, None, None, lat),
            ("代码错", "工业", "中国", None, lon, lat),
            ("也好", "工业", "c26", "100米", lon, lat),
        ]
    )
    rows, _ = batch_json(client, content)
    problems = {r["row"]: r["problem"] for r in rows if r["verdict"] == "error"}
    assert problems == {
        2: "第 2 行：项目类别「造船」无法识别，可填：化工、采矿、尾矿库、工业、能源、线性基础设施、"
        "水利、居住、商业、旅游、农业、畜禽养殖、固废处置、公共服务、生态修复、其他",
        3: "第 3 行：缓冲距离「一百」不是数字（单位：米）",
        4: "第 4 行：缓冲距离 60000 米超出范围，应在 0 至 50000 米之间",
        5: "第 5 行：坐标缺失或无法识别（经纬度须为数字，WKT 须完整有效）",
        6: "第 6 行：未知的国民经济行业代码“中国”，请填写 GB/T 4754-2017 代码（如 C26、C2614），"
        "可用代码见 GET /screenings/industries。",
    }
    assert rows[1]["project_name"] == "类别错" and rows[1]["screening_id"] is None
    good = [r for r in rows if r["verdict"] != "error"]
    assert [r["row"] for r in good] == [1, 7]
    assert all(client.get(f"/screenings/{r['screening_id']}").status_code == 200 for r in good)
    assert good[1]["industry_code"] == "C26" and good[1]["buffer_m"] == 100
    # A whole-file problem (no coordinates at all) is still the request's 422.
    resp = client.post("/screenings/batch", files={"file": ("s.csv", b"name\na\n")})
    assert resp.status_code == 422


def test_the_job_path_files_rows_too(client, worker):
    lon, lat, _ = near_ba_river(685.9)
    rows = [
        (f"工地{i}", "化工" if i % 2 else "居住", None, None, lon, lat) for i in range(SYNC_SITES)
    ]
    rows.append(("坏行", "造船", None, None, lon, lat))
    resp = client.post("/screenings/batch", files={"file": ("s.csv", project_csv(rows))})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    for _ in range(240):
        status = client.get(f"/jobs/{job_id}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert status["status"] == "done", status
    out = json.loads(client.get(status["links"]["result"]).content)
    assert len(out) == SYNC_SITES + 1 and out[-1]["problem"].startswith(f"第 {SYNC_SITES + 1} 行")
    assert {r["verdict"] for r in out[:-1:2]} != {"prohibited"}
    assert {r["verdict"] for r in out[1:-1:2]} == {"prohibited"}
    with session_scope() as session:
        filed = session.execute(
            select(Screening.id, Screening.project_name, Screening.project_category).where(
                Screening.inputs["batch"].astext == job_id
            )
        ).all()
    assert {(r.id, r.project_name, r.project_category) for r in filed} == {
        (r["screening_id"], r["project_name"], r["project_category"]) for r in out[:-1]
    }
    one = client.get(out[7]["report_url"].removesuffix("/report.pdf")).json()
    assert one["project"]["name"] == "工地7" and one["verdict"] == "prohibited"


def test_the_cli_batch_files_rows_and_writes_chinese_headers(client, tmp_path):
    from typer.testing import CliRunner

    from app.cli import app

    lon, lat, _ = near_ba_river(685.9)
    sites = tmp_path / "sites.csv"
    sites.write_bytes(
        project_csv(
            [("化工厂", "化工", None, None, lon, lat), ("坏行", "造船", None, None, lon, lat)]
        )
    )
    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(app, ["batch", str(sites), "--out", str(out), "--user", "张三"])
    assert result.exit_code == 0, result.output
    assert "已研判并归档 1 个站点，1 个无法研判" in result.output
    assert "第 2 行：项目类别「造船」无法识别" in result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("序号,项目名称,项目类别") and ",禁止," in lines[1]
    with session_scope() as session:
        filed = session.scalars(
            select(Screening).where(Screening.inputs["file"].astext == "sites.csv")
        ).all()
    assert [(s.created_by, s.project_name, s.verdict) for s in filed] == [
        ("张三", "化工厂", "prohibited")
    ]


def test_rows_are_filed_with_one_copy_per_chunk(reference, monkeypatch):
    from app.screening import filing

    copies: list[int] = []
    real = filing.file_screenings

    def counted(session, filed, *args):
        copies.append(len(filed))
        return real(session, filed, *args)

    monkeypatch.setattr(batch, "file_screenings", counted)
    monkeypatch.setattr(batch, "CHUNK", 3)
    sites = batch.BatchSites(
        [Point(106.75 + i / 1000, 31.85) for i in range(7)], list("abcdefg"), {}
    )
    rows = batch.screen_batch(sites, "居住", 0)
    assert copies == [3, 3, 1]
    with session_scope() as session:
        filed = session.scalars(
            select(Screening.id).where(Screening.id.in_([r["screening_id"] for r in rows]))
        ).all()
    assert len(filed) == 7


def test_a_job_run_again_files_each_row_once(reference):
    """A retried job (its worker died after filing some chunks) replaces its rows."""
    sites = batch.BatchSites(
        [Point(106.75 + i / 1000, 31.85) for i in range(4)] + [None], list("abcde"), {4: "坏行"}
    )
    source = {"batch": "retried-job-1", "file": "s.csv"}
    first = batch.screen_batch(sites, "居住", 0, source=source)
    again = batch.screen_batch(sites, "化工", 0, source=source)
    assert [r["screening_id"] for r in first] == [r["screening_id"] for r in again]
    assert first[0]["screening_id"] == batch.screening_id("retried-job-1", 1)

    def filed() -> list[tuple[str, str]]:
        with session_scope() as session:
            return session.execute(
                select(Screening.id, Screening.project_category).where(
                    Screening.inputs["batch"].astext == "retried-job-1"
                )
            ).all()

    assert len(filed()) == 4 and {c for _, c in filed()} == {"化工"}
    # A row refused on the next run (the data changed meanwhile) keeps no screening.
    sites.problems[3] = "坏行"
    assert batch.screen_batch(sites, "化工", 0, source=source)[3]["verdict"] == "error"
    assert len(filed()) == 3


def test_rows_stream_in_file_order_and_a_failed_write_leaves_no_file(reference, tmp_path):
    sites = batch.BatchSites([Point(106.75 + i / 1000, 31.85) for i in range(5)], list("abcde"), {})
    done: list[int] = []
    rows = batch.iter_rows(sites, "居住", 0, done.append)
    assert not isinstance(rows, list)
    out = batch.write_rows(rows, "csv", tmp_path / "rows.csv")
    written = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r[headers()["row"]] for r in written] == ["1", "2", "3", "4", "5"]
    assert done == [5]

    def broken():
        yield from batch.iter_rows(sites, "居住", 0)
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        batch.write_rows(broken(), "xlsx", tmp_path / "rows.xlsx")
    assert list(tmp_path.iterdir()) == [out]  # neither the result nor a part of it
