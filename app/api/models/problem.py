"""The RFC 9457 problem document every error response carries."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    """One invalid request field (422 request validation only)."""

    field: str = Field(description="dotted location, e.g. query.limit")
    problem: str


class Problem(BaseModel):
    """application/problem+json; domain errors may add members (e.g. `job` on a 409)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem, or about:blank")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(
        default=None, description="the invalid fields of a request that failed validation"
    )
    job: dict[str, Any] | None = Field(default=None, description="the job, on 409 job-not-done")
