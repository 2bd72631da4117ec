"""Faults: the database down or restarting, jobs that lose it, leftovers of a crash."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import ROOT, _free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SITE = {"type": "Point", "coordinates": [106.75, 31.86]}


@pytest.fixture
def database_down(database, monkeypatch):
    """The app's settings point at a port where no database listens (for this test only)."""
    from sqlalchemy.engine import make_url

    from app.config import get_settings
    from app.store.db import get_engine

    url = make_url(get_settings().database_url).set(port=_free_port())
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url.port
    monkeypatch.undo()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_every_route_answers_503_with_retry_after_when_the_database_is_down(database_down: int):
    from fastapi.testclient import TestClient

    from app.api.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        document = client.get("/openapi.json").json()
        gets = [p for p, item in document["paths"].items() if "get" in item]
        answers = {}
        for path in gets:
            concrete = path.replace("{layer_id}", "redline").replace("{raster_id}", "landcover")
            for name in ("screening_id", "job_id", "version", "fmt", "collection_id"):
                concrete = concrete.replace("{" + name + "}", "1")
            concrete = concrete.replace("{", "").replace("}", "")
            answers[path] = client.get(concrete)
        answers["POST /screenings"] = client.post("/screenings", json={"geometry": SITE})
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unreachable"
    assert not [p for p, r in answers.items() if r.status_code >= 500 and r.status_code != 503]
    unavailable = {p: r for p, r in answers.items() if r.status_code == 503}
    assert "/health" in unavailable and "POST /screenings" in unavailable
    assert len(unavailable) > 10
    for path, resp in unavailable.items():
        assert int(resp.headers["retry-after"]) > 0
        if path != "/health/ready":  # that one says which checks fail
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.json()["status"] == 503
        assert str(database_down) not in resp.text  # the database's address is not leaked


def test_ready_says_what_is_missing(client, reference):
    """All parts ok on the loaded test database; live never needs the database."""
    body = client.get("/health/ready").json()
    assert body == {
        "status": "ready",
        "checks": {
            "catalog": "ok",
            "database": "ok",
            "postgis": "ok",
            "migrations": "ok",
            "reference_data": "ok",
        },
    }
    assert client.get("/health/live").json() == {"status": "ok"}


# --- a real restart under load, on a private throwaway cluster --------------------------------


def _as_postgres(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60
    )


@pytest.fixture
def private_cluster():
    """A PostgreSQL cluster of its own (the shared one serves other runs): its URL and pg_ctl."""
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip("needs root and PostgreSQL 15 binaries to run a private cluster")
    data = Path(tempfile.mkdtemp(prefix="redline-faults-pg-"))
    shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg_ctl(*args: str) -> None:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", *args)

    try:
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
        pg_ctl("-l", str(data / "server.log"), "start")
        _as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "faults_test")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/faults_test", pg_ctl
    finally:  # never leave a cluster behind, even when the test failed
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(data, ignore_errors=True)


