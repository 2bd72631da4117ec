"""Identity and roles: every operation's role, officer isolation, keys, audit, CORS."""

import datetime as dt
import hashlib
import json
import os
import re
import stat
import time

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from app.store.db import get_engine, session_scope
from app.store.keys import ROLES, create_key
from tests.test_batch import sites_csv

PROBLEM = "application/problem+json"
METHODS = {"get", "post", "put", "patch", "delete"}
WRONG_KEY = "rl_notakey_" + "x" * 32
# Path parameters: real ids where the reference data has them, dummies elsewhere (a 404 or
# 422 after the role check still shows the check let the caller through).
PATH_VALUES = {
    "layer_id": "redline",
    "collectionId": "redline",
    "layer": "redline",
    "raster_id": "landcover",
    "featureId": "1",
    "fmt": "nope",
    "screening_id": "0000000000000000",
    "job_id": "0000000000000000",
    "key_id": "999999",
    "code": "511900",
    "z": "0",
    "x": "0",
    "y": "0",
}
# Heavy reads get a parameter that fails after the role check, so the walk stays fast.
FAST_FAIL = {"/exports/bundle.gpkg": {"crs": "EPSG:0"}}
POINT = {"geometry": {"type": "Point", "coordinates": [106.76, 31.86]}}


def least_role(method: str, path: str) -> str | None:
    """The design: None = always open, 'read' = viewer unless reads are open, else a role."""
    if method == "get" and path.startswith("/health"):
        return None
    if path.startswith(("/keys", "/audit")):
        return "admin"
    if method == "post" and path.endswith("/versions"):
        return "editor"
    if path.startswith("/jobs") or (
        path.startswith("/screenings")
        and path not in ("/screenings/categories", "/screenings/industries")
    ):
        return "officer"
    return "read"


def expected(needed: str | None, caller: str | None, open_reads: bool) -> str:
    """'allowed', '401' or '403' for a caller (a role, None, or 'wrong') on such a route."""
    if needed is None:
        return "allowed"
    if caller == "wrong":
        return "401"
    if caller is None:
        return "allowed" if needed == "read" and open_reads else "401"
    least = "viewer" if needed == "read" else needed
    return "allowed" if ROLES.index(caller) >= ROLES.index(least) else "403"


def outcome(status: int) -> str:
    return str(status) if status in (401, 403) else "allowed"


@pytest.fixture(scope="module")
def closed_app(reference, client):
    """The app with REDLINE_OPEN_READS false."""
    from app.api.main import create_app
    from app.config import get_settings

    return create_app(get_settings().model_copy(update={"open_reads": False}))


@pytest.mark.parametrize("open_reads", [True, False], ids=["open-reads", "closed-reads"])
def test_every_operation_admits_exactly_the_roles_designed(
    open_reads, reference, client, closed_app, api_keys
):
    """Each operation of /openapi.json with no key, a wrong key and each role's key."""
    app = client.app if open_reads else closed_app
    document = client.get("/openapi.json").json()
    callers: list[str | None] = [None, "wrong", *ROLES]
    checked, wrong = 0, []
    for path, item in document["paths"].items():
        url = re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], path)
        for method in set(item) & METHODS:
            needed = least_role(method, path)
            for caller in callers:
                key = WRONG_KEY if caller == "wrong" else api_keys.get(caller or "")
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                resp = TestClient(app).request(
                    method, url, headers=headers, params=FAST_FAIL.get(path)
                )
                got, want = outcome(resp.status_code), expected(needed, caller, open_reads)
                if got != want:
                    wrong.append(f"{method.upper()} {path} as {caller}: {resp.status_code}")
                if got in ("401", "403"):
                    assert resp.headers["content-type"] == PROBLEM
                if got == "401":
                    assert resp.headers["www-authenticate"].startswith("Bearer")
            checked += 1
    assert checked >= 29
    assert wrong == []


def test_the_web_page_and_openapi_stay_open_when_reads_are_closed(closed_app):
    anonymous = TestClient(closed_app)
    for url in ("/", "/openapi.json", "/docs", "/static/app.js", "/health", "/health/live"):
        assert anonymous.get(url).status_code == 200, url
    assert anonymous.get("/layers").status_code == 401


