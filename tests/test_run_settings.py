"""How many API processes `make run` starts, and the connection pool each one gets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from app.store.db import POOL_MIN_PER_PROCESS, POOL_SIZE_MAX, _make_engine, pool_limits

ROOT = Path(__file__).resolve().parent.parent


def test_zero_api_workers_means_one_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDLINE_API_WORKERS", raising=False)
    assert Settings().api_workers == 0
    assert Settings().api_processes == os.cpu_count()
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    assert Settings().api_processes == 12
    assert Settings(api_workers=3).api_processes == 3


def test_run_script_reads_the_process_count() -> None:
    # scripts/run.sh asks the settings for both counts, in this order.
    out = subprocess.run(
        [sys.executable, "-c", _RUN_SH_QUERY],
        cwd=ROOT,
        env={**os.environ, "REDLINE_API_WORKERS": "5", "REDLINE_QUEUE_WORKERS": "2"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["2", "5"]


def _run_sh_query() -> str:
    """The Python one-liner scripts/run.sh runs, read from the script itself."""
    text = (ROOT / "scripts/run.sh").read_text()
    return text.split("-c \\\n  '", 1)[1].split("'", 1)[0]


_RUN_SH_QUERY = _run_sh_query()


@pytest.mark.parametrize(
    ("processes", "budget"), [(1, 60), (2, 60), (3, 60), (7, 60), (16, 60), (30, 60), (4, 100)]
)
def test_pools_of_all_processes_fit_the_budget(processes: int, budget: int) -> None:
    pool, overflow = pool_limits(Settings(api_workers=processes, db_connection_budget=budget))
    assert pool <= POOL_SIZE_MAX
    assert overflow >= 0
    assert processes * (pool + overflow) <= budget
    # The budget is used, not left idle: one more connection each would break it.
    assert processes * (pool + overflow + 1) > budget


def test_a_tiny_budget_still_leaves_each_process_two_connections() -> None:
    assert pool_limits(Settings(api_workers=64, db_connection_budget=60)) == (
        POOL_MIN_PER_PROCESS,
        0,
    )


def test_one_process_keeps_ten_open_and_opens_the_rest_under_load() -> None:
    assert pool_limits(Settings(api_workers=1, db_connection_budget=60)) == (10, 50)
    assert pool_limits(Settings(api_workers=2, db_connection_budget=60)) == (10, 20)
    assert pool_limits(Settings(api_workers=16, db_connection_budget=60)) == (3, 0)


def test_the_engine_is_built_with_those_limits() -> None:
    settings = Settings(api_workers=4, db_connection_budget=60)
    engine = _make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", settings)
    assert (engine.pool.size(), engine.pool._max_overflow) == (10, 5)
    engine.dispose()
