"""Prometheus metrics at /metrics: request latency and errors by route, the database pool,
screenings by verdict and the job queue (the last two read at scrape time)."""

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from app.store.db import get_engine, session_scope
from app.store.models import Job

REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "redline_http_request_duration_seconds",
    "Time to answer a request, by route template and method.",
    ["route", "method"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "redline_http_errors",
    "Error responses by route template, method and status class (4xx, 5xx).",
    ["route", "method", "status_class"],
    registry=REGISTRY,
)
SCREENINGS = Counter(
    "redline_screenings", "Screenings filed, by verdict.", ["verdict"], registry=REGISTRY
)
ProcessCollector(registry=REGISTRY)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Record one answered request."""
    REQUEST_SECONDS.labels(route, method).observe(seconds)
    if status >= 400:
        ERRORS.labels(route, method, f"{status // 100}xx").inc()


def screening_filed(verdict: str) -> None:
    """Count a filed screening under its verdict."""
    SCREENINGS.labels(verdict).inc()


class _StateCollector(Collector):
    """Gauges read when scraped: the engine's connection pool and the jobs not yet finished."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Pool checked-out / size / overflow, and queued + running jobs (skipped if no db)."""
        pool = get_engine().pool
        if isinstance(pool, QueuePool):
            for name, value, text in (
                ("checked_out", pool.checkedout(), "Connections in use."),
                ("size", pool.size(), "Configured pool size."),
                ("overflow", pool.overflow(), "Connections beyond the pool size."),
            ):
                yield GaugeMetricFamily(f"redline_db_pool_{name}", text, value=value)
        try:
            with session_scope() as session:
                rows = session.execute(
                    select(Job.status, func.count())
                    .where(Job.status.in_(("queued", "running")))
                    .group_by(Job.status)
                ).all()
        except SQLAlchemyError:
            return  # the database is down: /health/ready says so; no stale number here
        depth = GaugeMetricFamily(
            "redline_jobs_queue_depth", "Jobs queued or running.", labels=["status"]
        )
        counts = dict(rows)
        for status in ("queued", "running"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth


REGISTRY.register(_StateCollector())

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics() -> Response:
    """The metrics in Prometheus text format (open: no key needed)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
