"""What a layer version covers in each unit of an admin layer version, computed once.

A summary by county, township or village intersects a layer with every unit. Both versions
of such a pair are immutable, so the figures are computed once per pair: when either
version is imported (for the versions then in force), or on first use for older pairs; a
summary then only reads them (`unit_cover`, one row per pair).
"""

import logging
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.catalog import catalog, get_layer_spec
from app.geo.measure import area_units
from app.store.models import LayerVersion

log = logging.getLogger(__name__)

# Admin layers whose features are the units of a summary (county, township, village).
UNIT_LAYER_IDS = ("admin_county", "township", "village")
# Filled at import: townships, the level that grows with a province (a pair costs about a
# cold summary did). Counties and villages are filled on their first summary.
IMPORT_UNIT_LAYERS = ("township",)
# A feature counts only in units of its own city: the first four code digits agree.
CITY_DIGITS = 4

# Parts (ST_Subdivide pieces) keep intersections small; a part wholly inside the unit is
# taken as it is (prepared-geometry test), and the union per unit removes overlaps between
# features, so overlapping protected areas are not counted twice. A feature counts only in
# units of its own city (province for province rows): neighbouring cities' boundaries come
# from different sources, and their slivers must not change another city's figures.
COVER_SQL = """
WITH u AS ({units}),
pieces AS (
  SELECT u.code, p.feature_id,
         CASE WHEN ST_CoveredBy(p.geom, u.geom) THEN p.geom
              ELSE ST_Intersection(p.geom, u.geom) END AS g
  FROM u JOIN feature_part p ON p.version_id = :layer_v AND p.geom && u.geom
   AND ST_Intersects(p.geom, u.geom)
  JOIN feature f ON f.id = p.feature_id
  WHERE f.county_code IS NULL OR left(f.county_code, :home) = left(u.code, :home)
)
SELECT code, count(DISTINCT feature_id) AS count,
       CASE WHEN :dim = 2 THEN ST_Area(ST_UnaryUnion(ST_Collect(
            ST_CollectionExtract(g, 3)))::geography) END AS area_m2,
       CASE WHEN :dim = 1 THEN ST_Length(ST_UnaryUnion(ST_Collect(
            ST_CollectionExtract(g, 2)))::geography) END AS length_m,
       array_agg(DISTINCT feature_id) AS feature_ids
FROM pieces GROUP BY code
"""
# The units of an admin layer version: its features, by their code.
FEATURE_UNITS = (
    "SELECT f.attributes->>'code' AS code, f.geom FROM feature f WHERE f.version_id = :v"
)
_LISTED = text(
    "SELECT id, (attributes->>:attr)::float8 AS listed FROM feature WHERE version_id = :v"
)
_DIM = {"polygon": 2, "line": 1, "point": 0}
_STORED = text(
    "SELECT layer_version_id, figures::text AS figures, shown::text AS shown FROM unit_cover "
    "WHERE unit_version_id = :u AND home = :home AND layer_version_id = ANY(:ids)"
)
_SAVE = text(
    "INSERT INTO unit_cover (unit_version_id, layer_version_id, home, figures, shown) "
    "VALUES (:u, :l, :home, CAST(:figures AS jsonb), CAST(:shown AS jsonb)) "
    "ON CONFLICT DO NOTHING"
)
_SAVE_SHOWN = text(
    "UPDATE unit_cover SET shown = CAST(:shown AS jsonb) "
    "WHERE unit_version_id = :u AND layer_version_id = :l AND home = :home"
)
_UNIT_AREAS = text("SELECT attributes->>'code', area_m2 FROM feature WHERE version_id = :v")
_NO_COVER = [0, 0.0, 0.0, 0.0]
_ACTIVE = text(
    "SELECT l.id, l.active_version_id FROM layer l WHERE l.active_version_id IS NOT NULL"
)

# Unit code → [feature count, area m², length m, sum of listed km² (None: not listed)].
Cover = dict[str, list]


def compute_cover(
    session: Session, units_sql: str, params: dict, layer: LayerVersion, home: int
) -> Cover:
    """The figures of one layer version in each unit `units_sql` selects (code, geom)."""
    spec = get_layer_spec(layer.layer_id)
    rows = session.execute(
        text(COVER_SQL.format(units=units_sql)),
        {**params, "layer_v": layer.id, "dim": _DIM[spec.geometry_type], "home": home},
    ).all()
    attr = spec.summary.listed_area_attribute
    listed: dict[int, float] = {}
    if attr:
        listed = {
            r.id: r.listed
            for r in session.execute(_LISTED, {"attr": attr, "v": layer.id})
            if r.listed is not None
        }
    return {
        # A listed area belongs wholly to every unit the feature touches.
        r.code: [
            r.count,
            r.area_m2,
            r.length_m,
            sum(listed.get(i, 0.0) for i in r.feature_ids) if attr else None,
        ]
        for r in rows
    }


