"""Status and results of long-running jobs."""

import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from app.api.auth import Principal, require
from app.api.deps import DbSession
from app.api.models.files import file_response
from app.api.models.jobs import JobView
from app.api.models.screenings import BatchRow
from app.api.problems import problem_responses
from app.errors import NotFound, RedlineError
from app.screening.batch import FORMATS
from app.store import job_events
from app.store.catalog_epoch import listening
from app.store.db import session_scope
from app.store.jobs import get_job
from app.store.models import Job

Officer = Depends(require("officer"))
router = APIRouter(
    prefix="/jobs", tags=["jobs"], dependencies=[Officer], responses=problem_responses(401, 403)
)


class JobNotDone(RedlineError):
    """The job's result was asked for before the job finished."""

    status = 409
    type = "https://redline.example.org/problems/job-not-done"
    title = "The job has no result yet"


def _visible(session: Session, job_id: str, caller: Principal) -> Job:
    """The job if the caller submitted it (or is an admin); others' are not found."""
    job = get_job(session, job_id)
    if not caller.owns(job.created_by):
        raise NotFound(f"There is no job {job_id!r}.")
    return job


MAX_WAIT_S = 30
# Without the listener, a waiting request reads the job this often.
_UNHEARD_RECHECK_S = 1.0


def _view(job_id: str, caller: Principal) -> JobView:
    with session_scope() as session:  # its own transaction: each read sees the latest commit
        return JobView.of(_visible(session, job_id, caller))


@router.get("/{job_id}", response_model=JobView, responses=problem_responses(404, 422))
async def job_status(
    job_id: str,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description="Seconds to wait for the job to move (status or progress) before "
            "answering; 0 answers at once. Answers as soon as it moves, so a client can wait "
            "for a job in a loop instead of polling it.",
        ),
    ] = 0,
    officer: Principal = Officer,
) -> JobView:
    """Status, progress (done/total, percent) and, when done, the result link."""
    if wait <= 0:
        return await run_in_threadpool(_view, job_id, officer)
    deadline = time.monotonic() + wait
    with job_events.watching(job_id) as waiter:  # before the first read: no change missed
        view = await run_in_threadpool(_view, job_id, officer)
        while waiter is not None and view.status in ("queued", "running"):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            recheck = job_events.RECHECK_S if listening() else _UNHEARD_RECHECK_S
            await waiter.changed(min(left, recheck))
            now = await run_in_threadpool(_view, job_id, officer)
            if (now.status, now.done) != (view.status, view.done):
                return now
            view = now
        return view


@router.get(
    "/{job_id}/result",
    response_class=FileResponse,
    responses={
        **file_response(
            *FORMATS.values(), description="The batch result file", json_model=list[BatchRow]
        ),
        **problem_responses(404, 409, 422),
    },
)
def job_result(job_id: str, session: DbSession, officer: Principal = Officer) -> FileResponse:
    """The job's result file once it is done (409 with the job's status until then)."""
    job = _visible(session, job_id, officer)
    if job.status != "done" or not job.result_path:
        raise JobNotDone(
            f"Job {job_id} is {job.status} ({job.done}/{job.total}); poll "
            f"/jobs/{job_id} until status is done.",
            job=JobView.of(job).model_dump(mode="json"),
        )
    path = Path(job.result_path)
    fmt = path.suffix.lstrip(".")
    return FileResponse(
        path,
        media_type=FORMATS.get(fmt, "application/octet-stream"),
        filename=f"screening-batch-{job_id}.{fmt}",
    )
