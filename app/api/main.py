"""The FastAPI application: routers registered on one app."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.exc import SQLAlchemyError

from app.api import auth, metrics, problems
from app.api.limits import BodyLimits
from app.api.logging import AccessLogMiddleware, configure_logging
from app.api.params import reject_unusable_input
from app.api.ratelimit import RateLimit, document
from app.api.request_id import HEADER as REQUEST_ID
from app.api.request_id import RequestIdMiddleware
from app.api.routes import (
    audit,
    diff,
    exports,
    health,
    jobs,
    keys,
    layers,
    ogc,
    places,
    rasters,
    regions,
    screenings,
    summaries,
    tiles,
    web,
)
from app.api.uploads import remove_stale_uploads
from app.config import Settings, get_settings
from app.queue import QueueUnavailable
from app.store.jobs import recover_interrupted_jobs
from app.store.rasters import remove_stale_temp_files


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Requeue or fail the jobs whose worker is gone; remove temp files a crash left behind."""
    started = time.time()
    remove_stale_uploads(started)
    remove_stale_temp_files(started)
    with suppress(SQLAlchemyError, QueueUnavailable):  # no database: /health/ready says so
        recover_interrupted_jobs()
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application with its error handlers, routers and static files (SETTINGS override
    the environment's access settings: open reads, CORS origins)."""
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="Redline",
        description="Ecological zoning layers, site screening and planning summaries "
        "(生态保护红线、自然保护地、乡镇级主体功能区).",
        version="0.1.0",
        dependencies=[Depends(reject_unusable_input)],
    )
    app.state.settings = settings
    configure_logging()
    problems.install(app)
    document(app)  # after problems.install: the 429 refers to its Problem schema
    auth.install(app)
    # Outermost first: throttled clients are refused before their body is even read.
    app.add_middleware(BodyLimits)
    app.add_middleware(RateLimit)
    app.include_router(metrics.router)
    app.include_router(health.router)
    app.include_router(layers.router)
    app.include_router(diff.router)
    app.include_router(screenings.router)
    app.include_router(jobs.router)
    app.include_router(summaries.router)
    app.include_router(regions.router)
    app.include_router(places.router)
    app.include_router(rasters.router)
    app.include_router(tiles.router)
    app.include_router(exports.router)
    app.include_router(ogc.router)
    app.include_router(keys.router)
    app.include_router(audit.router)
    app.include_router(web.router)
    web.mount_static(app)
    # Added later = further out: the request id is set before the access log line is written.
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    # Keys travel in headers, never cookies: only listed origins' pages may send them.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "X-API-Key", "Content-Type", REQUEST_ID],
        expose_headers=[REQUEST_ID, "X-Redline-Job", "Location", "Content-Crs"],
    )
    return app


app = create_app()
