"""Screening: a site's findings, context, rules and verdict, and the result they make.

One site is screened and filed by app.screening.screen_one; a batch's sites by
app.screening.batch."""

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import LayerSpec, catalog, project_categories
from app.errors import NotFound
from app.geo.measure import area_m2
from app.screening import access
from app.screening.context import context_of, main_unit
from app.screening.coverage import coverage_warnings
from app.screening.findings import figures_of
from app.screening.in_force import screened_specs, search_radius
from app.screening.lookup import Layer, look_up
from app.screening.models import (
    AccessCondition,
    Context,
    Finding,
    LayerCoverage,
    ParcelResult,
    ScreeningResult,
    verdict_label,
)
from app.screening.projects import (
    ProjectKind,
    category_verdicts,
    kind_warnings,
    resolve_project,
)
from app.screening.rules import (
    SEVERITY,
    RuleHit,
    apply_rules_by_category,
    has_outside_rule,
    merge_hits,
    overall,
    plan_context,
)
from app.screening.site import Site
from app.store.models import Screening

__all__ = ["screened_specs"]  # batch reads the screened layers from here

MAX_BUFFER_M = 50_000


@dataclass
class ScreeningRequest:
    """A site to screen, with what the officer said about the project."""

    site: Site
    project_name: str | None = None
    project_category: str | None = None
    buffer_m: float = 0.0
    actor: str | None = None
    inputs: dict | None = None
    officer: str | None = None
    industry_code: str | None = None
    eia_item: str | None = None


