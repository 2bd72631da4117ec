"""Batch screening: many sites from one file → one row per site, each filed as a screening.

Rows give their own project (name, category, industry code) and buffer. The file is screened
in chunks of CHUNK rows, in file order, each chunk filed in one transaction and handed on
(`iter_rows`) before the next starts, so a batch's memory does not grow with its size. Within
a chunk the rows of one (category, buffer) are screened together: point sites in memory
(app.screening.batch_points), other sites with one query per layer.
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import project_categories
from app.errors import InvalidInput
from app.geo.local import geodesic_buffer
from app.screening.batch_input import (
    MAX_SITES,
    BatchSites,
    RowProblem,
    read_sites,
    resolve_row,
    row_buffer,
)
from app.screening.batch_output import FORMATS, write_rows
from app.screening.batch_points import PointScreener, is_point
from app.screening.batch_rows import error_row, project_cells, request_of, result_row
from app.screening.coverage import site_coverage
from app.screening.filing import file_screenings
from app.screening.models import ScreeningResult
from app.screening.projects import ProjectKind
from app.screening.service import (
    MAX_BUFFER_M,
    ScreeningRequest,
    build_result,
    screen_geometries,
    screened_specs,
)
from app.screening.site import SiteError
from app.store import audit
from app.store.db import session_scope
from app.store.layers import active_versions
from app.store.models import Feature, LayerVersion
from app.store.regions import region_prefix

__all__ = [
    "FORMATS",
    "MAX_SITES",
    "BatchSites",
    "iter_rows",
    "read_sites",
    "screen_batch",
    "write_rows",
]

CHUNK = 2000
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


def screening_id(batch: str, row: int) -> str:
    """The id a batch row is filed under: the same on every run of the job, so a job run
    again (its worker died) replaces its rows instead of filing them twice."""
    return hashlib.sha256(f"{batch}:{row}".encode()).hexdigest()[:16]


def _screen_group(
    session: Session,
    sites: BatchSites,
    idx: list[int],
    project: dict[int, ProjectKind],
    buffer_m: float,
    versions: dict[str, LayerVersion],
    partial: bool,
    filed_as: dict[str, Any],
    points: PointScreener | None,
) -> tuple[dict[int, dict[str, Any]], list[tuple[ScreeningRequest, ScreeningResult]]]:
    """Screen rows of one (category, buffer) together: their rows, and the screenings to file.

    POINTS, when given, screens them all (single points) in memory."""
    rows: dict[int, dict[str, Any]] = {}
    # Distances from the site itself: the buffer widens the search; coverage is measured
    # over the buffered search area.
    plain = [sites.geometries[i] for i in idx]
    searches = [_search(g, buffer_m) for g in plain]
    kind = project[idx[0]]
    if points is not None:
        found = points.screen(plain, kind, buffer_m)
    else:
        found = screen_geometries(session, plain, kind, versions, [buffer_m] * len(idx))
    batch_id = filed_as.get("source", {}).get("batch")
    filed: list[tuple[ScreeningRequest, ScreeningResult]] = []
    for i, search, s in zip(idx, searches, found, strict=True):
        cells = project_cells(i, sites, project[i], buffer_m)
        if "admin_county" in versions and not s.by_layer.get("admin_county"):
            rows[i] = error_row(cells, OUTSIDE_DATA)
            continue
        try:
            if not partial:
                coverage = []
            elif points is not None and not buffer_m:
                coverage = points.coverage(s)
            else:
                coverage = site_coverage(session, versions, screened_specs(versions), search)
        except SiteError:
            rows[i] = error_row(cells, OUTSIDE_DATA)
            continue
        req = request_of(sites, i, cells, project[i], filed_as)
        # Raster statistics are left out: the report does not show them, and sampling them
        # site by site would cost a batch a third of its time.
        result = build_result(req, kind, s, versions, search, coverage, {})
        if batch_id:
            result.id = screening_id(batch_id, i + 1)
        filed.append((req, result))
        rows[i] = result_row(cells, s, result)
    return rows, filed


def _checked(category: str | None, buffer_m: float) -> None:
    """The request's category and buffer, refused when unusable."""
    project_categories().check(category)
    if not 0 <= buffer_m <= MAX_BUFFER_M:
        raise InvalidInput(
            f"缓冲距离（buffer_m）应在 0 至 {MAX_BUFFER_M} 米之间。"
            f"buffer_m must be between 0 and {MAX_BUFFER_M} metres."
        )


