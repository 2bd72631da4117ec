"""A batch screening as a job: answered at once when small, run in the background when large.

Either way every row is filed as a screening (committed) before the job is done.
"""

from sqlalchemy.orm import Session

from app.config import get_settings
from app.screening import batch
from app.store import audit
from app.store.jobs import create_job, start_in_background
from app.store.models import Job

# Batches up to this size are answered in the request; larger ones run as a job.
SYNC_SITES = 200


def submit_batch(
    session: Session,
    sites: batch.BatchSites,
    fmt: str,
    category: str | None,
    buffer_m: float,
    filename: str | None,
    actor: str | None = None,
) -> Job:
    """File a job for the batch, owned by ACTOR and audited; a small one is screened now
    (the job comes back done)."""
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
        rows = batch.screen_batch(sites, category, buffer_m, actor=actor, source=source)
        batch.write_rows(rows, fmt, target)
        job.status, job.done, job.result_path = "done", job.total, str(target)
        return job
    session.commit()  # the job row must exist before the worker thread looks for it
    start_in_background(
        job.id,
        lambda progress: str(
            batch.write_rows(
                batch.screen_batch(sites, category, buffer_m, progress, actor, source), fmt, target
            )
        ),
    )
    return job
