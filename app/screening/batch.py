"""Batch screening: many sites from one file → one row per site, each filed as a screening.

Rows give their own project (name, category, industry code) and buffer. The file is screened
in chunks of CHUNK rows, in file order, each chunk filed in one transaction and handed on
(`iter_rows`) before the next starts, so a batch's memory does not grow with its size. Within
a chunk the rows of one (category, buffer) are screened together: point sites in memory
(app.screening.batch_points), other sites with one query per layer.
"""

from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import project_categories
from app.errors import InvalidInput
from app.geo.local import geodesic_buffer
from app.screening import batch_index, batch_pool
from app.screening.batch_file import RawWindow, SitesFile
from app.screening.batch_input import (
    MAX_SITES,
    BatchSites,
    RowProblem,
    Sites,
    read_sites,
    resolve_row,
    survey,
)
from app.screening.batch_output import FORMATS, write_rows
from app.screening.batch_points import PointScreener, point_mask
from app.screening.batch_rows import error_row, project_cells, request_of, result_row
from app.screening.coverage import site_coverage
from app.screening.filed_parts import PartEncoder
from app.screening.filing import Filed, file_screenings, filed_ids, screening_id
from app.screening.projects import ProjectKind
from app.screening.service import (
    MAX_BUFFER_M,
    build_result,
    result_fields,
    screen_geometries,
    screened_specs,
)
from app.screening.site import SiteError, point_figures
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

# Rows screened and filed together: a chunk's results are what a batch holds at once.
CHUNK = 1000
# A batch this large is screened in the pool's processes, each taking a chunk of POOL_CHUNK
# rows at a time; a smaller one here.
POOL_MIN = 4000
POOL_CHUNK = 1000
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
) -> tuple[dict[int, dict[str, Any]], Filed]:
    """Screen rows of one (category, buffer) together: their rows, and the screenings to file.

    POINTS, when given, screens them all (single points) in memory."""
    rows: dict[int, dict[str, Any]] = {}
    # Distances from the site itself: the buffer widens the search; coverage is measured
    # over the buffered search area.
    plain = [sites.geometry(i) for i in idx]
    searches = [_search(g, buffer_m) for g in plain]
    kind = project[idx[0]]
    if points is not None:
        found = points.screen(plain, kind, buffer_m)
    else:
        found = screen_geometries(session, plain, kind, versions, [buffer_m] * len(idx))
    batch_id = filed_as.get("source", {}).get("batch")
    filed: Filed = []
    # Single 2D points: their figures (surveyor coordinates too) computed at once.
    flat = points is not None and not shapely.has_z(plain).any()
    known = point_figures(shapely.get_coordinates(plain)) if flat else [None] * len(idx)
    for i, search, s, figures in zip(idx, searches, found, known, strict=True):
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
        req = request_of(sites, i, cells, project[i], filed_as, figures)
        # Raster statistics are left out: the report does not show them, and sampling them
        # site by site would cost a batch a third of its time.
        filed_id = screening_id(batch_id, i + 1) if batch_id else None
        if points is None:
            result = build_result(
                req, kind, s, versions, search, coverage, {}, screening_id=filed_id
            )
            filed.append((req, result))
            rows[i] = result_row(cells, s, vars(result))
            continue
        # Points: the result's fields filed as they are (built once per chunk of many sites,
        # validating them as a model cost as much as screening the site).
        cache = points.cache
        context = cache.context(s, kind)
        fields = result_fields(
            req,
            kind,
            s,
            versions,
            search,
            coverage,
            {},
            None,
            context,
            cache.filed_versions,
            filed_id,
        )
        filed.append((req, fields))
        rows[i] = result_row(cells, s, fields)
    return rows, filed


