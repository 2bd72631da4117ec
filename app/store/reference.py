"""Load reference datasets (layers/data/<region>/manifest.yaml) through the normal import paths.

Each region's layers are region-scoped imports (the manifest's region_code), so regions load
side by side; a (layer, region, file) already imported once is not imported again.
"""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.yamlfile import load_yaml
from app.store.imports import ImportRequest, Progress, import_file, no_progress
from app.store.layers import get_layer
from app.store.models import LayerVersion
from app.store.rasters import active_rasters, import_raster
from app.store.regions import sync_regions


def read_manifest(directory: Path) -> dict:
    """The reference dataset's manifest.yaml: its layers and rasters with files and CRS."""
    with (directory / "manifest.yaml").open(encoding="utf-8") as fh:
        return load_yaml(fh)


def reference_root(directory: Path) -> Path:
    """The folder listing every reference region (regions.yaml) above a region folder."""
    return directory.parent if (directory.parent / "regions.yaml").exists() else directory


def region_dirs(directory: Path) -> list[Path]:
    """One region folder (it has a manifest), or every region a regions.yaml lists."""
    if (directory / "manifest.yaml").exists():
        return [directory]
    with (directory / "regions.yaml").open(encoding="utf-8") as fh:
        return [directory / name for name in load_yaml(fh)["regions"]]


def version_note(entry: dict, region: str) -> str:
    """The note filed with a reference version, read by officers in reports: the manifest's
    Chinese note (note_zh); the English note is for developers and only a fallback."""
    return entry.get("note_zh") or entry.get("note") or f"参考数据：{region}"


def load_reference(
    session: Session, directory: Path, force: bool = False, progress: Progress = no_progress
) -> dict[str, int | None]:
    """Import every region's manifest layers and rasters not loaded yet (all, with force).

    Returns {layer: new version number, or None when it was already loaded}; with several
    regions the keys are "<region folder>/<layer>".
    """
    folders = region_dirs(directory)
    loaded: dict[str, int | None] = {}
    for folder in folders:
        prefix = f"{folder.name}/" if len(folders) > 1 else ""
        for name, number in _load_region(session, folder, force, progress).items():
            loaded[prefix + name] = number
    sync_regions(session)
    return loaded


def _load_region(
    session: Session, directory: Path, force: bool, progress: Progress
) -> dict[str, int | None]:
    manifest = read_manifest(directory)
    region = str(manifest["region_code"])
    loaded: dict[str, int | None] = {}
    for layer_id, entry in manifest.get("layers", {}).items():
        get_layer(session, layer_id)
        source = f"{directory.name}/{entry['file']}"
        if not force and _already_loaded(session, layer_id, region, source):
            loaded[layer_id] = None
            continue
        req = ImportRequest(
            layer_id=layer_id,
            path=directory / entry["file"],
            crs=entry.get("crs", "EPSG:4490"),
            note=version_note(entry, directory.name),
            actor="reference-data",
            source_name=source,
            # Reference data is loaded as published, even where it replaces a bigger layer.
            confirm=True,
            region=region,
        )
        loaded[layer_id] = import_file(session, req, progress).version
    present = active_rasters(session)
    for raster_id, entry in manifest.get("rasters", {}).items():
        if raster_id in present and not force:
            loaded[raster_id] = None
            continue
        loaded[raster_id] = import_raster(
            session,
            raster_id,
            directory / entry["file"],
            version_note(entry, directory.name),
            "reference-data",
        ).version
    return loaded


def _already_loaded(session: Session, layer_id: str, region: str, source: str) -> bool:
    """Whether this region's reference file was imported once (active or superseded since)."""
    found = session.scalar(
        select(LayerVersion.id)
        .where(
            LayerVersion.layer_id == layer_id,
            LayerVersion.region_code == region,
            LayerVersion.source_name == source,
            LayerVersion.status.in_(("active", "superseded")),
        )
        .limit(1)
    )
    return found is not None
