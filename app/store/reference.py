"""Load a reference dataset (layers/data/<city>/manifest.yaml) through the normal import path."""

from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from app.store.imports import ImportRequest, Progress, _noop, import_file
from app.store.layers import active_version, get_layer


def read_manifest(directory: Path) -> dict[str, dict]:
    with (directory / "manifest.yaml").open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    entries = raw.get("layers", raw)
    if isinstance(entries, list):
        return {e["layer"]: e for e in entries}
    return entries


def load_reference(
    session: Session, directory: Path, force: bool = False, progress: Progress = _noop
) -> dict[str, int | None]:
    """Import every manifest layer that has no active version yet (all, with force).

    Returns {layer: new version number, or None when it was already loaded}.
    """
    loaded: dict[str, int | None] = {}
    for layer_id, entry in read_manifest(directory).items():
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
    return loaded