def _outside_figures(spec: LayerSpec, found: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of a site outside every feature of a layer (rules on "outside" read them)."""
    nearest = min((f["distance_m"] for f in found), default=None)
    return {
        "layer": spec.id,
        "layer_title": spec.title_zh,
        "feature_id": None,
        "name": spec.title_zh,
        "relation": "outside",
        "overlap_area_m2": 0.0,
        "overlap_share": 0.0,
        "overlap_length_m": None,
        "distance_m": nearest,
        "attributes": {},
    }


def _judge(
    spec: LayerSpec, figures: dict[str, Any], kind: ProjectKind, plan: dict[str, str]
) -> dict[str, list[RuleHit]]:
    """Per category the project is judged as, the rules (and 准入清单 conditions) met."""
    groups = project_categories().groups
    per_category = apply_rules_by_category(spec.rules, figures, kind.categories, groups, plan)
    if spec.id == access.LAYER:
        for category, hits in access.condition_hits(figures, kind).items():
            per_category[category] = sorted(
                [*per_category[category], *hits], key=lambda h: -SEVERITY[h.verdict]
            )
    return per_category


def _evaluate(
    spec: LayerSpec,
    found: list[dict[str, Any]],
    kind: ProjectKind,
    plan: dict[str, str],
    tally: dict[str, list[RuleHit]],
) -> list[Finding]:
    """The findings of one layer to report: every one for finding layers, else rule hits.

    Each finding carries the distinct hits over every category (most severe first); TALLY
    collects the hits per category, for the verdict of each.
    """
    out = []
    candidates = list(found)
    if has_outside_rule(spec.rules) and not any(f["relation"] == "inside" for f in found):
        candidates.append(_outside_figures(spec, found))
    for index, figures in enumerate(candidates):
        per_category = _judge(spec, figures, kind, plan)
        for category, hits in per_category.items():
            tally.setdefault(category, []).extend(hits)
        hits = merge_hits(per_category.values())
        if hits or (spec.screening_role == "finding" and index < len(found)):
            out.append(Finding.of(figures, hits))
    return out


def with_conditions(context: Context, kind: ProjectKind) -> Context:
    """The context with each control unit's 准入清单 conditions, judged for the project."""
    for unit in context.control_units:
        judged = access.unit_conditions({"code": unit.code, "unit_class": unit.unit_class}, kind)
        unit.conditions = [
            AccessCondition(
                effect=j.condition.effect,
                industries=j.condition.industries,
                text=j.condition.text,
                applies=j.applies,
                judged=j.reason or None,
            )
            for j in judged
        ]
    return context


@dataclass
class Screened:
    """The findings of one site: all relations by layer, and those to report."""

    by_layer: dict[str, list[dict[str, Any]]]
    reported: list[Finding]
    by_category: dict[str, list[RuleHit]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """The most severe verdict of the reported findings."""
        return overall([f.verdict for f in self.reported])


def screen_geometries(
    session: Session,
    geoms: list[shapely.Geometry],
    category: str | ProjectKind | None,
    versions: dict[str, Any],
    buffers_m: Sequence[float] | None = None,
) -> list[Screened]:
    """Findings, rules and verdicts for many sites, in one statement for every layer.

    Each site is searched within its layer's radius plus its buffer (BUFFERS_M, one per
    site; none by default), but relations and distances are those of the site itself.
    CATEGORY is a category name, a resolved ProjectKind, or None: judged as every category,
    the verdict the most severe. VERSIONS: layer id → active version (row or snapshot).
    The statement runs once; only the rules repeat per category.
    """
    specs = screened_specs(versions)
    buffers = list(buffers_m) if buffers_m is not None else [0.0] * len(geoms)
    layers = [Layer(versions[s.id].id, search_radius(s)) for s in specs]
    found = look_up(session, geoms, buffers, layers).found
    return judge_sites(geoms, buffers, specs, found, category)


def judge_sites(
    geoms: list[shapely.Geometry],
    buffers: list[float],
    specs: list[LayerSpec],
    found: list[list[list[dict[str, Any]]]],
    category: str | ProjectKind | None,
    areas: list[float] | None = None,
) -> list[Screened]:
    """Each site's figures by layer, then its rules and verdicts (see screen_geometries).

    FOUND: per site, per spec, the statement's rows; AREAS: the sites' areas if known."""
    kind = category if isinstance(category, ProjectKind) else resolve_project(category, None, None)
    if areas is None:
        areas = [area_m2(g) if shapely.get_dimensions(g) == 2 else 0.0 for g in geoms]
    results = []
    for buffer, per_layer, area in zip(buffers, found, areas, strict=True):
        screened = Screened({}, [])
        for spec, rows in zip(specs, per_layer, strict=True):
            figures = [figures_of(spec, r, area, buffer) for r in rows]
            if spec.screening_role == "context":
                figures = [f for f in figures if f["relation"] in ("inside", "overlaps")]
            screened.by_layer[spec.id] = figures
        results.append(screened)
    judge(results, kind, specs)
    return results


def judge(
    results: list[Screened],
    kind: ProjectKind,
    specs: list[LayerSpec],
    evaluate: Callable[..., list[Finding]] = _evaluate,
) -> None:
    """Rules and verdicts of sites whose relations to every layer of SPECS are found.

    EVALUATE judges one layer's relations (as `_evaluate`; a batch passes a cached one)."""
    # Rules are evaluated once the county is known: their bases cite the plan of its region.
    for screened in results:
        plan = plan_context(main_unit(screened.by_layer, "admin_county"))
        for spec in specs:
            found_here = screened.by_layer[spec.id]
            screened.reported.extend(evaluate(spec, found_here, kind, plan, screened.by_category))
        screened.reported.sort(key=lambda f: (-SEVERITY[f.verdict], f.distance_m or 0))


def build_result(*args: Any, **kwargs: Any) -> ScreeningResult:
    """The result of one screened site, as filed and answered (also for each batch row but
    a point's): `result_fields` (the same arguments) validated as a result."""
    return ScreeningResult(**result_fields(*args, **kwargs))


def result_fields(
    req: ScreeningRequest,
    kind: ProjectKind,
    screened: Screened,
    versions: dict[str, Any],
    search: shapely.Geometry,
    coverage: list[LayerCoverage],
    rasters: dict[str, Any],
    parcels: list[ParcelResult] | None = None,
    context: Context | None = None,
    filed_versions: dict[str, Any] | None = None,
    screening_id: str | None = None,
) -> dict[str, Any]:
    """The fields of one screened site's result, before validation: the project and site as
    plain values, the rest as given (a batch of points files them as they are,
    app.screening.filed_parts; `build_result` validates them).

    A batch passes the CONTEXT of a site (with_conditions applied) and FILED_VERSIONS
    (`version_fields`) it computed once for many sites. SCREENING_ID: the id, when known
    (else a new one)."""
    site = req.site
    specs = catalog()
    complete = all(c.covered for c in coverage if specs[c.layer].screening_role == "finding")
    if search is site.geometry:
        search_area = site.area_m2
    else:
        search_area = area_m2(search) if shapely.get_dimensions(search) == 2 else 0.0
    by_category = category_verdicts(kind, screened.by_category)
    verdict = screened.verdict
    return {
        "id": screening_id or uuid.uuid4().hex[:16],
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "verdict": verdict,
        "project": {
            "name": req.project_name,
            "category": kind.category,
            "buffer_m": float(req.buffer_m),
            "industry_code": kind.industry_code,
            "industry_name": kind.industry_name,
            "eia_item": kind.eia_item,
            "eia_item_name": kind.eia_item_name,
            "categories": list(kind.categories),
            "officer": req.officer,
        },
        "site": {
            **site.figures(),
            "source_crs": site.source_crs,
            "source_format": site.source_format,
            "parcels": site.names,
            "search_area_m2": float(search_area),
            "geometry": site.geojson(),
        },
        "context": context or with_conditions(context_of(screened.by_layer, site.kind), kind),
        "findings": screened.reported,
        **(filed_versions or version_fields(versions)),
        "rasters": rasters,
        "warnings": kind_warnings(kind, by_category)
        + site.warnings
        + coverage_warnings(coverage, req.buffer_m)
        + [p.warning for p in parcels or [] if p.warning],
        "coverage": coverage,
        "complete": complete,
        "verdict_label": verdict_label(verdict, complete),
        **({"parcels": parcels} if parcels is not None else {}),
        # Only when judged as several categories: filed results keep the keys they had.
        **({"by_category": by_category} if by_category else {}),
    }


def version_fields(versions: dict[str, Any]) -> dict[str, Any]:
    """The result's layer_versions and layer_version_dates (layer id → number, ISO date)."""
    return {
        "layer_versions": {k: v.version for k, v in sorted(versions.items())},
        "layer_version_dates": {
            k: v.activated_at.isoformat() if v.activated_at else None
            for k, v in sorted(versions.items())
        },
    }


def fields_of(result: ScreeningResult | dict[str, Any]) -> dict[str, Any]:
    """A result's fields, whether given as the result or as its `result_fields`."""
    return result if isinstance(result, dict) else vars(result)


def screening_values(
    req: ScreeningRequest, result: ScreeningResult | dict[str, Any]
) -> dict[str, Any]:
    """The columns of a filed screening but its geometry and result JSON (one row of a bulk
    insert too): each way of filing encodes those as its statement reads them. RESULT: the
    result, or its `result_fields`."""
    fields = fields_of(result)
    project = fields["project"]
    return dict(
        id=fields["id"],
        created_by=req.actor,
        project_name=req.project_name,
        project_category=project["category"] if isinstance(project, dict) else project.category,
        buffer_m=req.buffer_m,
        verdict=fields["verdict"],
        officer=req.officer,
        inputs=req.inputs or {},
        layer_versions=fields["layer_versions"],
    )


def get_screening(session: Session, screening_id: str) -> Screening:
    """The filed screening; NotFound if there is none with that id."""
    row = session.get(Screening, screening_id)
    if row is None:
        raise NotFound(
            f"没有编号为 {screening_id} 的研判记录，可在 /screenings 查看已归档的研判。"
            f"There is no screening {screening_id!r}; list them at /screenings."
        )
    return row


def list_screenings(
    session: Session,
    verdict: str | None = None,
    category: str | None = None,
    project: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    created_by: str | None = None,
    officer: str | None = None,
) -> list[Screening]:
    """Filed screenings matching the filters (and filed by CREATED_BY if given), newest first.

    OFFICER is the 经办人 named on the screening (exact match), not the key that filed it.
    """
    q = select(Screening).order_by(Screening.created_at.desc())
    if created_by is not None:
        q = q.where(Screening.created_by == created_by)
    if verdict:
        q = q.where(Screening.verdict == verdict)
    if category:
        q = q.where(Screening.project_category == category)
    if project:
        q = q.where(Screening.project_name.ilike(f"%{project}%"))
    if since:
        q = q.where(Screening.created_at >= since)
    if officer:
        q = q.where(Screening.officer == officer)
    return list(session.scalars(q.limit(limit).offset(offset)))
