"""Operations: request ids, one JSON log line per request, Prometheus metrics at /metrics."""

import io
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def api(reference, admin_headers):
    from app.api.main import create_app

    with TestClient(create_app(), headers=admin_headers) as c:
        yield c


@pytest.fixture
def access_lines(api):
    """The JSON lines the access log writes during the test."""
    from app.api.logging import JsonFormatter

    handler = next(
        h for h in logging.getLogger("redline").handlers if isinstance(h.formatter, JsonFormatter)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


def test_request_id_is_made_or_echoed(api):
    made = api.get("/layers").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert api.get("/layers", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == (
        "abc-123"
    )
    # An unusable id (spaces, too long) is replaced, not echoed into logs and headers.
    replaced = api.get("/layers", headers={"X-Request-ID": "a b" * 100}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


def test_each_request_logs_one_json_line_with_its_request_id(api, access_lines):
    resp = api.get("/layers/redline/versions")
    missing = api.get("/screenings/nope")
    lines = [line for line in access_lines() if line["logger"] == "redline.access"]
    assert [line["request_id"] for line in lines] == [
        resp.headers["x-request-id"],
        missing.headers["x-request-id"],
    ]
    first = lines[0]
    assert first["method"] == "GET"
    assert first["route"] == "/layers/{layer_id}/versions"
    assert first["status"] == 200
    assert first["duration_ms"] >= 0
    assert lines[1]["status"] == 404


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in /metrics"
    return float(match.group(1))


def test_metrics_have_latency_errors_pool_screenings_and_jobs(api):
    api.get("/layers")
    api.get("/screenings/nope")
    before = api.get("/metrics").text
    filed = api.post("/screenings", json={"wkt": "POINT (106.75 31.85)"}).json()
    resp = api.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert _value(
        text, 'redline_http_request_duration_seconds_count{method="GET",route="/layers"}'
    ) >= 1
    errors = 'redline_http_errors_total{method="GET",route="/screenings/{screening_id}",' \
        'status_class="4xx"}'
    assert _value(text, errors) >= 1
    for gauge in ("checked_out", "size", "overflow"):
        _value(text, f"redline_db_pool_{gauge}")
    assert _value(text, 'redline_jobs_queue_depth{status="queued"}') >= 0
    assert _value(text, 'redline_jobs_queue_depth{status="running"}') >= 0
    verdict = f'redline_screenings_total{{verdict="{filed["verdict"]}"}}'
    was = _value(before, verdict) if verdict in before else 0
    assert _value(text, verdict) == was + 1


def test_metrics_are_not_in_the_api_document(api):
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]
