"""Raster layer versions: validate a GeoTIFF, keep it on disk, record it, activate it."""

import datetime as dt
import os
import shutil
import uuid
from contextlib import suppress
from pathlib import Path

import numpy as np
import pyproj
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from app.catalog import RasterSpec, get_raster_spec, raster_catalog
from app.config import get_settings
from app.errors import CrsError, ImportRejected, UnreadableFile
from app.io.limits import check_raster_pixels
from app.io.readers import without_paths
from app.store.catalog_epoch import mark_changed
from app.store.models import AuditLog, RasterVersion

# Files being uploaded carry this prefix until their transaction commits.
TEMP_PREFIX = ".staged-"
# First key of the advisory lock that serializes version numbering per raster.
_LOCK_SPACE = 7_310_001


def _inspect(path: Path, spec: RasterSpec) -> dict:
    """Metadata of a valid single-band GeoTIFF; a clear error for anything else."""
    check_raster_pixels(path)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CrsError(
                    "The raster has no coordinate system; save it as a GeoTIFF with "
                    "its CRS (e.g. EPSG:4545)."
                )
            if src.count != 1:
                raise ImportRejected(f"The raster has {src.count} bands; upload one band.")
            meta = {
                "crs": src.crs.to_string(),
                "width": src.width,
                "height": src.height,
                "resolution_m": abs(src.transform.a) if src.crs.is_projected else None,
                "bounds_4490": list(transform_bounds(src.crs, "EPSG:4490", *src.bounds)),
            }
            if spec.kind == "categorical":
                values = _distinct_values(src)
                nodata = spec.nodata if spec.nodata is not None else src.nodata
                unknown = sorted(set(values) - set(spec.classes) - {nodata})
                if unknown:
                    allowed = ", ".join(f"{v}={c.label}" for v, c in spec.classes.items())
                    raise ImportRejected(
                        f"Raster values {unknown[:10]} are not classes of {spec.id} "
                        f"({allowed}; nodata {nodata})."
                    )
                meta["stats"] = {"values": values}
    except RasterioIOError as exc:
        raise UnreadableFile(f"The file is not a readable GeoTIFF: {without_paths(exc)}") from exc
    pyproj.CRS.from_user_input(meta["crs"])
    return meta


def _distinct_values(src) -> list[int]:
    seen: set[int] = set()
    for _, window in src.block_windows(1):
        seen.update(np.unique(src.read(1, window=window)).astype(int).tolist())
    return sorted(seen)


def import_raster(
    session: Session,
    raster_id: str,
    path: Path,
    note: str | None = None,
    actor: str | None = None,
    source_name: str | None = None,
) -> RasterVersion:
    """Record a GeoTIFF as version N+1 of a raster layer, active; its file lands on commit.

    The number is taken under a per-raster lock held until the transaction ends; the file is
    copied under a temporary name and moved to v{N}.tif only after the commit (removed on
    rollback), so a failed upload never touches a file another version uses.
    """
    spec = get_raster_spec(raster_id)
    meta = _inspect(path, spec)
    session.execute(select(func.pg_advisory_xact_lock(_LOCK_SPACE, func.hashtext(raster_id))))
    number = (
        session.scalar(
            select(func.max(RasterVersion.version)).where(RasterVersion.raster_id == raster_id)
        )
        or 0
    ) + 1
    target = get_settings().raster_dir / raster_id / f"v{number}.tif"
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{target.name}")
    shutil.copyfile(path, staged)
    _place_on_commit(session, staged, target)
    mark_changed(session)
    session.execute(
        update(RasterVersion)
        .where(RasterVersion.raster_id == raster_id, RasterVersion.status == "active")
        .values(status="superseded")
    )
    version = RasterVersion(
        raster_id=raster_id,
        version=number,
        status="active",
        path=str(target),
        source_name=source_name or path.name,
        note=note,
        created_by=actor,
        activated_at=dt.datetime.now(dt.UTC),
        **meta,
    )
    session.add(version)
    session.add(
        AuditLog(
            actor=actor,
            action="import-raster",
            layer_id=raster_id,
            detail={"version": number, "source": version.source_name},
        )
    )
    session.flush()
    return version


def _place_on_commit(session: Session, staged: Path, target: Path) -> None:
    """Move the staged file into place once the session commits; drop it if it rolls back."""

    def place(_: Session) -> None:
        os.replace(staged, target)
        event.remove(session, "after_soft_rollback", drop)

    def drop(_: Session, __: object) -> None:
        staged.unlink(missing_ok=True)
        event.remove(session, "after_commit", place)

    event.listen(session, "after_commit", place, once=True)
    event.listen(session, "after_soft_rollback", drop, once=True)


def remove_stale_temp_files(before: float) -> int:
    """Delete staged raster files older than `before` (epoch seconds): uploads a crash cut off."""
    removed = 0
    for staged in get_settings().raster_dir.glob(f"*/{TEMP_PREFIX}*"):
        with suppress(OSError):
            if staged.stat().st_mtime < before:
                staged.unlink()
                removed += 1
    return removed


def active_rasters(session: Session) -> dict[str, RasterVersion]:
    """The active version of each catalogued raster whose file is on disk."""
    rows = session.scalars(select(RasterVersion).where(RasterVersion.status == "active")).all()
    return {
        r.raster_id: r for r in rows if r.raster_id in raster_catalog() and Path(r.path).exists()
    }
