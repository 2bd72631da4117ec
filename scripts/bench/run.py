"""`make bench`: every benchmark, end to end, at each data scale; bench/results.{json,md}.

Per scale N (BENCH_SCALES, default 1,10,100): the database `<BENCH_DB_PREFIX>_<N>x` (default
redline_bench_<N>x) on the local cluster, built by scripts/bench/scale.py (`build(N, url)`,
reused when already built; without that module scale 1 is a plain `redline setup` and other
scales are skipped); then, against it, Redline as `make run` starts it (REDLINE_API_WORKERS
uvicorn processes, default one per core, and one `redline worker`) with the per-key rate
limits raised for the bench, a second Redline with its tile and summary caches off, and tipg
(scripts/bench/tipg_anchor.py) over views of the same tables. Every workload module in
WORKLOADS that can be imported is run (a missing one is skipped with a note): its
`cases(ctx)` (Cases timed interleaved by measure.py, Figures taken as they are), then, when it
has one, its `figures(ctx)` (figures measured after its cases). Everything is stopped at the
end of each scale, also on Ctrl-C or an error; the results so far are written either way.

Settings (environment): BENCH_SCALES; BENCH_REPEAT (timed runs per case, overriding each
case's own); BENCH_QUICK=1 (5 runs per case, scale 1 only, short throughput runs: a smoke
run); BENCH_WORKLOADS (a comma-separated subset of WORKLOADS); BENCH_DB_PREFIX;
BENCH_SERVER_URL (the PostgreSQL server, default that of DATABASE_URL, else the local
cluster on REDLINE_PGPORT); BENCH_BATCH_100K=0 (skip the 100 000-point batch run at the
smallest scale); BENCH_OVERLAY_LIMIT_S (the geopandas overlay at 100×, run once, is stopped
after this many seconds, default 600).

Keys of `ctx.extra` set here: redline_nocache_url, quick (bool), repeat (int or None),
var_dir (var/bench, a Path), log_dir, bin_dir, api_workers, cleanup (a list a workload may
append callables to; they run when the scale is done), batch_100k, and in a quick run
wrk_seconds and wrk_rounds (3 and 1).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# This checkout's `app` and `scripts` before any installed one; scripts/bench too, so that a
# workload may import its neighbours either way (`from cases import Case`).
sys.path[:0] = [str(ROOT), str(ROOT / "scripts" / "bench")]

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from scripts.bench import measure, report, services  # noqa: E402
from scripts.bench.cases import Ctx  # noqa: E402

WORKLOADS = ["w_screening", "w_batch", "w_tiles", "w_items", "w_summary"]
QUICK_REPEAT = 5
DEFAULT_SCALES = "1,10,100"


def log(message: str) -> None:
    """A progress line with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def optional_module(name: str) -> ModuleType | None:
    """scripts.bench.NAME, or None (with a note) when it is not there (not merged yet)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        log(f"note: scripts/bench/{name}.py not found: skipped")
        return None


class Settings:
    """What to run, from the environment."""

    def __init__(self) -> None:
        """Read BENCH_* and the database settings."""
        env = os.environ
        self.quick = env.get("BENCH_QUICK", "") not in ("", "0")
        scales = env.get("BENCH_SCALES") or ("1" if self.quick else DEFAULT_SCALES)
        self.scales = [int(s) for s in scales.split(",") if s.strip()]
        repeat = env.get("BENCH_REPEAT")
        self.repeat = int(repeat) if repeat else (QUICK_REPEAT if self.quick else None)
        chosen = env.get("BENCH_WORKLOADS")
        self.workloads = [w.strip() for w in chosen.split(",")] if chosen else WORKLOADS
        self.db_prefix = env.get("BENCH_DB_PREFIX", "redline_bench")
        port = env.get("REDLINE_PGPORT", "55432")
        server = env.get("BENCH_SERVER_URL") or env.get("DATABASE_URL")
        self.server = server or f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        self.api_workers = int(env.get("REDLINE_API_WORKERS") or 0) or os.cpu_count() or 1
        self.bin_dir = Path(sys.executable).parent
        self.var_dir = ROOT / "var" / "bench"
        self.out_dir = ROOT / "bench"

    def database_url(self, scale: int) -> str:
        """The SQLAlchemy URL of scale N's database."""
        url = make_url(self.server).set(database=f"{self.db_prefix}_{scale}x")
        return url.render_as_string(hide_password=False)

    def as_dict(self) -> dict[str, Any]:
        """The settings recorded with the results."""
        return {
            "scales": self.scales,
            "repeat": self.repeat,
            "quick": self.quick,
            "workloads": self.workloads,
            "api_workers": self.api_workers,
            "queue_workers": 1,
            "rate_limits_per_minute": services.BENCH_RATE_LIMIT,
        }


