"""Which layer versions a summary reads: the active ones, those in force at a date, or pinned."""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import catalog
from app.errors import InvalidInput, NotFound
from app.store.layers import active_versions
from app.store.models import LayerVersion

MAX_VERSION = 2**31 - 1  # PostgreSQL integer


def parse_pins(text: str | None) -> dict[str, int]:
    """'redline:2,township:1' → {'redline': 2, 'township': 1}."""
    pins: dict[str, int] = {}
    for item in filter(None, (text or "").split(",")):
        layer, sep, number = item.partition(":")
        if not sep or not number.strip().isdigit() or int(number) > MAX_VERSION:
            raise InvalidInput(f"versions must look like redline:2,township:1; got {item!r}.")
        pins[layer.strip()] = int(number)
    return pins


def versions_in_force(
    session: Session, as_of: dt.datetime | dt.date | None = None, pins: dict[str, int] | None = None
) -> dict[str, LayerVersion]:
    """Active versions; or, as of a moment, the last version activated by then; pins win."""
    if as_of is None:
        chosen = active_versions(session)
    else:
        moment = (
            as_of
            if isinstance(as_of, dt.datetime)
            else dt.datetime.combine(as_of, dt.time.max, tzinfo=dt.UTC)
        )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        rows = session.scalars(
            select(LayerVersion)
            .where(
                LayerVersion.activated_at <= moment,
                LayerVersion.status.in_(("active", "superseded")),
            )
            .order_by(LayerVersion.layer_id, LayerVersion.activated_at)
        ).all()
        chosen = {v.layer_id: v for v in rows if v.layer_id in catalog()}
    for layer, number in (pins or {}).items():
        version = session.scalar(
            select(LayerVersion).where(
                LayerVersion.layer_id == layer,
                LayerVersion.version == number,
                LayerVersion.status.in_(("active", "superseded")),
            )
        )
        if version is None:
            raise NotFound(f"Layer {layer} has no version {number}; see /layers/{layer}/versions.")
        chosen[layer] = version
    return chosen


def parse_list(text: str | None) -> list[str] | None:
    """'redline, protected_area' → ['redline', 'protected_area']; None when not given."""
    return [v.strip() for v in text.split(",") if v.strip()] if text else None
