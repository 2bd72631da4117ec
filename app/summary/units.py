"""Administrative units a summary is broken down by, from the `region` table hierarchy:
provinces and cities are the unions of their counties; counties, townships and villages are
the features of their admin layers. Each unit carries its parent's code and name."""

from dataclasses import dataclass

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.store.models import LayerVersion, Region
from app.store.regions import REGION_CODE, region_prefix

# County first: crosstabs look up the level of an admin layer by the first match.
UNIT_LAYERS = {
    "county": "admin_county",
    "township": "township",
    "city": "admin_county",
    "province": "admin_county",
    "village": "village",
}
# Levels whose layer may simply not be loaded: an empty row list, not an error.
OPTIONAL_LEVELS = {"village"}
# Levels whose units are the features of one admin layer version: their areas and each
# layer's figures in them were measured at import; cities and provinces are unions.
FEATURE_LEVELS = ("county", "township", "village")
UNIT_COLUMNS = "code, name, parent, parent_code, parent_name, geom, attributes"

# A feature's parent: the region table's, else the parent code the feature itself states.
_FEATURES = """
SELECT f.attributes->>'code' AS code, f.attributes->>'name' AS name,
       f.attributes->>'county' AS parent, p.code AS parent_code, p.name AS parent_name,
       f.geom, f.attributes, f.ordinal, f.area_m2
FROM feature f LEFT JOIN region r ON r.code = f.attributes->>'code'
LEFT JOIN region p ON p.code = coalesce(r.parent_code, {parent_attrs})
WHERE f.version_id = :v
"""
_PARENT_ATTRS = {
    "county": "f.attributes->>'city_code', f.attributes->>'province_code'",
    "township": "f.attributes->>'county_code'",
    "village": "f.attributes->>'township_code'",
}
# City: the union of the counties whose parent is a prefecture-level city. A 直辖市's
# counties have the province itself as parent, so they have no city row (they are at
# by=province and by=county).
_CITY = """
SELECT c.code, c.name, NULL AS parent, c.parent_code, p.name AS parent_name,
       ST_Multi(ST_Union(f.geom)) AS geom, NULL::jsonb AS attributes, 0 AS ordinal
FROM feature f JOIN region k ON k.code = f.attributes->>'code'
JOIN region c ON c.code = k.parent_code AND c.level = 'city'
LEFT JOIN region p ON p.code = c.parent_code
WHERE f.version_id = :v GROUP BY c.code, c.name, c.parent_code, p.name
"""
# Province: the union of the counties under it, through a city or directly (直辖市).
_PROVINCE = """
SELECT pr.code, pr.name, NULL AS parent, NULL AS parent_code, NULL AS parent_name,
       ST_Multi(ST_Union(f.geom)) AS geom, NULL::jsonb AS attributes, 0 AS ordinal
FROM feature f JOIN region k ON k.code = f.attributes->>'code'
JOIN region a ON a.code = k.parent_code
LEFT JOIN region g ON g.code = a.parent_code
JOIN region pr ON pr.level = 'province'
 AND pr.code = CASE WHEN a.level = 'province' THEN a.code ELSE g.code END
WHERE f.version_id = :v GROUP BY pr.code, pr.name
"""


@dataclass(frozen=True)
class UnitSet:
    """What a summary is broken down by, within which region, from which admin layer version."""

    by: str
    version: LayerVersion | None  # None: the level's layer is not loaded (villages)
    region: str | None = None


def unit_set(
    session: Session, by: str, versions: dict[str, LayerVersion], region: str | None = None
) -> UnitSet:
    """The units for by=province|city|county|township|village within a region code."""
    if by not in UNIT_LAYERS:
        raise InvalidInput(f"by must be one of: {', '.join(UNIT_LAYERS)}.")
    if region is not None:
        if not REGION_CODE.fullmatch(region):
            raise InvalidInput("region must be a six-digit GB/T 2260 code.")
        if session.get(Region, region) is None:
            raise NotFound(f"Region {region} is not loaded.")
    layer = UNIT_LAYERS[by]
    if layer not in versions:
        if by in OPTIONAL_LEVELS:
            return UnitSet(by, None, region)
        raise NotFound(f"Summaries by {by} need the {layer} layer; import it first.")
    return UnitSet(by, versions[layer], region)


def home_digits(units: UnitSet) -> int:
    """How many leading code digits a feature's county must share with a unit to count there."""
    return 2 if units.by == "province" else 4


def unit_sql(units: UnitSet, columns: str = UNIT_COLUMNS) -> str:
    """A SELECT of (code, name, parent, parent_code, parent_name, geom, attributes); feature
    levels also have area_m2."""
    if units.by == "city":
        inner = _CITY
    elif units.by == "province":
        inner = _PROVINCE
    else:
        inner = _FEATURES.format(parent_attrs=_PARENT_ATTRS[units.by])
    # The prefix is digits only (a validated region code), so it is safe as a literal; a
    # bind parameter would have to be threaded through every query that embeds the units.
    prefix = region_prefix(units.region) if units.region else ""
    if prefix and not prefix.isdigit():
        raise InvalidInput("region must be a six-digit GB/T 2260 code.")
    return (
        f"SELECT {columns} FROM ({inner}) z "
        f"WHERE z.code LIKE '{prefix}%' ORDER BY z.code, z.ordinal"
    )


def unit_rows(session: Session, units: UnitSet) -> list[dict]:
    """Each unit's code, name, parents, attributes and geodesic area (m²)."""
    if units.version is None:
        return []
    columns = "code, name, parent, parent_code, parent_name, attributes"
    if units.by in FEATURE_LEVELS:
        # The area measured at import: the same ST_Area(geom::geography), not read again.
        sql = unit_sql(units, f"{columns}, area_m2")
    else:
        sql = (
            f"WITH u AS ({unit_sql(units)}) "
            f"SELECT {columns}, ST_Area(geom::geography) AS area_m2 FROM u"
        )
    rows = session.execute(text(sql), {"v": units.version.id}).all()
    return [dict(r._mapping) for r in rows]


def unit_geometries(session: Session, units: UnitSet) -> dict[str, shapely.Geometry]:
    """Unit code → shapely geometry (EPSG:4490), for raster statistics."""
    if units.version is None:
        return {}
    rows = session.execute(
        text(f"WITH u AS ({unit_sql(units)}) SELECT code, ST_AsBinary(geom) AS wkb FROM u"),
        {"v": units.version.id},
    ).all()
    return {r.code: shapely.from_wkb(bytes(r.wkb)) for r in rows}
