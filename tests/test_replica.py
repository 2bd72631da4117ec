"""Reads go to a streaming replica, writes to the primary (issue 12, read replicas).

A local hot standby is started with scripts/replica.sh (pg_basebackup -R of the test cluster).
Two kinds of proof: every statement is recorded with the port of the server that ran it, and
pausing the replica's WAL replay makes it visibly stale, so a read answered from it shows the
old data while the primary already holds the new.
"""

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import morecantile
import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.store import db
from app.store.catalog_epoch import EpochCache
from app.store.replica import replica_caught_up

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SCRIPT = ROOT / "scripts" / "replica.sh"
BAZHONG = "511900"
SITE = {"type": "Point", "coordinates": [106.75, 31.86]}  # 巴州区
TILE = morecantile.tms.get("WebMercatorQuad").tile(106.75, 31.86, 8)
READS = [
    "/layers",
    "/layers/redline",
    "/layers/redline/versions",
    "/layers/redline/features?limit=2",
    f"/tiles/redline/{TILE.z}/{TILE.x}/{TILE.y}.mvt",
    "/tiles/redline.json",
    "/tiles/style.json",
    "/ogc/collections",
    "/ogc/collections/redline",
    "/ogc/collections/redline/items?limit=2",
    "/summaries?by=county&layers=redline",
    "/summaries/plan",
    "/regions",
    f"/regions/{BAZHONG}",
    "/places?q=巴州",
    "/rasters",
]


