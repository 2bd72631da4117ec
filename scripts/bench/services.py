"""The processes a benchmark runs against, started and stopped by `make bench`.

Each process is started in its own session (process group), its output kept in a log file
under var/bench/logs/, and stopped with its whole group (SIGTERM, then SIGKILL after a grace
period) when the `with` block ends, also on Ctrl-C or an error.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 20
# The bench drives thousands of requests a minute from one client: far past the per-key
# limits a service protects itself with (app/api/ratelimit.py), so they are raised here.
BENCH_RATE_LIMIT = 1_000_000_000


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psycopg_dsn(database_url: str) -> str:
    """The libpq form (postgresql://…) of a SQLAlchemy URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a child process: this checkout's `app` first, the bench's limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDLINE_READ_")}
    env.update(
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        REDLINE_RATE_LIMIT_READS_PER_MINUTE=str(BENCH_RATE_LIMIT),
        REDLINE_RATE_LIMIT_WRITES_PER_MINUTE=str(BENCH_RATE_LIMIT),
    )
    env.update(extra)
    return env


@contextmanager
def process(
    name: str, argv: list[str], env: dict[str, str], log_dir: Path
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Run ARGV for the duration of the block; yields the process and its log file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc, log
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early ({proc.returncode}); see {log}")
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop a process started by `process` and everything it started (its process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and _group_alive(proc):
        time.sleep(0.2)
    if _group_alive(proc):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reaps the leader once it has exited
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    """Wait until URL answers 200; fail with the end of the log when it does not in time or
    the process exits first."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    state = "not ready" if proc.poll() is None else f"exited ({proc.returncode})"
    raise RuntimeError(f"{url}: {state} ({last}); log {log}:\n{tail}")


@contextmanager
def redline(
    bin_dir: Path,
    database_url: str,
    name: str,
    log_dir: Path,
    api_workers: int,
    queue_workers: int,
    **env: str,
) -> Iterator[str]:
    """A Redline service as `make run` starts it (scripts/run.sh); yields its base URL."""
    port = free_port()
    argv = ["bash", str(ROOT / "scripts/run.sh"), str(bin_dir), "127.0.0.1", str(port)]
    environ = child_env(
        database_url,
        REDLINE_API_WORKERS=str(api_workers),
        REDLINE_QUEUE_WORKERS=str(queue_workers),
        **env,
    )
    with process(name, argv, environ, log_dir) as (proc, log):
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/health/ready", proc, log)
        yield base


def ensure_database(database_url: str) -> None:
    """Create the database (with PostGIS) on its server when it does not exist yet."""
    url = make_url(database_url)
    admin = psycopg_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.database])
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{url.database}"')
    with psycopg.connect(psycopg_dsn(database_url), autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def redline_cli(bin_dir: Path, database_url: str, *args: str) -> str:
    """Run `redline ARGS` on the database; its standard output."""
    done = subprocess.run(
        [str(bin_dir / "redline"), *args],
        cwd=ROOT,
        env=child_env(database_url),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"redline {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def admin_key(bin_dir: Path, database_url: str) -> str:
    """A new admin key for the bench, made with the CLI (`redline keys create`)."""
    out = redline_cli(bin_dir, database_url, "keys", "create", "bench", "--role", "admin")
    return out.strip().splitlines()[-1].strip()
