"""Screening rules as data: a finding plus the project category → verdict, message, basis.

The rules are the catalog's typed `Rule` objects (app.catalog.rule, docs/rules.md), checked
when the catalog loads; this module only evaluates them against findings.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.catalog import Rule, plan_for
from app.geo.measure import area_units

SEVERITY = {"clear": 0, "attention": 1, "restricted": 2, "prohibited": 3}
# Said instead of a plan's title when no plan covers the site's region: never another city's.
NO_PLAN = "（该地区规划未载入，请核对当地规划）"
NO_REGION = "所在地"


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired on a finding, with its message filled in."""

    rule_id: str
    verdict: str
    message: str
    basis: str


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def expand_categories(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    """Category names, with group names replaced by their members."""
    out: set[str] = set()
    for name in names:
        out.update(groups.get(name, [name]))
    return out


def matches_finding(rule: Rule, finding: dict) -> bool:
    """Whether the rule's conditions on the finding (relation, distance, attributes) hold."""
    if rule.relation is not None and finding["relation"] not in rule.relation:
        return False
    if rule.within_m is not None and (finding.get("distance_m") or 0.0) > rule.within_m:
        return False
    attributes = finding.get("attributes") or {}
    return all(
        attributes.get(key) in _as_list(wanted) for key, wanted in (rule.where or {}).items()
    )


def matches_category(rule: Rule, category: str | None, groups: dict[str, list[str]]) -> bool:
    """Whether the rule's category conditions hold for this project category (None: none)."""
    if rule.categories is not None and (
        category is None or category not in expand_categories(rule.categories, groups)
    ):
        return False
    return not (
        category is not None
        and rule.except_categories is not None
        and category in expand_categories(rule.except_categories, groups)
    )


def matches(rule: Rule, finding: dict, category: str | None, groups: dict[str, list[str]]) -> bool:
    """Whether every condition of the rule holds for this finding and project category."""
    return matches_finding(rule, finding) and matches_category(rule, category, groups)


def overlap_text(finding: dict) -> str:
    """How the site meets the feature, as a clause after "项目用地涉及…「名称」，".

    E.g. "重叠面积 2.0000 公顷（30.00 亩），占项目用地的 50.00%", "穿越长度 120.0 米",
    "位于其范围内" (a point), "与其边界相接".
    """
    area = finding.get("overlap_area_m2") or 0.0
    length = finding.get("overlap_length_m") or 0.0
    inside = finding.get("relation") == "inside"
    if area > 0:
        share = finding.get("overlap_share") or 0.0
        units = area_units(area)
        size = f"{units['ha']:.4f} 公顷（{units['mu']:.2f} 亩）"
        if share >= 0.99995:
            return f"全部位于其范围内，面积 {size}"
        return f"重叠面积 {size}，占项目用地的 {share * 100:.2f}%"
    if length > 0:
        return f"全线位于其范围内，长度 {length:.1f} 米" if inside else f"穿越长度 {length:.1f} 米"
    return "位于其范围内" if inside else "与其边界相接"


def buffer_text(finding: dict) -> str:
    """{buffer_text}: "（在项目 500 米缓冲范围内）" after a distance, for a feature beyond the
    site but within its buffer, else nothing (the distance itself is always the site's own)."""
    if not finding.get("within_buffer"):
        return ""
    metres = finding.get("buffer_m")
    return f"（在项目 {metres:g} 米缓冲范围内）" if metres else "（在项目缓冲范围内）"


def plan_context(county: Mapping[str, Any] | None) -> dict[str, str]:
    """The plan placeholders ({plan_title}, {plan_short_title}, {city}) for a site in COUNTY.

    COUNTY is the admin_county finding the site lies in (its attributes carry code, city,
    city_code); the plan is the one its region follows, up the code hierarchy.
    """
    attributes = (county or {}).get("attributes") or {}
    plan = plan_for(attributes.get("code")) or plan_for(attributes.get("city_code"))
    return {
        "plan_title": plan.title if plan else NO_PLAN,
        "plan_short_title": plan.short_title if plan else NO_PLAN,
        "city": attributes.get("city") or NO_REGION,
    }


def render(
    template: str, finding: dict, category: str | None, plan: Mapping[str, str] | None = None
) -> str:
    """A rule's message over the finding's attributes and figures; missing ones show —."""
    values = _Blank(
        {
            **(finding.get("attributes") or {}),
            **finding,
            "category": category or "—",
            "overlap_text": overlap_text(finding),
            "buffer_text": buffer_text(finding),
            **(plan or plan_context(None)),
        }
    )
    for key in ("overlap_area_m2", "distance_m", "overlap_length_m"):
        if isinstance(values.get(key), int | float):
            values[key] = round(values[key], 1)
    if isinstance(finding.get("overlap_area_m2"), int | float):
        values["overlap_area_ha"] = round(area_units(finding["overlap_area_m2"])["ha"], 4)
    if isinstance(finding.get("overlap_share"), int | float):
        values["overlap_pct"] = round(finding["overlap_share"] * 100, 2)
    return template.format_map(values)


def apply_rules(
    rules: Iterable[Rule],
    finding: dict,
    category: str | None,
    groups: dict[str, list[str]],
    plan: Mapping[str, str] | None = None,
) -> list[RuleHit]:
    """Every rule of the layer that this finding meets, most severe first.

    PLAN (from plan_context) fills the plan placeholders of messages and bases.
    """
    plan = plan or plan_context(None)
    hits = [
        RuleHit(
            rule.id or "",
            rule.verdict,
            render(rule.message, finding, category, plan),
            rule.basis.format_map(plan),
        )
        for rule in rules
        if matches(rule, finding, category, groups)
    ]
    return sorted(hits, key=lambda h: -SEVERITY[h.verdict])


def apply_rules_by_category(
    rules: list[Rule],
    finding: dict,
    categories: Iterable[str],
    groups: dict[str, list[str]],
    plan: Mapping[str, str] | None = None,
) -> dict[str, list[RuleHit]]:
    """For each category, the rules this finding meets (as apply_rules), each rendered once.

    A message that names {category} is rendered per category; others are shared.
    """
    plan = plan or plan_context(None)
    rendered: dict[tuple[int, str | None], RuleHit] = {}
    # The finding's conditions do not depend on the category: checked once per rule, and
    # each rule's categories expanded once.
    met = [
        (
            index,
            rule,
            None if rule.categories is None else expand_categories(rule.categories, groups),
            expand_categories(rule.except_categories or [], groups),
            "{category" in rule.message,
        )
        for index, rule in enumerate(rules)
        if matches_finding(rule, finding)
    ]
    out = {}
    for category in categories:
        hits = []
        for index, rule, allowed, excluded, per_category in met:
            if (allowed is not None and category not in allowed) or category in excluded:
                continue
            key = (index, category if per_category else None)
            if key not in rendered:
                message = render(rule.message, finding, category, plan)
                rendered[key] = RuleHit(
                    rule.id or "", rule.verdict, message, rule.basis.format_map(plan)
                )
            hits.append(rendered[key])
        out[category] = sorted(hits, key=lambda h: -SEVERITY[h.verdict])
    return out


def merge_hits(per_category: Iterable[list[RuleHit]]) -> list[RuleHit]:
    """The distinct hits over every category, most severe first (the finding's rules)."""
    seen: dict[tuple[str, str], RuleHit] = {}
    for hits in per_category:
        for hit in hits:
            seen.setdefault((hit.rule_id, hit.message), hit)
    return sorted(seen.values(), key=lambda h: -SEVERITY[h.verdict])


def has_outside_rule(rules: Iterable[Rule]) -> bool:
    """Whether a rule is about the site lying outside every feature of the layer."""
    return any("outside" in (rule.relation or []) for rule in rules)


def overall(verdicts: list[str]) -> str:
    """The most severe verdict; clear when there is none."""
    return max(verdicts, key=SEVERITY.__getitem__, default="clear")
