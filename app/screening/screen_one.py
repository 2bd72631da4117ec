"""One site screened and filed: a plain point from the cell it falls in, when held in
memory (app.screening.point_cells); any other site, or a point whose cell is not held yet,
by the one statement that reads versions, coverage and findings."""

from sqlalchemy.orm import Session

from app.catalog import catalog
from app.geo.local import geodesic_buffer
from app.geo.measure import area_m2
from app.raster.stats import stats_for
from app.screening.coverage import coverage_of, coverage_query, outside_counties
from app.screening.filed_row import file_screening
from app.screening.in_force import InForce, in_force
from app.screening.lookup import look_up
from app.screening.models import LayerCoverage, ParcelResult, ScreeningResult
from app.screening.parcels import parcel_result
from app.screening.point_cells import cells, plain_point
from app.screening.projects import ProjectKind, resolve_project
from app.screening.service import (
    MAX_BUFFER_M,
    Screened,
    ScreeningRequest,
    build_result,
    judge_sites,
    screening_values,
)
from app.screening.site import Site, SiteError

# Attempts at one statement whose versions are still the active ones (see in_force).
_ATTEMPTS = 3


def screen_site(session: Session, req: ScreeningRequest) -> ScreeningResult:
    """Screen one site against every active layer and file the result."""
    return screen_and_file(session, req)[0]


def screen_and_file(
    session: Session, req: ScreeningRequest, audit_actor: str | None = None
) -> tuple[ScreeningResult, bytes]:
    """Screen one site and file the result: the result and its JSON as filed (the answer's
    body, encoded once in Rust), with an audit entry by AUDIT_ACTOR when given."""
    kind = resolve_project(req.project_category, req.industry_code, req.eia_item)
    if not 0 <= req.buffer_m <= MAX_BUFFER_M:
        raise SiteError(
            f"缓冲距离（buffer_m）应在 0 至 {MAX_BUFFER_M} 米之间。"
            f"buffer_m must be between 0 and {MAX_BUFFER_M} metres."
        )
    force = in_force(session)
    if not req.site.multi_parcel and plain_point(req.site.geometry, req.buffer_m):
        done = _from_cell(session, req, kind, force, audit_actor)
        if done is not None:
            return done
    return _by_statement(session, req, kind, force, audit_actor)


def _from_cell(
    session: Session,
    req: ScreeningRequest,
    kind: ProjectKind,
    force: InForce,
    audit_actor: str | None,
) -> tuple[ScreeningResult, bytes] | None:
    """A plain point screened from its cell, filed while the versions it read are active;
    None when the cell is not held or they no longer are (nothing filed)."""
    point = req.site.geometry
    screener = cells.screener(force.versions, point.x, point.y)
    if screener is None:
        return None
    screened = screener.screen([point], kind, 0.0)[0]
    if "admin_county" in force.versions and not screened.by_layer.get("admin_county"):
        raise outside_counties(point)
    coverage = screener.coverage(screened)
    rasters = stats_for(force.rasters_on_disk(), [point])[0]
    result = build_result(req, kind, screened, force.versions, point, coverage, rasters, None)
    filed = result.__pydantic_serializer__.to_json(result, exclude_unset=True)
    read = (
        {k: v.id for k, v in force.versions.items()},
        {k: r.id for k, r in force.rasters.items()},
    )
    if not file_screening(
        session, screening_values(req, result), point, filed, audit_actor, still_active=read
    ):
        return None
    return result, filed


def _by_statement(
    session: Session,
    req: ScreeningRequest,
    kind: ProjectKind,
    force: InForce,
    audit_actor: str | None,
) -> tuple[ScreeningResult, bytes]:
    """The site screened by the one statement (versions, coverage, findings) and filed."""
    site = req.site
    search = geodesic_buffer(site.geometry, req.buffer_m) if req.buffer_m > 0 else site.geometry
    geoms = [site.geometry]
    if len(site.parcel_geometries) > 1:
        geoms += site.parcel_geometries
    buffers = [req.buffer_m] * len(geoms)
    for attempt in range(_ATTEMPTS):
        query = coverage_query(force.versions, force.specs, search)
        looked = look_up(session, geoms, buffers, force.layers, query)
        if force.matches(looked) or attempt == _ATTEMPTS - 1:
            break
        force = in_force(session, fresh=True)
    # Refuses a site wholly outside the loaded counties.
    coverage = coverage_of(query, looked.coverage, force.versions, force.specs)
    complete = _complete(coverage)
    areas = [site.area_m2] + [area_m2(g) if site.kind == "polygon" else 0.0 for g in geoms[1:]]
    every = judge_sites(geoms, buffers, force.specs, looked.found, kind, areas)
    screened, parcels = _parcel_rows(site, every, complete)
    rasters = stats_for(force.rasters_on_disk(), [search])[0]
    result = build_result(req, kind, screened, force.versions, search, coverage, rasters, parcels)
    filed = result.__pydantic_serializer__.to_json(result, exclude_unset=True)
    file_screening(session, screening_values(req, result), site.geometry, filed, audit_actor)
    return result, filed


def _parcel_rows(
    site: Site, every: list[Screened], complete: bool
) -> tuple[Screened, list[ParcelResult] | None]:
    """The site's findings and, for a multi-parcel site, each parcel's row.

    Parcels are screened with the site, in the same statement; a lone parcel (a one-parcel
    报盘 file) is the site itself and costs nothing more."""
    if not site.multi_parcel:
        return every[0], None
    per_parcel = every[1:] or every
    return every[0], [
        parcel_result(info, geom, s.verdict, s.reported, complete)
        for info, geom, s in zip(site.parcel_info, site.parcel_geometries, per_parcel, strict=True)
    ]


def _complete(coverage: list[LayerCoverage]) -> bool:
    """Whether every finding layer's data cover the site."""
    return all(c.covered for c in coverage if catalog()[c.layer].screening_role == "finding")
