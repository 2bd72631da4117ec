"""screen_site: a site in, findings, context, rules and a verdict out; every screening filed."""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import LayerSpec, catalog, project_categories
from app.errors import NotFound
from app.geo.local import geodesic_buffer
from app.geo.measure import area_m2
from app.raster.stats import stats_for
from app.screening import findings as findings_mod
from app.screening.coverage import coverage_warnings, site_coverage
from app.screening.models import (
    Context,
    ControlUnit,
    Finding,
    LayerCoverage,
    Project,
    ScreeningResult,
    SiteFigures,
    verdict_label,
)
from app.screening.rules import SEVERITY, apply_rules, has_outside_rule, overall, plan_context
from app.screening.site import Site, SiteError
from app.store.layers import active_versions
from app.store.models import LayerVersion, Screening
from app.store.rasters import active_rasters

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


def _evaluate(
    spec: LayerSpec, found: list[dict[str, Any]], category: str | None, plan: dict[str, str]
) -> list[Finding]:
    """The findings of one layer to report: every one for finding layers, else rule hits."""
    groups = project_categories().groups
    rules = spec.rules
    out = []
    for figures in found:
        hits = apply_rules(rules, figures, category, groups, plan)
        if spec.screening_role == "finding" or hits:
            out.append(Finding.of(figures, hits))
    if has_outside_rule(rules) and not any(f["relation"] == "inside" for f in found):
        figures = _outside_figures(spec, found)
        hits = apply_rules(rules, figures, category, groups, plan)
        if hits:
            out.append(Finding.of(figures, hits))
    return out


def _main_unit(by_layer: dict[str, list[dict[str, Any]]], layer: str) -> dict[str, Any] | None:
    """The unit holding most of the site (or the point): "the" county / township."""
    touching = [f for f in by_layer.get(layer, []) if f["relation"] in ("inside", "overlaps")]
    return max(touching, key=lambda f: f.get("overlap_area_m2") or 0, default=None)


def context_of(by_layer: dict[str, list[dict[str, Any]]]) -> Context:
    """County, township and control units from the context layers' relations to the site."""
    county, township = _main_unit(by_layer, "admin_county"), _main_unit(by_layer, "township")
    t = (township or {}).get("attributes", {})
    units = [f for f in by_layer.get("control_unit", []) if f["relation"] in ("inside", "overlaps")]
    return Context(
        county=(county or {}).get("name"),
        county_code=(county or {}).get("attributes", {}).get("code"),
        township=t.get("name"),
        township_code=t.get("code"),
        zone_type=t.get("zone_type"),
        county_positioning=t.get("county_positioning"),
        overlay_energy=t.get("overlay_energy"),
        overlay_heritage=t.get("overlay_heritage"),
        townships=[
            f["name"]
            for f in by_layer.get("township", [])
            if f["relation"] in ("inside", "overlaps")
        ],
        control_units=[
            ControlUnit(
                code=f["attributes"].get("code"),
                name=f["name"],
                unit_class=f["attributes"].get("unit_class"),
                overlap_share=f.get("overlap_share"),
                access_list={
                    k: f["attributes"].get(k)
                    for k in (
                        "spatial_constraints",
                        "emission_controls",
                        "risk_controls",
                        "resource_efficiency",
                    )
                },
            )
            for f in units
        ],
    )


@dataclass
class Screened:
    """The findings of one site: all relations by layer, and those to report."""

    by_layer: dict[str, list[dict[str, Any]]]
    reported: list[Finding]

    @property
    def verdict(self) -> str:
        """The most severe verdict of the reported findings."""
        return overall([f.verdict for f in self.reported])


def screened_specs(versions: dict[str, LayerVersion]) -> list[LayerSpec]:
    """The catalog layers a screening reads: screened ones with an active version."""
    return [
        spec
        for layer_id, spec in catalog().items()
        if spec.screening_role != "none" and layer_id in versions
    ]


