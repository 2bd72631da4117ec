"""Shared fixtures. Tests that need PostGIS ask for `database` (or `client`, `reference`):
it checks DATABASE_URL names a *_test database (see `make test`); the others run without one.
"""

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def _test_database_url() -> str:
    """DATABASE_URL, refused unless it names a database whose name ends in _test."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set: run the tests with `make test`.")
    if not (make_url(url).database or "").endswith("_test"):
        raise RuntimeError(
            f"Refusing to run tests against {make_url(url).database!r}: use a *_test db."
        )
    return url


@pytest.fixture(scope="session", autouse=True)
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real catalog plus the test-only kinds in tests/catalog_extra."""
    directory = tmp_path_factory.mktemp("catalog")
    shutil.copytree(
        ROOT / "layers", directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("data")
    )
    shutil.copytree(ROOT / "tests/catalog_extra", directory, dirs_exist_ok=True)
    os.environ["REDLINE_CATALOG_DIR"] = str(directory)
    # Screenings go by the statement unless a test holds point cells (tests/test_point_cells).
    os.environ["REDLINE_POINT_CELLS"] = "0"
    from app.catalog import catalog, project_categories, raster_catalog
    from app.config import get_settings

    get_settings.cache_clear()
    catalog.cache_clear()
    project_categories.cache_clear()
    raster_catalog.cache_clear()
    return directory


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Each test starts with empty per-key counters: the suite's shared keys would otherwise
    reach the per-minute write limit whenever the machine runs the tests fast enough."""
    from app.api import ratelimit

    ratelimit.reset()


@pytest.fixture(scope="session")
def database(catalog_dir: Path) -> None:
    """A clean schema built by the Alembic migrations, in a *_test database only."""
    from sqlalchemy import text

    _test_database_url()

    from app.store.db import get_engine
    from app.store.migrate import upgrade_database

    with get_engine().begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'spatial_ref_sys'"
                )
            )
            .scalars()
            .all()
        )
        for table in tables:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    upgrade_database()


ROLES = ("viewer", "officer", "editor", "admin")


@pytest.fixture(scope="session")
def api_keys(database: None) -> dict[str, str]:
    """A key per role (owners named after the role), created through the store."""
    from app.store.db import session_scope
    from app.store.keys import create_key

    with session_scope() as session:
        return {role: create_key(session, f"test-{role}", role, "tests").secret for role in ROLES}


@pytest.fixture(scope="session")
def admin_headers(api_keys: dict[str, str]) -> dict[str, str]:
    """Headers carrying the admin key."""
    return {"Authorization": f"Bearer {api_keys['admin']}"}


@pytest.fixture
def worker(database: None):
    """A job-queue worker in this process while the test runs (jobs wait for one)."""
    from tests.queue_workers import InProcessWorker

    running = InProcessWorker().start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def client(database: None, admin_headers: dict[str, str]):
    """The app in a TestClient over the test database, sending an admin key."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app

    with TestClient(create_app(), headers=admin_headers) as c:
        yield c


@pytest.fixture(scope="session")
def client_as(client, api_keys: dict[str, str]):
    """client_as(role) → a client of the same app sending that role's key (None: no key)."""
    from fastapi.testclient import TestClient

    def make(role: str | None) -> TestClient:
        # No `with`: a second lifespan would fail the jobs the first client's app is running.
        headers = {"Authorization": f"Bearer {api_keys[role]}"} if role else {}
        return TestClient(client.app, headers=headers)

    return make


@pytest.fixture(scope="session")
def reference(database: None) -> dict:
    """The Bazhong reference data, loaded through the public import path."""
    from app.config import get_settings
    from app.store.db import session_scope
    from app.store.reference import load_reference

    with session_scope() as session:
        return load_reference(session, get_settings().reference_dir)


ARTIFACTS = ROOT / "artifacts"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(reference) -> str:
    """The app served by a real uvicorn on a free port (for GDAL's client and the browser)."""
    import subprocess
    import sys
    import time

    import httpx

    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (ARTIFACTS / "live_server.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(150):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                raise RuntimeError("the live server did not start; see artifacts/live_server.log")
            yield url
        finally:
            proc.terminate()
            proc.wait(10)