def _checked(category: str | None, buffer_m: float) -> None:
    """The request's category and buffer, refused when unusable."""
    project_categories().check(category)
    if not 0 <= buffer_m <= MAX_BUFFER_M:
        raise InvalidInput(
            f"缓冲距离（buffer_m）应在 0 至 {MAX_BUFFER_M} 米之间。"
            f"buffer_m must be between 0 and {MAX_BUFFER_M} metres."
        )


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
    single = point_mask([sites.geometry(i) for i in rows_range])
    # Rows saying the same about their project resolve alike (most say nothing).
    resolved: dict[tuple, tuple[ProjectKind, float] | RowProblem] = {}
    for i in rows_range:
        if i in sites.problems:
            rows[i] = error_row(project_cells(i, sites, None, None), sites.problems[i])
            continue
        given = sites.row(i)
        key = (given.category, given.industry_code, given.eia_item, given.buffer_m)
        if key not in resolved:
            try:
                resolved[key] = resolve_row(given, category, buffer_m)
            except RowProblem as exc:
                resolved[key] = exc
        outcome = resolved[key]
        if isinstance(outcome, RowProblem):
            rows[i] = error_row(project_cells(i, sites, None, None), str(outcome))
            continue
        projects[i], row_buffer_m = outcome
        in_memory = points is not None and bool(single[i - rows_range.start])
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


def _file(filed: Filed, replacing: list[str], memory: "BatchMemory | None" = None) -> None:
    """File one chunk's screenings in a transaction of its own (committed on return),
    replacing any filed under REPLACING (the chunk's ids in an earlier run of its job).
    MEMORY: what this process keeps of the chunks of the same batch filed before."""
    encoder = memory.chunk_encoder() if memory is not None else PartEncoder()
    known = memory.known if memory is not None else frozenset()
    with session_scope() as session:
        parts = file_screenings(session, filed, replacing, known, encoder)
    if memory is not None:
        memory.known.update(parts)  # only once committed


@dataclass
class BatchMemory:
    """What a process keeps from one chunk of a batch to the next it screens: the parts
    known filed (later chunks look up only the parts new to the batch, not the 1 500 a chunk
    of 1 000 points refers to) and the encoder, which encodes each part once per batch, not
    once per chunk. Parts are never deleted; the memory ends with the next batch."""

    batch: str
    known: set[str] = field(default_factory=set)
    encoder: PartEncoder = field(default_factory=PartEncoder)

    def chunk_encoder(self) -> PartEncoder:
        """The encoder for the next chunk: the batch's, or a new one once it holds
        ENCODER_LIMIT objects (sites screened by statement have objects of their own)."""
        if self.encoder.size > ENCODER_LIMIT:
            self.encoder = PartEncoder()
        return self.encoder


# Objects a batch's encoder holds before a chunk starts a new one: point sites share theirs,
# so it stays far below; others are told apart by their own objects, one set per site.
ENCODER_LIMIT = 50_000
_memory: list[BatchMemory] = []  # the batch this process screens last, if any


def _batch_memory(plan: "_Plan") -> BatchMemory | None:
    """The memory of the plan's batch (None: a batch without an id)."""
    batch_id = plan.filed_as["source"].get("batch")
    if batch_id is None:
        return None
    if not _memory or _memory[0].batch != batch_id:
        _memory[:] = [BatchMemory(batch_id)]
    return _memory[0]


@dataclass(frozen=True)
class _Plan:
    """What every chunk of one batch is screened with (sent to the pool's processes)."""

    version_ids: tuple[int, ...]  # the active versions when the batch started, in order
    partial: bool
    bounds: tuple[float, ...] | None  # the extent of its point sites (None: no points)
    max_buffer_m: float
    category: str | None
    buffer_m: float
    filed_as: dict[str, Any]


def _screener(
    session: Session, versions: dict[str, LayerVersion], plan: _Plan
) -> PointScreener | None:
    """The point index for the plan's points (None: no points)."""
    if plan.bounds is None:
        return None
    return batch_index.screener(session, versions, plan.version_ids, plan.bounds, plan.max_buffer_m)


def _versions_of(plan: _Plan) -> tuple[dict[str, LayerVersion], PointScreener | None]:
    """In a pool process: the plan's versions (read once per set of versions) and point index."""
    with session_scope() as session:
        versions = batch_index.versions_of(session, plan.version_ids)
        return versions, _screener(session, versions, plan)


def screen_window(plan: _Plan, window: BatchSites | RawWindow) -> dict[int, dict[str, Any]]:
    """In a pool process: screen and file one chunk of a batch (WINDOW, a window of it, or
    its lines in the sites file); its rows, once its screenings are committed."""
    sites = window.sites() if isinstance(window, RawWindow) else window
    versions, points = _versions_of(plan)
    rows_range, rows, filed = _screen_window(sites, plan, versions, points)
    _file(filed, filed_ids(plan.filed_as["source"], rows_range), _batch_memory(plan))
    return rows


