"""OGC API - Features under /ogc: GDAL/QGIS/ArcGIS read the layers as standard collections."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from app.api.deps import DbSession
from app.publish import ogc

router = APIRouter(prefix="/ogc", tags=["ogc"])
CollectionId = Annotated[str, Path(alias="collectionId", description="A layer id, e.g. township")]
FeatureId = Annotated[str, Path(alias="featureId")]
_FORMAT = {"parameters": [ogc.FORMAT_PARAMETER]}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _geojson(body: dict[str, Any], crs_uri: str) -> JSONResponse:
    return JSONResponse(body, media_type=ogc.GEOJSON, headers={"Content-Crs": f"<{crs_uri}>"})


@router.get("", summary="Landing page", openapi_extra=_FORMAT)
def landing_page(request: Request) -> JSONResponse:
    return JSONResponse(ogc.landing_page(_base(request), _params(request)))


@router.get("/api", summary="API definition of the OGC API (OpenAPI 3.0)")
def api_definition(request: Request, session: DbSession) -> JSONResponse:
    document = ogc.api_document(session, request.app.openapi(), _base(request))
    return JSONResponse(document, media_type=ogc.OPENAPI)


@router.get("/conformance", summary="Conformance classes", openapi_extra=_FORMAT)
def conformance(request: Request) -> JSONResponse:
    return JSONResponse(ogc.conformance_document(_params(request)))


@router.get("/collections", summary="Layers with an active version", openapi_extra=_FORMAT)
def collections(request: Request, session: DbSession) -> JSONResponse:
    return JSONResponse(ogc.collections_document(session, _base(request), _params(request)))


@router.get("/collections/{collectionId}", summary="One collection", openapi_extra=_FORMAT)
def collection(collection_id: CollectionId, request: Request, session: DbSession) -> JSONResponse:
    body = ogc.single_collection_document(session, _base(request), collection_id, _params(request))
    return JSONResponse(body)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Filterable properties (JSON Schema)",
    openapi_extra=_FORMAT,
)
def queryables(collection_id: CollectionId, request: Request, session: DbSession) -> JSONResponse:
    body = ogc.collection_queryables(session, _base(request), collection_id, _params(request))
    return JSONResponse(body, media_type=ogc.SCHEMA_JSON)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features (GeoJSON), paged, filtered with bbox and CQL2 text",
    openapi_extra={"parameters": ogc.ITEMS_PARAMETERS},
)
def items(collection_id: CollectionId, request: Request, session: DbSession) -> JSONResponse:
    return _geojson(*ogc.items(session, _base(request), collection_id, _params(request)))


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature (GeoJSON)",
    openapi_extra={"parameters": ogc.ITEM_PARAMETERS},
)
def feature(
    collection_id: CollectionId, feature_id: FeatureId, request: Request, session: DbSession
) -> JSONResponse:
    body, crs_uri = ogc.item(session, _base(request), collection_id, feature_id, _params(request))
    return _geojson(body, crs_uri)