def build_data(cfg: Settings, scale: int, url: str, scale_mod: ModuleType | None) -> dict | None:
    """Scale N's database, built (or reused); what it holds, or None when it cannot be built."""
    services.ensure_database(url)
    if scale_mod is not None:
        log(f"{scale}×: building the data (scale.build), reused when already built …")
        built = dict(scale_mod.build(scale, url) or {})
    elif scale == 1:
        log("1×: redline setup (the Bazhong reference data)")
        services.redline_cli(cfg.bin_dir, url, "setup")
        built = {"built_by": "redline setup"}
    else:
        log(f"{scale}×: skipped: scripts/bench/scale.py is needed to build it")
        return None
    with psycopg.connect(services.psycopg_dsn(url), autocommit=True) as conn:
        conn.execute("ANALYZE")  # fresh statistics: the plans of a database in service
        row = conn.execute(
            "SELECT count(*), coalesce(sum(ST_NPoints(f.geom)), 0) FROM feature f "
            "JOIN layer l ON l.active_version_id = f.version_id"
        ).fetchone()
    built.update(active_features=row[0], active_vertices=int(row[1]))
    return built


def run_module(ctx: Ctx, module: ModuleType, repeat: int | None) -> dict[str, Any]:
    """One workload module's groups: its cases timed per group, its figures passed through."""
    name = module.__name__.rsplit(".", 1)[-1]
    entry: dict[str, Any] = {"module": name, "title": _title(module), "groups": []}
    try:
        items = list(module.cases(ctx))
    except Exception as exc:  # noqa: BLE001 (one broken workload must not stop the others)
        log(f"  ! {name}.cases failed: {exc}")
        entry["error"] = "".join(traceback.format_exception_only(exc)).strip()
        return entry
    groups: dict[str, dict[str, list]] = {}
    for item in items:
        kind = "cases" if hasattr(item, "run") else "figures"
        groups.setdefault(item.group, {"cases": [], "figures": []})[kind].append(item)
    for group, parts in groups.items():
        entry["groups"].append(_measure_group(ctx, group, parts["cases"], parts["figures"], repeat))
    late = getattr(module, "figures", None)
    if callable(late):
        log(f"  {name}: figures …")
        try:
            extra: dict[str, list] = {}
            for fig in late(ctx):
                extra.setdefault(fig.group, []).append(fig)
            for group, figs in extra.items():
                entry["groups"].append(_measure_group(ctx, group, [], figs, repeat))
        except Exception as exc:  # noqa: BLE001
            log(f"  ! {name}.figures failed: {exc}")
            entry["error"] = "".join(traceback.format_exception_only(exc)).strip()
    return entry


def _measure_group(
    ctx: Ctx, group: str, cases: list, figs: list, repeat: int | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": group}
    if cases:
        log(f"  {ctx.scale}× {group}: {len(cases)} cases interleaved")
        out["cases"] = measure.run_group(group, cases, repeat, progress=log)
        for r in out["cases"]:
            log("    " + report.case_line(r))
    if figs:
        log(f"  {ctx.scale}× {group}: {len(figs)} figures")
        out["figures"] = measure.figures(group, figs)
        for r in out["figures"]:
            log("    " + report.figure_line(r))
    return out


def _title(module: ModuleType) -> str:
    doc = (module.__doc__ or module.__name__).strip()
    return doc.splitlines()[0].rstrip(".")


def run_scale(
    cfg: Settings,
    scale: int,
    modules: list[ModuleType],
    tipg: ModuleType | None,
    url: str,
    result: dict[str, Any],
) -> None:
    """Start the services on scale N's database, run every workload into RESULT (as they
    finish: an interrupted run keeps them), stop the services."""
    result.update(database=make_url(url).database, workloads=[])
    log_dir = cfg.var_dir / "logs"
    cleanup: list[Callable[[], Any]] = []
    with ExitStack() as stack:
        log(
            f"{scale}×: starting Redline ({cfg.api_workers} API processes, 1 job worker; rate "
            f"limits raised to {services.BENCH_RATE_LIMIT:,}/min for the bench) …"
        )
        base = stack.enter_context(
            services.redline(cfg.bin_dir, url, f"redline_{scale}x", log_dir, cfg.api_workers, 1)
        )
        log(f"{scale}×: starting Redline with its caches off (1 API process) …")
        nocache = stack.enter_context(
            services.redline(
                cfg.bin_dir,
                url,
                f"redline_nocache_{scale}x",
                log_dir,
                1,
                0,
                REDLINE_TILE_CACHE_TILES="0",
                REDLINE_SUMMARY_CACHE_ENTRIES="0",
            )
        )
        tipg_url = None
        if tipg is not None:
            log(f"{scale}×: starting tipg …")
            python = tipg.ensure_venv(cfg.var_dir)
            log_dir.mkdir(parents=True, exist_ok=True)
            tipg_url = stack.enter_context(
                tipg.start(url, services.free_port(), python, log_dir / f"tipg_{scale}x.log")
            )
        key = services.admin_key(cfg.bin_dir, url)
        http = stack.enter_context(
            httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=600)
        )
        stack.callback(lambda: [_quietly(f) for f in reversed(cleanup)])
        ctx = Ctx(
            scale=scale,
            redline_url=base,
            api_key=key,
            database_url=url,
            dsn=services.psycopg_dsn(url),
            tipg_url=tipg_url,
            http=http,
            extra={
                "redline_nocache_url": nocache,
                "quick": cfg.quick,
                "repeat": cfg.repeat,
                "var_dir": cfg.var_dir,
                "log_dir": log_dir,
                "bin_dir": cfg.bin_dir,
                "api_workers": cfg.api_workers,
                "cleanup": cleanup,
                # The 100 000-point batch (peak memory): once, at the smallest scale.
                "batch_100k": not cfg.quick
                and scale == min(cfg.scales)
                and os.environ.get("BENCH_BATCH_100K", "1") != "0",
                **({"wrk_seconds": 3, "wrk_rounds": 1} if cfg.quick else {}),
            },
        )
        result["services"] = {"redline": base, "redline_nocache": nocache, "tipg": tipg_url}
        for module in modules:
            log(f"{scale}× workload {module.__name__.rsplit('.', 1)[-1]}")
            result["workloads"].append(run_module(ctx, module, cfg.repeat))
        log(f"{scale}×: stopping the services …")


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 (cleanup must not hide the results)
        log(f"  cleanup: {exc}")


