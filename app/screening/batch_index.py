"""The point index a batch process keeps from one batch to the next, and the versions it is of.

A pool process (or a job worker) screening batches builds an in-memory index of the active
versions' parts around a batch's points (app.screening.batch_points). The next batch is
screened with it while it serves: the same active versions, points inside its bounds, no
wider buffer. Versions are never changed once filed, so an index of theirs never goes stale;
an import makes the next batch build a new one. What the index caches grows with the
features batches meet, not with their sites. An API process (answering batches of up to 200
sites) keeps nothing.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.screening import batch_pool
from app.screening.batch_points import PointScreener
from app.store.models import LayerVersion

# In this process: the index last built, what it was built for, the versions last read.
kept: dict[str, Any] = {}


def covers(built: tuple, version_ids: tuple, bounds: tuple, max_buffer_m: float) -> bool:
    """Whether an index BUILT for (versions, bounds, widest buffer) serves a batch: the same
    versions, its points inside those bounds, no wider buffer."""
    ids, (x0, y0, x1, y1), widest = built
    bx0, by0, bx1, by1 = bounds
    return (
        ids == version_ids
        and widest >= max_buffer_m
        and x0 <= bx0
        and y0 <= by0
        and (bx1 <= x1 and by1 <= y1)
    )


def screener(
    session: Session,
    versions: dict[str, LayerVersion],
    version_ids: tuple[int, ...],
    bounds: tuple[float, ...],
    max_buffer_m: float,
) -> PointScreener:
    """The index for points within BOUNDS searched up to MAX_BUFFER_M beyond each layer's
    radius: in a batch process the one kept while it serves, else a new one."""
    if not batch_pool.serving():  # an API process: no index outlives its batch
        return PointScreener(session, versions, bounds, max_buffer_m)
    built = kept.get("points_for")
    if built is not None and covers(built, version_ids, bounds, max_buffer_m):
        return kept["points"]
    batch_pool.release_built()
    kept.pop("points", None)
    points = PointScreener(session, versions, bounds, max_buffer_m)
    kept.update(points=points, points_for=(version_ids, bounds, max_buffer_m))
    batch_pool.keep_built()
    return points


def versions_of(session: Session, version_ids: tuple[int, ...]) -> dict[str, LayerVersion]:
    """The versions VERSION_IDS by layer id, read once per set of versions."""
    if kept.get("version_ids") != version_ids:
        rows = session.scalars(select(LayerVersion).where(LayerVersion.id.in_(version_ids))).all()
        by_id = {v.id: v for v in rows}
        kept.update(
            version_ids=version_ids, versions={by_id[i].layer_id: by_id[i] for i in version_ids}
        )
    return kept["versions"]
