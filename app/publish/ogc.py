"""OGC API - Features (Part 1 core, Part 2 CRS, Part 3 filtering) over the active layer versions.

Builds every document and runs the SQL; knows nothing about HTTP. Links are absolute,
built from the `base` URL the router passes in.
"""

import copy
import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import pyproj
import shapely
from sqlalchemy import BigInteger, Boolean, ColumnElement, Date, Float, Row, cast, func, select
from sqlalchemy.orm import Session

from app.catalog import AttributeSpec, LayerSpec, catalog, get_layer_spec
from app.errors import NotFound
from app.geo.crs import gk_zone_epsg
from app.publish import cql
from app.publish.cql import BadParameter, Queryable, SpatialContext
from app.store import layers as store
from app.store.models import Feature, FeaturePart, LayerVersion

PREFIX = "/ogc"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4490"
GEOJSON = "application/geo+json"
JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10000
# cql-text is the pre-CQL2 name GDAL <= 3.6 sends; its syntax for simple filters is CQL2's.
FILTER_LANGS = ("cql2-text", "cql-text")

_FEATURES = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/{}"
CONFORMANCE = [
    _FEATURES.format(1, "core"),
    _FEATURES.format(1, "geojson"),
    _FEATURES.format(1, "oas30"),
    _FEATURES.format(2, "crs"),
    _FEATURES.format(3, "filter"),
    _FEATURES.format(3, "features-filter"),
    _FEATURES.format(3, "queryables"),
    _FEATURES.format(3, "queryables-query-parameters"),
    _CQL2.format("cql2-text"),
    _CQL2.format("basic-cql2"),
    _CQL2.format("advanced-comparison-operators"),
    # The spatial class was renamed between CQL2 drafts; clients look for either spelling.
    _CQL2.format("basic-spatial-functions"),
    _CQL2.format("basic-spatial-operators"),
]
_GEOMETRY_FORMAT = {
    "polygon": "geometry-polygon-or-multipolygon",
    "line": "geometry-linestring-or-multilinestring",
    "point": "geometry-point-or-multipoint",
}
_MEASURE = {"polygon": ("area_m2", "面积（平方米）"), "line": ("length_m", "长度（米）")}
_SCHEMA_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
}
_CASTS = {"integer": BigInteger, "number": Float, "boolean": Boolean, "date": Date}


