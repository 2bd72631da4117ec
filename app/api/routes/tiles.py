"""Vector tiles, TileJSON and a MapLibre style of the active layer versions."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.api.auth import Reader
from app.api.deps import ReadSession
from app.api.models.files import file_response
from app.api.models.tiles import MapStyle, TileJson
from app.api.params import TileIndex
from app.api.problems import problem_responses
from app.catalog import get_layer_spec
from app.config import get_settings
from app.publish import mapstyle, tiles
from app.publish.reads import read_session

router = APIRouter(
    prefix="/tiles",
    tags=["tiles"],
    dependencies=[Reader],
    responses=problem_responses(401, 403, 404, 422),
)
MVT = "application/vnd.mapbox-vector-tile"
BASEMAP_HELP = "raster XYZ template drawn under the layers, e.g. a Tianditu URL with your key"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match: '*' or a list of (possibly weak) tags; weak comparison, per RFC 9110."""
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


# Registered before /{layer}.json, which would otherwise take "style" as a layer id.
# Both JSON routes return the documents app.publish shapes, with their Cache-Control.
@router.get("/style.json", response_model=MapStyle, responses=problem_responses(422))
def style(
    request: Request,
    session: ReadSession,
    basemap: Annotated[str | None, Query(description=BASEMAP_HELP)] = None,
) -> Response:
    """MapLibre style v8 of every layer with data, styled from the catalog, with a legend."""
    basemap = basemap or get_settings().basemap_url
    specs = [get_layer_spec(layer_id) for layer_id in tiles.published_layers(session)]
    body = mapstyle.map_style(
        specs,
        lambda layer_id: f"{_base(request)}/tiles/{layer_id}.json",
        mapstyle.check_basemap_url(basemap) if basemap else None,
    )
    # The style changes when layers get their first version: always revalidate.
    return _json(body, "no-cache")


@router.get("/{layer}.json", response_model=TileJson, responses=problem_responses(404, 422))
def tilejson(layer: str, request: Request, session: ReadSession) -> Response:
    """TileJSON 3.0.0: tile URL template, bounds, center and the layer's fields."""
    template = f"{_base(request)}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"
    return _json(tiles.tilejson(session, layer, template), "no-cache")


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={
        **file_response(MVT, description="A Mapbox vector tile"),
        204: {"description": "No feature in this tile: no body"},
        304: {"description": "Not modified: If-None-Match names the tile's ETag"},
        **problem_responses(404, 422),
    },
)
async def tile(
    layer: str,
    z: TileIndex,
    x: TileIndex,
    y: TileIndex,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A Mapbox vector tile (WebMercatorQuad) of the layer's active version."""
    # A cached tile is answered here on the event loop: no thread, no database.
    address = tiles.cached_address(layer, z, x, y)
    if address is not None:
        if _etag_matches(if_none_match, _etag(address)):
            return _tile_response(address, None)
        data = tiles.cached_tile(address)
        if data is not None:
            return _tile_response(address, data)
    return await run_in_threadpool(_render, layer, z, x, y, if_none_match)


def _render(layer: str, z: int, x: int, y: int, if_none_match: str | None) -> Response:
    with read_session() as session:
        address = tiles.locate_tile(session, layer, z, x, y)
        if _etag_matches(if_none_match, _etag(address)):
            return _tile_response(address, None)
        return _tile_response(address, tiles.render_tile(session, address))


def _etag(address: tiles.TileAddress) -> str:
    return f'"{address.fingerprint}"'


def _tile_response(address: tiles.TileAddress, data: bytes | None) -> Response:
    """200 with the tile, 204 for an empty tile, 304 (data None) when the client has it."""
    headers = {
        "ETag": _etag(address),
        "Cache-Control": f"public, max-age={get_settings().tile_max_age_s}",
    }
    if data is None:
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


def _json(body: dict, cache_control: str) -> Response:
    return JSONResponse(body, headers={"Cache-Control": cache_control})
