"""OGC API - Features documents: landing page, conformance, API definition, collections,
queryables. Links are absolute, built from the `base` URL the router passes in.
"""

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.catalog import AttributeSpec
from app.publish.ogc.collections import Collection, all_collections
from app.publish.ogc.crs import CRS84, STORAGE_CRS

PREFIX = "/ogc"
GEOJSON = "application/geo+json"
JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

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
_SCHEMA_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
}


def link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    """An OGC API link object."""
    found = {"href": href, "rel": rel, "type": media_type}
    return {**found, "title": title} if title else found


def landing_page(base: str) -> dict[str, Any]:
    """The OGC API root: title and links to the API definition, conformance and collections."""
    root = f"{base}{PREFIX}"
    return {
        "title": "Redline OGC API - Features",
        "description": "生态保护红线、自然保护地、乡镇级主体功能区等图层 "
        "(ecological zoning layers), CGCS2000.",
        "links": [
            link(root, "self", JSON, "This document"),
            # The OGC API's own definition: GDAL <= 3.6 reads filter support from its paths.
            link(f"{root}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link(f"{base}/docs", "service-doc", "text/html", "The API documentation"),
            link(f"{root}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{root}/collections", "data", JSON, "The collections"),
        ],
    }


def conformance_document() -> dict[str, list[str]]:
    """The conformance classes this service implements."""
    return {"conformsTo": CONFORMANCE}


def collection_document(collection: Collection, base: str) -> dict[str, Any]:
    """One collection: title, description, CRSs, extent and links."""
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
            link(url, "self", JSON, "This collection"),
            link(f"{url}/items", "items", GEOJSON, "The features"),
            link(f"{url}/queryables", QUERYABLES_REL, SCHEMA_JSON, "Filterable properties"),
        ],
    }
    if collection.extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(collection.extent)], "crs": CRS84}}
    return doc


def collections_document(session: Session, base: str) -> dict[str, Any]:
    """Every collection with an active version."""
    return {
        "links": [link(f"{base}{PREFIX}/collections", "self", JSON, "The collections")],
        "collections": [collection_document(c, base) for c in all_collections(session)],
    }


def _attribute_schema(attribute: AttributeSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": attribute.label_zh or attribute.name}
    schema.update(_SCHEMA_TYPES[attribute.type])
    if attribute.allowed:
        schema["enum"] = list(attribute.allowed)
    return schema


def queryables_document(collection: Collection, base: str) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (Part 3)."""
    spec = collection.spec
    properties: dict[str, Any] = {
        "geometry": {
            "title": "几何 (geometry)",
            "format": _GEOMETRY_FORMAT[spec.geometry_type],
            "x-ogc-role": "primary-geometry",
        }
    }
    properties.update({a.name: _attribute_schema(a) for a in spec.attributes})
    if spec.measure:
        properties[spec.measure.column] = {"title": spec.measure.label_zh, "type": "number"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}{PREFIX}/collections/{spec.id}/queryables",
        "type": "object",
        "title": f"{spec.title_zh} ({spec.title_en})",
        "properties": properties,
        "additionalProperties": False,
    }


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
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": schema.get("title", name),
            "schema": {k: v for k, v in schema.items() if k != "title"},
        }
        for name, schema in schemas.items()
        if name != "geometry"
    ]
    return operation
