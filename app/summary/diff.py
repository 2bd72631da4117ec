"""What changed between two versions of a layer: features, areas, townships, binding check.

Planners must show that a new redline version keeps 面积不减少、性质不改变、功能不降低
(docs/domain.md §1); this module measures the first two in PostGIS, geodesically (GRS80).
"""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.errors import InvalidInput, NotFound
from app.store.layers import active_version, get_layer, resolve_version
from app.store.models import Layer, LayerVersion
from app.store.regions import region_prefix
from app.summary.diff_models import (
    AreaChange,
    BindingCheck,
    ChangedFeature,
    FeatureChanges,
    FeatureEntry,
    LayerDiff,
    PiecesCollection,
    TownshipChange,
    VersionFigures,
)

# Below this a geometry difference or a difference piece is floating-point noise.
TOLERANCE_M2 = 0.01
# 面积不减少 passes unless the area shrinks by more than this (1 m²).
BINDING_TOLERANCE_KM2 = 1e-6
_LISTED = ("active", "superseded")
# A region filter (code prefix; '' = the whole layer) on a feature alias's county code.
_SCOPE = "(:prefix = '' OR {t}county_code LIKE :prefix || '%')"

_MATCH = """
WITH a AS (
  SELECT *, row_number() OVER (PARTITION BY k ORDER BY ordinal) AS n
  FROM (SELECT id, ordinal, attributes, geom, area_m2, {key} AS k
        FROM feature WHERE version_id = :a AND {scope}) s
), b AS (
  SELECT *, row_number() OVER (PARTITION BY k ORDER BY ordinal) AS n
  FROM (SELECT id, ordinal, attributes, geom, area_m2, {key} AS k
        FROM feature WHERE version_id = :b AND {scope}) s
)
SELECT a.id AS id_from, b.id AS id_to, a.attributes AS attrs_from, b.attributes AS attrs_to,
       a.area_m2 AS area_from, b.area_m2 AS area_to,
       coalesce(b.ordinal, a.ordinal) AS ordinal,
       CASE WHEN a.id IS NULL OR b.id IS NULL THEN NULL
            WHEN ST_OrderingEquals(a.geom, b.geom) OR ST_Equals(a.geom, b.geom) THEN false
            WHEN ST_Dimension(a.geom) = 2 AND ST_Dimension(b.geom) = 2
              THEN ST_Area(ST_SymDifference(a.geom, b.geom)::geography) > :tol
            ELSE true END AS geometry_changed
FROM a FULL JOIN b ON a.k = b.k AND a.n = b.n
ORDER BY ordinal
"""

# union(b) − union(a). A `b` feature whose exact geometry is also in `a` adds nothing, and
# only `a` features near the others can take anything away: unchanged layers stay cheap.
# ~= compares bounding boxes only (through the GiST index); ST_OrderingEquals is exact.
_ONE_WAY = """
SELECT ST_Difference(
  coalesce((SELECT ST_Union(x.geom) FROM feature x WHERE x.version_id = {b}
            AND ST_Dimension(x.geom) = 2 AND {sx} AND NOT {kept}), {empty}),
  coalesce((SELECT ST_Union(y.geom) FROM feature y WHERE y.version_id = {a}
            AND ST_Dimension(y.geom) = 2 AND {sy} AND EXISTS (
              SELECT 1 FROM feature x WHERE x.version_id = {b} AND x.geom && y.geom
              AND {sx} AND NOT {kept})), {empty}))
"""
_KEPT = """EXISTS (SELECT 1 FROM feature z WHERE z.version_id = {a}
          AND z.geom ~= x.geom AND ST_OrderingEquals(z.geom, x.geom))"""
_EMPTY = "ST_GeomFromText('POLYGON EMPTY', 4490)"


def _one_way(a: str, b: str) -> str:
    return _ONE_WAY.format(
        a=a,
        b=b,
        kept=_KEPT.format(a=a),
        empty=_EMPTY,
        sx=_SCOPE.format(t="x."),
        sy=_SCOPE.format(t="y."),
    )