def _screen_window(
    window: BatchSites,
    plan: _Plan,
    versions: dict[str, LayerVersion],
    points: PointScreener | None,
) -> tuple[range, dict[int, dict[str, Any]], Filed]:
    """Screen one window of the batch in its own transaction: its rows' range, the rows and
    what to file."""
    rows_range = range(window.offset, window.offset + window.total)
    with session_scope() as session:
        rows, filed = _screen_rows(
            session,
            window,
            rows_range,
            plan.category,
            plan.buffer_m,
            versions,
            plan.partial,
            plan.filed_as,
            points,
        )
    return rows_range, rows, filed


Chunks = Iterator[tuple[dict[int, dict[str, Any]], int]]


def _pooled(sites: Sites, plan: _Plan) -> Chunks:
    """The batch's chunks screened and filed in the pool's processes: (rows, rows done) in
    file order; a few chunks ahead of the one handed on, never the whole batch."""
    pool = batch_pool.executor()
    ahead = 2 * batch_pool.processes()
    pending: deque[tuple[Future, int]] = deque()
    try:
        # A sites file's windows go as their lines: the pool's processes parse them.
        windows = (
            sites.raw_windows(POOL_CHUNK)
            if isinstance(sites, SitesFile)
            else sites.windows(POOL_CHUNK)
        )
        for window in windows:
            end = window.offset + window.total
            pending.append((pool.submit(screen_window, plan, window), end))
            if len(pending) >= ahead:
                future, done = pending.popleft()
                yield future.result(), done
        while pending:
            future, done = pending.popleft()
            yield future.result(), done
    except BrokenProcessPool:
        batch_pool.discard()
        raise
    finally:
        for future, _ in pending:
            future.cancel()


def _in_process(sites: Sites, plan: _Plan, versions: dict[str, LayerVersion]) -> Chunks:
    """The batch's chunks screened here, each filed on a thread while the next is screened
    (the database stores one while Python screens the other): (rows, rows done)."""
    with session_scope() as session:
        points = _screener(session, versions, plan)
    pending: tuple[Future, dict[int, dict[str, Any]], int] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="batch-filing") as filing:
        for window in chain(sites.windows(CHUNK), [None]):
            screened = None
            if window is not None:
                rows_range, rows, filed = _screen_window(window, plan, versions, points)
                ids = filed_ids(plan.filed_as["source"], rows_range)
                screened = (filing.submit(_file, filed, ids), rows, rows_range.stop)
            if pending is not None:
                future, done_rows, done = pending
                future.result()  # committed (or its error raised) before its rows go out
                yield done_rows, done
            pending = screened


def iter_rows(
    sites: Sites,
    category: str | None,
    buffer_m: float,
    progress: Callable[[int], None] = lambda done: None,
    actor: str | None = None,
    source: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Screen and file every usable site, yielding its row in file order; CATEGORY and
    BUFFER_M fill the rows' empty cells.

    Rows are yielded chunk by chunk once the chunk's screenings are committed, so every
    row's screening id exists once it is seen. A large batch is screened in a pool of
    processes (app.screening.batch_pool), a smaller one here. SOURCE (batch id, file name)
    goes in their inputs.
    """
    _checked(category, buffer_m)
    with session_scope() as session:
        versions = active_versions(session)
        partial = _partial(session, versions)
    # A queued batch's file holds its survey (read whole once more, it took a tenth of a
    # 10 000-site batch's start).
    known = sites.surveyed(buffer_m) if isinstance(sites, SitesFile) else None
    bounds, widest = known or survey(sites, buffer_m, POOL_CHUNK)
    plan = _Plan(
        tuple(v.id for v in versions.values()),
        partial,
        bounds,
        widest,
        category,
        buffer_m,
        {"actor": actor, "source": source or {}},
    )
    pooled = sites.total >= POOL_MIN and batch_pool.processes() > 1
    chunks = _pooled(sites, plan) if pooled else _in_process(sites, plan, versions)
    verdicts: Counter[str] = Counter()
    for rows, done in chunks:
        for i in sorted(rows):
            verdicts[rows[i]["verdict"]] += 1
            yield rows[i]
        progress(done)
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
