"""Industries (GB/T 4754-2017) and EIA catalog items, each judged as one rule category.

Read from layers/screening/industries.yaml and eia_catalog.yaml, checked on load: a category
that project_categories.yaml does not know, or a code that is not an industry code, fails
the load with the file's name.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.catalog.spec import ProjectCategories
from app.catalog.yamlfile import load_yaml

CODE = re.compile(r"^[A-T](\d{2}(\d{1,2})?)?$")
LEVELS = {1: "门类", 3: "大类", 4: "中类", 5: "小类"}


def normalize_code(code: str) -> str:
    """An industry code as written in the standard: upper-case letter, no spaces."""
    return code.strip().upper().replace(" ", "")


def is_code(code: str) -> bool:
    """Whether CODE has the shape of a GB/T 4754-2017 code (C, C26, C261, C2614)."""
    return CODE.match(code) is not None


def covers(condition_code: str, project_code: str) -> bool:
    """Whether a listed code covers the project's code (C26 covers C2614, C covers C26)."""
    return project_code.startswith(condition_code)


class IndustryRow(BaseModel):
    """One row of industries.yaml; category None inherits from the parent code."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE.pattern)
    name: str = Field(min_length=1)
    category: str | None = None


class EiaItem(BaseModel):
    """One 项目类别 of the 建设项目环境影响评价分类管理名录（2021年版）."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    section: str
    name: str = Field(min_length=1)
    industries: list[str]
    category: str


@dataclass(frozen=True)
class Industry:
    """A known industry code with its level, official name and (inherited) rule category."""

    code: str
    name: str
    level: str
    category: str


class IndustryTable:
    """The industries of industries.yaml, looked up by code (most specific known entry)."""

    def __init__(self, rows: list[IndustryRow]) -> None:
        """Index the rows and give each its inherited category."""
        self.rows = {row.code: row for row in rows}
        self.entries: dict[str, Industry] = {}
        for code in sorted(self.rows, key=len):
            row = self.rows[code]
            parent = self._parent(code)
            category = row.category or (self.entries[parent].category if parent else None)
            if category is None:
                raise ValueError(f"industry {code} has no category and no listed parent")
            self.entries[code] = Industry(code, row.name, LEVELS[len(code)], category)
        # A 门类 whose 大类 are listed lists all of them (industries.yaml says so).
        self.detailed = {code[0] for code in self.rows if len(code) == 3}

    def _parent(self, code: str) -> str | None:
        for length in range(len(code) - 1, 0, -1):
            if code[:length] in self.rows:
                return code[:length]
        return None

    def lookup(self, code: str) -> Industry | None:
        """The most specific known entry for CODE (itself or a parent); None if unknown."""
        code = normalize_code(code)
        if not is_code(code):
            return None
        if len(code) >= 3 and code[0] in self.detailed and code[:3] not in self.rows:
            return None
        known = code if code in self.rows else self._parent(code)
        return self.entries[known] if known else None


@dataclass(frozen=True)
class IndustryCatalog:
    """Industries and EIA items, read and checked together."""

    industries: IndustryTable
    eia_items: dict[str, EiaItem]


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return load_yaml(fh) or {}


def _check_category(category: str, where: str, path: Path, known: list[str]) -> None:
    if category not in known:
        raise ValueError(
            f"{path.name}: {where} names category {category!r}, which "
            f"project_categories.yaml does not define ({', '.join(known)})"
        )


def load_industries(directory: Path, categories: ProjectCategories) -> IndustryCatalog:
    """Read industries.yaml and eia_catalog.yaml of DIRECTORY (layers/screening)."""
    known = categories.names
    path = directory / "industries.yaml"
    try:
        rows = [IndustryRow.model_validate(r) for r in _read(path).get("industries", [])]
        for row in rows:
            if row.category is not None:
                _check_category(row.category, f"industry {row.code}", path, known)
        table = IndustryTable(rows)
    except (ValidationError, ValueError) as exc:
        raise ValueError(f"industry table {path.name} is invalid: {exc}") from exc
    path = directory / "eia_catalog.yaml"
    try:
        items = [EiaItem.model_validate(r) for r in _read(path).get("items", [])]
    except ValidationError as exc:
        raise ValueError(f"EIA catalog {path.name} is invalid: {exc}") from exc
    for item in items:
        _check_category(item.category, f"item {item.id}", path, known)
        unknown = [c for c in item.industries if table.lookup(c) is None]
        if unknown:
            raise ValueError(f"{path.name}: item {item.id} names unknown industries {unknown}")
    return IndustryCatalog(table, {item.id: item for item in items})
