"""What a batch of point sites computes once and shares between sites with equal inputs.

Within one batch (one set of active versions, one point index) a layer's findings for a point
are determined by the features it relates to, their relations and distances; so are their
rule hits, for one project kind and plan. Sites that meet the same features (most meet none
of a layer, and lie inside some county, township and control unit) get the very same
findings and context: they are judged and built once and the objects shared (never mutated
once built).

Only evaluations whose features all meet the site (distance 0, the same for every site) are
kept, so the caches grow with the features a batch meets, not with its sites.
"""

from collections.abc import Hashable
from typing import Any

from app.screening.context import context_of
from app.screening.models import Context, Finding
from app.screening.projects import ProjectKind
from app.screening.rules import RuleHit
from app.screening.service import Screened, _evaluate, version_fields, with_conditions

# The context layers a site's context is read from (app.screening.context).
_CONTEXT_LAYERS = ("admin_county", "township", "control_unit")


def _relations(found: list[dict[str, Any]]) -> tuple[Hashable, ...] | None:
    """What a point's figures for one layer depend on besides the feature itself; None when
    some feature lies at a distance (those keys would grow with the batch)."""
    key = []
    for f in found:
        if f["distance_m"] != 0:
            return None
        key.append((f["feature_id"], f["relation"], f.get("buffer_m"), f.get("within_buffer")))
    return tuple(key)


class BatchCache:
    """Layer evaluations and site contexts shared by a batch's point sites."""

    def __init__(self, versions: dict[str, Any]) -> None:
        self.filed_versions = version_fields(versions)  # the same for every site
        self._evaluations: dict[Hashable, tuple[list[Finding], list[tuple[str, list]]]] = {}
        self._contexts: dict[Hashable, Context] = {}

    def evaluate(
        self,
        spec: Any,
        found: list[dict[str, Any]],
        kind: ProjectKind,
        plan: dict[str, str],
        tally: dict[str, list[RuleHit]],
    ) -> list[Finding]:
        """As service._evaluate (same findings, same hits added to TALLY), judged once per
        (layer, features met, project kind, plan)."""
        relations = _relations(found)
        if relations is None:
            return _evaluate(spec, found, kind, plan, tally)
        key = (spec.id, relations, kind, tuple(plan.items()))
        cached = self._evaluations.get(key)
        if cached is None:
            own: dict[str, list[RuleHit]] = {}
            cached = (_evaluate(spec, found, kind, plan, own), list(own.items()))
            self._evaluations[key] = cached
        findings, hits = cached
        for category, category_hits in hits:
            tally.setdefault(category, []).extend(category_hits)
        return list(findings)

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