def _prepare(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Schema and catalog rows in the private database, as `redline setup` makes them, and
    the headers of an admin key there."""
    from sqlalchemy import text

    from app.config import get_settings
    from app.store.db import get_engine, session_scope
    from app.store.keys import create_key
    from app.store.layers import sync_catalog
    from app.store.migrate import upgrade_database

    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        with get_engine().begin() as conn:
            conn.execute(text("CREATE EXTENSION postgis"))
        upgrade_database()
        with session_scope() as session:
            sync_catalog(session)
            secret = create_key(session, "faults-admin", "admin", "tests").secret
        get_engine().dispose()
        return {"Authorization": f"Bearer {secret}"}
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_engine.cache_clear()


def _small_tif(path: Path) -> Path:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    profile = {"driver": "GTiff", "height": 4, "width": 4, "count": 1, "dtype": "float32"}
    transform = from_origin(36_390_000.0, 3_590_000.0, 100, 100)
    with rasterio.open(path, "w", crs="EPSG:4524", transform=transform, **profile) as dst:
        dst.write(np.ones((4, 4), "float32"), 1)
    return path


def test_a_database_restart_under_load_gives_503s_then_recovers(
    private_cluster, catalog_dir, monkeypatch, tmp_path
):
    """Clients hammer a live server while its database stops and starts: every request is
    answered (200/404, or 503 with Retry-After while down) and 200s are back within seconds."""
    from app.config import Settings

    url, pg_ctl = private_cluster
    env = {**os.environ, "DATABASE_URL": url}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = (ROOT / "artifacts" / "faults_server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.api.main:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    headers = _prepare(url, monkeypatch)  # while the server starts
    answers: list[tuple[float, int | str, str | None]] = []
    stop = threading.Event()

    def client(path: str) -> None:
        with httpx.Client(base_url=base, timeout=10, headers=headers) as http:
            while not stop.is_set():
                try:
                    resp = http.get(path)
                    answers.append(
                        (time.monotonic(), resp.status_code, resp.headers.get("retry-after"))
                    )
                except httpx.HTTPError as exc:
                    answers.append((time.monotonic(), f"{type(exc).__name__} {path}", None))
                time.sleep(0.02)

    def writer() -> None:
        """Raster uploads: each 201 names a version that must be there afterwards."""
        with httpx.Client(base_url=base, timeout=10, headers=headers) as http:
            while not stop.is_set():
                try:
                    resp = http.post(
                        "/rasters/test_dem/versions",
                        files={"file": ("dem.tif", tif.read_bytes())},
                    )
                    answers.append(
                        (time.monotonic(), resp.status_code, resp.headers.get("retry-after"))
                    )
                    if resp.status_code == 201:
                        acknowledged.append(resp.json()["version"])
                except httpx.HTTPError as exc:
                    answers.append((time.monotonic(), f"{type(exc).__name__} upload", None))
                time.sleep(0.05)

    tif = _small_tif(tmp_path / "dem.tif")
    acknowledged: list[int] = []
    threads: list[threading.Thread] = []
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        threads += [
            threading.Thread(target=client, args=(path,))
            for path in ("/health", "/screenings", "/layers", "/jobs/none", "/rasters") * 2
        ] + [threading.Thread(target=writer)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        pg_ctl("-m", "fast", "stop")
        time.sleep(1.5)
        pg_ctl("-l", "/dev/null", "start")
        started = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        versions = httpx.get(f"{base}/rasters/test_dem/versions", headers=headers).json()
        stored = {v["version"] for v in versions}
        server.terminate()
        server.wait(10)
        log.close()
        shutil.rmtree(Settings(database_url=url).data_dir, ignore_errors=True)
    by_status = Counter(status for _, status, _ in answers)
    assert set(by_status) <= {200, 201, 404, 503}, by_status  # no 500, no dropped connection
    assert acknowledged and set(acknowledged) <= stored  # no 201 without its record
    assert by_status[503] > 0, "the restart was not seen"
    assert all(retry for _, status, retry in answers if status == 503)
    recovered = [t for t, status, _ in answers if t > started and status == 200]
    assert recovered and recovered[0] - started < 3, by_status
    late = [status for t, status, _ in answers if t > started + 2]
    assert late and all(status in (200, 201, 404) for status in late), Counter(late)


# --- jobs -------------------------------------------------------------------------------------


def _wait_finished(job_id: str) -> dict:
    from app.store.db import session_scope
    from app.store.jobs import get_job

    for _ in range(200):
        with session_scope() as session:
            job = get_job(session, job_id)
            if job.status not in ("queued", "running"):
                return {"status": job.status, "error": job.error}
        time.sleep(0.05)
    raise AssertionError("the job never ended")


@pytest.mark.parametrize(
    ("fault", "title"),
    [
        (
            OperationalError("SELECT * FROM screening", {}, Exception("server closed")),
            "The job lost its database connection",
        ),
        (ValueError("/srv/redline/var/secret.csv is bad"), "The job failed"),
    ],
)
def test_a_failed_job_says_so_without_traceback_sql_or_paths(database, fault, title):
    from app.store.db import session_scope
    from app.store.jobs import create_job, run_job

    with session_scope() as session:
        job_id = create_job(session, "screening-batch", 3, {}).id

    def work(progress):
        progress(1)
        raise fault

    run_job(job_id, work)
    ended = _wait_finished(job_id)
    assert ended["status"] == "failed"
    assert set(ended["error"]) == {"title", "detail"} and ended["error"]["title"] == title
    assert not any(word in ended["error"]["detail"] for word in ("SELECT", "/srv", "Traceback"))


def test_a_second_instance_starting_up_leaves_live_jobs_alone(database):
    """Start-up fails only jobs whose owner is gone: dead pid here, or lease run out."""
    import datetime as dt

    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.store.db import session_scope
    from app.store.jobs import _start_token, create_job
    from app.store.models import Job

    host = socket.gethostname()
    other = subprocess.Popen(["sleep", "60"])  # stands in for the first API instance
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    owners = {
        "live here": (f"{host} {other.pid} {_start_token(other.pid)}", soon),
        "live elsewhere": ("elsewhere 1 1", soon),
        "dead here": (f"{host} 999999999 1", soon),
        "pid reused": (f"{host} {other.pid} 1", soon),
        "lease over": ("elsewhere 1 1", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)),
    }
    ids = {}
    try:
        with session_scope() as session:
            for case, (owner, lease) in owners.items():
                job = create_job(session, "screening-batch", 10, {})
                job.owner, job.lease_until, job.status = owner, lease, "running"
                ids[case] = job.id
        with TestClient(create_app()):
            pass  # the second instance's start-up
        with session_scope() as session:
            status = {case: session.get(Job, job_id).status for case, job_id in ids.items()}
        assert status == {
            "live here": "running",
            "live elsewhere": "running",
            "dead here": "failed",
            "pid reused": "failed",
            "lease over": "failed",
        }
    finally:
        other.kill()
        other.wait()
        with session_scope() as session:
            for job_id in ids.values():
                session.get(Job, job_id).status = "failed"


def test_a_poll_after_the_lease_ran_out_shows_the_job_failed(client):
    import datetime as dt

    from app.store.db import session_scope
    from app.store.jobs import create_job

    with session_scope() as session:
        job = create_job(session, "screening-batch", 10, {})
        job.status, job.owner = "running", "elsewhere 1 1"
        job.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    body = client.get(f"/jobs/{job.id}").json()
    assert body["status"] == "failed"


# --- temp files -------------------------------------------------------------------------------


def test_start_up_removes_what_a_crash_left_in_temp_folders(database):
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.config import get_settings

    tmp = Path(tempfile.gettempdir())
    dead = tmp / "redline-upload-999999999-crashed"
    legacy = tmp / "redline-upload-oldname"
    live = tmp / "redline-upload-1-inuse"  # pid 1 runs: its upload is in progress
    raster_dir = get_settings().raster_dir / "test_dem"
    raster_dir.mkdir(parents=True, exist_ok=True)
    staged = raster_dir / ".staged-0123-v99.tif"
    kept = raster_dir / "v98.tif"
    hour_ago = time.time() - 3600
    for folder in (dead, legacy, live):
        folder.mkdir(exist_ok=True)
        (folder / "upload.zip").write_bytes(b"x")
    staged.write_bytes(b"x")
    kept.write_bytes(b"x")
    for path in (dead, legacy, live, staged, kept):
        os.utime(path, (hour_ago, hour_ago))
    try:
        with TestClient(create_app()):
            pass
        assert not dead.exists() and not legacy.exists() and not staged.exists()
        assert live.exists() and kept.exists()
    finally:
        shutil.rmtree(live, ignore_errors=True)
        kept.unlink(missing_ok=True)


def test_connections_dropped_by_the_server_are_not_reused_even_right_after_use(client):
    # A restart drops every connection at once, also pooled ones used a moment ago (too
    # recently for the idle check). The catalog listener loses its connection at the same
    # moment; the pool is replaced then, so the next screening does not meet a dead one.
    import psycopg

    from app.store import db
    from app.store.catalog_epoch import epoch

    body = {"geometry": {"type": "Point", "coordinates": [106.84, 32.35]}, "crs": "EPSG:4490"}
    assert epoch() is not None  # the listener is connected
    assert client.post("/screenings", json=body).status_code == 201
    url = db.get_engine().url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    deadline = time.monotonic() + 1.5  # within the idle-check window
    while epoch(wait=False) is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # the listener notices (it reconnects after a second)
    assert client.post("/screenings", json=body).status_code == 201


def test_a_pooled_connection_dropped_while_idle_is_replaced(database, monkeypatch):
    import psycopg
    from sqlalchemy import text

    from app.store import db

    engine = db.get_engine()
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    # The server drops that pooled connection (as a restart or a network cut would).
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # it has been idle long enough to be checked
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