def _max_buffer(sites: BatchSites, buffer_m: float) -> float:
    """The widest buffer any row asks for (rows whose buffer is unusable are not screened)."""
    widest = buffer_m
    for f in sites.fields:
        if f.buffer_m is not None:
            try:
                widest = max(widest, row_buffer(f.buffer_m, buffer_m))
            except RowProblem:
                continue
    return widest


Filed = list[tuple[ScreeningRequest, ScreeningResult]]


def _screen_rows(
    session: Session,
    sites: BatchSites,
    rows_range: range,
    category: str | None,
    buffer_m: float,
    versions: dict[str, LayerVersion],
    partial: bool,
    filed_as: dict[str, Any],
    points: PointScreener | None,
) -> tuple[dict[int, dict[str, Any]], Filed]:
    """Screen the rows of ROWS_RANGE (one chunk of the file): their rows, and the
    screenings to file."""
    rows: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[ProjectKind, float, bool], list[int]] = defaultdict(list)
    projects: dict[int, ProjectKind] = {}
    for i in rows_range:
        if i in sites.problems:
            rows[i] = error_row(project_cells(i, sites, None, None), sites.problems[i])
            continue
        try:
            projects[i], row_buffer_m = resolve_row(sites.row(i), category, buffer_m)
        except RowProblem as exc:
            rows[i] = error_row(project_cells(i, sites, None, None), str(exc))
            continue
        in_memory = points is not None and is_point(sites.geometries[i])
        groups[(projects[i], row_buffer_m, in_memory)].append(i)
    filed: Filed = []
    for (_, group_buffer, in_memory), members in groups.items():
        done, to_file = _screen_group(
            session,
            sites,
            members,
            projects,
            group_buffer,
            versions,
            partial,
            filed_as,
            points if in_memory else None,
        )
        rows.update(done)
        filed += to_file
    return rows, filed


def _file(filed: Filed, replacing: list[str]) -> None:
    """File one chunk's screenings in a transaction of its own (committed on return),
    replacing any filed under REPLACING (the chunk's ids in an earlier run of its job)."""
    with session_scope() as session:
        file_screenings(session, filed, replacing)


def iter_rows(
    sites: BatchSites,
    category: str | None,
    buffer_m: float,
    progress: Callable[[int], None] = lambda done: None,
    actor: str | None = None,
    source: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Screen and file every usable site, yielding its row in file order; CATEGORY and
    BUFFER_M fill the rows' empty cells.

    A chunk is filed on a thread of its own while the next one is screened (the database
    stores one while Python screens the other); its rows are yielded once its screenings
    are committed, so every row's screening id exists once it is seen. SOURCE (batch id,
    file name) goes in their inputs.
    """
    _checked(category, buffer_m)
    n = len(sites.geometries)
    with session_scope() as session:
        versions = active_versions(session)
        partial = _partial(session, versions)
        single = [g for g in sites.geometries if is_point(g)]
        points = (
            PointScreener(session, versions, single, _max_buffer(sites, buffer_m))
            if single
            else None
        )
    filed_as = {"actor": actor, "source": source or {}}
    verdicts: Counter[str] = Counter()
    pending: tuple[Future, dict[int, dict[str, Any]], int] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="batch-filing") as filing:
        for start in [*range(0, n, CHUNK), n]:
            screened = None
            if start < n:
                with session_scope() as session:
                    rows, filed = _screen_rows(
                        session,
                        sites,
                        range(start, min(start + CHUNK, n)),
                        category,
                        buffer_m,
                        versions,
                        partial,
                        filed_as,
                        points,
                    )
                end = min(start + CHUNK, n)
                batch_id = (source or {}).get("batch")
                # Every row's id, error rows too: a row screened in an earlier run and
                # refused in this one leaves no screening behind.
                ids = [screening_id(batch_id, i + 1) for i in range(start, end)] if batch_id else []
                screened = (filing.submit(_file, filed, ids), rows, end)
            if pending is not None:
                future, done_rows, done = pending
                future.result()  # committed (or its error raised) before its rows go out
                for i in sorted(done_rows):
                    verdicts[done_rows[i]["verdict"]] += 1
                    yield done_rows[i]
                progress(done)
            pending = screened
    _audit(actor, source or {}, verdicts)


def screen_batch(
    sites: BatchSites,
    category: str | None,
    buffer_m: float,
    progress: Callable[[int], None] = lambda done: None,
    actor: str | None = None,
    source: dict[str, Any] | None = None,
) -> list[dict]:
    """Every row of `iter_rows`, in a list (small batches and the command line)."""
    return list(iter_rows(sites, category, buffer_m, progress, actor, source))


def _audit(actor: str | None, source: dict[str, Any], verdicts: Counter[str]) -> None:
    """One audit entry for the batch's filed screenings: how many, and their verdicts."""
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