class Terminated(BaseException):
    """SIGTERM: unwinds the `with` blocks like Ctrl-C, so every service is stopped."""


def _terminate(signum: int, _frame: Any) -> None:
    raise Terminated(signum)


def main() -> int:
    """Run every scale and workload; write bench/results.json and bench/results.md."""
    signal.signal(signal.SIGTERM, _terminate)
    cfg = Settings()
    modules = [m for m in map(optional_module, cfg.workloads) if m is not None]
    scale_mod = optional_module("scale")
    tipg = optional_module("tipg_anchor")
    results: dict[str, Any] = {"settings": cfg.as_dict(), "scales": {}, "notes": []}
    missing = sorted({*cfg.workloads, "scale", "tipg_anchor"} - _loaded(modules, scale_mod, tipg))
    results["notes"] += [f"scripts/bench/{m}.py not found: skipped" for m in missing]
    started = time.monotonic()
    try:
        admin = make_url(cfg.server).set(database="postgres")
        results["machine"] = report.machine(
            services.psycopg_dsn(admin.render_as_string(hide_password=False)), ROOT
        )
        for scale in cfg.scales:
            url = cfg.database_url(scale)
            try:
                data = build_data(cfg, scale, url, scale_mod)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 (scale.py exits on refusal)
                log(f"{scale}×: the data could not be built: {exc}")
                results["notes"].append(f"{scale}×: data not built: {exc}")
                continue
            if data is None:
                results["notes"].append(f"{scale}×: skipped (no scripts/bench/scale.py)")
                continue
            entry = results["scales"][str(scale)] = {"data": data}
            try:
                run_scale(cfg, scale, modules, tipg, url, entry)
            except Exception as exc:  # noqa: BLE001 (the other scales may still run)
                log(f"{scale}×: failed: {exc}")
                traceback.print_exc()
                results["notes"].append(f"{scale}×: failed: {exc}")
            report.write(results, cfg.out_dir)
    except (KeyboardInterrupt, Terminated) as exc:
        results["notes"].append(f"interrupted ({type(exc).__name__}): partial results")
        report.write(results, cfg.out_dir)
        log("interrupted: services stopped, partial results written")
        return 130
    finally:
        results["elapsed_s"] = round(time.monotonic() - started, 1)
    report.write(results, cfg.out_dir)
    log(f"done in {results['elapsed_s']:.0f} s: {cfg.out_dir / 'results.md'}, results.json")
    # A scale that failed or could not be built leaves partial results: not a success.
    failed = [n for n in results["notes"] if "failed:" in n or "not built:" in n]
    if failed:
        log(f"{len(failed)} scale(s) did not finish: {'; '.join(failed)}")
        return 1
    return 0


def _loaded(*groups: Any) -> set[str]:
    names = set()
    for group in groups:
        for module in group if isinstance(group, list) else [group]:
            if module is not None:
                names.add(module.__name__.rsplit(".", 1)[-1])
    return names


if __name__ == "__main__":
    sys.exit(main())
