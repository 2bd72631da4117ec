"""What a batch of point sites computes once and shares between sites with equal inputs.

Within one batch (one set of active versions, one point index) a layer's findings for a point
are determined by the features it relates to, their relations and distances; so are their
rule hits, for one project kind and plan. Sites that meet the same features (most meet none
of a layer, and lie inside some county, township and control unit) get the very same
findings and context: they are judged and built once and the objects shared (never mutated
once built).

A feature at a distance is judged by what its rules read of the distance: on which side of
each `within_m` threshold of the layer it lies, and the distance rounded as messages show it
when a message that could be rendered for it names the distance. Its finding is then the
shared one with the site's own distance. The caches grow with the features a batch meets and
the distance bands near ones fall in, not with its sites.
"""

from bisect import bisect_left
from collections.abc import Hashable
from typing import Any

from app.catalog import LayerSpec, project_categories
from app.screening.context import context_of, main_unit
from app.screening.models import Context, Finding
from app.screening.projects import ProjectKind
from app.screening.rules import SEVERITY, RuleHit, expand_categories, has_outside_rule, plan_context
from app.screening.service import Screened, _evaluate, version_fields, with_conditions

# The context layers a site's context is read from (app.screening.context).
_CONTEXT_LAYERS = ("admin_county", "township", "control_unit")
_FAR = ("nearby", "outside")  # the relations a feature at a distance can be judged under


class _Layer:
    """One layer's rules for one project kind, and its evaluations shared by a batch's sites.

    A layer without an "outside" rule judges each feature apart (service._evaluate): its
    evaluations are kept per feature. One with such a rule judges the site's features
    together, and is kept per set of features."""

    def __init__(self, spec: LayerSpec, kind: ProjectKind) -> None:
        self.spec = spec
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
        self._evaluations: dict[Hashable, _Evaluation] = {}

    def alone(self, f: dict[str, Any], plan: dict[str, str], plan_key: Hashable) -> "_Evaluation":
        """The evaluation of one feature's figures F (a layer without an "outside" rule)."""
        d = f["distance_m"]
        key = (plan_key, f["feature_id"], f["relation"], f.get("buffer_m"), f.get("within_buffer"))
        if d != 0:
            if d <= self.named_within:
                return self._evaluate([f], plan)  # its messages name the distance
            # As rules.matches_finding compares it with each threshold.
            key = (*key, bisect_left(self.thresholds, d))
        evaluation = self._evaluations.get(key)
        if evaluation is None:
            evaluation = self._evaluations[key] = self._evaluate([f], plan)
        return evaluation

    def together(
        self, found: list[dict[str, Any]], plan: dict[str, str], plan_key: Hashable
    ) -> "_Evaluation":
        """The evaluation of a site's features FOUND together (a layer with an "outside"
        rule: it is about them all)."""
        keys = []
        for f in found:
            d = f["distance_m"]
            key = (f["feature_id"], f["relation"], f.get("buffer_m"), f.get("within_buffer"))
            if d != 0:
                if d <= self.named_within:
                    return self._evaluate(found, plan)
                key = (*key, bisect_left(self.thresholds, d))
            keys.append(key)
        evaluation = self._evaluations.get((plan_key, *keys))
        if evaluation is None:
            evaluation = self._evaluations[(plan_key, *keys)] = self._evaluate(found, plan)
        return evaluation

    def _evaluate(self, found: list[dict[str, Any]], plan: dict[str, str]) -> "_Evaluation":
        """service._evaluate of FOUND, its hits kept apart."""
        own: dict[str, list[RuleHit]] = {}
        findings = _evaluate(self.spec, found, self.kind, plan, own)
        return _Evaluation(findings, list(own.items()), self.categories)


class _Evaluation:
    """A layer's findings and the hits they add to a site's tally, per category."""

    def __init__(
        self,
        findings: list[Finding],
        hits: list[tuple[str, list[RuleHit]]],
        categories: tuple[str, ...],
    ) -> None:
        self.findings = findings
        self.finding = findings[0] if len(findings) == 1 else None  # one feature's
        self.hits = hits
        # Hits come for every category of the kind, in order (rules.apply_rules_by_category):
        # a tally then needs its categories once and only the hits that are there.
        self.complete = [c for c, _ in hits] == list(categories)
        self.some = [(c, h) for c, h in hits if h]
        self.categories = categories

    def add(self, tally: dict[str, list[RuleHit]], primed: bool) -> bool:
        """Add the hits to TALLY as service._evaluate does; whether TALLY now holds every
        category of the kind (PRIMED: it did already)."""
        if not self.complete:
            for category, hits in self.hits:
                tally.setdefault(category, []).extend(hits)
            return primed
        if not primed:
            for category in self.categories:
                tally.setdefault(category, [])
        for category, hits in self.some:
            tally[category].extend(hits)
        return True


