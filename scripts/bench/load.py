"""Throughput with many clients at once: `wrk` for HTTP, `pgbench` for raw SQL.

Both run for a fixed time with N concurrent connections and report requests (transactions)
per second; any workload may use them (`wrk(url, clients, seconds, lua=...)`).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_binary() -> str:
    """The wrk executable (`make bench` installs it: scripts/bench/system.sh)."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: run scripts/bench/system.sh as root")
    return found


def post_script(path: str, body: Any, headers: dict[str, str]) -> str:
    """A wrk Lua script sending POST PATH with a JSON BODY and HEADERS."""
    lines = ['wrk.method = "POST"', f'wrk.path = "{path}"']
    lines.append(f"wrk.body = [==[{json.dumps(body, ensure_ascii=False)}]==]")
    for name, value in {"Content-Type": "application/json", **headers}.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    return "\n".join(lines) + "\n"


def wrk(
    url: str,
    clients: int,
    seconds: float,
    lua: str | None = None,
    headers: dict[str, str] | None = None,
    allow_errors: bool = False,
) -> dict[str, Any]:
    """Run wrk against URL; requests/s, p50 latency, and the errors it counted (an error
    unless ALLOW_ERRORS: a rate of failures is no throughput)."""
    argv = [wrk_binary(), "--latency", "-c", str(clients), "-t", str(min(clients, 2))]
    argv += ["-d", f"{max(int(round(seconds)), 1)}s", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as tmp:
        if lua is not None:
            script = Path(tmp) / "bench.lua"
            script.write_text(lua, encoding="utf-8")
            argv += ["-s", str(script)]
        out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    figures = parse_wrk(out)
    if figures["non_2xx"] and not allow_errors:
        raise RuntimeError(f"wrk {url}: {figures['non_2xx']} responses not 2xx/3xx:\n{out}")
    return figures


def parse_wrk(out: str) -> dict[str, Any]:
    """The figures of a wrk report."""
    rate = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    return {
        "req_s": float(rate.group(1)),
        "requests": int(total.group(1)) if total else None,
        "p50_ms": float(p50.group(1)) * _UNITS_MS[p50.group(2)] if p50 else None,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sockets.group(1).strip() if sockets else None,
    }


def pgbench_binary() -> str:
    """pgbench of the newest local PostgreSQL (Debian's layout), else the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), key=_version_key)
    if found:
        return found[-1]
    on_path = shutil.which("pgbench")
    if on_path is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    return on_path


def _version_key(path: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", path)
    return int(match.group(1)) if match else 0


def pgbench(
    database_url: str, sql: str, variables: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    """Run one SQL statement (with `:name` VARIABLES) as prepared statements; transactions/s."""
    url = make_url(database_url)
    argv = [pgbench_binary(), "-n", "-M", "prepared", "-c", str(clients)]
    argv += ["-j", str(min(clients, 2)), "-T", str(max(int(round(seconds)), 1))]
    argv += ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    argv += ["-U", url.username or "postgres"]
    for name, value in variables.items():
        argv += ["-D", f"{name}={value}"]
    env = {"PGPASSWORD": url.password} if url.password else {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.sql"
        # One line: pgbench reads a script line by line (so: no SQL comments in SQL).
        script.write_text(" ".join(sql.split()) + ";\n", encoding="utf-8")
        done = subprocess.run(
            [*argv, "-f", str(script), url.database or "postgres"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    if tps is None:
        raise RuntimeError(f"pgbench printed no rate:\n{done.stdout}")
    return {
        "req_s": float(tps.group(1)),
        "failed": int(failed.group(1)) if failed else 0,
        "mean_ms": float(latency.group(1)) if latency else None,
    }
