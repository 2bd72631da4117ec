"""Status and results of long-running jobs."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.api.deps import DbSession
from app.api.serializers import job_view
from app.errors import RedlineError
from app.screening.batch import FORMATS
from app.store.jobs import get_job

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobNotDone(RedlineError):
    status = 409
    type = "https://redline.example.org/problems/job-not-done"
    title = "The job has no result yet"


@router.get("/{job_id}")
def job_status(job_id: str, session: DbSession) -> dict:
    """Status, progress (done/total, percent) and, when done, the result link."""
    return job_view(get_job(session, job_id))


@router.get("/{job_id}/result")
def job_result(job_id: str, session: DbSession) -> FileResponse:
    job = get_job(session, job_id)
    if job.status != "done" or not job.result_path:
        raise JobNotDone(
            f"Job {job_id} is {job.status} ({job.done}/{job.total}); poll "
            f"/jobs/{job_id} until status is done.",
            job=job_view(job),
        )
    path = Path(job.result_path)
    fmt = path.suffix.lstrip(".")
    return FileResponse(
        path,
        media_type=FORMATS.get(fmt, "application/octet-stream"),
        filename=f"screening-batch-{job_id}.{fmt}",
    )
