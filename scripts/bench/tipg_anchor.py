"""tipg (developmentseed/tipg) serving views over Redline's own tables: the anchor for tiles
and OGC API Features items.

`start(database_url, port)` creates one view per layer with an active version in the schema
`tipg_bench` (`SELECT id, <catalog attributes typed>, <measure>, geom FROM feature WHERE
version_id = <active>`), starts `uvicorn tipg.main:app` on those views only, waits until it
lists them, yields its base URL and stops it (dropping the views). The view's `geom` is the
table's `geometry(Geometry,4490)` column itself, so tipg reads SRID 4490 from its type and
filters tiles and bboxes with the GiST index of `feature.geom`.

How tipg 1.6.1 answers (tipg/collections.py), so the workloads can ask for the same thing:
- a tile: `ST_AsMVT` over `ST_AsMVTGeom(ST_Transform(geom, 3857), <segmentized tile box>,
  4096, 256, true)` of the rows whose geometry intersects the tile box transformed to 4490,
  `ORDER BY id LIMIT 10000`, with the columns named in `properties` (all when absent);
- an items page: `SELECT COUNT(*)` then `SELECT <columns>, id, ST_AsGeoJSON(ST_Transform(geom,
  4326))::json … ORDER BY id LIMIT n OFFSET m`, encoded with orjson.

tipg is never a project dependency: `ensure_venv` installs it into its own virtualenv.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

TIPG_VERSION = "1.6.1"
SCHEMA = "tipg_bench"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_VAR_DIR = REPO / "var" / "bench"
_SQL_TYPES = {
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
}
_MEASURES = {"polygon": "area_m2", "line": "length_m"}
_START_TIMEOUT_S = 60.0


def ensure_venv(var_dir: Path = DEFAULT_VAR_DIR) -> Path:
    """The Python of a virtualenv with tipg and uvicorn: `$BENCH_TIPG_PYTHON` when set, else
    `var_dir/tipg-venv` (created with `pip install tipg==1.6.1 uvicorn` when missing)."""
    override = os.environ.get("BENCH_TIPG_PYTHON")
    if override:
        return Path(override)
    venv = var_dir / "tipg-venv"
    python = venv / "bin" / "python"
    probe = [
        str(python),
        "-c",
        f"import tipg, uvicorn; assert tipg.__version__ == '{TIPG_VERSION}'",
    ]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    var_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"tipg=={TIPG_VERSION}", "uvicorn"], check=True)
    return python


def psycopg_dsn(database_url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as a libpq/asyncpg one (postgresql://…)."""
    scheme, _, rest = database_url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _view(layer_id: str, version_id: int, spec: dict[str, Any]) -> sql.Composed:
    """The view of one layer's active version: typed attribute columns, the measure, geom."""
    columns = [sql.SQL("id")]
    for attribute in spec.get("attributes", []):
        name = attribute["name"]
        value = sql.SQL("attributes->>{}").format(sql.Literal(name))
        sql_type = _SQL_TYPES.get(attribute["type"])
        if sql_type:
            value = sql.SQL("CAST({} AS {})").format(value, sql.SQL(sql_type))
        columns.append(sql.SQL("{} AS {}").format(value, sql.Identifier(name)))
    measure = _MEASURES.get(spec.get("geometry_type", ""))
    if measure:
        columns.append(sql.Identifier(measure))
    columns.append(sql.SQL("geom"))
    return sql.SQL("CREATE VIEW {}.{} AS SELECT {} FROM feature WHERE version_id = {}").format(
        sql.Identifier(SCHEMA),
        sql.Identifier(layer_id),
        sql.SQL(", ").join(columns),
        sql.Literal(version_id),
    )


def create_views(dsn: str) -> list[str]:
    """(Re)create the schema with one view per layer with an active version; their ids."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        layers = conn.execute(
            "SELECT id, active_version_id, spec FROM layer "
            "WHERE active_version_id IS NOT NULL ORDER BY id"
        ).fetchall()
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        for layer_id, version_id, spec in layers:
            conn.execute(_view(layer_id, version_id, spec))
    return [row[0] for row in layers]


def drop_views(dsn: str) -> None:
    """Remove the views (they would block a later migration of `feature`)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


def collection_id(layer_id: str) -> str:
    """tipg's collection id of a layer's view."""
    return f"{SCHEMA}.{layer_id}"


def _wait_ready(base: str, layers: list[str], process: subprocess.Popen) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    wanted = {collection_id(layer) for layer in layers}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tipg exited with status {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            found = httpx.get(f"{base}/collections", params={"limit": 1000}, timeout=5)
            if found.status_code == 200:
                ids = {c["id"] for c in found.json()["collections"]}
                if wanted <= ids:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"tipg did not list the views {sorted(wanted)} within {_START_TIMEOUT_S} s")


@contextlib.contextmanager
def start(
    database_url: str, port: int, python: Path | None = None, log: Path | None = None
) -> Iterator[str]:
    """tipg on 127.0.0.1:`port` over views of the active versions; yields its base URL."""
    dsn = psycopg_dsn(database_url)
    layers = create_views(dsn)
    python = python or ensure_venv()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "TIPG_DB_SCHEMAS": f'["{SCHEMA}"]',
        "TIPG_DB_SPATIAL_EXTENT": "true",
        "TIPG_DB_DATETIME_EXTENT": "false",
        # No catalog refresh in the middle of a timed run.
        "TIPG_CATALOG_TTL": "0",
        # MVT layers named after the table, as Redline names them after the layer.
        "TIPG_SET_MVT_LAYERNAME": "true",
    }
    command = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    sink = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, layers, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            sink.close()  # type: ignore[union-attr]
        drop_views(dsn)
