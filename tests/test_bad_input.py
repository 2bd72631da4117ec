"""Bad input is a 4xx problem, never a 500: overflows, NUL, NaN, broken JSON; no leaks."""

import time

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
SITE = "POINT (106.75 31.85)"
HUGE = "99999999999999999999"


@pytest.fixture(scope="module")
def app(reference):
    """A fresh app; its 500s are answered (not raised into the test) as in production."""
    from app.api.main import create_app

    return create_app()


@pytest.fixture(scope="module")
def api(app, admin_headers):
    with TestClient(app, raise_server_exceptions=False, headers=admin_headers) as c:
        yield c


def assert_problem(resp, *statuses: int) -> dict:
    assert resp.status_code in (statuses or (422,)), resp.text
    assert resp.headers["content-type"] == PROBLEM
    return resp.json()


@pytest.mark.parametrize(
    "url",
    [
        "/screenings?offset=9223372036854775808",
        "/layers/redline/features?offset=9223372036854775808",
        f"/layers/redline/features?version={HUGE}",
        f"/layers/redline/diff?from={HUGE}",
        f"/layers/redline/diff?to={HUGE}",
        f"/exports/redline.geojson?version={HUGE}",
        f"/summaries?versions=redline:{HUGE}",
        f"/tiles/redline/{HUGE}/0/0.mvt",
        f"/tiles/redline/0/{HUGE}/0.mvt",
    ],
)
def test_integer_overflow_is_422(api, url):
    assert_problem(api.get(url))


def test_integer_overflow_on_ogc_is_400(api):
    assert_problem(api.get("/ogc/collections/redline/items?offset=9223372036854775808"), 400)


@pytest.mark.parametrize(
    "url",
    [
        "/screenings?project=a%00b",
        "/screenings?category=%00",
        "/screenings/ab%00c",
        "/jobs/a%00b",
        "/jobs/a%00b/result",
        "/layers/red%00line",
        "/summaries?layers=redline%00",
    ],
)
def test_nul_in_path_or_query_is_422(api, url):
    body = assert_problem(api.get(url))
    assert "NUL" in body["detail"]


def test_nul_on_ogc_is_400(api):
    assert_problem(api.get("/ogc/collections/redline/items?filter=%00"), 400)


def test_nul_in_form_fields_and_file_names_is_422(api):
    geojson = b'{"type": "FeatureCollection", "features": []}'
    resp = api.post(
        "/layers/redline/versions", files={"file": ("a.geojson", geojson)}, data={"note": "x\x00"}
    )
    assert "NUL" in assert_problem(resp)["detail"]
    # httpx would escape the NUL in a file name: send the multipart body as raw bytes.
    raw = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x00.geojson"\r\n'
        b"Content-Type: application/geo+json\r\n\r\n" + geojson + b"\r\n--b--\r\n"
    )
    headers = {"content-type": "multipart/form-data; boundary=b"}
    resp = api.post("/layers/redline/versions", content=raw, headers=headers)
    assert "NUL" in assert_problem(resp)["detail"]
    resp = api.post(
        "/screenings",
        files={"file": ("site.csv", b"wkt\n" + SITE.encode())},
        data={"project_name": "a\x00b"},
    )
    assert "NUL" in assert_problem(resp)["detail"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"wkt": "POINT (106.75 31.85)", "project_name": "a\\u0000b"}', "NUL"),
        (b'{"wkt": "POINT (106.75 31.85)", "buffer_m": NaN}', "NaN is not a JSON number"),
        (b'{"wkt": "POINT (106.75 31.85)", "buffer_m": Infinity}', "Infinity is not"),
        (b'{"geometry": {"type": "Point", "coordinates": [106.75, -Infinity]}}', "-Infinity"),
        (b'\xff\xfe{"wkt": "POINT (106.75 31.85)"}', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper than"),
        (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nests deeper than"),
    ],
)
def test_bad_json_bodies_are_422(api, body, why):
    resp = api.post("/screenings", content=body, headers={"content-type": "application/json"})
    assert why in assert_problem(resp)["detail"]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity"])
def test_non_finite_buffer_is_422(api, value):
    csv = b"lon,lat\n106.75,31.85\n"
    resp = api.post(
        "/screenings/batch", files={"file": ("sites.csv", csv)}, data={"buffer_m": value}
    )
    assert "finite" in assert_problem(resp)["detail"]
    resp = api.post(
        "/screenings", files={"file": ("site.csv", csv)}, data={"buffer_m": value}
    )
    assert "finite" in assert_problem(resp)["detail"]