def screen_geometries(
    session: Session,
    geoms: list[shapely.Geometry],
    category: str | None,
    versions: dict[str, LayerVersion],
) -> list[Screened]:
    """Findings, rules and verdicts for many search geometries, one query per layer."""
    areas = [area_m2(g) if shapely.get_dimensions(g) == 2 else 0.0 for g in geoms]
    results = [Screened({}, []) for _ in geoms]
    specs = screened_specs(versions)
    for spec in specs:
        radius = 0.0 if spec.screening_role == "context" else spec.search_radius_m
        per_site = findings_mod.find_many(session, spec, versions[spec.id].id, geoms, areas, radius)
        for screened, found in zip(results, per_site, strict=True):
            if spec.screening_role == "context":
                found = [f for f in found if f["relation"] in ("inside", "overlaps")]
            screened.by_layer[spec.id] = found
    # Rules are evaluated once the county is known: their bases cite the plan of its region.
    for screened in results:
        plan = plan_context(_main_unit(screened.by_layer, "admin_county"))
        for spec in specs:
            screened.reported.extend(_evaluate(spec, screened.by_layer[spec.id], category, plan))
        screened.reported.sort(key=lambda f: (-SEVERITY[f.verdict], f.distance_m or 0))
    return results


def screen_site(session: Session, req: ScreeningRequest) -> ScreeningResult:
    """Screen one site against every active layer and file the result."""
    project_categories().check(req.project_category)
    if not 0 <= req.buffer_m <= MAX_BUFFER_M:
        raise SiteError(f"buffer_m must be between 0 and {MAX_BUFFER_M} metres.")
    site = req.site
    versions = active_versions(session)
    search = geodesic_buffer(site.geometry, req.buffer_m) if req.buffer_m > 0 else site.geometry
    # Refuses a site wholly outside the loaded counties before anything else is read.
    coverage = site_coverage(session, versions, screened_specs(versions), search)
    screened = screen_geometries(session, [search], req.project_category, versions)[0]
    rasters = stats_for(active_rasters(session), [search])[0]
    result = build_result(req, screened, versions, search, coverage, rasters)
    session.add(Screening(**screening_values(req, result), result=result.as_json()))
    session.flush()
    return result


def build_result(
    req: ScreeningRequest,
    screened: Screened,
    versions: dict[str, LayerVersion],
    search: shapely.Geometry,
    coverage: list[LayerCoverage],
    rasters: dict[str, Any],
) -> ScreeningResult:
    """The result of one screened site, as filed and answered (also for each batch row)."""
    site = req.site
    complete = all(c.covered for c in coverage if catalog()[c.layer].screening_role == "finding")
    search_area = area_m2(search) if shapely.get_dimensions(search) == 2 else 0.0
    screening_id = uuid.uuid4().hex[:16]
    result = ScreeningResult(
        id=screening_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(),
        verdict=screened.verdict,
        project=Project(
            name=req.project_name, category=req.project_category, buffer_m=req.buffer_m
        ),
        site=SiteFigures(
            **site.figures(),
            source_crs=site.source_crs,
            source_format=site.source_format,
            parcels=site.names,
            search_area_m2=search_area,
            geometry=mapping(site.geometry),
        ),
        context=context_of(screened.by_layer),
        findings=screened.reported,
        layer_versions={k: v.version for k, v in sorted(versions.items())},
        layer_version_dates={
            k: v.activated_at.isoformat() if v.activated_at else None
            for k, v in sorted(versions.items())
        },
        rasters=rasters,
        warnings=site.warnings + coverage_warnings(coverage, req.buffer_m),
        coverage=coverage,
        complete=complete,
        verdict_label=verdict_label(screened.verdict, complete),
    )
    return result


def screening_values(req: ScreeningRequest, result: ScreeningResult) -> dict[str, Any]:
    """The columns of a filed screening but its result JSON (one row of a bulk insert too)."""
    return dict(
        id=result.id,
        created_by=req.actor,
        project_name=req.project_name,
        project_category=req.project_category,
        buffer_m=req.buffer_m,
        verdict=result.verdict,
        inputs=req.inputs or {},
        layer_versions=result.layer_versions,
        geom=from_shape(req.site.geometry, srid=4490),
    )


def get_screening(session: Session, screening_id: str) -> Screening:
    """The filed screening; NotFound if there is none with that id."""
    row = session.get(Screening, screening_id)
    if row is None:
        raise NotFound(f"There is no screening {screening_id!r}; list them at /screenings.")
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
) -> list[Screening]:
    """Filed screenings matching the filters (and filed by CREATED_BY if given), newest first."""
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
    return list(session.scalars(q.limit(limit).offset(offset)))
