"""The typed layer catalog entries: a vector layer kind (LayerSpec) and a raster kind."""

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.catalog.rule import Rule
from app.catalog.style import GeometryKind, LayerStyle
from app.errors import InvalidInput

AttributeType = Literal["string", "integer", "number", "boolean", "date"]


class AttributeSpec(BaseModel):
    """One attribute of a layer kind: type, whether required, allowed values or pattern."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: AttributeType = "string"
    required: bool = False
    allowed: list[Any] | None = None
    pattern: str | None = None
    label_zh: str | None = None


class SummarySpec(BaseModel):
    """How summaries treat the layer beyond its geodesic areas."""

    model_config = ConfigDict(extra="forbid")

    # An attribute holding each feature's officially listed area (km²): summaries report its
    # plain sum beside the union, as the plans do.
    listed_area_attribute: str | None = None


class LayerLimits(BaseModel):
    """What one import of the layer may hold, and how far it may shrink without `confirm`."""

    model_config = ConfigDict(extra="forbid")

    max_vertices_per_feature: int = Field(100_000, gt=0)
    max_features: int = Field(200_000, gt=0)
    max_vertices: int = Field(5_000_000, gt=0)
    # A new version with fewer features or less area than this share of the active one's
    # needs an explicit confirm (0.5: shrinking by more than half).
    shrink_confirm_ratio: float = Field(0.5, ge=0, le=1)
    # 面积不减少 (the redline): any loss of area needs an explicit confirm.
    area_may_shrink: bool = True


@dataclass(frozen=True)
class Measure:
    """The geodesic measure stored with every feature: its column and Chinese label."""

    column: str
    label_zh: str


MEASURES: dict[str, Measure] = {
    "polygon": Measure("area_m2", "面积（平方米）"),
    "line": Measure("length_m", "长度（米）"),
}


class LayerSpec(BaseModel):
    """One layer kind (layers/<id>.yaml): schema, style, screening rules, summary options."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_zh: str
    title_en: str
    geometry_type: GeometryKind
    key: list[str] = []
    label: str | None = None
    attributes: list[AttributeSpec]
    style: LayerStyle = LayerStyle()
    rules: list[Rule] = []
    # finding: features near the site are findings; context: only the features the site
    # lies in are reported (county, township, control unit), as findings only when a rule fires.
    screening_role: Literal["finding", "context", "none"] = "finding"
    search_radius_m: float = 5000.0
    summary: SummarySpec = SummarySpec()
    limits: LayerLimits = LayerLimits()

    @model_validator(mode="after")
    def _names_are_attributes(self) -> "LayerSpec":
        """Key, label, fill_by, summary, rule `where` and message fields must be declared."""
        declared = {a.name for a in self.attributes}
        used = {
            "key": list(self.key),
            "label": [self.label] if self.label else [],
            "style.fill_by.attribute": [self.style.fill_attribute] if self.style.fill_by else [],
            "summary.listed_area_attribute": [self.summary.listed_area_attribute]
            if self.summary.listed_area_attribute
            else [],
        }
        for index, rule in enumerate(self.rules):
            used[f"rules.{index}.where"] = list(rule.where or {})
            rule.check_message(declared)
        for where, names in used.items():
            unknown = sorted(set(names) - declared)
            if unknown:
                raise ValueError(f"{where} names {unknown}, which are not attributes of {self.id}")
        return self

    def attribute(self, name: str) -> AttributeSpec | None:
        """The attribute called `name`, or None."""
        return next((a for a in self.attributes if a.name == name), None)

    @property
    def measure(self) -> Measure | None:
        """Area for polygon kinds, length for lines, None for points."""
        return MEASURES.get(self.geometry_type)


class RasterClass(BaseModel):
    """One class of a categorical raster."""

    label: str
    color: str | None = None


class RasterSpec(BaseModel):
    """A raster layer kind (layers/rasters/*.yaml): categorical classes or a continuous value."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_zh: str
    title_en: str
    kind: Literal["categorical", "continuous"]
    nodata: float | None = None
    unit: str | None = None
    classes: dict[int, RasterClass] = {}


class ProjectCategories(BaseModel):
    """The project categories an officer picks from, and the groups rules may name."""

    categories: list[dict[str, str]]
    groups: dict[str, list[str]] = {}

    @property
    def names(self) -> list[str]:
        """Category ids in file order."""
        return [c["id"] for c in self.categories]

    def check(self, category: str | None) -> str | None:
        """The category itself when known (or None); otherwise a 422 listing the valid ones."""
        if category is not None and category not in self.names:
            raise InvalidInput(
                f"项目类别「{category}」无法识别，请选用：{'、'.join(self.names)}。"
                f"Unknown project_category {category!r}. Use one of: {', '.join(self.names)}."
            )
        return category
