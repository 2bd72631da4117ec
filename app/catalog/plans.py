"""Local plans per region (layers/plans/{code}.yaml): their titles and the figures they state.

Regions are keyed by GB/T 2260 six-digit codes; a region without a plan of its own follows
the plan of its parent (county → city → province), found by the code's prefixes.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.catalog.yamlfile import load_yaml
from app.config import get_settings

# 直辖市 (Beijing, Tianjin, Shanghai, Chongqing): their counties sit directly below the province.
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
CODE_PATTERN = r"^\d{6}$"


class Figure(BaseModel):
    """One figure a plan states: its value, where it says so, and the year it targets."""

    model_config = ConfigDict(extra="forbid")

    value: Any
    cite: str | None = None
    target_year: int | None = None


class ProtectedAreaFigures(BaseModel):
    """What a plan states about protected areas (natural protected areas system)."""

    model_config = ConfigDict(extra="forbid")

    listed_sum_km2: Figure | None = None
    share_pct: Figure | None = None
    count: Figure | None = None
    named: list[str] | None = None
    cite: str | None = None


class TownshipFigures(BaseModel):
    """What a plan states about townships: their number and count per main-function zone type."""

    model_config = ConfigDict(extra="forbid")

    total: Figure | None = None
    by_zone_type: dict[str, int] | None = None
    cite: str | None = None


class PlanSpec(BaseModel):
    """A region's plan: code, titles, and the figures it states (each optional); others kept."""

    # Plans state different things (Dazhou's no areas, Wushan's 2027 targets): unknown keys
    # are kept as stated figures rather than refused.
    model_config = ConfigDict(extra="allow", frozen=True)

    code: str = Field(pattern=CODE_PATTERN)
    title: str = Field(min_length=1)
    short_title: str = Field(min_length=1)
    source: str | None = None
    cite: str | None = None
    city_area_km2: Figure | None = None
    redline_km2: Figure | None = None
    protected_areas: ProtectedAreaFigures | None = None
    townships: TownshipFigures | None = None

    def other_figures(self) -> dict[str, Any]:
        """The stated figures beyond the typed ones (forest cover, targets, named rivers …)."""
        return dict(self.model_extra or {})


def region_prefix(code: str) -> str:
    """The code without its trailing "00" pairs: 511900 → 5119, 510000 → 51, 500237 → 500237."""
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def parent_code(code: str) -> str | None:
    """The region above: county → city (→ province for 直辖市 counties), city → province."""
    if code[2:] == "0000":
        return None
    if code[4:] != "00" and code[:2] not in MUNICIPALITIES:
        return code[:4] + "00"
    return code[:2] + "0000"


def load_plans(directory: Path) -> dict[str, PlanSpec]:
    """Every {code}.yaml of the directory; a malformed file fails with its name."""
    plans: dict[str, PlanSpec] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.exists() else []:
        with path.open(encoding="utf-8") as fh:
            raw = load_yaml(fh)
        try:
            plan = PlanSpec.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(f"plan file {path.name} is invalid: {exc}") from exc
        if plan.code != path.stem:
            raise ValueError(f"plan file {path.name} declares code {plan.code!r}")
        plans[plan.code] = plan
    return plans


@lru_cache
def plans() -> dict[str, PlanSpec]:
    """The plans of the configured catalog directory (layers/plans), read once."""
    return load_plans(get_settings().catalog_dir / "plans")


def plan_for(region_code: str | None) -> PlanSpec | None:
    """The plan the region follows: its own, else its city's, else its province's; or None."""
    known = plans()
    code = region_code if region_code and len(region_code) == 6 else None
    while code is not None:
        if code in known:
            return known[code]
        code = parent_code(code)
    return None