_PIECES = text(f"""
WITH d AS (
  SELECT 'gained' AS change, ({_one_way(":a", ":b")}) AS g
  UNION ALL
  SELECT 'lost', ({_one_way(":b", ":a")})
), p AS (
  SELECT change, (ST_Dump(ST_CollectionExtract(g, 3))).geom AS geom FROM d
), m AS (
  SELECT change, geom, ST_Area(geom::geography) AS area_m2 FROM p
)
SELECT change, area_m2, ST_AsGeoJSON(geom, 9) AS geojson, ST_AsBinary(geom) AS wkb
FROM m WHERE area_m2 > :tol ORDER BY change, area_m2 DESC
""")

_UNION_AREA = text(
    "SELECT coalesce(ST_Area(ST_Union(geom)::geography), 0), count(*) FROM feature "
    "WHERE version_id = :v AND ST_Dimension(geom) = 2 AND " + _SCOPE.format(t="")
)
_COUNT = text("SELECT count(*) FROM feature WHERE version_id = :v AND " + _SCOPE.format(t=""))

# Pieces against the subdivided township parts: parts tile each township without overlap.
_BY_TOWNSHIP = text("""
WITH piece AS (
  SELECT change, ST_GeomFromWKB(wkb, 4490) AS geom
  FROM unnest(CAST(:changes AS text[]), CAST(:wkbs AS bytea[])) AS t(change, wkb)
), cut AS (
  SELECT p.feature_id, piece.change,
         ST_Area((CASE WHEN ST_CoveredBy(piece.geom, p.geom) THEN piece.geom
                       ELSE ST_Intersection(piece.geom, p.geom) END)::geography) AS area_m2
  FROM piece JOIN feature_part p ON p.version_id = :v AND p.geom && piece.geom
   AND ST_Intersects(p.geom, piece.geom)
)
SELECT f.attributes->>'code' AS code, f.attributes->>'name' AS name,
       f.attributes->>'county' AS county,
       coalesce(sum(cut.area_m2) FILTER (WHERE change = 'gained'), 0) AS gained_m2,
       coalesce(sum(cut.area_m2) FILTER (WHERE change = 'lost'), 0) AS lost_m2
FROM cut JOIN feature f ON f.id = cut.feature_id
GROUP BY f.id
""")


@dataclass(frozen=True)
class Piece:
    """One polygon of union(to) − union(from) ('gained') or the reverse ('lost')."""

    change: str
    area_m2: float
    geojson: str
    wkb: bytes


def diff_versions(
    session: Session,
    layer_id: str,
    from_version: int | None = None,
    to_version: int | None = None,
    township_layer: str = "township",
    region: str | None = None,
) -> LayerDiff:
    """Compare two versions; `to` defaults to the active one, `from` to the one before it.

    With a region (a division code) both sides keep only the features within it.
    """
    spec, layer = get_layer(session, layer_id)
    old, new = pick_versions(session, layer, from_version, to_version)
    prefix = region_prefix(region) if region else ""
    features = feature_changes(session, spec, old, new, prefix)
    pieces = change_pieces(session, old, new, prefix)
    from_km2 = union_area_km2(session, old, prefix)
    to_km2 = union_area_km2(session, new, prefix)
    area = area_summary(from_km2, to_km2, pieces)
    properties_changed = sum(1 for c in features.changed if "attributes" in c.aspects)
    township_version, by_township = township_breakdown(session, pieces, township_layer)
    return LayerDiff(
        layer=layer_id,
        from_=version_summary(old, from_km2, _count(session, old, prefix)),
        to=version_summary(new, to_km2, _count(session, new, prefix)),
        features=features,
        area=area,
        township_version=township_version,
        by_township=by_township,
        geojson=pieces_geojson(pieces),
        binding_check=binding_check(from_km2, to_km2, properties_changed),
    )


def pick_versions(
    session: Session, layer: Layer, from_version: int | None, to_version: int | None
) -> tuple[LayerVersion, LayerVersion]:
    """The two versions to compare: as asked, or the active one and the one before it."""
    new = resolve_version(session, layer, to_version)
    if from_version is not None:
        old = resolve_version(session, layer, from_version)
    else:
        old = session.scalar(
            select(LayerVersion)
            .where(LayerVersion.layer_id == layer.id, LayerVersion.status.in_(_LISTED))
            .where(LayerVersion.version < new.version)
            .order_by(LayerVersion.version.desc())
            .limit(1)
        )
        if old is None:
            raise NotFound(
                f"Layer {layer.id} has no version before {new.version} to compare with; "
                "pass from=N or import another version."
            )
    if old.id == new.id:
        raise InvalidInput(f"from and to are both version {new.version}; pick two versions.")
    return old, new


