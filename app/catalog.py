"""The layer catalog: one YAML file per layer kind in layers/, read into LayerSpec."""

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from app.config import get_settings
from app.errors import InvalidInput, UnknownLayer
from app.screening.rules import validate_rule

AttributeType = Literal["string", "integer", "number", "boolean", "date"]
GeometryKind = Literal["polygon", "line", "point"]


class AttributeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: AttributeType = "string"
    required: bool = False
    allowed: list[Any] | None = None
    pattern: str | None = None
    label_zh: str | None = None


class LayerSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_zh: str
    title_en: str
    geometry_type: GeometryKind
    key: list[str] = []
    label: str | None = None
    attributes: list[AttributeSpec]
    style: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    # finding: features near the site are findings; context: only the features the site
    # lies in are reported (county, township, control unit), as findings only when a rule fires.
    screening_role: Literal["finding", "context", "none"] = "finding"
    search_radius_m: float = 5000.0

    def attribute(self, name: str) -> AttributeSpec | None:
        return next((a for a in self.attributes if a.name == name), None)


def load_catalog(directory: Path) -> dict[str, LayerSpec]:
    """Read every layers/*.yaml; a malformed file fails loudly with its name."""
    specs: dict[str, LayerSpec] = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        try:
            spec = LayerSpec.model_validate(raw)
        except ValueError as exc:
            raise ValueError(f"layer catalog file {path.name} is invalid: {exc}") from exc
        if spec.id != path.stem:
            raise ValueError(f"layer catalog file {path.name} declares id {spec.id!r}")
        for rule in spec.rules:
            validate_rule(rule, spec.id)
        specs[spec.id] = spec
    return specs


@lru_cache
def catalog() -> dict[str, LayerSpec]:
    return load_catalog(get_settings().catalog_dir)


DEFAULT_Z = 85  # kinds without `style.z` draw above the zoning layers, below county outlines


def draw_order(layer_ids) -> list[str]:
    """Layer ids bottom to top, by each catalog style's `z`; ids not in the catalog dropped."""
    specs = catalog()
    known = [i for i in layer_ids if i in specs]
    return sorted(known, key=lambda i: (specs[i].style.get("z", DEFAULT_Z), i))


def get_layer_spec(layer_id: str) -> LayerSpec:
    spec = catalog().get(layer_id)
    if spec is None:
        known = ", ".join(sorted(catalog()))
        raise UnknownLayer(f"There is no layer {layer_id!r}. Known layers: {known}.")
    return spec


class ProjectCategories(BaseModel):
    categories: list[dict[str, str]]
    groups: dict[str, list[str]] = {}

    @property
    def names(self) -> list[str]:
        return [c["id"] for c in self.categories]

    def check(self, category: str | None) -> str | None:
        if category is not None and category not in self.names:
            raise InvalidInput(
                f"Unknown project_category {category!r}. Use one of: {', '.join(self.names)}."
            )
        return category


@lru_cache
def project_categories() -> ProjectCategories:
    path = get_settings().catalog_dir / "screening" / "project_categories.yaml"
    with path.open(encoding="utf-8") as fh:
        return ProjectCategories.model_validate(yaml.safe_load(fh))


class RasterClass(BaseModel):
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


@lru_cache
def raster_catalog() -> dict[str, RasterSpec]:
    directory = get_settings().catalog_dir / "rasters"
    specs = {}
    for path in sorted(directory.glob("*.yaml")) if directory.exists() else []:
        with path.open(encoding="utf-8") as fh:
            spec = RasterSpec.model_validate(yaml.safe_load(fh))
        specs[spec.id] = spec
    return specs


def get_raster_spec(raster_id: str) -> RasterSpec:
    spec = raster_catalog().get(raster_id)
    if spec is None:
        known = ", ".join(sorted(raster_catalog())) or "none"
        raise UnknownLayer(f"There is no raster layer {raster_id!r}. Known rasters: {known}.")
    return spec
