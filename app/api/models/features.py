"""The GeoJSON page of GET /layers/{layer_id}/features (features as in OGC API items)."""

from typing import Literal

from pydantic import BaseModel, Field

from app.api.models.ogc import Feature


class LayerFeatures(BaseModel):
    """A page of one layer version's features in EPSG:4490 lon/lat."""

    type: Literal["FeatureCollection"]
    layer: str
    version: int
    number_matched: int = Field(
        alias="numberMatched", description="Features in the version (0 for a page past the end)."
    )
    number_returned: int = Field(alias="numberReturned")
    features: list[Feature]