@pytest.mark.parametrize("crs", ["EPSG:999999", "%00", "not a crs", "EPSG:" + HUGE])
def test_bad_export_crs_is_4xx(api, crs):
    assert_problem(api.get(f"/exports/redline.geojson?crs={crs}"))


def test_405_names_the_allowed_methods(api):
    resp = api.delete("/layers")
    assert_problem(resp, 405)
    assert resp.headers["allow"] == "GET"


def test_unexpected_errors_are_a_generic_500_with_the_request_id(app, api):
    @app.get("/boom-for-test", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM layer WHERE path = '/srv/redline/var/x'")

    resp = api.get("/boom-for-test", headers={"X-Request-ID": "trace-me-42"})
    body = assert_problem(resp, 500)
    assert body["request_id"] == resp.headers["x-request-id"] == "trace-me-42"
    assert "SELECT" not in resp.text and "/srv" not in resp.text
    assert "Traceback" not in resp.text and "RuntimeError" not in resp.text


def test_errors_name_the_uploaded_file_not_the_server_path(api):
    for name, data in (("sites.geojson", b"{not json"), ("land.tif", b"II*\x00garbage")):
        url = "/rasters/landcover/versions" if name.endswith(".tif") else "/layers/redline/versions"
        resp = api.post(url, files={"file": (name, data)})
        detail = assert_problem(resp)["detail"]
        assert "/tmp" not in resp.text and "redline-upload" not in resp.text, detail
        assert name in detail


def test_failed_jobs_show_no_traceback(database):
    from app.store.db import session_scope
    from app.store.jobs import create_job, get_job, run_job

    with session_scope() as session:
        job_id = create_job(session, "test", 1, {}).id

    def work(_progress) -> str:
        raise RuntimeError("SELECT * FROM secret in /srv/redline/app/store/jobs.py")

    run_job(job_id, work)
    for _ in range(100):
        with session_scope() as session:
            job = get_job(session, job_id)
            if job.status == "failed":
                break
        time.sleep(0.05)
    assert job.status == "failed"
    assert set(job.error) == {"title", "detail"}
    assert "SELECT" not in str(job.error) and "/srv" not in str(job.error)


def test_json_body_models_refuse_nan_and_nul(reference):
    """Routes whose JSON body FastAPI parses (pydantic lets NaN and NUL through) refuse them."""
    from pydantic import BaseModel

    from app.api.main import create_app

    class Body(BaseModel):
        x: float = 0
        s: str = ""

    app = create_app()

    @app.post("/json-body-for-test", include_in_schema=False)
    def take(body: Body) -> dict:
        return {"x": body.x}

    with TestClient(app, raise_server_exceptions=False) as c:
        for body in (b'{"x": NaN}', b'{"s": "a\\u0000b"}'):
            resp = c.post(
                "/json-body-for-test", content=body, headers={"content-type": "application/json"}
            )
            assert_problem(resp)
        assert c.post("/json-body-for-test", json={"x": 1.5}).json() == {"x": 1.5}


@pytest.mark.parametrize("body", [b"\xff\xfe\x01", b'{"name": "x", "role": '])
def test_bodies_fastapi_cannot_parse_are_422(client, body):
    """A JSON body FastAPI parses itself (POST /keys) that is not UTF-8 JSON: 422, as elsewhere."""
    resp = client.post("/keys", content=body, headers={"content-type": "application/json"})
    assert "JSON" in assert_problem(resp)["detail"]


@pytest.mark.parametrize("route", ["/screenings", "/screenings/batch"])
def test_a_nul_in_an_uploaded_sites_file_is_refused_or_filed_readably(api, route):
    """Screenings are filed as the JSON text given (migration 0020), read back as jsonb,
    which has no NUL: a NUL in a file's cell is refused, or never reaches what is filed."""
    csv = "name,lon,lat\n厂\x00区,106.75,31.85\n".encode()
    resp = api.post(route, files={"file": ("nul.csv", csv)}, data={"format": "json"})
    if resp.status_code >= 400:
        assert_problem(resp)
        return
    assert resp.status_code in (200, 201), resp.text
    body = resp.json()
    if route == "/screenings/batch":
        # A batch this small is answered with its rows.
        rows = body if isinstance(body, list) else api.get(f"/jobs/{body['id']}/result").json()
        # The row is refused, saying why, and no NUL reaches the result.
        assert [r["verdict"] for r in rows] == ["error"] and "NUL" in rows[0]["problem"]
        assert "\x00" not in str(rows)
        ids = [r["screening_id"] for r in rows if r.get("screening_id")]
    else:
        ids = [body["id"]]
    for screening_id in ids:
        read = api.get(f"/screenings/{screening_id}")
        assert read.status_code == 200, read.text
        assert "\x00" not in read.text