def test_anonymous_redline_import_is_refused_and_changes_nothing(client_as, tmp_path):
    """The issue's reproduction: one tiny polygon posted to the redline without a key."""
    before = client_as("admin").get("/layers/redline").json()
    tiny = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": "x"},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [[106.7, 31.8], [106.71, 31.8], [106.71, 31.81], [106.7, 31.8]]
                        ],
                    },
                }
            ],
        }
    )
    for role, status in ((None, 401), ("viewer", 403), ("officer", 403)):
        resp = client_as(role).post(
            "/layers/redline/versions", files={"file": ("one.geojson", tiny)}
        )
        assert resp.status_code == status, resp.text
    after = client_as("admin").get("/layers/redline").json()
    assert after["active_version"] == before["active_version"]
    assert after["feature_count"] == before["feature_count"] == 11


def test_an_officer_sees_only_their_own_screenings_and_jobs(reference, client):
    with session_scope() as session:
        a = create_key(session, "officer-a", "officer", "tests").secret
        b = create_key(session, "officer-b", "officer", "tests").secret
    as_a = TestClient(client.app, headers={"X-API-Key": a})  # the other header works too
    as_b = TestClient(client.app, headers={"Authorization": f"Bearer {b}"})
    created = as_a.post("/screenings", json=POINT)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    batch = as_a.post("/screenings/batch", files={"file": ("s.csv", sites_csv(2))})
    job = batch.headers["X-Redline-Job"]
    reports = (f"/screenings/{sid}/report.html", f"/screenings/{sid}/report.docx")
    for url in (f"/screenings/{sid}", *reports, f"/jobs/{job}"):
        assert as_a.get(url).status_code == 200, url
        assert as_b.get(url).status_code == 404, url
        assert client.get(url).status_code == 200, url  # the admin sees all
    assert as_a.get(f"/jobs/{job}/result").status_code == 200
    assert as_b.get(f"/jobs/{job}/result").status_code == 404
    assert sid in {s["id"] for s in as_a.get("/screenings").json()}
    assert sid not in {s["id"] for s in as_b.get("/screenings").json()}
    assert sid in {s["id"] for s in client.get("/screenings", params={"limit": 1000}).json()}


def test_the_actor_is_the_key_owner_never_a_header(client):
    """A Chinese owner name is stored as such; X-Redline-User is ignored."""
    created = client.post("/keys", json={"name": "张三", "role": "officer"})
    assert created.status_code == 201
    zhang = TestClient(client.app, headers={"Authorization": f"Bearer {created.json()['key']}"})
    resp = zhang.post("/screenings", json=POINT, headers={"X-Redline-User": "mallory"})
    assert resp.status_code == 201
    record = client.get(f"/screenings/{resp.json()['id']}").json()
    assert record["created_by"] == "张三"


def test_a_key_is_shown_once_stored_hashed_and_revocable(client):
    created = client.post("/keys", json={"name": "viewer-x", "role": "viewer"})
    assert created.status_code == 201
    body = created.json()
    secret = body["key"]
    assert secret.startswith(body["prefix"]) and len(secret) > 40
    listed = client.get("/keys")
    assert secret not in listed.text and "key_hash" not in listed.text
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_key")).mappings().all()
    assert not any(secret in str(v) for row in rows for v in row.values())
    row = next(r for r in rows if r["id"] == body["id"])
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    viewer = TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})
    assert viewer.get("/layers").status_code == 200
    assert client.delete(f"/keys/{body['id']}").json()["revoked_at"] is not None
    refused = viewer.get("/layers")
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM


def test_a_key_revoked_by_another_process_is_refused_here_within_moments(client):
    # This process remembers the key (no transaction per request). Another process (here a
    # connection of its own, never this process's code) revokes it: the NOTIFY moves the
    # epoch and the next requests here are refused.
    secret = client.post("/keys", json={"name": "viewer-y", "role": "viewer"}).json()["key"]
    viewer = TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})
    assert viewer.get("/layers").status_code == 200
    assert viewer.get("/layers").status_code == 200  # served from the process's memory
    url = get_engine().url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("UPDATE api_key SET revoked_at = now() WHERE prefix = %s", (secret[:11],))
    deadline = time.monotonic() + 5
    while viewer.get("/layers").status_code == 200:
        assert time.monotonic() < deadline, "a revoked key was still served after 5 s"
        time.sleep(0.05)
    assert viewer.get("/layers").status_code == 401