@pytest.fixture(scope="module")
def replica_url(reference) -> Iterator[str]:
    """A streaming replica of the test cluster, started by scripts/replica.sh, stopped after."""
    if not (PG_BIN / "pg_basebackup").exists():
        pytest.skip("pg_basebackup is missing (Debian package postgresql-15): no local replica")
    primary = make_url(get_settings().database_url)
    if primary.host not in ("127.0.0.1", "localhost"):
        pytest.skip("DATABASE_URL is not the local cluster of scripts/db.sh: no replica of it")
    port = primary.port or 5432
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"REDLINE_PGPORT": str(port), "REDLINE_REPLICA_PORT": str(port + 100)}
    done = subprocess.run(
        [SCRIPT, "start"], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield primary.set(port=port + 100).render_as_string(hide_password=False)
    finally:
        subprocess.run([SCRIPT, "stop"], env=env, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def replica(replica_url: str) -> Iterator[Engine]:
    """The app configured with REDLINE_READ_DATABASE_URL; a direct engine on the replica."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDLINE_READ_DATABASE_URL", replica_url)
        get_settings.cache_clear()
        engine = create_engine(replica_url, isolation_level="AUTOCOMMIT")
        try:
            yield engine
        finally:
            engine.dispose()
            db.get_read_engine().dispose()
            patch.undo()
            get_settings.cache_clear()


@pytest.fixture
def statements(replica: Engine) -> Iterator[list[tuple[int, str]]]:
    """(server port, SQL) of every statement the app's engines run during the test (not the
    test's own engine, nor a job's threads)."""
    seen: list[tuple[int, str]] = []
    app_engines = (db.get_engine(), db.get_read_engine())

    def record(conn, _cursor, statement, *_args) -> None:
        if conn.engine in app_engines and not threading.current_thread().name.startswith("job-"):
            seen.append((conn.connection.dbapi_connection.info.port, statement))

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def ports() -> tuple[int, int]:
    """The primary's and the replica's port."""
    settings = get_settings()
    return make_url(settings.database_url).port, make_url(settings.read_database_url).port


def on_port(seen: list[tuple[int, str]], port: int) -> list[str]:
    """The statements run on that server, without the catch-up checks (WAL positions)."""
    return [sql for p, sql in seen if p == port and "_lsn()" not in sql]


def wait_for_replica() -> None:
    assert replica_caught_up(30), "the replica did not catch up with the primary within 30 s"


def test_the_replica_is_a_hot_standby_of_the_primary(replica):
    with replica.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
        assert conn.execute(text("SELECT inet_server_port()")).scalar() == ports()[1]
        assert conn.execute(text("SELECT current_database()")).scalar().endswith("_test")


def test_every_read_route_is_served_by_the_replica(replica, client_as, statements):
    wait_for_replica()
    anonymous = client_as(None)  # open reads: no key looked up on the primary
    for path in READS:
        resp = anonymous.get(path)
        assert resp.status_code in (200, 204), f"{path}: {resp.status_code} {resp.text[:300]}"
    primary, replica_port = ports()
    assert on_port(statements, replica_port), "no statement reached the replica"
    assert on_port(statements, primary) == []


def test_a_read_answered_by_a_paused_replica_is_stale(replica, client):
    with db.get_engine().begin() as conn:
        name = conn.execute(text("SELECT name FROM region WHERE code = :c"), {"c": BAZHONG})
        name = name.scalar_one()
    wait_for_replica()
    with replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        with db.get_engine().begin() as conn:
            conn.execute(
                text("UPDATE region SET name = :n WHERE code = :c"), {"n": "改名市", "c": BAZHONG}
            )
        assert not replica_caught_up(0.2)
        assert client.get(f"/regions/{BAZHONG}").json()["name"] == name
    finally:
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
    wait_for_replica()
    try:
        assert client.get(f"/regions/{BAZHONG}").json()["name"] == "改名市"
    finally:
        with db.get_engine().begin() as conn:
            conn.execute(
                text("UPDATE region SET name = :n WHERE code = :c"), {"n": name, "c": BAZHONG}
            )
        wait_for_replica()


def screening_rows(engine: Engine, screening_id: str) -> int:
    with engine.connect() as conn:
        sql = text("SELECT count(*) FROM screening WHERE id = :id")
        return conn.execute(sql, {"id": screening_id}).scalar_one()


def file_screening(client) -> str:
    resp = client.post("/screenings", json={"geometry": SITE, "project_category": "化工"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_a_screening_is_filed_on_the_primary_and_streamed_to_the_replica(
    replica, client, statements
):
    wait_for_replica()
    with replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        screening_id = file_screening(client)
        assert screening_rows(db.get_engine(), screening_id) == 1
        assert screening_rows(replica, screening_id) == 0
    finally:
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
    # Off by default: the screening read nothing from the replica.
    assert on_port(statements, ports()[1]) == []
    wait_for_replica()
    assert screening_rows(replica, screening_id) == 1


def test_screening_lookups_read_the_replica_only_once_it_has_caught_up(
    replica, client, statements, monkeypatch
):
    monkeypatch.setattr(get_settings(), "screen_from_replica", True)
    primary, replica_port = ports()
    wait_for_replica()
    screening_id = file_screening(client)
    assert screening_rows(db.get_engine(), screening_id) == 1
    read_there = on_port(statements, replica_port)
    assert any("feature" in sql for sql in read_there), read_there
    assert not any(sql.lstrip().upper().startswith("INSERT") for sql in read_there)
    assert any("INSERT INTO screening" in sql for sql in on_port(statements, primary))

    # A replica behind the primary (here: replay paused before a write) is not read.
    with replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        with db.get_engine().begin() as conn:
            conn.execute(text("UPDATE region SET name = name WHERE code = :c"), {"c": BAZHONG})
        statements.clear()
        file_screening(client)
        assert on_port(statements, replica_port) == []
    finally:
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
    wait_for_replica()


def test_caches_are_not_filled_from_a_lagging_replica(replica):
    # A version switch the replica has not replayed: the epoch moves at once (NOTIFY from the
    # primary), and what the replica answers meanwhile is served but never kept.
    with db.get_engine().connect() as conn:
        layer, version = conn.execute(
            text("SELECT id, active_version_id FROM layer WHERE active_version_id IS NOT NULL")
        ).first()
    wait_for_replica()
    with replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    cache = EpochCache(4)
    calls = []

    def on_replica() -> int | None:
        calls.append(1)
        with db.get_read_engine().connect() as conn:
            return conn.execute(
                text("SELECT active_version_id FROM layer WHERE id = :l"), {"l": layer}
            ).scalar()

    try:
        with db.get_engine().begin() as conn:
            conn.execute(
                text("UPDATE layer SET active_version_id = NULL WHERE id = :l"), {"l": layer}
            )
        assert cache.get_or_compute(None, "k", on_replica) == version  # stale, served once
        assert cache.get_or_compute(None, "k", on_replica) == version
        assert len(calls) == 2, "a lagging replica's answer was cached"
    finally:
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        wait_for_replica()
        assert cache.get_or_compute(None, "k", on_replica) is None
        assert cache.get_or_compute(None, "k", on_replica) is None
        assert len(calls) == 3
        with db.get_engine().begin() as conn:
            conn.execute(
                text("UPDATE layer SET active_version_id = :v WHERE id = :l"),
                {"v": version, "l": layer},
            )
        wait_for_replica()
