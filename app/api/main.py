"""The FastAPI application: routers registered on one app."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from app.api import problems
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
from app.api.uploads import remove_stale_uploads
from app.store.jobs import fail_interrupted_jobs
from app.store.rasters import remove_stale_temp_files


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Fail the jobs whose process is gone; remove temp files a crash left behind."""
    started = time.time()
    remove_stale_uploads(started)
    remove_stale_temp_files(started)
    with suppress(SQLAlchemyError):  # no database yet: /health/ready will say so
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
    )
    problems.install(app)
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