def test_cli_keys_create_list_revoke(database):
    from app.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "李四", "--role", "editor", "--actor", "ops"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    listed = runner.invoke(app, ["keys", "list"])
    assert "李四" in listed.stdout and secret not in listed.stdout
    # Times in Beijing time (UTC+8): the key was made within the last minute.
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)
    minutes = [now - dt.timedelta(minutes=m) for m in (0, 1)]  # the table may wrap date / time
    out = listed.stdout
    assert any(f"{m:%Y-%m-%d}" in out and f"{m:%H:%M}" in out for m in minutes), out
    revoked = runner.invoke(app, ["keys", "revoke", secret[:11]])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert runner.invoke(app, ["keys", "create", "x", "--role", "root"]).exit_code == 2


def test_setup_writes_the_first_admin_key_readable_by_its_owner_only(client, tmp_path, monkeypatch):
    from app import cli_keys
    from app.store import keys

    target = tmp_path / "var" / "admin.key"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)  # a left-over looser file is replaced, not reused
    assert not cli_keys.ensure_admin_key(target)  # the tests' admin key is active
    monkeypatch.setattr(keys, "has_active_admin", lambda session: False)
    assert cli_keys.ensure_admin_key(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    secret = target.read_text().strip()
    admin = TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})
    assert admin.get("/audit").status_code == 200
    with session_scope() as session:
        keys.revoke_key(session, secret[:11], "tests")


def test_audit_records_who_what_target_request_and_client(client, client_as, tmp_path):
    from tests.factories import SQUARE, frame, write

    rid = "audit-test-0001"
    path = write(frame([SQUARE]), tmp_path / "parcel.geojson")
    with path.open("rb") as fh:
        imported = client_as("editor").post(
            "/layers/test_parcel/versions",
            files={"file": (path.name, fh)},
            headers={"X-Request-ID": rid},
        )
    assert imported.status_code == 201 and imported.headers["X-Request-ID"] == rid
    screened = client_as("officer").post("/screenings", json=POINT)
    exported = client_as(None).get("/exports/test_parcel.geojson")
    made = client.post("/keys", json={"name": "audited", "role": "viewer"})
    refused = client_as("viewer").get("/audit", headers={"X-Request-ID": "bad id with spaces"})
    assert refused.status_code == 403 and refused.headers["X-Request-ID"] != "bad id with spaces"

    def latest(action: str, **params: str) -> dict:
        entries = client.get("/audit", params={"action": action, **params}).json()
        assert entries, action
        return entries[0]

    entry = latest("import", actor="test-editor")
    assert (entry["request_id"], entry["target"]) == (
        rid,
        "test_parcel v" + str(imported.json()["version"]),
    )
    assert latest("screening")["target"] == screened.json()["id"]
    assert latest("export")["target"] == "test_parcel.geojson"
    assert latest("export")["request_id"] == exported.headers["X-Request-ID"]
    assert latest("key-create")["target"] == made.json()["prefix"]
    failed = latest("auth-failed")
    assert failed["outcome"] == "403" and failed["target"] == "GET /audit"
    assert failed["actor"] == "test-viewer"
    assert failed["request_id"] == refused.headers["X-Request-ID"]
    client_as(None).post("/keys", headers={"Authorization": f"Bearer {WRONG_KEY}"})
    unauthorized = latest("auth-failed")
    assert (
        unauthorized["outcome"] == "401" and unauthorized["detail"]["key_prefix"] == WRONG_KEY[:11]
    )
    for action in ("import", "screening", "export", "key-create", "auth-failed"):
        entry = latest(action)
        assert entry["client_addr"] == "testclient" and entry["request_id"], action
        assert re.search(r"[+-]\d\d:\d\d$|Z$", entry["at"]), entry["at"]
    assert all(e["action"] == "export" for e in client.get("/audit?action=export").json())
    assert client.get("/audit", params={"limit": 1001}).status_code == 422
    assert client.get("/audit", params={"until": "2000-01-01T00:00:00+00:00"}).json() == []


def test_cors_allows_only_the_listed_origins(reference, client):
    from app.api.main import create_app
    from app.config import get_settings

    listed = "https://plan.example.org"
    app = create_app(get_settings().model_copy(update={"cors_origins": listed}))
    browser = TestClient(app)
    evil = browser.get("/layers", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    good = browser.get("/layers", headers={"Origin": listed})
    assert good.headers["access-control-allow-origin"] == listed
    preflight = browser.options(
        "/screenings",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    default = client.get("/layers", headers={"Origin": listed})
    assert "access-control-allow-origin" not in default.headers
