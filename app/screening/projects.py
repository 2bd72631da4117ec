"""What kind of project is screened: a category, an industry code, an EIA catalog item, or
nothing, resolved to the rule categories the site is judged as.

- A category, industry or item given: judged as their categories. When they disagree (工业
  given, industry C2614 judged 化工), the project is judged as every one of them and the
  verdict is the most severe: the stricter reading, said in a warning.
- Nothing given: judged as every category, the verdict the most severe (类别未指定).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from app.catalog import EiaItem, Industry, industry_catalog, normalize_code, project_categories
from app.errors import InvalidInput
from app.screening.models import LABELS, CategoryVerdict
from app.screening.rules import SEVERITY, RuleHit, overall

UNSPECIFIED = "类别未指定，按最严格类别研判"
LISTED_AT = "GET /screenings/industries"


@dataclass(frozen=True)
class ProjectKind:
    """The project as resolved: what was given and the categories it is judged as."""

    category: str | None
    industry_code: str | None = None
    industry_name: str | None = None
    eia_item: str | None = None
    eia_item_name: str | None = None
    categories: tuple[str, ...] = ()
    specified: bool = True
    warnings: tuple[str, ...] = ()


class UnknownProject(InvalidInput):
    """An industry code or 名录 item that is not in the tables (422); ZH is the Chinese part."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(zh + en)
        self.zh = zh


def _industry(code: str) -> tuple[str, Industry]:
    """The code as written in the standard and its most specific known entry, or a 422."""
    normalized = normalize_code(code)
    found = industry_catalog().industries.lookup(normalized)
    if found is None:
        raise UnknownProject(
            f"未知的国民经济行业代码“{code}”，请填写 GB/T 4754-2017 代码（如 C26、C2614），"
            f"可用代码见 {LISTED_AT}。",
            f"Unknown industry_code {code!r}: send a GB/T 4754-2017 "
            f"code such as C26 or C2614 (listed at {LISTED_AT}).",
        )
    return normalized, found


def _eia_item(item_id: str) -> EiaItem:
    """The EIA catalog item numbered ITEM_ID, or a 422 saying where the numbers are."""
    item = industry_catalog().eia_items.get(item_id.strip())
    if item is None:
        raise UnknownProject(
            f"未知的环评名录项目类别“{item_id}”，请填写《建设项目环境影响评价分类管理名录"
            f"（2021年版）》的项目类别编号（如 44），可用编号见 {LISTED_AT}。",
            f"Unknown eia_item {item_id!r}: send an item number of the 2021 EIA catalog such "
            f"as 44 (listed at {LISTED_AT}).",
        )
    return item


def _disagreement(given: list[tuple[str, str]], ordered: tuple[str, ...]) -> str:
    """The warning for inputs judged as different categories."""
    said = "；".join(f"{what}为“{cat}”" for what, cat in given)
    return f"项目类别不一致（{said}），按{'、'.join(ordered)}分别研判，取最严格结论"


def resolve_project(
    category: str | None, industry_code: str | None, eia_item: str | None
) -> ProjectKind:
    """The project's kind from what the officer gave; InvalidInput (422) for unknown values."""
    project_categories().check(category)
    given: list[tuple[str, str]] = []
    if category:
        given.append(("项目类别", category))
    code = name = None
    if industry_code:
        code, industry = _industry(industry_code)
        name = industry.name
        given.append((f"行业 {code}（{name}）", industry.category))
    item_name = None
    if eia_item:
        item = _eia_item(eia_item)
        eia_item, item_name = item.id, item.name
        given.append((f"环评名录第 {item.id} 项（{item.name}）", item.category))
    names = project_categories().names
    if not given:
        return ProjectKind(None, categories=tuple(names), specified=False)
    judged = {cat for _, cat in given}
    ordered = tuple(n for n in names if n in judged)
    warnings = (_disagreement(given, ordered),) if len(ordered) > 1 else ()
    return ProjectKind(
        category=category or given[0][1],
        industry_code=code,
        industry_name=name,
        eia_item=eia_item,
        eia_item_name=item_name,
        categories=ordered,
        warnings=warnings,
    )


def category_verdicts(
    kind: ProjectKind, tally: Mapping[str, list[RuleHit]]
) -> list[CategoryVerdict] | None:
    """The verdict per category, when the project was judged as more than one."""
    if len(kind.categories) < 2:
        return None
    out = []
    for category in kind.categories:
        hits = sorted(tally.get(category, []), key=lambda h: -SEVERITY[h.verdict])
        verdict = overall([h.verdict for h in hits])
        out.append(
            CategoryVerdict(
                category=category,
                verdict=verdict,
                verdict_label=LABELS[verdict],
                rule_ids=list(dict.fromkeys(h.rule_id for h in hits)),
            )
        )
    return out


def kind_warnings(kind: ProjectKind, verdicts: list[CategoryVerdict] | None) -> list[str]:
    """What the officer must know about how the project was judged."""
    warnings = list(kind.warnings)
    if not kind.specified:
        worst = overall([v.verdict for v in verdicts or []])
        driving = "、".join(v.category for v in verdicts or [] if v.verdict == worst)
        said = (
            f"{LABELS[worst]}（{driving}）；请选择项目类别或行业代码"
            if worst != "clear"
            else "各类别均无冲突"
        )
        warnings.insert(0, f"{UNSPECIFIED}：{said}")
    return warnings
