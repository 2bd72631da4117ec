"""Batch screening: many sites from one file → one row per site, each filed as a screening.

Rows give their own project (name, category, industry code) and buffer; the rows of one
(category, buffer) are screened together, one query per layer per chunk of CHUNK sites.
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import catalog, project_categories
from app.errors import InvalidInput
from app.geo.local import geodesic_buffer
from app.screening.batch_input import (
    MAX_SITES,
    BatchSites,
    RowProblem,
    read_sites,
    resolve_row,
)
from app.screening.batch_output import FORMATS, write_rows
from app.screening.coverage import site_coverage
from app.screening.filing import file_screenings
from app.screening.models import LABELS, ScreeningResult
from app.screening.projects import ProjectKind
from app.screening.service import (
    MAX_BUFFER_M,
    Screened,
    ScreeningRequest,
    build_result,
    screen_geometries,
    screened_specs,
)
from app.screening.site import Site, SiteError
from app.store import audit
from app.store.db import session_scope
from app.store.layers import active_versions
from app.store.models import Feature, LayerVersion
from app.store.regions import region_prefix

__all__ = ["FORMATS", "MAX_SITES", "BatchSites", "read_sites", "screen_batch", "write_rows"]

CHUNK = 500
OUTSIDE_DATA = "项目用地不在已加载数据覆盖的区县范围内"


def _partial(session: Session, versions: dict[str, LayerVersion]) -> bool:
    """Whether some screened layer's data leave a loaded county uncovered (then each site
    is measured; otherwise every site is covered and no query is spent)."""
    county = versions.get("admin_county")
    scoped = [
        versions[s.id].coverage_codes
        for s in screened_specs(versions)
        if versions[s.id].coverage_codes is not None
    ]
    if county is None or not scoped:
        return False
    codes = session.scalars(
        select(Feature.attributes["code"].astext).where(Feature.version_id == county.id)
    ).all()
    return any(
        not all(c and c.startswith(tuple(region_prefix(r) for r in regions)) for c in codes)
        for regions in scoped
    )


def _search(geom: shapely.Geometry, buffer_m: float) -> shapely.Geometry:
    """What the service is asked to screen for a site with this buffer."""
    return geodesic_buffer(geom, buffer_m) if buffer_m else geom


def _project_cells(
    i: int, sites: BatchSites, project: ProjectKind | None, buffer_m: float | None
) -> dict[str, Any]:
    """The row's number, label and project as screened (or as given, for a row in error)."""
    given = sites.row(i)
    return {
        "row": i + 1,
        "site": sites.labels[i],
        "project_name": given.name,
        "project_category": project.category if project else given.category,
        "industry_code": project.industry_code if project else given.industry_code,
        "eia_item": project.eia_item if project else given.eia_item,
        "buffer_m": buffer_m,
    }


def _error_row(cells: dict[str, Any], reason: str) -> dict[str, Any]:
    """A row that could not be screened: 无法研判, and why (第 n 行：…)."""
    return {
        **cells,
        "verdict": "error",
        "verdict_zh": "无法研判",
        "verdict_label": "无法研判",
        "screening_id": None,
        "report_url": None,
        "created_at": None,
        "problem": f"第 {cells['row']} 行：{reason}",
    }


def _main_conflict(result: ScreeningResult) -> str | None:
    """The most severe finding with a rule hit: its layer and feature."""
    top = next((f for f in result.findings if f.rules and f.verdict != "clear"), None)
    if top is None:
        return None
    return (
        top.layer_title
        if top.name in (None, top.layer_title)
        else f"{top.layer_title}「{top.name}」"
    )


def _row(cells: dict[str, Any], screened: Screened, result: ScreeningResult) -> dict[str, Any]:
    """One screened row: verdict, place, per finding layer overlap/distance, its filed id."""
    ctx = result.context
    row = {
        **cells,
        "verdict": result.verdict,
        "verdict_zh": LABELS[result.verdict],
        "verdict_label": result.verdict_label,
        "main_conflict": _main_conflict(result),
        "complete": result.complete,
        "county": ctx.county,
        "township": ctx.township,
        "zone_type": ctx.zone_type,
        "hit_layers": ";".join(
            sorted({f.layer for f in result.findings if f.relation in ("inside", "overlaps")})
        ),
    }
    for layer_id, spec in catalog().items():
        if spec.screening_role != "finding":
            continue
        found = screened.by_layer.get(layer_id, [])
        touching = [f for f in found if f["relation"] in ("inside", "overlaps")]
        row[f"{layer_id}_overlap_m2"] = round(sum(f["overlap_area_m2"] or 0 for f in touching), 2)
        nearest = min((f["distance_m"] for f in found), default=None)
        row[f"{layer_id}_distance_m"] = round(nearest, 1) if nearest is not None else None
    row["rules"] = "；".join(r.message for f in result.findings for r in f.rules[:1])
    row["warnings"] = "；".join(result.warnings) or None
    row["screening_id"] = result.id
    row["report_url"] = f"/screenings/{result.id}/report.pdf"
    row["created_at"] = result.created_at
    row["problem"] = None
    return row


