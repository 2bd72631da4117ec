"""Raster layers: list, upload a GeoTIFF version, zonal statistics per unit."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from app.api.deps import DbSession
from app.api.serializers import raster_version_view
from app.api.uploads import saved_upload
from app.catalog import get_raster_spec, raster_catalog
from app.store.models import RasterVersion
from app.store.rasters import active_rasters, import_raster
from app.summary.service import summarize

router = APIRouter(prefix="/rasters", tags=["rasters"])


@router.get("")
def list_rasters(session: DbSession) -> list[dict]:
    active = active_rasters(session)
    return [
        {
            "id": spec.id,
            "title_zh": spec.title_zh,
            "title_en": spec.title_en,
            "kind": spec.kind,
            "classes": {k: c.model_dump() for k, c in spec.classes.items()},
            "active": raster_version_view(active[spec.id]) if spec.id in active else None,
        }
        for spec in raster_catalog().values()
    ]


@router.get("/{raster_id}/versions")
def list_versions(raster_id: str, session: DbSession) -> list[dict]:
    get_raster_spec(raster_id)
    rows = session.scalars(
        select(RasterVersion)
        .where(RasterVersion.raster_id == raster_id)
        .order_by(RasterVersion.version)
    ).all()
    return [raster_version_view(v) for v in rows]


@router.post("/{raster_id}/versions", status_code=201)
async def upload_version(
    raster_id: str,
    session: DbSession,
    file: Annotated[UploadFile, File(description="single-band GeoTIFF / COG with its CRS")],
    note: Annotated[str | None, Form()] = None,
    user: Annotated[str | None, Header(alias="X-Redline-User")] = None,
) -> dict:
    """Keep the GeoTIFF on disk as version N+1 (validated: CRS, one band, known classes)."""
    get_raster_spec(raster_id)
    async with saved_upload(file) as path:
        version = await run_in_threadpool(
            import_raster, session, raster_id, path, note, user, path.name
        )
    return {"raster": raster_id, **raster_version_view(version)}


@router.get("/{raster_id}/zonal")
def zonal(
    raster_id: str,
    session: DbSession,
    by: Annotated[str, Query(pattern="^(city|county|township)$")] = "township",
) -> dict:
    """Class shares (categorical) or min/mean/max (continuous) per admin unit."""
    result = summarize(session, by, layers=[], rasters=[raster_id])
    return {
        "raster": raster_id,
        "by": by,
        "version": result.get("raster_versions", {}),
        "rows": [
            {"code": r["code"], "name": r["name"], "parent": r["parent"], **r["rasters"][raster_id]}
            for r in result["rows"]
        ],
    }
