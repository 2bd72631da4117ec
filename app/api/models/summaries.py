"""Views of planners' summaries: areas per unit, cross-tabs and the plan's figures.

The summary service returns these shapes as dicts (they are cached and also written to
CSV / XLSX); the models describe and validate them once, on the way out.
"""

from typing import Any

from pydantic import BaseModel, Field


class LayerFigures(BaseModel):
    """A layer within one unit: areas (polygons), length (lines), count, listed sum."""

    count: int
    area_km2: float | None = None
    area_ha: float | None = None
    area_mu: float | None = None
    share: float | None = Field(default=None, description="covered area / unit area (0–1)")
    length_km: float | None = None
    listed_sum_km2: float | None = Field(
        default=None, description="plain sum of the features' listed areas (overlaps twice)"
    )


class SummaryRow(BaseModel):
    """One administrative unit with its parent, its geodesic area and each layer's figures."""

    code: str | None
    name: str | None
    parent: str | None = Field(description="townships: the county's name (kept for old clients)")
    parent_code: str | None = Field(default=None, description="the parent unit's code")
    parent_name: str | None = Field(default=None, description="the parent unit's name")
    area_km2: float
    zone_type: str | None = Field(default=None, description="townships only")
    layers: dict[str, LayerFigures]
    rasters: dict[str, dict[str, Any]] | None = Field(
        default=None, description="statistics per raster, when rasters were asked for"
    )


class Summary(BaseModel):
    """Areas per unit for the layers in force (or pinned), and the versions used."""

    by: str
    region: str | None = Field(default=None, description="the region code the rows lie in")
    as_of: str | None
    layer_versions: dict[str, int]
    notes: dict[str, str]
    rows: list[SummaryRow]
    raster_versions: dict[str, int] | None = None


class AttributeCell(BaseModel):
    """One value (pair) of the layer's own attributes: count and union area."""

    row: Any
    col: Any
    count: int
    area_km2: float | None
    listed_sum_km2: float | None = None


class AttributeCrosstab(BaseModel):
    """A layer's area and count by one or two of its own attributes."""

    layer: str
    version: int
    rows: str
    cols: str | None
    cells: list[AttributeCell]
    total_area_km2: float | None
    note: str


class UnitCell(BaseModel):
    """One value of a unit attribute: how many units, their area and the layer's area."""

    row: Any
    units: int
    unit_area_km2: float
    area_km2: float
    share_of_units: float | None
    share_of_layer: float | None


class UnitCrosstab(BaseModel):
    """A layer's area grouped by an attribute of townships or counties."""

    layer: str
    rows: str
    cells: list[UnitCell]
    total_area_km2: float
    layer_versions: dict[str, int]


Crosstab = AttributeCrosstab | UnitCrosstab


class CityArea(BaseModel):
    """The region's area: the plan's figure (if it states one) and the data's geodesic area."""

    plan: int | float | None
    data: float
    difference_pct: float | None
    cite: str | None


class ProtectedAreas(BaseModel):
    """Protected areas: the plan's listed sum and share, and the data's sum and union."""

    plan_listed_sum_km2: int | float | None
    plan_share_pct: int | float | None
    plan_named: list[str] | None = Field(default=None, description="areas the plan names")
    listed_sum_km2: float
    listed_sum_share_pct: float
    union_km2: float
    union_share_pct: float
    count: int
    note: str
    cite: str | None


class RedlineArea(BaseModel):
    """The ecological redline: the plan's area (if stated) and the data's union."""

    plan_km2: int | float | None
    union_km2: float
    share_pct: float
    cite: str | None


class TownshipCounts(BaseModel):
    """Townships per zone type, in the plan (if stated) and in the data."""

    plan: dict[str, int] | None
    plan_total: int | None
    data: dict[str, int]
    data_total: int
    cite: str | None


class PlanFigures(BaseModel):
    """A region's plan: its published statistics and the same figures measured from its data."""

    region: str = Field(description="the plan's region code (GB/T 2260)")
    region_name: str | None
    title: str
    short_title: str
    source: str | None
    city_area_km2: CityArea
    protected_areas: ProtectedAreas
    redline: RedlineArea
    townships: TownshipCounts
    other_figures: dict[str, Any] = Field(
        description="further figures the plan states (value, cite, target_year), as written"
    )
    notes: dict[str, str]
