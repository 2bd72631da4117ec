"""Screening rules as data: a finding plus the project category → verdict, message, basis.

A rule (in a layer's YAML `rules:` list) has:
  id, verdict (prohibited | restricted | attention), message (a format string over the
  finding's attributes and figures), basis (the legal basis), and conditions:
  relation: [inside, overlaps, nearby, outside]   any of these relations
  where: {attribute: value or [values]}           attribute filters
  within_m: metres                                distance at most this
  categories: [...] / except_categories: [...]    project categories or category groups
"""

from dataclasses import dataclass
from typing import Any

SEVERITY = {"clear": 0, "attention": 1, "restricted": 2, "prohibited": 3}
RELATIONS = {"inside", "overlaps", "nearby", "outside"}


@dataclass(frozen=True)
class RuleHit:
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


def matches(rule: dict, finding: dict, category: str | None, groups: dict[str, list[str]]) -> bool:
    if "relation" in rule and finding["relation"] not in _as_list(rule["relation"]):
        return False
    within = rule.get("within_m")
    if within is not None and (finding.get("distance_m") or 0.0) > within:
        return False
    attributes = finding.get("attributes") or {}
    for key, wanted in (rule.get("where") or {}).items():
        if attributes.get(key) not in _as_list(wanted):
            return False
    if "categories" in rule and (
        category is None or category not in expand_categories(rule["categories"], groups)
    ):
        return False
    return not (
        category is not None
        and "except_categories" in rule
        and category in expand_categories(rule["except_categories"], groups)
    )


def overlap_text(finding: dict) -> str:
    """How the site meets the feature, in words an officer files."""
    area = finding.get("overlap_area_m2") or 0.0
    length = finding.get("overlap_length_m") or 0.0
    if area > 0:
        share = finding.get("overlap_share") or 0.0
        return (
            f"重叠 {area / 1e4:.4f} 公顷（{area / (10000 / 15):.2f} 亩，占用地 {share * 100:.2f}%）"
        )
    if length > 0:
        return f"相交长度 {length:.1f} 米"
    return "位于其范围内" if finding.get("relation") == "inside" else "相接"


def render(template: str, finding: dict, category: str | None) -> str:
    values = _Blank(
        {
            **(finding.get("attributes") or {}),
            **finding,
            "category": category or "—",
            "overlap_text": overlap_text(finding),
        }
    )
    for key in ("overlap_area_m2", "distance_m", "overlap_length_m"):
        if isinstance(values.get(key), int | float):
            values[key] = round(values[key], 1)
    if isinstance(finding.get("overlap_area_m2"), int | float):
        values["overlap_area_ha"] = round(finding["overlap_area_m2"] / 1e4, 4)
    if isinstance(finding.get("overlap_share"), int | float):
        values["overlap_pct"] = round(finding["overlap_share"] * 100, 2)
    return template.format_map(values)


def apply_rules(
    rules: list[dict], finding: dict, category: str | None, groups: dict[str, list[str]]
) -> list[RuleHit]:
    """Every rule of the layer that this finding meets, most severe first."""
    hits = [
        RuleHit(
            rule.get("id", ""),
            rule["verdict"],
            render(rule["message"], finding, category),
            rule.get("basis", ""),
        )
        for rule in rules
        if matches(rule, finding, category, groups)
    ]
    return sorted(hits, key=lambda h: -SEVERITY[h.verdict])


def overall(verdicts: list[str]) -> str:
    """The most severe verdict; clear when there is none."""
    return max(verdicts, key=SEVERITY.__getitem__, default="clear")


def validate_rule(rule: dict, layer_id: str) -> None:
    """Fail loudly at catalog load on a rule that could never fire as intended."""
    where = f"layer {layer_id} rule {rule.get('id', '?')}"
    if rule.get("verdict") not in ("prohibited", "restricted", "attention"):
        raise ValueError(f"{where}: verdict must be prohibited, restricted or attention")
    if not rule.get("message"):
        raise ValueError(f"{where}: message is required")
    unknown = set(_as_list(rule.get("relation", []))) - RELATIONS
    if unknown:
        raise ValueError(f"{where}: unknown relation(s) {sorted(unknown)}")
