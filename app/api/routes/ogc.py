"""OGC API - Features under /ogc: GDAL/QGIS/ArcGIS read the layers as standard collections."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.api.auth import Reader
from app.api.deps import ReadSession
from app.api.models.ogc import (
    ApiDocument,
    Collections,
    CollectionView,
    Conformance,
    Feature,
    FeatureCollection,
    LandingPage,
    Queryables,
)
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
from app.publish.reads import read_session

router = APIRouter(
    prefix="/ogc",
    tags=["ogc"],
    route_class=OgcRoute,
    dependencies=[Reader],
    responses=problem_responses(400, 401, 403, 404),
)
CollectionId = Annotated[str, Path(alias="collectionId", description="A layer id, e.g. township")]
FeatureId = Annotated[str, Path(alias="featureId")]
# Every route but items (whose extra parameters are queryables) rejects undeclared parameters.
Strict = [Depends(no_other_parameters)]
JsonOnly = [*Strict, Depends(json_format)]


class GeoJsonResponse(JSONResponse):
    """JSON sent as application/geo+json."""

    media_type = ogc.GEOJSON


class SchemaJsonResponse(JSONResponse):
    """JSON sent as application/schema+json."""

    media_type = ogc.SCHEMA_JSON


class OpenApiResponse(JSONResponse):
    """JSON sent as the OpenAPI 3.0 media type."""

    media_type = ogc.OPENAPI


def _errors(*statuses: int) -> dict[int | str, Any]:
    """400, these statuses and `default` as problems.

    A `default` entry keeps FastAPI from documenting a 422: OgcRoute sends 400 instead.
    """
    default = {**problem_responses(400)[400], "description": "Any other error"}
    return {**problem_responses(400, *statuses), "default": default}


# Items and item say in which CRS their coordinates are (OGC API - Features Part 2).
_CRS_HEADER = {
    200: {
        "headers": {
            "Content-Crs": {
                "description": "URI of the coordinates' CRS, in angle brackets",
                "schema": {"type": "string"},
            }
        }
    }
}


# The routes send the documents app.publish.ogc shapes, as they are (media types, Content-Crs,
# pages of 10 000 features): the response models document them, tests/test_openapi.py checks.
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _geojson(body: dict[str, Any], crs_uri: str) -> JSONResponse:
    return GeoJsonResponse(body, headers={"Content-Crs": f"<{crs_uri}>"})


@router.get(
    "",
    summary="Landing page",
    dependencies=JsonOnly,
    response_model=LandingPage,
    responses=_errors(),
)
def landing_page(request: Request) -> JSONResponse:
    """Links to the API definition, conformance classes and collections."""
    return JSONResponse(ogc.landing_page(_base(request)))


@router.get(
    "/api",
    summary="API definition of the OGC API (OpenAPI 3.0)",
    dependencies=Strict,
    response_class=OpenApiResponse,
    response_model=ApiDocument,
    responses=_errors(),
)
def api_definition(request: Request, session: ReadSession) -> JSONResponse:
    """This application's OpenAPI reduced to /ogc, with one items path per collection."""
    document = ogc.api_document(session, request.app.openapi(), _base(request))
    return OpenApiResponse(document)


@router.get(
    "/conformance",
    summary="Conformance classes",
    dependencies=JsonOnly,
    response_model=Conformance,
    responses=_errors(),
)
def conformance() -> JSONResponse:
    """The conformance classes implemented."""
    return JSONResponse(ogc.conformance_document())


@router.get(
    "/collections",
    summary="Layers with an active version",
    dependencies=JsonOnly,
    response_model=Collections,
    responses=_errors(),
)
def collections(request: Request, session: ReadSession) -> JSONResponse:
    """Every layer with an active version as a collection."""
    return JSONResponse(ogc.collections_document(session, _base(request)))


@router.get(
    "/collections/{collectionId}",
    summary="One collection",
    dependencies=JsonOnly,
    response_model=CollectionView,
    responses=_errors(404),
)
def collection(collection_id: CollectionId, request: Request, session: ReadSession) -> JSONResponse:
    """One collection: extent, CRSs and links."""
    found = ogc.get_collection(session, collection_id)
    return JSONResponse(ogc.collection_document(found, _base(request)))


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Filterable properties (JSON Schema)",
    dependencies=JsonOnly,
    response_class=SchemaJsonResponse,
    response_model=Queryables,
    responses=_errors(404),
)
def queryables(collection_id: CollectionId, request: Request, session: ReadSession) -> JSONResponse:
    """The collection's queryables as a JSON Schema."""
    found = ogc.get_collection(session, collection_id)
    body = ogc.queryables_document(found, _base(request))
    return SchemaJsonResponse(body)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features (GeoJSON), paged, filtered with bbox and CQL2 text",
    dependencies=[Depends(geojson_format)],
    response_class=GeoJsonResponse,
    response_model=FeatureCollection,
    responses={**_CRS_HEADER, **_errors(404)},
)
async def items(
    collection_id: CollectionId,
    request: Request,
    params: Annotated[ogc.ItemsRequest, Depends(items_request)],
) -> Response:
    """A page of features; queryable properties also work as name=value parameters."""
    declared = declared_parameters(request)
    # One worker thread for the whole page (no session dependency: its opening and closing
    # would each take a thread hop), encoded by app.publish.ogc: orjson, geometries as
    # PostGIS wrote them.
    body, crs_uri = await run_in_threadpool(
        _items_page, _base(request), collection_id, params, declared
    )
    return Response(body, media_type=ogc.GEOJSON, headers={"Content-Crs": f"<{crs_uri}>"})


def _items_page(
    base: str, collection_id: str, params: ogc.ItemsRequest, declared: list[str]
) -> tuple[bytes, str]:
    # Without a transaction: the page reads one immutable version (app.publish.reads).
    with read_session() as session:
        return ogc.items(session, base, collection_id, params, declared)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature (GeoJSON)",
    dependencies=[*Strict, Depends(geojson_format)],
    response_class=GeoJsonResponse,
    response_model=Feature,
    responses={**_CRS_HEADER, **_errors(404)},
)
def feature(
    collection_id: CollectionId,
    feature_id: FeatureId,
    request: Request,
    session: ReadSession,
    crs: Annotated[str | None, Depends(output_crs)],
) -> JSONResponse:
    """One feature of the active version."""
    return _geojson(*ogc.item(session, _base(request), collection_id, feature_id, crs))
