"""How much of each administrative unit a layer covers: union area (no double counting),
length for line layers, feature count, and the sum of listed (official) areas.

Counties, townships and villages read the figures stored per pair of versions
(app/store/unit_cover.py, computed at import); cities and provinces, unions of counties,
are computed here with the same SQL.
"""

from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.store.models import LayerVersion
from app.store.unit_cover import Cover, compute_cover, shown_covers
from app.summary.units import UnitSet, home_digits, unit_sql


def layer_coverage(
    session: Session, units: UnitSet, spec: LayerSpec, version: LayerVersion
) -> Cover:
    """{unit code: [count, area_m2, length_m, listed_km2]} for one layer version, computed."""
    return compute_cover(
        session, unit_sql(units), {"v": units.version.id}, version, home_digits(units)
    )


def stored_coverage(
    session: Session, units: UnitSet, versions: dict[str, LayerVersion]
) -> dict[str, dict[str, dict]]:
    """Layer id → {unit code: figures as shown}, stored per pair (computed once if missing)."""
    covers = shown_covers(session, units.version, list(versions.values()))
    return {layer_id: covers[v.id] for layer_id, v in versions.items()}
