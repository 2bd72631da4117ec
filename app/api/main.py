"""The FastAPI application: routers registered on one app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import Depends, FastAPI
from sqlalchemy.exc import SQLAlchemyError

from app.api import metrics, problems
from app.api.logging import AccessLogMiddleware, configure_logging
from app.api.params import reject_unusable_input
from app.api.request_id import RequestIdMiddleware
from app.api.routes import (
    diff,
    exports,
    health,
    jobs,
    layers,
    ogc,
    rasters,
    screenings,
    summaries,
    tiles,
    web,
)
from app.store.jobs import fail_interrupted_jobs


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Fail the jobs a previous process left running."""
    # Jobs run in this process's threads (one worker): any left running were cut off.
    with suppress(SQLAlchemyError):  # no database yet: /health will say so
        fail_interrupted_jobs()
    yield


def create_app() -> FastAPI:
    """The application with its error handlers, routers and static files."""
    app = FastAPI(
        lifespan=lifespan,
        title="Redline",
        description="Ecological zoning layers, site screening and planning summaries "
        "(生态保护红线、自然保护地、乡镇级主体功能区).",
        version="0.1.0",
        dependencies=[Depends(reject_unusable_input)],
    )
    configure_logging()
    problems.install(app)
    # Added last = outermost: the request id is set before the access log line is written.
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(metrics.router)
    app.include_router(health.router)
    app.include_router(layers.router)
    app.include_router(diff.router)
    app.include_router(screenings.router)
    app.include_router(jobs.router)
    app.include_router(summaries.router)
    app.include_router(rasters.router)
    app.include_router(tiles.router)
    app.include_router(exports.router)
    app.include_router(ogc.router)
    app.include_router(web.router)
    web.mount_static(app)
    return app


app = create_app()
