"""One layer's rules judged for a batch's point sites, each evaluation kept and shared.

`service._evaluate` judges a layer's features; for a point site what it reads of a feature
met is the same for every site meeting it. Of a feature at a distance its rules read on
which side of each `within_m` threshold the distance lies, and their messages may name the
distance (rounded as `rules.render` shows it). A feature at a distance is therefore judged
once per threshold band with a marker for the distance: each site's findings and hits are
that evaluation with the marker replaced by its own distance, and its finding carries the
site's own distance.
"""

import re
from bisect import bisect_left
from collections.abc import Hashable
from string import Formatter
from typing import Any

from app.catalog import LayerSpec, project_categories
from app.screening import access
from app.screening.models import Finding
from app.screening.projects import ProjectKind
from app.screening.rules import RuleHit, expand_categories, has_outside_rule
from app.screening.service import _evaluate

_FAR = ("nearby", "outside")  # the relations a feature at a distance can be judged under
# Stands for a rounded distance in a message, with its format spec (text never holds NUL).
_MARK = "\x00{}\x00"
_MARKED = re.compile("\x00([^\x00]*)\x00")
_set = object.__setattr__


class _Rounded:
    """A rounded distance to be filled in later: formats as the marker with its spec."""

    def __format__(self, spec: str) -> str:
        return _MARK.format(spec)


class _Distance(float):
    """A distance that rules compare as itself and messages show as the marker."""

    def __round__(self, ndigits: Any = None) -> Any:
        return _Rounded()


def _names_distance_plainly(template: str) -> bool:
    """Whether every field of TEMPLATE about a distance is `{distance_m}` (a spec allowed)."""
    return all(
        (field == "distance_m" and conversion is None if "distance" in field else True)
        and "distance" not in (spec or "")
        for _, field, spec, conversion in Formatter().parse(template)
        if field is not None
    )


def _may_apply(rule: Any, kind: ProjectKind) -> bool:
    """Whether the rule's category conditions may hold for one of the kind's categories."""
    groups = project_categories().groups
    allowed = None if rule.categories is None else expand_categories(rule.categories, groups)
    excluded = expand_categories(rule.except_categories or [], groups)
    return any((allowed is None or c in allowed) and c not in excluded for c in kind.categories)


def at_distance(finding: Finding, d: float, rules: list[RuleHit] | None = None) -> Finding:
    """FINDING at the distance D (with RULES, if given): as `finding.model_copy(update=...)`,
    without its generic copies (a finding has neither extra fields nor private attributes)."""
    copied = Finding.__new__(Finding)
    values = {**finding.__dict__, "distance_m": d}
    if rules is not None:
        values["rules"] = rules
    _set(copied, "__dict__", values)
    _set(copied, "__pydantic_fields_set__", set(finding.__pydantic_fields_set__))
    _set(copied, "__pydantic_extra__", None)
    _set(copied, "__pydantic_private__", None)
    return copied


class Evaluation:
    """A layer's findings and the hits they add to a site's tally, per category.

    Hits come for every category of the kind, in order (rules.apply_rules_by_category): a
    tally then needs its categories once and only the hits there are (`some`); else (no
    feature judged) they are added as they come (`hits`)."""

    def __init__(
        self,
        findings: list[Finding],
        hits: list[tuple[str, list[RuleHit]]],
        categories: tuple[str, ...],
    ) -> None:
        self.findings = findings
        self.finding = findings[0] if len(findings) == 1 else None  # one feature's
        self.categories = categories
        self.complete = [c for c, _ in hits] == list(categories)
        self.hits = [] if self.complete else hits
        self.some = [(c, h) for c, h in hits if h]
        self._marked: list[RuleHit] | None = None  # the hits naming a marked distance

    def add(self, tally: dict[str, list[RuleHit]], primed: bool) -> bool:
        """Add the hits to TALLY as service._evaluate does; whether TALLY now holds every
        category of the kind (PRIMED: it did already)."""
        if not self.complete:
            for category, hits in self.hits:
                tally.setdefault(category, []).extend(hits)
            return primed
        if not primed:
            if tally:
                for category in self.categories:
                    tally.setdefault(category, [])
            else:
                tally.update({category: [] for category in self.categories})
        for category, hits in self.some:
            tally[category].extend(hits)
        return True

    def at(self, d: float) -> "Evaluation":
        """This evaluation (made with the marker for the distance) for a feature at D."""
        if self._marked is None:
            unique = {id(h): h for _, hits in self.some for h in hits}
            unique.update((id(h), h) for f in self.findings for h in f.rules)
            self._marked = [h for h in unique.values() if "\x00" in h.message]
        filled = {
            id(h): RuleHit(
                h.rule_id,
                h.verdict,
                _MARKED.sub(lambda m: format(round(d, 1), m.group(1)), h.message),
                h.basis,
            )
            for h in self._marked
        }

        def swap(hits: list[RuleHit]) -> list[RuleHit]:
            return [filled.get(id(h), h) for h in hits] if filled else hits

        at = Evaluation.__new__(Evaluation)
        at.findings = [at_distance(f, d, swap(f.rules)) for f in self.findings]
        at.finding = at.findings[0] if len(at.findings) == 1 else None
        at.categories, at.complete, at._marked = self.categories, self.complete, []
        at.hits = [(c, swap(hits)) for c, hits in self.hits]
        at.some = [(c, swap(hits)) for c, hits in self.some]
        return at


