"""The typed result of a version diff (app.summary.diff.diff_versions)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class VersionFigures(BaseModel):
    """One side of the comparison: the version, its provenance and union area."""

    version: int
    status: str
    created_at: str | None
    created_by: str | None
    note: str | None
    feature_count: int | None
    area_km2: float


class FeatureEntry(BaseModel):
    """An added or removed feature, named by its catalog key."""

    key: dict[str, Any]
    name: Any
    attributes: dict[str, Any]
    area_m2: float | None


class ChangedFeature(BaseModel):
    """A feature present in both versions whose geometry and/or attributes changed."""

    key: dict[str, Any]
    name: Any
    aspects: list[str] = Field(description="geometry and/or attributes")
    aspects_zh: list[str]
    attribute_changes: dict[str, list[Any]] = Field(description="attribute: [from, to]")
    area_m2_from: float | None
    area_m2_to: float | None


class FeatureChanges(BaseModel):
    """Features matched by key (the n-th duplicate with the n-th)."""

    added: list[FeatureEntry]
    removed: list[FeatureEntry]
    changed: list[ChangedFeature]
    unchanged_count: int


class AreaChange(BaseModel):
    """Union areas (geodesic, km²) and what was gained and lost between them."""

    from_km2: float
    to_km2: float
    gained_km2: float
    lost_km2: float
    net_km2: float


class TownshipChange(BaseModel):
    """Gained and lost area within one township (or outside every township)."""

    code: str | None
    name: str | None
    county: str | None
    gained_km2: float
    lost_km2: float
    net_km2: float


class PieceProperties(BaseModel):
    """What a piece of changed area is."""

    change: str = Field(description="gained | lost")
    change_zh: str
    area_m2: float


class PieceFeature(BaseModel):
    """A GeoJSON Feature of one piece, its geometry as PostGIS wrote it (with its crs)."""

    type: Literal["Feature"]
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, EPSG:4490")
    properties: PieceProperties


class PiecesCollection(BaseModel):
    """The gained and lost pieces as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    features: list[PieceFeature]


class BindingCheck(BaseModel):
    """面积不减少 as pass/fail, and a hint for 性质不改变 from attribute changes."""

    rule: str
    passed: bool
    from_km2: float
    to_km2: float
    change_km2: float
    message: str
    properties_changed: int
    properties_message: str


class LayerDiff(BaseModel):
    """What changed between two versions of a layer, with the binding check."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    layer: str
    from_: VersionFigures = Field(alias="from")
    to: VersionFigures
    features: FeatureChanges
    area: AreaChange
    township_version: int | None
    by_township: list[TownshipChange] | None
    geojson: PiecesCollection = Field(description="the pieces gained and lost, EPSG:4490")
    binding_check: BindingCheck
