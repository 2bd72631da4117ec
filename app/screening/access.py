"""The 准入清单 conditions of the control units a site lies in, judged for the project.

A condition applies to a project with an industry code when one of its codes covers the
project's (C26 covers C2614). A project given by a broader code than the condition's (C for a
C26 condition) may belong to it: judged as applying, `applies` left None. Without an industry
code, a condition is judged for each category the project is judged as that the condition
concerns (its codes' categories and its own); `applies` is None. With no category at all the
project is judged as every category, so every condition counts in the strictest verdict.
"""

from dataclasses import dataclass
from typing import Any

from app.catalog import ConditionSpec, access_lists, covers, industry_catalog
from app.catalog.access import condition_categories
from app.screening.projects import ProjectKind
from app.screening.rules import RuleHit

LAYER = "control_unit"


@dataclass(frozen=True)
class Judged:
    """One condition of a unit: whether it applies and the categories it is judged for."""

    condition: ConditionSpec
    applies: bool | None
    categories: frozenset[str]
    reason: str


def _judge(condition: ConditionSpec, kind: ProjectKind) -> Judged:
    concerned = condition_categories(condition, industry_catalog())
    code = kind.industry_code
    if code is None:
        cats = frozenset(c for c in kind.categories if c in concerned)
        if not cats:  # no category of the project's is concerned: it does not count
            return Judged(condition, None, cats, "")
        said = "、".join(c for c in kind.categories if c in cats)
        reason = (
            f"未给出行业代码，按项目类别“{said}”视为适用。"
            if kind.specified
            else f"类别未指定，按其涉及的类别（{said}）视为适用。"
        )
        return Judged(condition, None, cats, reason)
    if any(covers(c, code) for c in condition.industries) or set(kind.categories) & set(
        condition.categories
    ):
        reason = f"项目行业 {code}（{kind.industry_name}）属所列行业。"
        return Judged(condition, True, frozenset(kind.categories), reason)
    if any(covers(code, c) for c in condition.industries):
        reason = f"项目行业代码 {code} 未细化到所列行业，可能属之，按适用研判。"
        return Judged(condition, None, frozenset(kind.categories), reason)
    return Judged(condition, False, frozenset(), "")


def unit_conditions(attributes: dict[str, Any], kind: ProjectKind) -> list[Judged]:
    """Every condition of the unit with these attributes (code, unit_class), judged."""
    code = attributes.get("code")
    access = access_lists().find(code)
    if access is None:
        return []
    return [_judge(c, kind) for c in access.for_unit(code, attributes.get("unit_class"))]


def condition_hits(figures: dict[str, Any], kind: ProjectKind) -> dict[str, list[RuleHit]]:
    """Per category, the unit's conditions that apply, as rule hits quoting the list."""
    attributes = figures.get("attributes") or {}
    access = access_lists().find(attributes.get("code"))
    out: dict[str, list[RuleHit]] = {}
    for judged in unit_conditions(attributes, kind):
        if not judged.categories or access is None:
            continue
        c = judged.condition
        unit_class = attributes.get("unit_class") or "环境管控单元"
        hit = RuleHit(
            f"cu-access-{c.id}",
            c.effect,
            f"项目位于{figures.get('name')}（{attributes.get('code')}，{unit_class}）。"
            f"{access.title}：“{c.text}”{judged.reason}",
            f"{access.title}（{unit_class}）",
        )
        for category in judged.categories:
            out.setdefault(category, []).append(hit)
    return out
