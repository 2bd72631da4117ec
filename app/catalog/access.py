"""Structured 生态环境准入清单: per control-unit class and per unit, prohibited and restricted
industries with the list's own wording (layers/screening/access_conditions.yaml).

A bureau receives the 准入清单 as a table keyed by 环境管控单元编码: `units` holds those rows;
`classes` holds what every unit of a class carries (the 普适性 part). A list applies to the
units whose code starts with its `unit_prefix` (e.g. ZH5119 for 巴中市), so that one city's
wording is never shown for another's units.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.catalog.industries import IndustryCatalog
from app.catalog.yamlfile import load_yaml

Effect = Literal["prohibited", "restricted"]


class ConditionSpec(BaseModel):
    """One condition: the industries (codes) and categories it names, its effect and wording."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    effect: Effect
    industries: list[str] = []
    # Categories the wording names without an industry code (e.g. 尾矿库).
    categories: list[str] = []
    text: str = Field(min_length=1)


class AccessList(BaseModel):
    """One region's 准入清单: conditions per unit class and per unit code."""

    model_config = ConfigDict(extra="forbid")

    unit_prefix: str = Field(pattern=r"^ZH\d{0,11}$")
    title: str
    classes: dict[str, list[ConditionSpec]] = {}
    units: dict[str, list[ConditionSpec]] = {}

    def for_unit(self, code: str, unit_class: str | None) -> list[ConditionSpec]:
        """The class's conditions, then the unit's own."""
        return [*self.classes.get(unit_class or "", []), *self.units.get(code, [])]


class AccessLists(BaseModel):
    """Every region's 准入清单, with each condition's categories resolved from its codes."""

    lists: list[AccessList] = []

    def find(self, code: str | None) -> AccessList | None:
        """The list covering a unit code (the longest matching prefix), if any."""
        matching = [a for a in self.lists if code and code.startswith(a.unit_prefix)]
        return max(matching, key=lambda a: len(a.unit_prefix), default=None)


def condition_categories(condition: ConditionSpec, industries: IndustryCatalog) -> set[str]:
    """The rule categories a condition may concern: its codes' categories and its own."""
    found = {industries.industries.lookup(code) for code in condition.industries}
    return {i.category for i in found if i is not None} | set(condition.categories)


def load_access_lists(path: Path, industries: IndustryCatalog, known: list[str]) -> AccessLists:
    """Read and check access_conditions.yaml: known industry codes and categories only."""
    if not path.exists():
        return AccessLists()
    with path.open(encoding="utf-8") as fh:
        raw = load_yaml(fh) or {}
    try:
        lists = AccessLists.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"access lists {path.name} are invalid: {exc}") from exc
    for access in lists.lists:
        groups = [*access.classes.items(), *access.units.items()]
        for key, conditions in groups:
            for c in conditions:
                where = f"{path.name}: {access.unit_prefix} {key} condition {c.id}"
                bad = [i for i in c.industries if industries.industries.lookup(i) is None]
                if bad:
                    raise ValueError(f"{where} names unknown industry codes {bad}")
                unknown = sorted(set(c.categories) - set(known))
                if unknown:
                    raise ValueError(f"{where} names unknown categories {unknown}")
                if not c.industries and not c.categories:
                    raise ValueError(f"{where} names no industry and no category")
    return lists
