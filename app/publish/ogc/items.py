"""Items of a collection: OGC parameters → conditions for the shared items query, and paging."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import ColumnElement, Integer, Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.publish import cql
from app.publish.cql import BadParameter, Queryable, SpatialContext
from app.publish.ogc.collections import Collection, get_collection, queryables
from app.publish.ogc.crs import OgcCrs, choose_crs
from app.publish.ogc.documents import GEOJSON, JSON, PREFIX, link
from app.store import features as feature_store
from app.store.features import Bbox, GeometryOutput
from app.store.models import Feature, FeaturePart

DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class ItemsRequest:
    """The items query parameters as parsed from HTTP, not yet checked against a collection."""

    limit: int = DEFAULT_LIMIT  # already clamped to the items query's maximum
    offset: int = 0
    bbox: Bbox | None = None
    bbox_crs: str | None = None
    crs: str | None = None
    properties: list[str] | None = None
    filter: str | None = None
    filter_crs: str | None = None
    # Other parameters: queryable properties used as equality filters (name=value).
    extra: dict[str, str] = field(default_factory=dict)
    # The request's own query string, repeated in the paging links.
    link_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemsQuery:
    """An ItemsRequest resolved against one collection: CRSs chosen, values typed."""

    request: ItemsRequest
    crs: OgcCrs
    bbox_crs: OgcCrs
    filter_crs: OgcCrs
    properties: list[str]
    equals: dict[str, Any]


def _properties(names: list[str] | None, available: list[str]) -> list[str]:
    if names is None:
        return available
    unknown = [n for n in names if n not in available]
    if unknown:
        raise BadParameter(
            f"properties: {', '.join(unknown)} not in this collection. "
            f"Available: {', '.join(available)}."
        )
    return names


def _equals(
    extra: Mapping[str, str], found: Mapping[str, Queryable], declared: list[str]
) -> dict[str, Any]:
    equals = {}
    for name, value in extra.items():
        queryable = found.get(name)
        if queryable is None:
            raise BadParameter(
                f"Unknown query parameter {name!r}. Use {', '.join(sorted(declared))} "
                f"or a queryable: {', '.join(found)}."
            )
        try:
            equals[name] = cql.coerce(value, queryable.kind)
        except (TypeError, ValueError) as exc:
            raise BadParameter(f"{name}={value!r} is not a valid {queryable.kind}.") from exc
    return equals


def resolve(request: ItemsRequest, collection: Collection, declared: list[str]) -> ItemsQuery:
    """Check the request against the collection; `declared` names the route's own parameters."""
    offered = collection.crs
    return ItemsQuery(
        request=request,
        crs=choose_crs(request.crs, "crs", offered),
        bbox_crs=choose_crs(request.bbox_crs, "bbox-crs", offered),
        filter_crs=choose_crs(request.filter_crs, "filter-crs", offered),
        properties=_properties(request.properties, collection.property_names),
        equals=_equals(request.extra, queryables(collection), declared),
    )


def _literal_in(crs: OgcCrs) -> cql.GeometryLiteral:
    return lambda geometry: cql.geojson_literal(
        geometry, crs.srid, crs.north_first, densify=not crs.geographic
    )


def _intersecting(version_id: int) -> cql.Intersects:
    """Intersection tested on the subdivided parts: small boxes keep the GiST index sharp."""

    def condition(geometry: ColumnElement) -> ColumnElement:
        parts = select(FeaturePart.feature_id).where(
            FeaturePart.version_id == version_id, func.ST_Intersects(FeaturePart.geom, geometry)
        )
        return Feature.id.in_(parts)

    return condition


def _conditions(collection: Collection, query: ItemsQuery) -> list[ColumnElement]:
    intersects = _intersecting(collection.version.id)
    found = queryables(collection)
    conditions = [Feature.version_id == collection.version.id]
    if query.request.bbox is not None:
        x1, y1, x2, y2 = query.request.bbox
        ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
        box = {"type": "Polygon", "coordinates": [ring]}
        conditions.append(intersects(_literal_in(query.bbox_crs)(box)))
    conditions += [found[name].column == value for name, value in query.equals.items()]
    if query.request.filter is not None:
        spatial = SpatialContext(Feature.geom, _literal_in(query.filter_crs), intersects)
        conditions.append(cql.to_where(query.request.filter, found, spatial))
    return conditions


