"""Views of long-running jobs."""

from typing import Any

from pydantic import BaseModel

from app.store.models import Job


class JobLinks(BaseModel):
    """Where to poll the job, and its result once it is done."""

    self: str
    result: str | None


class JobView(BaseModel):
    """A job's status and progress (done of total, percent)."""

    id: str
    kind: str
    status: str
    total: int
    done: int
    percent: int | float
    created_at: str | None
    finished_at: str | None
    error: dict[str, Any] | None
    params: dict[str, Any] | None
    links: JobLinks

    @classmethod
    def of(cls, job: Job) -> "JobView":
        """The view of a stored job."""
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            total=job.total,
            done=job.done,
            percent=round(100 * job.done / job.total, 1) if job.total else 100,
            created_at=job.created_at.isoformat() if job.created_at else None,
            finished_at=job.finished_at.isoformat() if job.finished_at else None,
            error=job.error,
            params=job.params,
            links=JobLinks(
                self=f"/jobs/{job.id}",
                result=f"/jobs/{job.id}/result" if job.status == "done" else None,
            ),
        )
