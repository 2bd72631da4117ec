"""Views of the administrative hierarchy: the loaded regions, their extents and layers."""

from pydantic import BaseModel, Field


class RegionPlan(BaseModel):
    """The plan a region follows (its own, its city's or its province's)."""

    code: str
    title: str


class RegionSummary(BaseModel):
    """A province, city or county with loaded data: extent, children's codes, plan."""

    code: str = Field(description="GB/T 2260 code")
    level: str = Field(description="province | city | county | township | village")
    name: str
    parent_code: str | None = Field(description="a 直辖市's counties have the province")
    bbox: list[float] | None = Field(
        description="[minlon, minlat, maxlon, maxlat] of its loaded data (EPSG:4490)"
    )
    children: list[str]
    plan: RegionPlan | None


class RegionList(BaseModel):
    """The loaded provinces, cities and counties."""

    regions: list[RegionSummary]


class RegionChild(BaseModel):
    """A child unit of a region."""

    code: str
    level: str
    name: str


class RegionLayer(BaseModel):
    """A layer in force inside a region: versions and the figures of its features there."""

    layer: str
    version: int = Field(description="the layer's active version")
    region_version: int | None = Field(
        description="the newest version that introduced features inside the region"
    )
    feature_count: int
    area_km2: float | None = Field(
        description="plain sum of the features' own areas (polygons; overlaps count twice)"
    )


class RegionDetail(RegionSummary):
    """One region: its children with names and the layers in force inside it."""

    children: list[RegionChild]  # type: ignore[assignment]
    layers: list[RegionLayer] = Field(
        description="provinces, cities and counties: features by the county they lie in"
    )