def _key_sql(spec: LayerSpec) -> tuple[str, dict[str, str]]:
    """SQL for a feature's identity: its catalog key values, or all attributes without a key."""
    if not spec.key:
        return "attributes", {}
    params = {f"key{i}": name for i, name in enumerate(spec.key)}
    parts = ", ".join(f"attributes -> CAST(:{p} AS text)" for p in params)
    return f"jsonb_build_array({parts})", params


def feature_changes(
    session: Session, spec: LayerSpec, old: LayerVersion, new: LayerVersion, prefix: str = ""
) -> FeatureChanges:
    """Features matched by key (the n-th duplicate with the n-th): added, removed, changed."""
    key, params = _key_sql(spec)
    rows = session.execute(
        text(_MATCH.format(key=key, scope=_SCOPE.format(t=""))),
        {"a": old.id, "b": new.id, "tol": TOLERANCE_M2, "prefix": prefix, **params},
    ).all()
    added: list[FeatureEntry] = []
    removed: list[FeatureEntry] = []
    changed: list[ChangedFeature] = []
    unchanged = 0
    for r in rows:
        if r.id_from is None:
            added.append(_feature_entry(spec, r.attrs_to, r.area_to))
        elif r.id_to is None:
            removed.append(_feature_entry(spec, r.attrs_from, r.area_from))
        elif entry := _changed_entry(spec, r):
            changed.append(entry)
        else:
            unchanged += 1
    return FeatureChanges(added=added, removed=removed, changed=changed, unchanged_count=unchanged)


def _identity(spec: LayerSpec, attrs: dict[str, Any]) -> dict[str, Any]:
    names = spec.key or list(attrs)
    return {
        "key": {n: attrs.get(n) for n in names},
        "name": attrs.get(spec.label) if spec.label else None,
    }


def _feature_entry(spec: LayerSpec, attrs: dict[str, Any], area: float | None) -> FeatureEntry:
    return FeatureEntry(**_identity(spec, attrs), attributes=attrs, area_m2=area)


def _changed_entry(spec: LayerSpec, r: Any) -> ChangedFeature | None:
    fields = sorted(set(r.attrs_from) | set(r.attrs_to))
    changes = {
        f: [r.attrs_from.get(f), r.attrs_to.get(f)]
        for f in fields
        if r.attrs_from.get(f) != r.attrs_to.get(f)
    }
    aspects = (["geometry"] if r.geometry_changed else []) + (["attributes"] if changes else [])
    if not aspects:
        return None
    return ChangedFeature(
        **_identity(spec, r.attrs_to),
        aspects=aspects,
        aspects_zh=["范围" if a == "geometry" else "属性" for a in aspects],
        attribute_changes=changes,
        area_m2_from=r.area_from,
        area_m2_to=r.area_to,
    )


def change_pieces(
    session: Session, old: LayerVersion, new: LayerVersion, prefix: str = ""
) -> list[Piece]:
    """The polygons gained and lost between the two versions' unions (within a region)."""
    params = {"a": old.id, "b": new.id, "tol": TOLERANCE_M2, "prefix": prefix}
    rows = session.execute(_PIECES, params).all()
    return [Piece(r.change, r.area_m2, r.geojson, bytes(r.wkb)) for r in rows]


def union_area_km2(session: Session, version: LayerVersion, prefix: str = "") -> float:
    """Union area (overlaps counted once); imports store it, older versions and regions are
    measured."""
    stored = None if prefix else (version.report or {}).get("union_area_m2")
    if stored is None:
        stored = session.execute(_UNION_AREA, {"v": version.id, "prefix": prefix}).one()[0]
    return (stored or 0.0) / 1e6


def _count(session: Session, version: LayerVersion, prefix: str) -> int:
    if not prefix:
        return version.feature_count
    return int(session.scalar(_COUNT, {"v": version.id, "prefix": prefix}))


