"""A place found by name: where to fly the map."""

from pydantic import BaseModel, Field


class Place(BaseModel):
    """A named county, township, protected area or redline of the active data."""

    name: str
    layer: str = Field(description="the layer id, e.g. township")
    layer_title: str = Field(description="the layer's Chinese title, e.g. 乡镇级主体功能区")
    county: str | None = Field(description="the county it lies in (its own name for a county)")
    bbox: list[float] = Field(description="[minlon, minlat, maxlon, maxlat] (EPSG:4490)")
    center: list[float] = Field(description="[lon, lat] of a point inside it (EPSG:4490)")
