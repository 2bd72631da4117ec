"""OGC API - Features documents: landing page, conformance, collections, queryables, features.

The router returns the documents app.publish.ogc shapes (media types and headers are OGC's);
these models describe them in the OpenAPI, and the tests check served documents against them.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    """An OGC API link: where, how it relates, its media type and a title."""

    href: str
    rel: str
    type: str
    title: str | None = None


class LandingPage(BaseModel):
    """The OGC API root: links to the API definition, conformance and collections."""

    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    """The conformance classes implemented."""

    conforms_to: list[str] = Field(alias="conformsTo")


class SpatialExtent(BaseModel):
    """The bounding box of a collection's features, in `crs`."""

    bbox: list[list[float]]
    crs: str


class Extent(BaseModel):
    """A collection's extent (spatial only: the layers have no time dimension)."""

    spatial: SpatialExtent


class CollectionView(BaseModel):
    """One layer's active version as a collection: CRSs, extent and links."""

    id: str
    title: str
    description: str
    item_type: Literal["feature"] = Field(alias="itemType")
    crs: list[str]
    storage_crs: str = Field(alias="storageCrs")
    links: list[Link]
    extent: Extent | None = Field(None, description="Absent while the version has no features.")


class Collections(BaseModel):
    """Every layer with an active version."""

    links: list[Link]
    collections: list[CollectionView]


class Queryables(BaseModel):
    """A collection's filterable properties as a JSON Schema (OGC API - Features Part 3)."""

    model_config = ConfigDict(extra="allow")

    schema_: str = Field(alias="$schema")
    id: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    properties: dict[str, dict[str, Any]] = Field(
        description="Property name → JSON Schema (title, type, format, enum, x-ogc-role)."
    )
    additional_properties: bool = Field(alias="additionalProperties")


class ApiDocument(BaseModel):
    """The OGC API's own definition: an OpenAPI document reduced to /ogc."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class Geometry(BaseModel):
    """A GeoJSON geometry, coordinates in the response's CRS and axis order."""

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any]


class Feature(BaseModel):
    """A GeoJSON Feature: the stored id, geometry and catalog properties (links from /ogc)."""

    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: dict[str, Any]
    links: list[Link] | None = Field(None, description="Self and collection (OGC API only).")


class FeatureCollection(BaseModel):
    """A page of a collection's features (GeoJSON) with counts and paging links."""

    type: Literal["FeatureCollection"]
    bbox: list[float] | None = Field(None, description="Of the returned features; absent if none.")
    time_stamp: str = Field(alias="timeStamp")
    number_matched: int = Field(alias="numberMatched")
    number_returned: int = Field(alias="numberReturned")
    features: list[Feature]
    links: list[Link]
