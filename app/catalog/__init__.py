"""The layer catalog: one YAML file per layer kind in layers/, read into typed LayerSpec."""

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from app.catalog.access import AccessList, AccessLists, ConditionSpec, load_access_lists
from app.catalog.industries import (
    EiaItem,
    Industry,
    IndustryCatalog,
    covers,
    load_industries,
    normalize_code,
)
from app.catalog.plans import PlanSpec, plan_for, plans, region_prefix
from app.catalog.rule import PLAN_FIELDS, RELATIONS, Relation, Rule, Verdict
from app.catalog.spec import (
    MEASURES,
    AttributeSpec,
    AttributeType,
    LayerLimits,
    LayerSpec,
    Measure,
    ProjectCategories,
    RasterClass,
    RasterSpec,
    SummarySpec,
)
from app.catalog.style import DEFAULT_Z, FillBy, GeometryKind, LayerStyle
from app.catalog.yamlfile import load_yaml
from app.config import get_settings
from app.errors import UnknownLayer

__all__ = [
    "AccessList",
    "AccessLists",
    "ConditionSpec",
    "EiaItem",
    "Industry",
    "IndustryCatalog",
    "access_lists",
    "covers",
    "industry_catalog",
    "normalize_code",
    "DEFAULT_Z",
    "MEASURES",
    "PLAN_FIELDS",
    "RELATIONS",
    "AttributeSpec",
    "AttributeType",
    "FillBy",
    "GeometryKind",
    "LayerLimits",
    "LayerSpec",
    "LayerStyle",
    "PlanSpec",
    "Measure",
    "ProjectCategories",
    "RasterClass",
    "RasterSpec",
    "Relation",
    "Rule",
    "SummarySpec",
    "Verdict",
    "catalog",
    "draw_order",
    "get_layer_spec",
    "get_raster_spec",
    "load_catalog",
    "plan_for",
    "plans",
    "project_categories",
    "raster_catalog",
    "region_prefix",
]


def load_catalog(directory: Path) -> dict[str, LayerSpec]:
    """Read every layers/*.yaml; a malformed file (style, rule, anything) fails with its name."""
    specs: dict[str, LayerSpec] = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            raw = load_yaml(fh)
        try:
            spec = LayerSpec.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(f"layer catalog file {path.name} is invalid: {exc}") from exc
        if spec.id != path.stem:
            raise ValueError(f"layer catalog file {path.name} declares id {spec.id!r}")
        specs[spec.id] = spec
    return specs


@lru_cache
def catalog() -> dict[str, LayerSpec]:
    """The catalog of the configured directory, read once."""
    return load_catalog(get_settings().catalog_dir)


def draw_order(layer_ids: Iterable[str]) -> list[str]:
    """Layer ids bottom to top, by each catalog style's `z`; ids not in the catalog dropped."""
    specs = catalog()
    known = [i for i in layer_ids if i in specs]
    return sorted(known, key=lambda i: (specs[i].style.z, i))


def get_layer_spec(layer_id: str) -> LayerSpec:
    """The catalog entry of a layer id; unknown ids are a 404 listing the known ones."""
    spec = catalog().get(layer_id)
    if spec is None:
        known = ", ".join(sorted(catalog()))
        raise UnknownLayer(f"There is no layer {layer_id!r}. Known layers: {known}.")
    return spec


@lru_cache
def project_categories() -> ProjectCategories:
    """layers/screening/project_categories.yaml, read once."""
    path = get_settings().catalog_dir / "screening" / "project_categories.yaml"
    with path.open(encoding="utf-8") as fh:
        return ProjectCategories.model_validate(load_yaml(fh))


@lru_cache
def industry_catalog() -> IndustryCatalog:
    """layers/screening/industries.yaml and eia_catalog.yaml, read and checked once."""
    return load_industries(get_settings().catalog_dir / "screening", project_categories())


@lru_cache
def access_lists() -> AccessLists:
    """layers/screening/access_conditions.yaml (the 准入清单), read and checked once."""
    path = get_settings().catalog_dir / "screening" / "access_conditions.yaml"
    return load_access_lists(path, industry_catalog(), project_categories().names)


@lru_cache
def raster_catalog() -> dict[str, RasterSpec]:
    """Every layers/rasters/*.yaml, read once."""
    directory = get_settings().catalog_dir / "rasters"
    specs = {}
    for path in sorted(directory.glob("*.yaml")) if directory.exists() else []:
        with path.open(encoding="utf-8") as fh:
            spec = RasterSpec.model_validate(load_yaml(fh))
        specs[spec.id] = spec
    return specs


def get_raster_spec(raster_id: str) -> RasterSpec:
    """The catalog entry of a raster id; unknown ids are a 404 listing the known ones."""
    spec = raster_catalog().get(raster_id)
    if spec is None:
        known = ", ".join(sorted(raster_catalog())) or "none"
        raise UnknownLayer(f"There is no raster layer {raster_id!r}. Known rasters: {known}.")
    return spec
