"""A batch screening as a job: answered at once when small, queued for a worker when large.

Either way every row is filed as a screening (committed) before the job is done. A queued
batch's sites go to the job folder (shared by the API and its workers, on any machine), one
line per row, and its worker reads them a chunk at a time; the result file goes there too.
"""

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import shapely
from sqlalchemy.orm import Session

from app.config import get_settings
from app.queue import defer, tasks
from app.screening import batch
from app.screening.batch_file import SitesFile, write_sites
from app.screening.batch_input import RowFields
from app.store import audit
from app.store.jobs import create_job, fail_unqueued, run_job
from app.store.models import Job

log = logging.getLogger(__name__)

# Batches up to this size are answered in the request; larger ones run as a job.
SYNC_SITES = 200
TASK = "screening-batch"


def pack_sites(sites: batch.BatchSites) -> dict[str, Any]:
    """The sites as JSON for the queue (geometries as hex WKB, exact to the bit)."""
    return {
        "geometries": [
            None if g is None else shapely.to_wkb(g, hex=True) for g in sites.geometries
        ],
        "labels": sites.labels,
        "problems": {str(i): reason for i, reason in sites.problems.items()},
        # Column by column (a queued batch is held whole by its worker): 100 000 rows of
        # mostly empty cells are a few lists, not 100 000 dicts.
        "columns": {
            name: [getattr(f, name) for f in sites.fields]
            for name in (c.name for c in dataclasses.fields(RowFields))
        }
        if any(f != RowFields() for f in sites.fields)
        else {},
        "source_crs": sites.source_crs,
        "source_format": sites.source_format,
    }


def _fields(packed: dict[str, Any]) -> list[RowFields]:
    """The rows' fields pack_sites wrote (none: every cell empty); a list of dicts is what
    entries queued before the columns were."""
    if "fields" in packed:
        return [RowFields(**f) for f in packed["fields"]]
    columns = packed.get("columns") or {}
    if not columns:
        return []
    # By name: the queue keeps its arguments as JSONB, which does not keep the keys' order.
    names = list(columns)
    return [
        RowFields(**dict(zip(names, cells, strict=True)))
        for cells in zip(*columns.values(), strict=True)
    ]


def unpack_sites(packed: dict[str, Any]) -> batch.BatchSites:
    """The sites pack_sites wrote."""
    return batch.BatchSites(
        geometries=[None if g is None else shapely.from_wkb(g) for g in packed["geometries"]],
        labels=packed["labels"],
        problems={int(i): reason for i, reason in packed["problems"].items()},
        fields=_fields(packed),
        source_crs=packed["source_crs"],
        source_format=packed["source_format"],
    )


@tasks.task(name=TASK)
def screen_batch_job(
    job_id: str,
    sites: dict[str, Any],
    fmt: str,
    category: str | None,
    buffer_m: float,
    filename: str | None,
    actor: str | None,
) -> None:
    """The queued task: screen the batch of job JOB_ID, reporting progress in its row."""
    target = get_settings().job_dir / f"{job_id}.{fmt}"
    source = {"batch": job_id, "file": filename}
    # Sites in the job folder are read a chunk at a time; entries queued before carry them.
    given = get_settings().job_dir / sites["file"] if "file" in sites else None
    unpacked = SitesFile(given) if given else unpack_sites(sites)

    def work(progress: Any) -> str:
        # Rows go to the file chunk by chunk as they are screened and filed.
        rows = batch.iter_rows(unpacked, category, buffer_m, progress, actor, source)
        done = str(batch.write_rows(rows, fmt, target))
        if given:
            given.unlink(missing_ok=True)  # the result stands for it now
        return done

    run_job(job_id, work)


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
    (the job comes back done), a large one is queued for a worker. FILED is told the verdict
    of every screening a small batch files (a worker's process keeps its own count)."""
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
    if len(sites.labels) <= SYNC_SITES:
        target = get_settings().job_dir / f"{job.id}.{fmt}"
        source = {"batch": job.id, "file": filename}
        rows = _screened(sites, category, buffer_m, lambda done: None, actor, source, filed)
        batch.write_rows(rows, fmt, target)
        job.status, job.done, job.result_path = "done", job.total, str(target)
        return job
    # The sites go to the job folder (shared with the workers), not in the queue entry: the
    # worker reads them a chunk at a time.
    given = write_sites(sites, get_settings().job_dir / f"{job.id}.sites.jsonl", buffer_m)
    session.commit()  # the job row must exist before a worker looks for it
    try:
        defer(
            TASK,
            job.id,
            sites={"file": given.name},
            fmt=fmt,
            category=category,
            buffer_m=buffer_m,
            filename=filename,
            actor=actor,
        )
    except Exception:  # the queue is unreachable: the job fails now, not stays queued
        log.exception("job %s: could not be queued", job.id)
        fail_unqueued(job.id)
        session.expire(job)
    return job
