"""What a batch of point sites computes once and shares between sites with equal inputs.

Within one batch (one set of active versions, one point index) a layer's findings for a point
are determined by the features it relates to, their relations and distances; so are their
rule hits, for one project kind and plan. Sites that meet the same features (most meet none
of a layer, and lie inside some county, township and control unit) get the very same
findings and context: they are judged and built once and the objects shared (never mutated
once built).

A feature at a distance is judged once per band between the layer's `within_m` thresholds
(app.screening.batch_judge), its finding and messages then given the site's own distance.
The caches grow with the features a batch finds and their bands, not with its sites.
"""

from collections.abc import Hashable
from typing import Any

from app.catalog import LayerSpec
from app.screening.batch_judge import LayerJudge, at_distance, with_distances
from app.screening.context import context_of, main_unit
from app.screening.models import Context
from app.screening.projects import ProjectKind
from app.screening.rules import SEVERITY, plan_context
from app.screening.service import Screened, version_fields, with_conditions

# The context layers a site's context is read from (app.screening.context).
_CONTEXT_LAYERS = ("admin_county", "township", "control_unit")


class BatchCache:
    """Layer evaluations and site contexts shared by a batch's point sites."""

    def __init__(self, versions: dict[str, Any]) -> None:
        self.filed_versions = version_fields(versions)  # the same for every site
        self._layers: dict[Hashable, list[LayerJudge]] = {}
        self._plans: dict[Hashable, tuple[dict[str, str], Hashable]] = {}
        self._contexts: dict[Hashable, Context] = {}

    def judge(self, results: list[Screened], kind: ProjectKind, specs: list[LayerSpec]) -> None:
        """As service.judge(RESULTS, KIND, SPECS): the same findings, hits and verdicts,
        each feature judged once per plan and distance band, not once per site."""
        layers = self._layers.get(kind)
        if layers is None:
            layers = self._layers[kind] = [LayerJudge(spec, kind) for spec in specs]
        for screened in results:
            plan, plan_key = self._plan(screened)
            reported, tally, by_layer = screened.reported, screened.by_category, screened.by_layer
            primed = False
            for layer in layers:
                found = by_layer[layer.id]
                if layer.outside:
                    evaluation = layer.together(found, plan, plan_key)
                    primed = evaluation.add(tally, primed)
                    reported.extend(with_distances(evaluation.findings, found))
                    continue
                for f in found:  # none: nothing to judge, no finding, no hit
                    evaluation = layer.alone(f, plan, plan_key)
                    primed = evaluation.add(tally, primed)
                    finding = evaluation.finding
                    if finding is not None:
                        if finding.distance_m != f["distance_m"]:  # judged at another distance
                            finding = at_distance(finding, f["distance_m"])
                        reported.append(finding)
            if len(reported) > 1:
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
