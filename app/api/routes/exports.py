"""Downloads of layer versions: GeoPackage (with QGIS style), Shapefile zip, GeoJSON, KML, CSV."""

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.api.auth import Principal, Reader
from app.api.deps import DbSession
from app.api.models.files import file_response
from app.api.params import MAX_INT
from app.api.problems import problem_responses
from app.publish.exports import FORMATS, ExportFile, export_bundle, export_layer
from app.store import audit

router = APIRouter(
    prefix="/exports",
    tags=["exports"],
    dependencies=[Reader],
    responses=problem_responses(401, 403),
)
CRS_HELP = "output CRS, any EPSG code (default EPSG:4490); KML is always WGS 84"
Version = Annotated[
    int | None, Query(ge=1, le=MAX_INT, description="version number; default active")
]
Crs = Annotated[str | None, Query(description=CRS_HELP)]


def _download(result: ExportFile, workdir: Path) -> FileResponse:
    """The exported file, with headers naming its layer, CRS, version and notes."""
    # The file lives in a private temporary folder removed once the response is sent.
    headers = {
        "X-Redline-Layer": result.layer,
        "X-Redline-CRS": result.crs,
    }
    if result.version is not None:
        headers["X-Redline-Version"] = str(result.version)
    if result.notes:
        headers["X-Redline-Notes"] = " | ".join(result.notes).encode("ascii", "replace").decode()
    return FileResponse(
        result.path,
        media_type=result.media_type,
        filename=result.filename,
        headers=headers,
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


def _run(action: Callable[[Path], ExportFile]) -> FileResponse:
    """Run an export in a fresh temporary folder and answer with its file."""
    workdir = Path(tempfile.mkdtemp(prefix="redline-export-"))
    try:
        return _download(action(workdir), workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


@router.get(
    "/bundle.gpkg",
    response_class=FileResponse,
    responses={
        **file_response(FORMATS["gpkg"][1], description="A GeoPackage of every layer"),
        **problem_responses(422),
    },
)
def bundle(session: DbSession, crs: Crs = None, caller: Principal = Reader) -> FileResponse:
    """Every layer's active version in one GeoPackage, each with its default QGIS style."""
    audit.record(session, caller.name, "export", "bundle.gpkg", crs=crs)
    return _run(lambda workdir: export_bundle(session, workdir, crs))


@router.get(
    "/{layer_id}.{fmt}",
    response_class=FileResponse,
    responses={
        **file_response(
            *(media for _, media in FORMATS.values()), description="The layer in that format"
        ),
        **problem_responses(404, 422),
    },
)
def export(
    layer_id: str,
    fmt: str,
    session: DbSession,
    version: Version = None,
    crs: Crs = None,
    caller: Principal = Reader,
) -> FileResponse:
    """fmt: gpkg | zip (Shapefile) | geojson | kml | csv; attributes use catalog names."""
    audit.record(session, caller.name, "export", f"{layer_id}.{fmt}", version=version, crs=crs)
    return _run(lambda workdir: export_layer(session, layer_id, fmt, workdir, version, crs))
