"""OGC API - Features (Part 1 core, Part 2 CRS, Part 3 filtering) over the active layer versions.

Split by role: `crs` (offered CRSs, axis order), `collections` (layers and queryables),
`documents` (landing page, conformance, API definition, collection and queryables documents)
and `items` (parameters → the shared items query of app.store.features). Knows nothing
about HTTP: the router parses the query string (app/api/ogc_params.py).
"""

from app.publish.ogc.collections import Collection, all_collections, get_collection, queryables
from app.publish.ogc.crs import CRS84, STORAGE_CRS, OgcCrs, crs_uri, offered_crs, ogc_crs
from app.publish.ogc.documents import (
    GEOJSON,
    JSON,
    OPENAPI,
    PREFIX,
    SCHEMA_JSON,
    api_document,
    collection_document,
    collections_document,
    conformance_document,
    landing_page,
    queryables_document,
)
from app.publish.ogc.items import DEFAULT_LIMIT, ItemsRequest, item, items

__all__ = [
    "CRS84",
    "DEFAULT_LIMIT",
    "GEOJSON",
    "JSON",
    "OPENAPI",
    "PREFIX",
    "SCHEMA_JSON",
    "STORAGE_CRS",
    "Collection",
    "ItemsRequest",
    "OgcCrs",
    "all_collections",
    "api_document",
    "collection_document",
    "collections_document",
    "conformance_document",
    "crs_uri",
    "get_collection",
    "item",
    "items",
    "landing_page",
    "offered_crs",
    "ogc_crs",
    "queryables",
    "queryables_document",
]