def _may_apply(rule: Any, kind: ProjectKind) -> bool:
    """Whether the rule's category conditions may hold for one of the kind's categories."""
    groups = project_categories().groups
    allowed = None if rule.categories is None else expand_categories(rule.categories, groups)
    excluded = expand_categories(rule.except_categories or [], groups)
    return any((allowed is None or c in allowed) and c not in excluded for c in kind.categories)


def _with_distances(findings: list[Finding], found: list[dict[str, Any]]) -> list[Finding]:
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


_set = object.__setattr__


def at_distance(finding: Finding, d: float) -> Finding:
    """FINDING at the distance D: `finding.model_copy(update={"distance_m": d})`, without its
    generic copies (a finding has neither extra fields nor private attributes)."""
    copied = Finding.__new__(Finding)
    _set(copied, "__dict__", {**finding.__dict__, "distance_m": d})
    _set(copied, "__pydantic_fields_set__", set(finding.__pydantic_fields_set__))
    _set(copied, "__pydantic_extra__", None)
    _set(copied, "__pydantic_private__", None)
    return copied


class BatchCache:
    """Layer evaluations and site contexts shared by a batch's point sites."""

    def __init__(self, versions: dict[str, Any]) -> None:
        self.filed_versions = version_fields(versions)  # the same for every site
        self._layers: dict[Hashable, list[_Layer]] = {}
        self._plans: dict[Hashable, tuple[dict[str, str], Hashable]] = {}
        self._contexts: dict[Hashable, Context] = {}

    def judge(self, results: list[Screened], kind: ProjectKind, specs: list[LayerSpec]) -> None:
        """As service.judge(RESULTS, KIND, SPECS): the same findings, hits and verdicts,
        each feature judged once per plan and distance band, not once per site."""
        layers = self._layers.get(kind)
        if layers is None:
            layers = self._layers[kind] = [_Layer(spec, kind) for spec in specs]
        for screened in results:
            plan, plan_key = self._plan(screened)
            reported, tally, by_layer = screened.reported, screened.by_category, screened.by_layer
            primed = False
            for layer in layers:
                found = by_layer[layer.spec.id]
                if layer.outside:
                    evaluation = layer.together(found, plan, plan_key)
                    primed = evaluation.add(tally, primed)
                    reported.extend(_with_distances(evaluation.findings, found))
                    continue
                for f in found:  # none: nothing to judge, no finding, no hit
                    evaluation = layer.alone(f, plan, plan_key)
                    primed = evaluation.add(tally, primed)
                    finding = evaluation.finding
                    if finding is not None:
                        if finding.distance_m != f["distance_m"]:  # judged at another distance
                            finding = at_distance(finding, f["distance_m"])
                        reported.append(finding)
            reported.sort(key=lambda f: (-SEVERITY[f.verdict], f.distance_m or 0))

    def _plan(self, screened: Screened) -> tuple[dict[str, str], Hashable]:
        """The plan placeholders of a site (as service.judge reads them), and a key for them."""
        county = main_unit(screened.by_layer, "admin_county")
        attributes = (county or {}).get("attributes") or {}
        key = (attributes.get("code"), attributes.get("city_code"), attributes.get("city"))
        known = self._plans.get(key)
        if known is None:
            plan = plan_context(county)
            known = self._plans[key] = (plan, tuple(plan.items()))
        return known

    def context(self, screened: Screened, kind: ProjectKind) -> Context:
        """The context of a point site (as build_result makes it), built once per set of
        county, township and control units it lies in."""
        key = (
            kind,
            tuple(
                (layer, f["feature_id"], f["relation"], f.get("site_share"), f.get("overlap_share"))
                for layer in _CONTEXT_LAYERS
                for f in screened.by_layer.get(layer, [])
            ),
        )
        cached = self._contexts.get(key)
        if cached is None:
            cached = with_conditions(context_of(screened.by_layer, "point"), kind)
            self._contexts[key] = cached
        return cached