def _param(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


_CRS_SCHEMA = {"type": "string", "format": "uri", "default": CRS84}
FORMAT_PARAMETER = _param("f", "Response format.", {"type": "string", "enum": ["json"]})
_CRS = _param("crs", "Output CRS: one of the collection's `crs` URIs (or EPSG:xxxx).", _CRS_SCHEMA)
ITEMS_PARAMETERS = [
    _param(
        "limit",
        f"Features per page (values above {MAX_LIMIT} are clamped).",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    _param("offset", "Features to skip.", {"type": "integer", "minimum": 0, "default": 0}),
    _param(
        "bbox",
        "minx,miny,maxx,maxy in bbox-crs, axis order of that CRS (CRS84: lon,lat).",
        {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
        style="form",
        explode=False,
    ),
    _param("bbox-crs", "CRS of bbox.", _CRS_SCHEMA),
    _CRS,
    _param(
        "properties",
        "Comma-separated property names to return.",
        {"type": "array", "items": {"type": "string"}},
        style="form",
        explode=False,
    ),
    _param("filter", "CQL2 text filter over the queryables.", {"type": "string"}),
    _param(
        "filter-lang",
        "Filter language.",
        {"type": "string", "enum": list(FILTER_LANGS), "default": "cql2-text"},
    ),
    _param("filter-crs", "CRS of geometry literals in filter.", _CRS_SCHEMA),
    _param("datetime", "Accepted and ignored: the layers have no time dimension.", {}),
    FORMAT_PARAMETER,
]
ITEM_PARAMETERS = [_CRS, FORMAT_PARAMETER]
_ITEMS_NAMES = {p["name"] for p in ITEMS_PARAMETERS}


# --- coordinate reference systems -------------------------------------------------------------


@dataclass(frozen=True)
class OgcCrs:
    """A CRS as the API offers it: its URI, PostGIS SRID and EPSG axis order."""

    uri: str
    srid: int
    north_first: bool  # the CRS lists latitude/northing first: PostGIS x/y must be swapped
    geographic: bool

    @property
    def digits(self) -> int:
        return 7 if self.geographic else 3  # about 1 cm / 1 mm


def epsg_uri(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


@lru_cache(maxsize=64)
def ogc_crs(uri: str) -> OgcCrs:
    """Axis order from the EPSG definition itself, not a hard-coded list."""
    if uri == CRS84:
        definition, srid = pyproj.CRS.from_user_input("OGC:CRS84"), 4326
    else:
        srid = int(uri.rsplit("/", 1)[1])
        definition = pyproj.CRS.from_epsg(srid)
    north_first = definition.axis_info[0].direction in ("north", "south")
    return OgcCrs(uri, srid, north_first, definition.is_geographic)


def crs_uri(value: str) -> str:
    """Accept a URI, a safe CURIE [EPSG:4490], EPSG:4490 or CRS84 and return the URI."""
    text = value.strip().removeprefix("[").removesuffix("]")
    if text.upper() in ("CRS84", "OGC:CRS84") or text.replace("https:", "http:") == CRS84:
        return CRS84
    match = re.fullmatch(r"(?i)(?:EPSG:|https?://www\.opengis\.net/def/crs/EPSG/0/)(\d+)", text)
    return epsg_uri(int(match[1])) if match else text


def gk_zones(min_lon: float, max_lon: float) -> range:
    """CGCS2000 3-degree zones (central meridian 3 × zone) that the longitudes span."""
    first, last = (math.floor((lon + 1.5) / 3) for lon in (min_lon, max_lon))
    return range(max(first, 25), min(last, 45) + 1)


def offered_crs(extent: Sequence[float] | None) -> list[str]:
    codes = [4490, 4326, 3857]
    if extent is not None:
        zones = gk_zones(extent[0], extent[2])
        codes += [gk_zone_epsg(z) for z in zones]
        codes += [gk_zone_epsg(z, zone_prefixed=False) for z in zones]
    return [CRS84, *(epsg_uri(c) for c in codes)]


def _choose_crs(params: Mapping[str, str], name: str, offered: list[str]) -> OgcCrs:
    value = params.get(name)
    if value is None:
        return ogc_crs(CRS84)
    uri = crs_uri(value)
    if uri not in offered:
        raise BadParameter(
            f"{name}={value!r} is not offered for this collection. Use one of: "
            f"{', '.join(offered)}."
        )
    return ogc_crs(uri)


# --- collections ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    spec: LayerSpec
    version: LayerVersion
    extent: tuple[float, float, float, float] | None

    @property
    def crs(self) -> list[str]:
        return offered_crs(self.extent)

    @property
    def measure(self) -> str | None:
        entry = _MEASURE.get(self.spec.geometry_type)
        return entry[0] if entry else None

    @property
    def property_names(self) -> list[str]:
        names = [a.name for a in self.spec.attributes]
        return [*names, self.measure] if self.measure else names


def _extents(session: Session, version_ids: list[int]) -> dict[int, tuple[float, ...]]:
    box = func.ST_Extent(Feature.geom)
    rows = session.execute(
        select(
            Feature.version_id,
            func.ST_XMin(box),
            func.ST_YMin(box),
            func.ST_XMax(box),
            func.ST_YMax(box),
        )
        .where(Feature.version_id.in_(version_ids))
        .group_by(Feature.version_id)
    ).all()
    return {r[0]: tuple(round(v, 7) for v in r[1:]) for r in rows}


def all_collections(session: Session) -> list[Collection]:
    """Every catalog layer with an active version, in catalog id order."""
    versions = store.active_versions(session)
    extents = _extents(session, [v.id for v in versions.values()])
    specs = catalog()
    return [
        Collection(specs[layer_id], version, extents.get(version.id))
        for layer_id, version in sorted(versions.items())
    ]


def get_collection(session: Session, collection_id: str) -> Collection:
    spec = get_layer_spec(collection_id)
    _, layer = store.get_layer(session, collection_id)
    version = store.active_version(session, layer)
    if version is None:
        raise NotFound(f"Layer {collection_id} has no active version yet: import data first.")
    return Collection(spec, version, _extents(session, [version.id]).get(version.id))


def _link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": media_type}
    return {**link, "title": title} if title else link


def _check_format(params: Mapping[str, str], allowed: tuple[str, ...] = ("json",)) -> None:
    value = params.get("f")
    if value is not None and value not in allowed:
        raise BadParameter(f"f={value!r} is not offered; use f={allowed[0]} or leave f out.")


def collection_document(collection: Collection, base: str) -> dict[str, Any]:
    spec, version = collection.spec, collection.version
    url = f"{base}{PREFIX}/collections/{spec.id}"
    doc: dict[str, Any] = {
        "id": spec.id,
        "title": f"{spec.title_zh} ({spec.title_en})",
        "description": f"{spec.title_zh} / {spec.title_en}: active version {version.version}, "
        f"{version.feature_count} features, source {version.source_name or 'unknown'}.",
        "itemType": "feature",
        "crs": collection.crs,
        "storageCrs": STORAGE_CRS,
        "links": [
            _link(url, "self", JSON, "This collection"),
            _link(f"{url}/items", "items", GEOJSON, "The features"),
            _link(f"{url}/queryables", QUERYABLES_REL, SCHEMA_JSON, "Filterable properties"),
        ],
    }
    if collection.extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(collection.extent)], "crs": CRS84}}
    return doc


def collections_document(session: Session, base: str, params: Mapping[str, str]) -> dict:
    _check_format(params)
    return {
        "links": [_link(f"{base}{PREFIX}/collections", "self", JSON, "The collections")],
        "collections": [collection_document(c, base) for c in all_collections(session)],
    }


def single_collection_document(
    session: Session, base: str, collection_id: str, params: Mapping[str, str]
) -> dict[str, Any]:
    _check_format(params)
    return collection_document(get_collection(session, collection_id), base)


# --- landing page, conformance, API definition -----------------------------------------------


def landing_page(base: str, params: Mapping[str, str]) -> dict[str, Any]:
    _check_format(params)
    root = f"{base}{PREFIX}"
    return {
        "title": "Redline OGC API - Features",
        "description": "生态保护红线、自然保护地、乡镇级主体功能区等图层 "
        "(ecological zoning layers), CGCS2000.",
        "links": [
            _link(root, "self", JSON, "This document"),
            # The OGC API's own definition: GDAL <= 3.6 reads filter support from its paths.
            _link(f"{root}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            _link(f"{base}/docs", "service-doc", "text/html", "The API documentation"),
            _link(f"{root}/conformance", "conformance", JSON, "Conformance classes"),
            _link(f"{root}/collections", "data", JSON, "The collections"),
        ],
    }


def conformance_document(params: Mapping[str, str]) -> dict[str, list[str]]:
    _check_format(params)
    return {"conformsTo": CONFORMANCE}


def api_document(session: Session, openapi: Mapping[str, Any], base: str) -> dict[str, Any]:
    """The application's OpenAPI reduced to /ogc, with paths relative to the OGC API root.

    Each collection gets its own items path listing its queryables as parameters: that is
    how GDAL's OAPIF driver (<= 3.6) learns which properties it may filter server-side.
    """
    paths = {
        path.removeprefix(PREFIX) or "/": copy.deepcopy(item)
        for path, item in openapi["paths"].items()
        if path == PREFIX or path.startswith(PREFIX + "/")
    }
    generic = paths["/collections/{collectionId}/items"]["get"]
    for collection in all_collections(session):
        paths[f"/collections/{collection.spec.id}/items"] = {
            "get": _collection_items_operation(generic, collection)
        }
    return {
        **openapi,
        "info": {**openapi["info"], "title": "Redline OGC API - Features"},
        "servers": [{"url": f"{base}{PREFIX}"}],
        "paths": paths,
    }


def _collection_items_operation(generic: Mapping[str, Any], collection: Collection) -> dict:
    operation = copy.deepcopy(dict(generic))
    spec = collection.spec
    operation["operationId"] = f"{generic.get('operationId', 'items')}_{spec.id}"
    operation["summary"] = f"Features of {spec.id} ({spec.title_zh})"
    schemas = queryables_document(collection, "")["properties"]
    operation["parameters"] = [
        p for p in operation.get("parameters", []) if p.get("name") != "collectionId"
    ] + [
        _param(name, schema.get("title", name), _without_title(schema))
        for name, schema in schemas.items()
        if name != "geometry"
    ]
    return operation


def _without_title(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "title"}


# --- queryables -------------------------------------------------------------------------------


def _attribute_column(attribute: AttributeSpec) -> ColumnElement:
    """attributes->>'name', cast to the catalog type so comparisons are typed."""
    text_value = Feature.attributes[attribute.name].astext
    sql_type = _CASTS.get(attribute.type)
    return cast(text_value, sql_type) if sql_type else text_value


def queryables(collection: Collection) -> dict[str, Queryable]:
    found = {
        a.name: Queryable(a.name, a.type, _attribute_column(a)) for a in collection.spec.attributes
    }
    if collection.measure:
        found[collection.measure] = Queryable(
            collection.measure, "number", getattr(Feature, collection.measure)
        )
    return found


def _attribute_schema(attribute: AttributeSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": attribute.label_zh or attribute.name}
    schema.update(_SCHEMA_TYPES[attribute.type])
    if attribute.allowed:
        schema["enum"] = list(attribute.allowed)
    return schema


def queryables_document(collection: Collection, base: str) -> dict[str, Any]:
    spec = collection.spec
    properties: dict[str, Any] = {
        "geometry": {
            "title": "几何 (geometry)",
            "format": _GEOMETRY_FORMAT[spec.geometry_type],
            "x-ogc-role": "primary-geometry",
        }
    }
    properties.update({a.name: _attribute_schema(a) for a in spec.attributes})
    if collection.measure:
        label = _MEASURE[spec.geometry_type][1]
        properties[collection.measure] = {"title": label, "type": "number"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}{PREFIX}/collections/{spec.id}/queryables",
        "type": "object",
        "title": f"{spec.title_zh} ({spec.title_en})",
        "properties": properties,
        "additionalProperties": False,
    }


def collection_queryables(
    session: Session, base: str, collection_id: str, params: Mapping[str, str]
) -> dict[str, Any]:
    _check_format(params)
    return queryables_document(get_collection(session, collection_id), base)


# --- items --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemsQuery:
    limit: int
    offset: int
    crs: OgcCrs
    bbox: tuple[float, float, float, float] | None
    bbox_crs: OgcCrs
    properties: list[str]
    filter: str | None
    filter_crs: OgcCrs
    equals: dict[str, Any]  # queryables used as query parameters: name=value


def _integer(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number: int | None = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise BadParameter(f"{name}={value!r} must be an integer >= {minimum}.")
    return number


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 6:  # minx,miny,minz,maxx,maxy,maxz: heights play no part here
        numbers = numbers[:2] + numbers[3:5]
    if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
        raise BadParameter(
            f"bbox={value!r} must be four numbers minx,miny,maxx,maxy in the axis order of "
            "bbox-crs (CRS84: lon,lat), e.g. bbox=106.5,31.5,107.5,32.5."
        )
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _properties(value: str | None, available: list[str]) -> list[str]:
    if value is None:
        return available
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise BadParameter(
            f"properties: {', '.join(unknown)} not in this collection. "
            f"Available: {', '.join(available)}."
        )
    return names


def _filter(params: Mapping[str, str]) -> str | None:
    lang = params.get("filter-lang", "cql2-text")
    if lang not in FILTER_LANGS:
        raise BadParameter(f"filter-lang={lang!r} is not supported; use cql2-text.")
    text = params.get("filter")
    return text if text and text.strip() else None


def _equals(params: Mapping[str, str], found: Mapping[str, Queryable]) -> dict[str, Any]:
    equals = {}
    for name, value in params.items():
        if name in _ITEMS_NAMES:
            continue
        queryable = found.get(name)
        if queryable is None:
            raise BadParameter(
                f"Unknown query parameter {name!r}. Use {', '.join(sorted(_ITEMS_NAMES))} "
                f"or a queryable: {', '.join(found)}."
            )
        try:
            equals[name] = cql.coerce(value, queryable.kind)
        except (TypeError, ValueError) as exc:
            raise BadParameter(f"{name}={value!r} is not a valid {queryable.kind}.") from exc
    return equals


def parse_items_query(params: Mapping[str, str], collection: Collection) -> ItemsQuery:
    _check_format(params, ("json", "geojson"))
    offered = collection.crs
    return ItemsQuery(
        limit=min(_integer(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT),
        offset=_integer(params, "offset", 0, 0),
        crs=_choose_crs(params, "crs", offered),
        bbox=_bbox(params.get("bbox")),
        bbox_crs=_choose_crs(params, "bbox-crs", offered),
        properties=_properties(params.get("properties"), collection.property_names),
        filter=_filter(params),
        filter_crs=_choose_crs(params, "filter-crs", offered),
        equals=_equals(params, queryables(collection)),
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
    if query.bbox is not None:
        x1, y1, x2, y2 = query.bbox
        ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
        box = {"type": "Polygon", "coordinates": [ring]}
        conditions.append(intersects(_literal_in(query.bbox_crs)(box)))
    conditions += [found[name].column == value for name, value in query.equals.items()]
    if query.filter is not None:
        spatial = SpatialContext(Feature.geom, _literal_in(query.filter_crs), intersects)
        conditions.append(cql.to_where(query.filter, found, spatial))
    return conditions


def _output_geometry(crs: OgcCrs) -> ColumnElement:
    geometry: ColumnElement = Feature.geom
    if crs.srid != 4490:
        geometry = func.ST_Transform(geometry, crs.srid)
    if crs.north_first:
        geometry = func.ST_FlipCoordinates(geometry)
    # options 0: no per-geometry "crs" member; the CRS travels in the Content-Crs header.
    return func.ST_AsGeoJSON(geometry, crs.digits, 0).label("geometry")


def _feature_columns(crs: OgcCrs) -> tuple[ColumnElement, ...]:
    return Feature.id, Feature.attributes, Feature.area_m2, Feature.length_m, _output_geometry(crs)


def _feature(row: Row, names: list[str]) -> dict[str, Any]:
    values = {**row.attributes, "area_m2": row.area_m2, "length_m": row.length_m}
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": json.loads(row.geometry),
        "properties": {name: values.get(name) for name in names},
    }


def _bounds(geometries: list[str], digits: int) -> list[float]:
    bounds = shapely.total_bounds(shapely.from_geojson(geometries))
    return [round(float(v), digits) for v in bounds]


def _page_links(
    base: str, collection_id: str, params: Mapping[str, str], query: ItemsQuery, more: bool
) -> list[dict[str, str]]:
    url = f"{base}{PREFIX}/collections/{collection_id}"

    def page(offset: int) -> str:
        return f"{url}/items?{urlencode({**params, 'limit': query.limit, 'offset': offset})}"

    links = [
        _link(page(query.offset), "self", GEOJSON, "This page"),
        _link(url, "collection", JSON, "The collection"),
    ]
    if more:
        links.append(_link(page(query.offset + query.limit), "next", GEOJSON, "Next page"))
    if query.offset > 0:
        previous = max(query.offset - query.limit, 0)
        links.append(_link(page(previous), "prev", GEOJSON, "Previous page"))
    return links


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def items(
    session: Session, base: str, collection_id: str, params: Mapping[str, str]
) -> tuple[dict[str, Any], str]:
    """One page of a collection's features as GeoJSON, and the URI of its CRS."""
    collection = get_collection(session, collection_id)
    query = parse_items_query(params, collection)
    conditions = _conditions(collection, query)
    matched = session.scalar(select(func.count()).select_from(Feature).where(*conditions)) or 0
    rows = session.execute(
        select(*_feature_columns(query.crs))
        .where(*conditions)
        .order_by(Feature.ordinal, Feature.id)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    body: dict[str, Any] = {"type": "FeatureCollection"}
    if rows:
        body["bbox"] = _bounds([r.geometry for r in rows], query.crs.digits)
    more = query.offset + len(rows) < matched
    body |= {
        "timeStamp": _now(),
        "numberMatched": matched,
        "numberReturned": len(rows),
        "features": [_feature(r, query.properties) for r in rows],
        "links": _page_links(base, collection_id, params, query, more),
    }
    return body, query.crs.uri


def item(
    session: Session, base: str, collection_id: str, feature_id: str, params: Mapping[str, str]
) -> tuple[dict[str, Any], str]:
    """One feature of the active version, and the URI of its CRS."""
    collection = get_collection(session, collection_id)
    _check_format(params, ("json", "geojson"))
    unknown = set(params) - {"crs", "f"}
    if unknown:
        raise BadParameter(f"Unknown query parameter(s) {', '.join(sorted(unknown))}: use crs, f.")
    crs = _choose_crs(params, "crs", collection.crs)
    row = None
    if feature_id.isdigit() and len(feature_id) < 19:  # beyond bigint: cannot exist
        row = session.execute(
            select(*_feature_columns(crs)).where(
                Feature.version_id == collection.version.id, Feature.id == int(feature_id)
            )
        ).first()
    if row is None:
        raise NotFound(
            f"Collection {collection_id} has no feature {feature_id!r} in its active version."
        )
    url = f"{base}{PREFIX}/collections/{collection_id}"
    body = _feature(row, collection.property_names)
    body["links"] = [
        _link(f"{url}/items/{row.id}", "self", GEOJSON, "This feature"),
        _link(url, "collection", JSON, "The collection"),
    ]
    return body, crs.uri
