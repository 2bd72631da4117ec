"""A batch screening as a job: answered at once when small, run in the background when large.

Either way every row is filed as a screening (committed) before the job is done.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.screening import batch
from app.store import audit
from app.store.jobs import create_job, start_in_background
from app.store.models import Job

# Batches up to this size are answered in the request; larger ones run as a job.
SYNC_SITES = 200


def _screened(
    sites: batch.BatchSites,
    category: str | None,
    buffer_m: float,
    progress: Callable[[int], None],
    actor: str | None,
    source: dict[str, Any],
    filed: Callable[[str], None],
) -> list[dict]:
    """The batch's rows, each filed screening reported to FILED by its verdict."""
    rows = batch.screen_batch(sites, category, buffer_m, progress, actor, source)
    for row in rows:
        if row["verdict"] != "error":  # a refused row is not filed
            filed(row["verdict"])
    return rows


def submit_batch(
    session: Session,
    sites: batch.BatchSites,
    fmt: str,
    category: str | None,
    buffer_m: float,
    filename: str | None,
    actor: str | None = None,
    filed: Callable[[str], None] = lambda verdict: None,
) -> Job:
    """File a job for the batch, owned by ACTOR and audited; a small one is screened now
    (the job comes back done). FILED is told the verdict of every screening filed."""
    params = {
        "file": filename,
        "sites": len(sites.labels),
        "format": fmt,
        "project_category": category,
        "buffer_m": buffer_m,
    }
    job = create_job(session, "screening-batch", len(sites.labels), params)
    job.created_by = actor
    audit.record(session, actor, "screening-batch", job.id, sites=job.total)
    target = get_settings().job_dir / f"{job.id}.{fmt}"
    source = {"batch": job.id, "file": filename}
    if len(sites.labels) <= SYNC_SITES:
        rows = _screened(sites, category, buffer_m, lambda done: None, actor, source, filed)
        batch.write_rows(rows, fmt, target)
        job.status, job.done, job.result_path = "done", job.total, str(target)
        return job
    session.commit()  # the job row must exist before the worker thread looks for it
    start_in_background(
        job.id,
        lambda progress: str(
            batch.write_rows(
                _screened(sites, category, buffer_m, progress, actor, source, filed), fmt, target
            )
        ),
    )
    return job
