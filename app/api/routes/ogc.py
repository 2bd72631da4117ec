"""OGC API - Features under /ogc: GDAL/QGIS/ArcGIS read the layers as standard collections."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from app.api.deps import DbSession
from app.api.ogc_params import (
    OgcRoute,
    declared_parameters,
    geojson_format,
    items_request,
    json_format,
    no_other_parameters,
    output_crs,
)
from app.api.problems import problem_responses
from app.publish import ogc

# OgcRoute turns invalid parameters into 400 (OGC API's choice), never 422.
router = APIRouter(
    prefix="/ogc", tags=["ogc"], route_class=OgcRoute, responses=problem_responses(400, 404)
)
CollectionId = Annotated[str, Path(alias="collectionId", description="A layer id, e.g. township")]
FeatureId = Annotated[str, Path(alias="featureId")]
# Every route but items (whose extra parameters are queryables) rejects undeclared parameters.
Strict = [Depends(no_other_parameters)]
JsonOnly = [*Strict, Depends(json_format)]


def _media(media_type: str) -> dict[int | str, Any]:
    """The 200 response's media type, for routes that answer other than application/json."""
    return {200: {"content": {media_type: {"schema": {"type": "object"}}}}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _geojson(body: dict[str, Any], crs_uri: str) -> JSONResponse:
    return JSONResponse(body, media_type=ogc.GEOJSON, headers={"Content-Crs": f"<{crs_uri}>"})


@router.get("", summary="Landing page", dependencies=JsonOnly)
def landing_page(request: Request) -> JSONResponse:
    """Links to the API definition, conformance classes and collections."""
    return JSONResponse(ogc.landing_page(_base(request)))


@router.get(
    "/api",
    summary="API definition of the OGC API (OpenAPI 3.0)",
    dependencies=Strict,
    responses=_media(ogc.OPENAPI),
)
def api_definition(request: Request, session: DbSession) -> JSONResponse:
    """This application's OpenAPI reduced to /ogc, with one items path per collection."""
    document = ogc.api_document(session, request.app.openapi(), _base(request))
    return JSONResponse(document, media_type=ogc.OPENAPI)


@router.get("/conformance", summary="Conformance classes", dependencies=JsonOnly)
def conformance() -> JSONResponse:
    """The conformance classes implemented."""
    return JSONResponse(ogc.conformance_document())


@router.get("/collections", summary="Layers with an active version", dependencies=JsonOnly)
def collections(request: Request, session: DbSession) -> JSONResponse:
    """Every layer with an active version as a collection."""
    return JSONResponse(ogc.collections_document(session, _base(request)))


@router.get("/collections/{collectionId}", summary="One collection", dependencies=JsonOnly)
def collection(collection_id: CollectionId, request: Request, session: DbSession) -> JSONResponse:
    """One collection: extent, CRSs and links."""
    found = ogc.get_collection(session, collection_id)
    return JSONResponse(ogc.collection_document(found, _base(request)))


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Filterable properties (JSON Schema)",
    dependencies=JsonOnly,
    responses=_media(ogc.SCHEMA_JSON),
)
def queryables(collection_id: CollectionId, request: Request, session: DbSession) -> JSONResponse:
    """The collection's queryables as a JSON Schema."""
    found = ogc.get_collection(session, collection_id)
    body = ogc.queryables_document(found, _base(request))
    return JSONResponse(body, media_type=ogc.SCHEMA_JSON)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features (GeoJSON), paged, filtered with bbox and CQL2 text",
    dependencies=[Depends(geojson_format)],
    responses=_media(ogc.GEOJSON),
)
def items(
    collection_id: CollectionId,
    request: Request,
    session: DbSession,
    params: Annotated[ogc.ItemsRequest, Depends(items_request)],
) -> JSONResponse:
    """A page of features; queryable properties also work as name=value parameters."""
    declared = declared_parameters(request)
    return _geojson(*ogc.items(session, _base(request), collection_id, params, declared))


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature (GeoJSON)",
    dependencies=[*Strict, Depends(geojson_format)],
    responses=_media(ogc.GEOJSON),
)
def feature(
    collection_id: CollectionId,
    feature_id: FeatureId,
    request: Request,
    session: DbSession,
    crs: Annotated[str | None, Depends(output_crs)],
) -> JSONResponse:
    """One feature of the active version."""
    return _geojson(*ogc.item(session, _base(request), collection_id, feature_id, crs))