def unit_figures(cover: list | None, unit_m2: float | None, kind: str, listed: bool) -> dict:
    """A layer's figures in one unit as summaries show them: areas in km², 公顷 and 亩 and
    the share of the unit (polygons), length (lines), count, listed sum (listed layers)."""
    count, area, length, listed_km2 = cover or _NO_COVER
    out: dict = {"count": count}
    if kind == "polygon":
        area = area or 0.0
        units = area_units(area)
        out.update(
            {
                "area_km2": units["km2"],
                "area_ha": units["ha"],
                "area_mu": units["mu"],
                "share": area / unit_m2 if unit_m2 else None,
            }
        )
    elif kind == "line":
        out["length_km"] = (length or 0.0) / 1e3
    if listed:
        out["listed_sum_km2"] = listed_km2 or 0.0
    return out


def shown_covers(
    session: Session, unit_version: LayerVersion, layers: list[LayerVersion]
) -> dict[int, dict[str, dict]]:
    """Layer version id → {unit code: its figures as shown} for every unit of `unit_version`,
    stored or computed now. A cold summary only decodes these."""
    ids = [v.id for v in layers]
    params = {"u": unit_version.id, "home": CITY_DIGITS, "ids": ids}
    found: dict[int, dict[str, dict]] = {}
    areas: dict[str, float] | None = None
    for row in session.execute(_STORED, params).all():
        if row.shown is not None:
            found[row.layer_version_id] = orjson.loads(row.shown)
            continue
        areas = areas if areas is not None else _unit_areas(session, unit_version.id)
        layer = next(v for v in layers if v.id == row.layer_version_id)
        found[layer.id] = _show(orjson.loads(row.figures), areas, layer)
        _keep(session, _SAVE_SHOWN, unit_version.id, layer.id, shown=found[layer.id])
    for layer in layers:
        if layer.id not in found:
            areas = areas if areas is not None else _unit_areas(session, unit_version.id)
            found[layer.id] = _compute_and_keep(session, unit_version.id, layer, areas)
    return found


def _unit_areas(session: Session, unit_version_id: int) -> dict[str, float]:
    return dict(session.execute(_UNIT_AREAS, {"v": unit_version_id}).all())


def _show(cover: Cover, areas: dict[str, float], layer: LayerVersion) -> dict[str, dict]:
    spec = get_layer_spec(layer.layer_id)
    kind, listed = spec.geometry_type, bool(spec.summary.listed_area_attribute)
    return {code: unit_figures(cover.get(code), m2, kind, listed) for code, m2 in areas.items()}


def _compute_and_keep(
    session: Session, unit_version_id: int, layer: LayerVersion, areas: dict[str, float]
) -> dict[str, dict]:
    cover = compute_cover(session, FEATURE_UNITS, {"v": unit_version_id}, layer, CITY_DIGITS)
    shown = _show(cover, areas, layer)
    _keep(session, _SAVE, unit_version_id, layer.id, figures=cover, shown=shown)
    return shown


def _keep(
    session: Session, sql: Any, unit_version_id: int, layer_version_id: int, **values: Any
) -> None:
    params = {"u": unit_version_id, "l": layer_version_id, "home": CITY_DIGITS}
    params.update({k: orjson.dumps(v).decode() for k, v in values.items()})
    try:
        with session.begin_nested():
            session.execute(sql, params)
    except DBAPIError as exc:  # a read-only replica: use the figures, keep nothing
        log.info("unit figures not stored (%s)", exc.orig)


def fill_after_import(session: Session, version: LayerVersion) -> int:
    """Compute the pairs a new version makes: a township version's with every layer in
    force, a layer's with the townships in force. Returns how many pairs were computed."""
    active = {
        layer_id: version_id
        for layer_id, version_id in session.execute(_ACTIVE)
        if layer_id in catalog()
    }
    if version.layer_id in IMPORT_UNIT_LAYERS:
        pairs = [(version.id, v) for lid, v in active.items() if lid not in UNIT_LAYER_IDS]
    elif version.layer_id not in UNIT_LAYER_IDS:
        pairs = [(u, version.id) for lid, u in active.items() if lid in IMPORT_UNIT_LAYERS]
    else:
        pairs = []
    for unit_version_id, layer_version_id in pairs:
        layer = session.get(LayerVersion, layer_version_id)
        if layer is not None:
            shown_covers(session, session.get(LayerVersion, unit_version_id), [layer])
    return len(pairs)
