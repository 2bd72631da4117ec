"""What a benchmark workload is: cases measured side by side with their anchors.

`make bench` (scripts/bench/run.py) collects the cases of every workload module, runs the
cases of one group interleaved (a round of each, repeated), and reports each case's median and
p90 and its ratio to the group's anchor. A workload module exposes
`cases(ctx: Ctx) -> list[Case]`; throughput and batch workloads return their own figures
through `Figure`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Ctx:
    """One running service at one data scale, and its anchors."""

    scale: int  # 1, 10 or 100 (× the Bazhong reference data)
    redline_url: str  # base URL of the running Redline API
    api_key: str  # an admin key of that service
    database_url: str  # SQLAlchemy URL of the same database (postgresql+psycopg://…)
    dsn: str  # the same database for psycopg (postgresql://…)
    tipg_url: str | None = None  # tipg serving views over the same tables, if started
    http: httpx.Client | None = None  # keep-alive client with the API key set
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    """One operation timed many times; `anchor=True` marks the group's baseline."""

    group: str  # e.g. "point screening", "tiles z8 cache off"
    name: str  # e.g. "redline", "/health", "raw SQL (psycopg, prepared)", "tipg", "geopandas"
    run: Callable[[], Any]  # one operation; raises on failure
    anchor: bool = False
    setup: Callable[[], Any] | None = None  # before each timed run, untimed (e.g. clear cache)
    repeat: int = 30  # timed runs per case (interleaved with the group's other cases)


@dataclass
class Figure:
    """A measured figure that is not a per-call latency (throughput, sites/s, MB)."""

    group: str
    name: str
    value: float
    unit: str  # "req/s", "sites/s", "MB", "ms", "s"
    anchor: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
