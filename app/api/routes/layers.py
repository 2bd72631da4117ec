"""Layer catalog, versions, features and imports."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.api.auth import Editor, Reader
from app.api.deps import DbSession, ReadSession
from app.api.models.features import LayerFeatures
from app.api.models.layers import LayerDetail, LayerView, UploadedVersion, VersionView
from app.api.params import MAX_INT
from app.api.problems import problem_responses
from app.api.uploads import saved_upload
from app.catalog import catalog
from app.errors import NotFound
from app.store import layers as store
from app.store.features import MAX_LIMIT, feature_collection
from app.store.imports import ImportRequest, import_file
from app.summary.versions import versions_in_force

router = APIRouter(
    prefix="/layers", tags=["layers"], dependencies=[Reader], responses=problem_responses(401, 403)
)
BBOX_HELP = "minLon,minLat,maxLon,maxLat (EPSG:4490)"
FORMATS_HELP = "GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ or CSV"
CRS_HELP = "EPSG:xxxx, GCJ02 or BD09; default: the file's own CRS"
REGION_HELP = "6-digit division code: replace the layer only inside this region"
CONFIRM_HELP = "true to accept a version that shrinks the layer sharply (or the redline's area)"


@router.get("", response_model=list[LayerView])
def list_layers(session: ReadSession) -> list[LayerView]:
    """Every catalog layer with its active version, feature count and total area."""
    result = []
    for layer_id in sorted(catalog()):
        spec, layer = store.get_layer(session, layer_id)
        result.append(LayerView.of(spec, store.active_version(session, layer)))
    return result


@router.get("/{layer_id}", response_model=LayerDetail, responses=problem_responses(404, 422))
def get_layer(layer_id: str, session: ReadSession) -> LayerDetail:
    """One layer: attributes, key, style, screening rules and the active version's figures."""
    spec, layer = store.get_layer(session, layer_id)
    return LayerDetail.of(spec, store.active_version(session, layer))


@router.get(
    "/{layer_id}/versions",
    response_model=list[VersionView],
    responses=problem_responses(404, 422),
)
def list_versions(layer_id: str, session: ReadSession) -> list[VersionView]:
    """Every imported version of the layer (active, superseded, rejected), oldest first."""
    store.get_layer(session, layer_id)
    return [VersionView.of(v) for v in store.versions(session, layer_id)]


@router.get(
    "/{layer_id}/features",
    response_model=LayerFeatures,
    responses=problem_responses(404, 422),
)
def get_features(
    layer_id: str,
    session: ReadSession,
    bbox: Annotated[str | None, Query(description=BBOX_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_INT, description="a past version; default active")
    ] = None,
    as_of: Annotated[dt.date | None, Query(description="the version in force that day")] = None,
) -> JSONResponse:
    """GeoJSON FeatureCollection in EPSG:4490 (lon, lat); properties use catalog names."""
    _, layer = store.get_layer(session, layer_id)
    if as_of is not None and version is None:
        in_force = versions_in_force(session, as_of).get(layer_id)
        if in_force is None:
            raise NotFound(f"Layer {layer_id} had no version in force on {as_of}.")
        version = in_force.version
    found = store.resolve_version(session, layer, version)
    # Up to 10 000 features: sent as shaped, LayerFeatures documents them (tests check the fit).
    return JSONResponse(feature_collection(session, found, bbox, limit, offset))


@router.post(
    "/{layer_id}/versions",
    status_code=201,
    response_model=UploadedVersion,
    responses=problem_responses(400, 404, 409, 413, 422),
)
async def upload_version(
    layer_id: str,
    editor: Editor,  # before the session: a refusal is audited on its own connection
    session: DbSession,
    file: Annotated[UploadFile, File(description=FORMATS_HELP)],
    crs: Annotated[str | None, Form(description=CRS_HELP, max_length=100)] = None,
    encoding: Annotated[
        str | None, Form(description="attribute encoding, e.g. gbk", max_length=40)
    ] = None,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    confirm: Annotated[bool, Form(description=CONFIRM_HELP)] = False,
    region: Annotated[
        str | None, Form(description=REGION_HELP, pattern=r"^\d{6}$", max_length=6)
    ] = None,
) -> UploadedVersion:
    """Import a file as version N+1; it becomes active only if everything is valid."""
    store.get_layer(session, layer_id)
    async with saved_upload(file) as path:
        req = ImportRequest(
            layer_id, path, crs, encoding, note, editor.name, path.name, confirm, region
        )
        version = await run_in_threadpool(import_file, session, req)
    return UploadedVersion.of_upload(layer_id, version)