def _inputs(source: dict[str, Any], cells: dict[str, Any], sites: BatchSites) -> dict[str, Any]:
    """What a batch row's filed screening records as given: the batch, file, row and project."""
    return {
        **source,
        "row": cells["row"],
        "crs": sites.source_crs,
        **{k: cells[k] for k in ("project_name", "project_category", "industry_code", "eia_item")},
        "buffer_m": cells["buffer_m"],
    }


def _request(
    sites: BatchSites, i: int, cells: dict[str, Any], project: ProjectKind, filed_as: dict[str, Any]
) -> ScreeningRequest:
    """The screening request a batch row stands for (its project as resolved by row_project)."""
    geom = sites.geometries[i]
    site = Site(geom, sites.source_crs, sites.source_format, len(shapely.get_parts(geom)))
    return ScreeningRequest(
        site,
        sites.row(i).name,
        project.category,
        cells["buffer_m"],
        filed_as.get("actor"),
        _inputs(filed_as.get("source", {}), cells, sites),
        industry_code=project.industry_code,
        eia_item=project.eia_item,
    )


def _screen_chunk(
    session: Session,
    sites: BatchSites,
    idx: list[int],
    project: dict[int, ProjectKind],
    buffer_m: float,
    versions: dict[str, LayerVersion],
    partial: bool,
    filed_as: dict[str, Any],
) -> dict[int, dict[str, Any]]:
    """Screen rows of one (category, buffer) together and file their screenings: the rows."""
    rows: dict[int, dict[str, Any]] = {}
    # Distances from the site itself: the buffer widens the search; coverage is measured
    # over the buffered search area.
    plain = [sites.geometries[i] for i in idx]
    searches = [_search(g, buffer_m) for g in plain]
    kind = project[idx[0]]
    found = screen_geometries(session, plain, kind, versions, [buffer_m] * len(idx))
    filed: list[tuple[ScreeningRequest, ScreeningResult]] = []
    for i, search, s in zip(idx, searches, found, strict=True):
        cells = _project_cells(i, sites, project[i], buffer_m)
        if "admin_county" in versions and not s.by_layer.get("admin_county"):
            rows[i] = _error_row(cells, OUTSIDE_DATA)
            continue
        try:
            coverage = (
                site_coverage(session, versions, screened_specs(versions), search)
                if partial
                else []
            )
        except SiteError:
            rows[i] = _error_row(cells, OUTSIDE_DATA)
            continue
        req = _request(sites, i, cells, project[i], filed_as)
        # Raster statistics are left out: the report does not show them, and sampling them
        # site by site would cost a batch a third of its time.
        result = build_result(req, kind, s, versions, search, coverage, {})
        filed.append((req, result))
        rows[i] = _row(cells, s, result)
    file_screenings(session, filed)
    return rows


def screen_batch(
    sites: BatchSites,
    category: str | None,
    buffer_m: float,
    progress: Callable[[int], None] = lambda done: None,
    actor: str | None = None,
    source: dict[str, Any] | None = None,
) -> list[dict]:
    """Screen and file every usable site; CATEGORY and BUFFER_M fill the rows' empty cells.

    Each chunk's screenings are committed before the next chunk starts, so every row's
    screening id exists once this returns. SOURCE (batch id, file name) goes in their inputs.
    """
    project_categories().check(category)
    if not 0 <= buffer_m <= MAX_BUFFER_M:
        raise InvalidInput(
            f"缓冲距离（buffer_m）应在 0 至 {MAX_BUFFER_M} 米之间。"
            f"buffer_m must be between 0 and {MAX_BUFFER_M} metres."
        )
    n = len(sites.geometries)
    rows: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[ProjectKind, float], list[int]] = defaultdict(list)
    projects: dict[int, ProjectKind] = {}
    for i in range(n):
        if i in sites.problems:
            rows[i] = _error_row(_project_cells(i, sites, None, None), sites.problems[i])
            continue
        try:
            projects[i], row_buffer = resolve_row(sites.row(i), category, buffer_m)
        except RowProblem as exc:
            rows[i] = _error_row(_project_cells(i, sites, None, None), str(exc))
            continue
        groups[(projects[i], row_buffer)].append(i)
    with session_scope() as session:
        versions = active_versions(session)
        partial = _partial(session, versions)
    filed_as = {"actor": actor, "source": source or {}}
    done = len(rows)  # the rows refused already count as done
    for (_, group_buffer), members in groups.items():
        for start in range(0, len(members), CHUNK):
            idx = members[start : start + CHUNK]
            with session_scope() as session:
                rows.update(
                    _screen_chunk(
                        session, sites, idx, projects, group_buffer, versions, partial, filed_as
                    )
                )
            done += len(idx)
            progress(done)
    _audit(actor, source or {}, rows.values())
    return [rows[i] for i in range(n)]


def _audit(actor: str | None, source: dict[str, Any], rows: Any) -> None:
    """One audit entry for the batch's filed screenings: how many, and their verdicts."""
    verdicts = Counter(r["verdict"] for r in rows)
    with session_scope() as session:
        audit.record(
            session,
            actor,
            "screening-batch-filed",
            source.get("batch"),
            filed=sum(v for k, v in verdicts.items() if k != "error"),
            errors=verdicts.get("error", 0),
            verdicts=dict(verdicts),
            file=source.get("file"),
        )
