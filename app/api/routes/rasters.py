"""Raster layers: list, upload a GeoTIFF version, zonal statistics per unit."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from app.api.auth import Editor, Reader
from app.api.deps import DbSession, ReadSession
from app.api.models.rasters import (
    RasterLayerView,
    RasterVersionView,
    UploadedRaster,
    ZonalStats,
)
from app.api.problems import problem_responses
from app.api.uploads import saved_upload
from app.catalog import get_raster_spec, raster_catalog
from app.store.models import RasterVersion
from app.store.rasters import active_rasters, import_raster
from app.summary.service import summarize

router = APIRouter(
    prefix="/rasters",
    tags=["rasters"],
    dependencies=[Reader],
    responses=problem_responses(401, 403),
)


@router.get("", response_model=list[RasterLayerView])
def list_rasters(session: ReadSession) -> list[RasterLayerView]:
    """Every catalog raster layer with its classes and active version."""
    active = active_rasters(session)
    return [RasterLayerView.of(spec, active.get(spec.id)) for spec in raster_catalog().values()]


@router.get(
    "/{raster_id}/versions",
    response_model=list[RasterVersionView],
    responses=problem_responses(404, 422),
)
def list_versions(raster_id: str, session: ReadSession) -> list[RasterVersionView]:
    """Every version of the raster layer, oldest first."""
    get_raster_spec(raster_id)
    rows = session.scalars(
        select(RasterVersion)
        .where(RasterVersion.raster_id == raster_id)
        .order_by(RasterVersion.version)
    ).all()
    return [RasterVersionView.of(v) for v in rows]


@router.post(
    "/{raster_id}/versions",
    status_code=201,
    response_model=UploadedRaster,
    responses=problem_responses(400, 404, 422),
)
async def upload_version(
    raster_id: str,
    editor: Editor,  # before the session: a refusal is audited on its own connection
    session: DbSession,
    file: Annotated[UploadFile, File(description="single-band GeoTIFF / COG with its CRS")],
    note: Annotated[str | None, Form()] = None,
) -> UploadedRaster:
    """Keep the GeoTIFF on disk as version N+1 (validated: CRS, one band, known classes)."""
    get_raster_spec(raster_id)
    async with saved_upload(file) as path:
        version = await run_in_threadpool(
            import_raster, session, raster_id, path, note, editor.name, path.name
        )
    return UploadedRaster.of_upload(raster_id, version)


@router.get("/{raster_id}/zonal", response_model=ZonalStats, responses=problem_responses(404, 422))
def zonal(
    raster_id: str,
    session: ReadSession,
    by: Annotated[str, Query(pattern="^(city|county|township)$")] = "township",
) -> ZonalStats:
    """Class shares (categorical) or min/mean/max (continuous) per admin unit."""
    return ZonalStats.of(raster_id, by, summarize(session, by, layers=[], rasters=[raster_id]))