def version_summary(
    version: LayerVersion, area_km2: float, feature_count: int | None = None
) -> VersionFigures:
    """One side of the comparison (its feature count within the region, when given)."""
    return VersionFigures(
        version=version.version,
        status=version.status,
        created_at=version.created_at.isoformat() if version.created_at else None,
        created_by=version.created_by,
        note=version.note,
        feature_count=version.feature_count if feature_count is None else feature_count,
        area_km2=area_km2,
    )


def _sum_km2(pieces: list[Piece], change: str) -> float:
    return sum(p.area_m2 for p in pieces if p.change == change) / 1e6


def area_summary(from_km2: float, to_km2: float, pieces: list[Piece]) -> AreaChange:
    """Union areas of both versions, and the gained and lost pieces summed."""
    gained, lost = _sum_km2(pieces, "gained"), _sum_km2(pieces, "lost")
    return AreaChange(
        from_km2=from_km2, to_km2=to_km2, gained_km2=gained, lost_km2=lost, net_km2=gained - lost
    )


def township_breakdown(
    session: Session, pieces: list[Piece], township_layer: str
) -> tuple[int | None, list[TownshipChange] | None]:
    """Gains and losses per township of the active township version, largest net first.

    Change outside every township gets its own row, so the rows always add up to the totals.
    """
    layer = session.get(Layer, township_layer)
    version = active_version(session, layer) if layer else None
    if version is None:
        return None, None
    rows = session.execute(
        _BY_TOWNSHIP,
        {"v": version.id, "changes": [p.change for p in pieces], "wkbs": [p.wkb for p in pieces]},
    ).all()
    units = [
        _township_row(r.code, r.name, r.county, r.gained_m2 / 1e6, r.lost_m2 / 1e6)
        for r in rows
        if r.gained_m2 + r.lost_m2 > TOLERANCE_M2
    ]
    outside_gained = _sum_km2(pieces, "gained") - sum(u.gained_km2 for u in units)
    outside_lost = _sum_km2(pieces, "lost") - sum(u.lost_km2 for u in units)
    if abs(outside_gained) + abs(outside_lost) > BINDING_TOLERANCE_KM2:
        units.append(_township_row(None, "乡镇范围外", None, outside_gained, outside_lost))
    units.sort(key=lambda u: -abs(u.net_km2))
    return version.version, units


def _township_row(
    code: str | None, name: str, county: str | None, gained: float, lost: float
) -> TownshipChange:
    return TownshipChange(
        code=code, name=name, county=county, gained_km2=gained, lost_km2=lost, net_km2=gained - lost
    )


def pieces_geojson(pieces: list[Piece]) -> PiecesCollection:
    """The pieces as a GeoJSON FeatureCollection (EPSG:4490)."""
    return PiecesCollection.model_validate(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": json.loads(p.geojson),
                    "properties": {
                        "change": p.change,
                        "change_zh": "增加" if p.change == "gained" else "减少",
                        "area_m2": p.area_m2,
                    },
                }
                for p in pieces
            ],
        }
    )


def binding_check(from_km2: float, to_km2: float, properties_changed: int) -> BindingCheck:
    """面积不减少 as a pass/fail; attribute changes are only a hint for 性质不改变."""
    change = to_km2 - from_km2
    passed = to_km2 >= from_km2 - BINDING_TOLERANCE_KM2
    return BindingCheck(
        rule="面积不减少",
        passed=passed,
        from_km2=from_km2,
        to_km2=to_km2,
        change_km2=change,
        message=_area_message(from_km2, to_km2, change, passed),
        properties_changed=properties_changed,
        properties_message=(
            f"{properties_changed} 个要素的属性发生变化，请核查是否符合“性质不改变”要求。"
            if properties_changed
            else "要素属性未发生变化。"
        ),
    )


def _area_message(from_km2: float, to_km2: float, change: float, passed: bool) -> str:
    head = f"面积由 {from_km2:.6f} 平方公里变为 {to_km2:.6f} 平方公里，"
    if not passed:
        return head + f"减少 {-change:.6f} 平方公里，不符合“面积不减少”要求。"
    if abs(change) <= BINDING_TOLERANCE_KM2:
        return head + "面积未变化，符合“面积不减少”要求。"
    if change < 0:
        return head + f"减少 {-change:.6f} 平方公里（在容差范围内），符合“面积不减少”要求。"
    return head + f"增加 {change:.6f} 平方公里，符合“面积不减少”要求。"
