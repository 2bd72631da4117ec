"""Single point sites screened in memory, from the parts of the grid cell they fall in.

A point site without a buffer is screened as a batch screens its points
(app.screening.batch_points): the active versions' parts of its cell (CELL_DEG degrees a
side, widened by the widest layer search) are held in STRtrees, so the screening reads no
rows and PostgreSQL only files the record. The lookup was three quarters of the
database's work per point screening and a quarter of the whole request's CPU.

A cell is read on a background thread the first time a point falls in it; until it is
ready (and for every other site) the one statement answers. Cells are kept per set of
active versions: versions never change once filed, so a kept cell never goes stale, and an
import makes a new set (the cells of the old one are dropped). At most `point_cells` cells
are kept per process, the least recently used going first; a cell holds what lies within
about 30 km, whatever the size of the province's data.
"""

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import catalog
from app.config import get_settings
from app.screening.batch_points import PointScreener
from app.store.db import read_session_scope, session_scope
from app.store.models import Layer

log = logging.getLogger(__name__)

CELL_DEG = 0.25


def cell_of(x: float, y: float) -> tuple[int, int]:
    """The grid cell (column, row) holding the point (X, Y) in degrees."""
    return math.floor(x / CELL_DEG), math.floor(y / CELL_DEG)


def cell_bounds(cell: tuple[int, int]) -> tuple[float, float, float, float]:
    """The extent (x0, y0, x1, y1) of a cell."""
    col, row = cell
    return col * CELL_DEG, row * CELL_DEG, (col + 1) * CELL_DEG, (row + 1) * CELL_DEG


def plain_point(geometry: shapely.Geometry, buffer_m: float) -> bool:
    """Whether a site is screened from a cell: one 2D point, no buffer."""
    return (
        buffer_m == 0
        and shapely.get_type_id(geometry) == 0
        and not shapely.has_z(geometry)
        and not shapely.is_empty(geometry)
    )


def _active(session: Session) -> dict[str, int]:
    """The active version of each catalog layer, as the session's database has them."""
    known = catalog()
    rows = session.execute(
        select(Layer.id, Layer.active_version_id).where(Layer.active_version_id.is_not(None))
    )
    return {layer: version for layer, version in rows if layer in known}


class Cells:
    """The cells this process holds, for one set of active versions at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set: Hashable = None  # the version ids the kept cells are of
        self._kept: OrderedDict[tuple[int, int], PointScreener] = OrderedDict()
        self._building: dict[tuple[int, int], Future] = {}
        self._builder: ThreadPoolExecutor | None = None

    def screener(self, versions: dict[str, Any], x: float, y: float) -> PointScreener | None:
        """The cell of (X, Y) for VERSIONS (the active versions by layer), when held; else
        None, its reading started in the background."""
        limit = get_settings().point_cells
        if limit <= 0:
            return None
        ids = tuple(sorted(v.id for v in versions.values()))
        cell = cell_of(x, y)
        with self._lock:
            if ids != self._set:  # another import: the old set's cells are never read again
                self._set = ids
                self._kept.clear()
                self._building.clear()
            held = self._kept.get(cell)
            if held is not None:
                self._kept.move_to_end(cell)
                return held
            if cell not in self._building:
                if self._builder is None:
                    self._builder = ThreadPoolExecutor(1, thread_name_prefix="point-cells")
                self._building[cell] = self._builder.submit(self._build, ids, cell, versions)
        return None

    def _build(self, ids: Hashable, cell: tuple[int, int], versions: dict[str, Any]) -> None:
        try:
            # Read where screening lookups read: the replica only when they may.
            scope = read_session_scope if get_settings().screen_from_replica else session_scope
            with scope() as session:
                # A replica behind the versions asked for would give an empty cell.
                if _active(session) != {k: v.id for k, v in versions.items()}:
                    built = None
                else:
                    built = PointScreener(session, versions, cell_bounds(cell), 0.0)
        except Exception:  # the one statement keeps answering; the next point tries again
            log.exception("reading the point cell %s failed", cell)
            with self._lock:
                self._building.pop(cell, None)
            return
        with self._lock:
            if ids != self._set:
                return
            self._building.pop(cell, None)
            if built is None:
                return
            self._kept[cell] = built
            while len(self._kept) > get_settings().point_cells:
                self._kept.popitem(last=False)

    def wait(self, timeout: float = 30.0) -> None:
        """Wait until the cells being read are held (tests, warm-up)."""
        with self._lock:
            pending = list(self._building.values())
        for future in pending:
            future.result(timeout)

    def clear(self) -> None:
        """Drop every cell (tests)."""
        with self._lock:
            self._set = None
            self._kept.clear()
            self._building.clear()


cells = Cells()
