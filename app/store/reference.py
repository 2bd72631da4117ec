"""Load a reference dataset (layers/data/<city>/manifest.yaml) through the normal import paths."""

from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from app.store.imports import ImportRequest, Progress, import_file, no_progress
from app.store.layers import active_version, get_layer
from app.store.rasters import active_rasters, import_raster


def read_manifest(directory: Path) -> dict:
    """The reference dataset's manifest.yaml: its layers and rasters with files and CRS."""
    with (directory / "manifest.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_reference(
    session: Session, directory: Path, force: bool = False, progress: Progress = no_progress
) -> dict[str, int | None]:
    """Import every manifest layer and raster that has no active version yet (all, with force).

    Returns {layer: new version number, or None when it was already loaded}.
    """
    manifest = read_manifest(directory)
    loaded: dict[str, int | None] = {}
    for layer_id, entry in manifest.get("layers", {}).items():
        _, layer = get_layer(session, layer_id)
        if active_version(session, layer) is not None and not force:
            loaded[layer_id] = None
            continue
        req = ImportRequest(
            layer_id=layer_id,
            path=directory / entry["file"],
            crs=entry.get("crs", "EPSG:4490"),
            note=entry.get("note") or f"reference data: {directory.name}",
            actor="reference-data",
        )
        loaded[layer_id] = import_file(session, req, progress).version
    present = active_rasters(session)
    for raster_id, entry in manifest.get("rasters", {}).items():
        if raster_id in present and not force:
            loaded[raster_id] = None
            continue
        loaded[raster_id] = import_raster(
            session, raster_id, directory / entry["file"], entry.get("note"), "reference-data"
        ).version
    return loaded
