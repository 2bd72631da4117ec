"""Batch screening: one row per site; small batches answer at once, large ones run as jobs."""

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point
from sqlalchemy.orm import Session

from app.api.routes.screenings import SYNC_SITES
from app.config import get_settings
from app.screening import batch
from tests.region_state import import_other_counties, rolled_back_session


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
    assert rows[-1]["verdict"] == "error" and "outside" in rows[-1]["problem"]
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


def test_large_batch_runs_as_a_job_with_progress(client, monkeypatch):
    # Hold the job at its first chunk, so the early result request meets an unfinished job.
    gate = threading.Event()
    screen = batch.screen_geometries

    def held(*args, **kwargs):
        gate.wait(timeout=60)
        return screen(*args, **kwargs)

    monkeypatch.setattr(batch, "screen_geometries", held)
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
        assert problem["type"].endswith("/job-not-done") and problem["job"]["status"] == "queued"
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


def test_jobs_cut_off_by_a_restart_are_marked_failed(database):
    from app.store.db import session_scope
    from app.store.jobs import create_job, fail_interrupted_jobs, get_job

    with session_scope() as session:
        job_id = create_job(session, "screening-batch", 10, {}).id
    assert fail_interrupted_jobs() >= 1
    with session_scope() as session:
        job = get_job(session, job_id)
        assert job.status == "failed" and job.error["title"] == "Interrupted"


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
    outside = "coordinates outside China: wrong crs or swapped lon/lat?"
    assert sites.problems == {
        1: outside,
        2: "invalid geometry (Self-intersection[106.81 31.8]) has no polygon part left "
        "after repair",
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
    assert sites.problems[4] == "coordinates outside China: wrong crs or swapped lon/lat?"
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
    bazhong, dazhou = batch.screen_batch(sites, None, 0)
    assert bazhong["complete"] is True and bazhong["warnings"] is None
    assert bazhong["verdict_label"] == bazhong["verdict_zh"]
    assert dazhou["county"] == "达川区" and dazhou["complete"] is False
    assert dazhou["verdict_label"].endswith("（不完整）")
    assert "数据未覆盖项目用地的 100.0%" in dazhou["warnings"]
