"""Query parameters of the OGC API routes as FastAPI dependencies.

They only parse (no I/O), so they are `async`: FastAPI runs a plain `def` dependency in a
worker thread, a hop each per request.

FastAPI documents them in the OpenAPI (and so in /ogc/api); OGC API - Features wants 400 for
a parameter it cannot use, so `OgcRoute` turns FastAPI's validation errors into 400 problems
and `no_other_parameters` rejects parameters a route does not declare.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.api.params import MAX_INT
from app.publish.cql import BadParameter
from app.publish.ogc import CRS84, DEFAULT_LIMIT, ItemsRequest
from app.store.features import MAX_LIMIT, parse_bbox

_CRS_HELP = "one of the collection's `crs` URIs (or EPSG:xxxx); default " + CRS84


class OgcRoute(APIRoute):
    """An APIRoute whose invalid query parameters are 400 problems, as OGC API asks."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, with RequestValidationError re-raised as BadParameter."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                problems = [f"{e['loc'][-1]}={e.get('input')!r}: {e['msg']}" for e in exc.errors()]
                raise BadParameter("; ".join(problems) + ".") from exc

        return route


def declared_parameters(request: Request) -> list[str]:
    """The query parameter names the matched route declares (through all its dependencies)."""
    return list(dict.fromkeys(_query_names(request.scope["route"].dependant)))


def _query_names(dependant: Dependant) -> list[str]:
    names = [param.alias for param in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_names(sub)
    return names


async def no_other_parameters(request: Request) -> None:
    """Reject query parameters the route does not declare."""
    declared = declared_parameters(request)
    unknown = sorted(set(request.query_params) - set(declared))
    if unknown:
        raise BadParameter(
            f"Unknown query parameter(s) {', '.join(unknown)}: use {', '.join(declared)}."
        )


def _check_format(value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise BadParameter(f"f={value!r} is not offered; use f={allowed[0]} or leave f out.")


async def json_format(
    f: Annotated[str | None, Query(description="Response format: json (the default).")] = None,
) -> None:
    """`f`: only JSON is offered."""
    _check_format(f, ("json",))


async def geojson_format(
    f: Annotated[
        str | None, Query(description="Response format: json or geojson (the default).")
    ] = None,
) -> None:
    """`f` of feature responses: JSON (GeoJSON)."""
    _check_format(f, ("json", "geojson"))


async def output_crs(
    crs: Annotated[str | None, Query(description=f"Output CRS: {_CRS_HELP}.")] = None,
) -> str | None:
    """`crs`: the output CRS as given; the collection decides whether it is offered."""
    return crs


def _comma_list(value: str | None) -> list[str] | None:
    return None if value is None else [n.strip() for n in value.split(",") if n.strip()]


async def items_request(
    request: Request,
    limit: Annotated[
        int, Query(ge=1, description=f"Features per page (values above {MAX_LIMIT} are clamped).")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_INT, description="Features to skip.")] = 0,
    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs, axis "
            "order of that CRS (CRS84: lon,lat)."
        ),
    ] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", description=f"CRS of bbox: {_CRS_HELP}.")
    ] = None,
    crs: Annotated[str | None, Query(description=f"Output CRS: {_CRS_HELP}.")] = None,
    properties: Annotated[
        str | None, Query(description="Comma-separated property names to return.")
    ] = None,
    filter_text: Annotated[
        str | None, Query(alias="filter", description="CQL2 text filter over the queryables.")
    ] = None,
    filter_lang: Annotated[
        Literal["cql2-text", "cql-text"],
        # cql-text is the pre-CQL2 name GDAL <= 3.6 sends; its syntax for simple filters is CQL2's.
        Query(alias="filter-lang", description="Filter language."),
    ] = "cql2-text",
    filter_crs: Annotated[
        str | None,
        Query(alias="filter-crs", description=f"CRS of geometry literals in filter: {_CRS_HELP}."),
    ] = None,
    datetime: Annotated[
        str | None, Query(description="Accepted and ignored: the layers have no time dimension.")
    ] = None,
) -> ItemsRequest:
    """The items parameters; any other parameter is kept in `extra` (queryable = value)."""
    declared = set(declared_parameters(request))
    return ItemsRequest(
        limit=min(limit, MAX_LIMIT),
        offset=offset,
        bbox=parse_bbox(bbox, BadParameter),
        bbox_crs=bbox_crs,
        crs=crs,
        properties=_comma_list(properties),
        filter=filter_text if filter_text and filter_text.strip() else None,
        filter_crs=filter_crs,
        extra={k: v for k, v in request.query_params.items() if k not in declared},
        link_params=dict(request.query_params),
    )