def _page_statement(conditions: list[ColumnElement], output: GeometryOutput) -> Select:
    """One page of features (file order) with their GeoJSON and bounds in the output CRS;
    `limit` and `offset` are bound parameters.

    The page's ids are chosen first: geometries are shaped for the rows returned only, not for
    the rows an offset skips; the shaped geometry is materialized so the GeoJSON and the four
    bounds transform it once."""
    ids = (
        select(Feature.id, Feature.ordinal)
        .where(*conditions)
        .order_by(Feature.ordinal, Feature.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    shaped = (
        select(
            Feature.id,
            Feature.attributes,
            Feature.area_m2,
            Feature.length_m,
            ids.c.ordinal,
            output.shape().label("shape"),
        )
        .join(ids, ids.c.id == Feature.id)
        .cte("shaped")
        .prefix_with("MATERIALIZED")
    )
    shape = shaped.c.shape
    return select(
        shaped.c.id,
        shaped.c.attributes,
        shaped.c.area_m2,
        shaped.c.length_m,
        output.geojson(shape),
        func.ST_XMin(shape).label("xmin"),
        func.ST_YMin(shape).label("ymin"),
        func.ST_XMax(shape).label("xmax"),
        func.ST_YMax(shape).label("ymax"),
    ).order_by(shaped.c.ordinal, shaped.c.id)


@lru_cache(maxsize=64)
def _whole_version_page(output: GeometryOutput) -> Select:
    """The statement of an unfiltered page, built once per output CRS (the version bound)."""
    return _page_statement([Feature.version_id == bindparam("version_id")], output)


def _page(
    session: Session,
    collection: Collection,
    conditions: list[ColumnElement],
    output: GeometryOutput,
    request: ItemsRequest,
) -> list[Row]:
    params = {"limit": min(request.limit, feature_store.MAX_LIMIT), "offset": request.offset}
    if len(conditions) == 1:  # the version only
        statement = _whole_version_page(output)
        params["version_id"] = collection.version.id
    else:
        statement = _page_statement(conditions, output)
    return list(session.connection().execute(statement, params).all())


def _matched(session: Session, collection: Collection, conditions: list[ColumnElement]) -> int:
    """Features matching: the version's own count when nothing but the version is asked."""
    if len(conditions) == 1:
        return collection.version.feature_count
    count = select(func.count()).select_from(Feature).where(*conditions)
    return session.connection().execute(count).scalar_one()


def _bounds(rows: list[Row], digits: int) -> list[float]:
    bounds = (
        min(r.xmin for r in rows),
        min(r.ymin for r in rows),
        max(r.xmax for r in rows),
        max(r.ymax for r in rows),
    )
    return [round(float(v), digits) for v in bounds]


def _feature(row: Row, names: list[str]) -> dict[str, Any]:
    """A GeoJSON Feature whose geometry is PostGIS's GeoJSON text as it is."""
    values = {**row.attributes, "area_m2": row.area_m2, "length_m": row.length_m}
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": orjson.Fragment(row.geometry),
        "properties": {name: values.get(name) for name in names},
    }


def _page_links(base: str, collection_id: str, request: ItemsRequest, more: bool) -> list[dict]:
    url = f"{base}{PREFIX}/collections/{collection_id}"

    def page(offset: int) -> str:
        params = {**request.link_params, "limit": request.limit, "offset": offset}
        return f"{url}/items?{urlencode(params)}"

    links = [
        link(page(request.offset), "self", GEOJSON, "This page"),
        link(url, "collection", JSON, "The collection"),
    ]
    if more:
        links.append(link(page(request.offset + request.limit), "next", GEOJSON, "Next page"))
    if request.offset > 0:
        previous = max(request.offset - request.limit, 0)
        links.append(link(page(previous), "prev", GEOJSON, "Previous page"))
    return links


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def items(
    session: Session, base: str, collection_id: str, request: ItemsRequest, declared: list[str]
) -> tuple[bytes, str]:
    """One page of a collection's features as GeoJSON (encoded), and the URI of its CRS."""
    collection = get_collection(session, collection_id)
    query = resolve(request, collection, declared)
    conditions = _conditions(collection, query)
    rows = _page(session, collection, conditions, query.crs.output, request)
    matched = _matched(session, collection, conditions)
    body: dict[str, Any] = {"type": "FeatureCollection"}
    if rows:
        body["bbox"] = _bounds(rows, query.crs.digits)
    more = request.offset + len(rows) < matched
    body |= {
        "timeStamp": _now(),
        "numberMatched": matched,
        "numberReturned": len(rows),
        "features": [_feature(r, query.properties) for r in rows],
        "links": _page_links(base, collection_id, request, more),
    }
    return orjson.dumps(body), query.crs.uri


def item(
    session: Session, base: str, collection_id: str, feature_id: str, crs: str | None
) -> tuple[dict[str, Any], str]:
    """One feature of the active version, and the URI of its CRS."""
    collection = get_collection(session, collection_id)
    output_crs = choose_crs(crs, "crs", collection.crs)
    row = None
    if feature_id.isdigit() and len(feature_id) < 19:  # beyond bigint: cannot exist
        row = session.execute(
            feature_store.select_features(output_crs.output).where(
                Feature.version_id == collection.version.id, Feature.id == int(feature_id)
            )
        ).first()
    if row is None:
        raise NotFound(
            f"Collection {collection_id} has no feature {feature_id!r} in its active version."
        )
    url = f"{base}{PREFIX}/collections/{collection_id}"
    body = feature_store.feature_json(row, collection.property_names)
    body["links"] = [
        link(f"{url}/items/{row.id}", "self", GEOJSON, "This feature"),
        link(url, "collection", JSON, "The collection"),
    ]
    return body, output_crs.uri