class LayerJudge:
    """One layer's rules for one project kind, and its evaluations shared by a batch's sites.

    A layer without an "outside" rule judges each feature apart (service._evaluate): its
    evaluations are kept per feature. One with such a rule judges the site's features
    together, and is kept per set of features."""

    def __init__(self, spec: LayerSpec, kind: ProjectKind) -> None:
        self.spec = spec
        self.id = spec.id
        self.kind = kind
        self.outside = has_outside_rule(spec.rules)
        self.categories = tuple(kind.categories)
        # Thresholds ascending: how many a distance exceeds says which rules it meets.
        self.thresholds = sorted({r.within_m for r in spec.rules if r.within_m is not None})
        # Distances up to this one may be named in a message rendered for the project.
        self.named_within = max(
            (
                float("inf") if r.within_m is None else r.within_m
                for r in spec.rules
                if "distance" in r.message
                and (r.relation is None or any(x in r.relation for x in _FAR))
                and _may_apply(r, kind)
            ),
            default=float("-inf"),
        )
        # The marker stands for the distance when messages name nothing else about it and
        # hits of different rules cannot be mistaken for one another (rules.merge_hits).
        ids = [r.id for r in spec.rules]
        self.markable = (
            spec.id != access.LAYER
            and all(ids)
            and len(set(ids)) == len(ids)
            and all(_names_distance_plainly(r.message) for r in spec.rules)
        )
        self._evaluations: dict[Hashable, Evaluation] = {}

    def alone(self, f: dict[str, Any], plan: dict[str, str], plan_key: Hashable) -> Evaluation:
        """The evaluation of one feature's figures F (a layer without an "outside" rule)."""
        d = f["distance_m"]
        key = (plan_key, f["feature_id"], f["relation"], f.get("buffer_m"), f.get("within_buffer"))
        if d == 0:
            evaluation = self._evaluations.get(key)
            if evaluation is None:
                evaluation = self._evaluations[key] = self._evaluate([f], plan)
            return evaluation
        # As rules.matches_finding compares it with each threshold (named_within is one of
        # them: the band says whether a message may name the distance).
        key = (*key, bisect_left(self.thresholds, d))
        named = d <= self.named_within
        if named and not self.markable:
            return self._evaluate([f], plan)  # its messages name the distance
        evaluation = self._evaluations.get(key)
        if evaluation is None:
            figures = {**f, "distance_m": _Distance(d)} if named else f
            evaluation = self._evaluations[key] = self._evaluate([figures], plan)
        return evaluation.at(d) if named else evaluation

    def together(
        self, found: list[dict[str, Any]], plan: dict[str, str], plan_key: Hashable
    ) -> Evaluation:
        """The evaluation of a site's features FOUND together (a layer with an "outside"
        rule: it is about them all); its findings may carry another site's distances."""
        keys = []
        for f in found:
            d = f["distance_m"]
            key = (f["feature_id"], f["relation"], f.get("buffer_m"), f.get("within_buffer"))
            if d != 0:
                if d <= self.named_within:
                    return self._evaluate(found, plan)  # its messages name the distance
                key = (*key, bisect_left(self.thresholds, d))
            keys.append(key)
        evaluation = self._evaluations.get((plan_key, *keys))
        if evaluation is None:
            evaluation = self._evaluations[(plan_key, *keys)] = self._evaluate(found, plan)
        return evaluation

    def _evaluate(self, found: list[dict[str, Any]], plan: dict[str, str]) -> Evaluation:
        """service._evaluate of FOUND, its hits kept apart."""
        own: dict[str, list[RuleHit]] = {}
        findings = _evaluate(self.spec, found, self.kind, plan, own)
        return Evaluation(findings, list(own.items()), self.categories)


def with_distances(findings: list[Finding], found: list[dict[str, Any]]) -> list[Finding]:
    """FINDINGS (judged for another site with the same key) with FOUND's own distances."""
    if not found:
        return findings  # an "outside" finding at no distance
    distance = {f["feature_id"]: f["distance_m"] for f in found}
    nearest = min(distance.values())
    out = []
    for finding in findings:
        d = nearest if finding.feature_id is None else distance[finding.feature_id]
        out.append(finding if finding.distance_m == d else at_distance(finding, d))
    return out
