"""Liveness, readiness and the database check."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.deps import DbSession
from app.api.models.health import Health, Liveness, Readiness
from app.api.problems import RETRY_AFTER_S, problem_responses
from app.store.readiness import check_readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses=problem_responses(503))
def health(session: DbSession) -> Health:
    """Database and PostGIS versions; 503 with Retry-After if the database is unreachable."""
    pg, postgis = session.execute(
        text("SELECT current_setting('server_version'), postgis_lib_version()")
    ).one()
    return Health(status="ok", database=f"PostgreSQL {pg}", postgis=postgis)


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and serving; never touches the database."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the checks say what fails"}},
)
async def ready() -> JSONResponse:
    """Database reachable, PostGIS present, migrations at head, catalog and reference data
    loaded: 200 when all hold, else 503 naming what is missing."""
    checks = await run_in_threadpool(check_readiness)
    ok = all(state == "ok" for state in checks.values())
    body = Readiness(status="ready" if ok else "not ready", checks=checks)
    if ok:
        return JSONResponse(body.model_dump())
    return JSONResponse(
        body.model_dump(), status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )
