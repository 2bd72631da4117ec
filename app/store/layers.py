"""Catalog rows in the database and read queries over active versions."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog import LayerSpec, catalog, get_layer_spec
from app.errors import NotFound
from app.store.models import Layer, LayerVersion


def sync_catalog(session: Session) -> None:
    """Upsert one `layer` row per catalog YAML, so adding a kind is only a file."""
    existing = {layer.id: layer for layer in session.scalars(select(Layer))}
    for spec in catalog().values():
        row = existing.get(spec.id) or Layer(id=spec.id)
        row.title_zh, row.title_en = spec.title_zh, spec.title_en
        row.geometry_type = spec.geometry_type
        row.spec = spec.model_dump(mode="json")
        session.add(row)
    session.flush()


def get_layer(session: Session, layer_id: str) -> tuple[LayerSpec, Layer]:
    """The catalog spec and database row of a layer (registering the row if missing)."""
    spec = get_layer_spec(layer_id)
    row = session.get(Layer, layer_id)
    if row is None:
        sync_catalog(session)
        row = session.get(Layer, layer_id)
    return spec, row


def active_version(session: Session, layer: Layer) -> LayerVersion | None:
    """The layer's active version, or None before its first import."""
    return session.get(LayerVersion, layer.active_version_id) if layer.active_version_id else None


def resolve_version(session: Session, layer: Layer, version: int | None) -> LayerVersion:
    """The requested version number, or the active one; NotFound says which exist."""
    if version is None:
        found = active_version(session, layer)
    else:
        found = session.scalar(
            select(LayerVersion).where(
                LayerVersion.layer_id == layer.id, LayerVersion.version == version
            )
        )
    if found is None or found.status not in ("active", "superseded"):
        numbers = session.scalars(
            select(LayerVersion.version)
            .where(LayerVersion.layer_id == layer.id)
            .where(LayerVersion.status.in_(("active", "superseded")))
            .order_by(LayerVersion.version)
        ).all()
        hint = f"available versions: {numbers}" if numbers else "import data first"
        what = f"version {version}" if version is not None else "an active version"
        raise NotFound(f"Layer {layer.id} has no {what}; {hint}.")
    return found


def versions(session: Session, layer_id: str) -> list[LayerVersion]:
    """Every version of a layer, oldest first, whatever its status."""
    return list(
        session.scalars(
            select(LayerVersion)
            .where(LayerVersion.layer_id == layer_id)
            .order_by(LayerVersion.version)
        )
    )


def next_version_number(session: Session, layer_id: str) -> int:
    """The number the layer's next import will get (1 for the first)."""
    current = session.scalar(
        select(func.max(LayerVersion.version)).where(LayerVersion.layer_id == layer_id)
    )
    return (current or 0) + 1


def active_versions(session: Session) -> dict[str, LayerVersion]:
    """The active version of every catalog layer that has one, in one query."""
    rows = session.scalars(
        select(LayerVersion).join(Layer, Layer.active_version_id == LayerVersion.id)
    ).all()
    known = catalog()
    return {v.layer_id: v for v in rows if v.layer_id in known}
