"""Administrative units a summary is broken down by: the city, its counties, its townships."""

from dataclasses import dataclass

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.store.models import LayerVersion

UNIT_LAYERS = {"county": "admin_county", "township": "township", "city": "admin_county"}

# City: one row, the union of the counties; code from the county codes (511902 → 511900).
_CITY = text("""
SELECT left(min(attributes->>'code'), 4) || '00' AS code, min(attributes->>'city') AS name,
       NULL AS parent, ST_Multi(ST_Union(geom)) AS geom, NULL::jsonb AS attributes
FROM feature WHERE version_id = :v
""")
_FEATURES = text("""
SELECT attributes->>'code' AS code, attributes->>'name' AS name,
       attributes->>'county' AS parent, geom, attributes
FROM feature WHERE version_id = :v ORDER BY attributes->>'code', ordinal
""")


@dataclass(frozen=True)
class UnitSet:
    """What a summary is broken down by, and the admin layer version the units come from."""

    by: str
    version: LayerVersion  # the admin layer version the units come from


def unit_set(by: str, versions: dict[str, LayerVersion]) -> UnitSet:
    """The units for by=city|county|township; InvalidInput or NotFound says what is missing."""
    if by not in UNIT_LAYERS:
        raise InvalidInput(f"by must be one of: {', '.join(UNIT_LAYERS)}.")
    layer = UNIT_LAYERS[by]
    if layer not in versions:
        raise NotFound(f"Summaries by {by} need the {layer} layer; import it first.")
    return UnitSet(by, versions[layer])


def unit_sql(units: UnitSet) -> str:
    """A SELECT of (code, name, parent, geom, attributes) for the units, to use as a CTE."""
    return (_CITY if units.by == "city" else _FEATURES).text


def unit_rows(session: Session, units: UnitSet) -> list[dict]:
    """Each unit's code, name, parent, attributes and geodesic area (m²)."""
    rows = session.execute(
        text(
            f"WITH u AS ({unit_sql(units)}) SELECT code, name, parent, attributes, "
            "ST_Area(geom::geography) AS area_m2 FROM u"
        ),
        {"v": units.version.id},
    ).all()
    return [dict(r._mapping) for r in rows]


def unit_geometries(session: Session, units: UnitSet) -> dict[str, shapely.Geometry]:
    """Unit code → shapely geometry (EPSG:4490), for raster statistics."""
    rows = session.execute(
        text(f"WITH u AS ({unit_sql(units)}) SELECT code, ST_AsBinary(geom) AS wkb FROM u"),
        {"v": units.version.id},
    ).all()
    return {r.code: shapely.from_wkb(bytes(r.wkb)) for r in rows}
