"""TileJSON 3.0.0 of a layer and the MapLibre style of every layer."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class VectorLayer(BaseModel):
    """One layer inside the tiles, with its fields (name → description)."""

    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]


class TileJson(BaseModel):
    """TileJSON 3.0.0: tile URL template, zooms, bounds, center and the layer's fields."""

    tilejson: Literal["3.0.0"]
    name: str
    description: str
    attribution: str
    tiles: list[str]
    scheme: Literal["xyz"]
    minzoom: int
    maxzoom: int
    bounds: list[float] = Field(description="minLon, minLat, maxLon, maxLat")
    center: list[float] = Field(description="lon, lat, zoom")
    vector_layers: list[VectorLayer]


class MapStyle(BaseModel):
    """A MapLibre style (v8): one vector source per layer, paint from the catalog, a legend.

    `metadata["redline:legend"]` lists the layers top to bottom with their colours.
    """

    model_config = ConfigDict(extra="allow")

    version: Literal[8]
    name: str
    metadata: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    layers: list[dict[str, Any]]
