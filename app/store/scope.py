"""Region-scoped imports: check the new features lie in the region, copy the rest over.

A scoped import for region R builds a whole-layer version: the file's features (inside R)
plus copies of the previous version's features outside R, their parts included, so every
reader of "the active version" keeps working unchanged.
"""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.errors import ImportRejected, InvalidInput
from app.store.models import LayerVersion
from app.store.regions import region_prefix

# Edge tolerance of the containment check, in degrees (0.0005° ≈ 50 m at these latitudes),
# after a 10 m simplification that keeps the union of big counties cheap.
EDGE_DEG = 0.0005
SIMPLIFY_DEG = 0.0001

# The county of each new feature: its own code for counties, else the active county
# holding a point on its surface (through the subdivided parts: small boxes, fast). The
# version is tested on the county, not the part, so the planner probes the parts' GiST
# index alone: ANDed with the version index it read all of a version's parts per feature
# (200 000 patches in 1 300 counties: over 10 minutes instead of seconds).
_COUNTY_OF_COUNTIES = text(
    "UPDATE feature SET county_code = attributes->>'code', origin_version = :n "
    "WHERE version_id = :v"
)
_COUNTY_OF_FEATURES = text("""
UPDATE feature f SET origin_version = :n, county_code = (
  SELECT c.county_code FROM feature_part p JOIN feature c ON c.id = p.feature_id
  JOIN layer l ON l.id = 'admin_county' AND l.active_version_id = c.version_id
  WHERE p.version_id = l.active_version_id AND ST_Intersects(p.geom, ST_PointOnSurface(f.geom))
  LIMIT 1)
WHERE f.version_id = :v
""")
_OUTSIDE = text(f"""
WITH r AS (
  SELECT ST_Buffer(ST_Union(ST_SimplifyPreserveTopology(c.geom, {SIMPLIFY_DEG})), {EDGE_DEG}) AS g
  FROM feature c JOIN layer l ON l.id = 'admin_county' AND l.active_version_id = c.version_id
  WHERE c.county_code LIKE :prefix
)
SELECT f.ordinal, f.attributes FROM feature f, r
WHERE f.version_id = :v AND (r.g IS NULL OR NOT ST_CoveredBy(f.geom, r.g))
ORDER BY f.ordinal LIMIT 20
""")
_KNOWN = text("""
SELECT EXISTS (SELECT 1 FROM feature c JOIN layer l
  ON l.id = 'admin_county' AND l.active_version_id = c.version_id
  WHERE c.county_code LIKE :prefix)
""")
_OUTSIDE_CODES = text(
    "SELECT ordinal, attributes FROM feature WHERE version_id = :v "
    "AND (county_code IS NULL OR county_code NOT LIKE :prefix) ORDER BY ordinal LIMIT 20"
)
_REPLACED = text(
    "SELECT count(*), coalesce(sum(area_m2), 0) FROM feature "
    "WHERE version_id = :old AND county_code LIKE :prefix"
)
_ADDED = text("SELECT count(*), coalesce(sum(area_m2), 0) FROM feature WHERE version_id = :v")
_COPY = text("""
INSERT INTO feature (version_id, ordinal, attributes, geom, area_m2, length_m,
                     county_code, origin_version)
SELECT :v, ordinal + :offset, attributes, geom, area_m2, length_m, county_code, origin_version
FROM feature WHERE version_id = :old AND (county_code IS NULL OR county_code NOT LIKE :prefix)
""")
# Copied features keep their parts: matched through the ordinal, unique within a version.
_COPY_PARTS = text("""
INSERT INTO feature_part (feature_id, version_id, geom)
SELECT n.id, :v, p.geom
FROM feature_part p JOIN feature o ON o.id = p.feature_id
JOIN feature n ON n.version_id = :v AND n.ordinal = o.ordinal + :offset
WHERE p.version_id = :old AND (o.county_code IS NULL OR o.county_code NOT LIKE :prefix)
""")


@dataclass(frozen=True)
class RegionCounts:
    """Feature count and summed geodesic area of one side of a scoped import."""

    count: int
    area_m2: float


def check_region_known(session: Session, spec: LayerSpec, region_code: str) -> None:
    """A region must hold loaded counties (unless the import brings the counties)."""
    if spec.id == "admin_county":
        return
    if not session.scalar(_KNOWN, {"prefix": region_prefix(region_code) + "%"}):
        raise InvalidInput(
            f"Region {region_code} has no loaded county (admin_county); import its counties "
            "first, scoped to the region.",
            region=region_code,
        )


def assign_counties(session: Session, spec: LayerSpec, version: LayerVersion) -> None:
    """Record each new feature's county code and origin version."""
    sql = _COUNTY_OF_COUNTIES if spec.id == "admin_county" else _COUNTY_OF_FEATURES
    session.execute(sql, {"v": version.id, "n": version.version})


def check_inside(session: Session, spec: LayerSpec, version: LayerVersion, region: str) -> None:
    """Reject the import when a new feature lies beyond the region (edge tolerance ~50 m)."""
    prefix = region_prefix(region) + "%"
    sql = _OUTSIDE_CODES if spec.id == "admin_county" else _OUTSIDE
    rows = session.execute(sql, {"v": version.id, "prefix": prefix}).all()
    if rows:
        listed = [{"feature": r.ordinal, **_identity(spec, r.attributes)} for r in rows]
        raise ImportRejected(
            f"{len(rows)}{'+' if len(rows) == 20 else ''} feature(s) of the {spec.id} file lie "
            f"outside region {region} (first: feature {rows[0].ordinal}); a scoped import may "
            "only hold features inside its region. Nothing was changed.",
            feature=rows[0].ordinal,
            outside=listed,
        )


def _identity(spec: LayerSpec, attrs: dict) -> dict:
    keys = [*spec.key, spec.label] if spec.label else list(spec.key)
    return {k: attrs.get(k) for k in keys if k in attrs}


def counts(session: Session, version_id: int, prefix: str | None = None) -> RegionCounts:
    """The features of a version (inside a region prefix, when given): count and area."""
    if prefix is None:
        n, area = session.execute(_ADDED, {"v": version_id}).one()
    else:
        n, area = session.execute(_REPLACED, {"old": version_id, "prefix": prefix + "%"}).one()
    return RegionCounts(int(n), float(area))


def copy_outside(session: Session, old_id: int, new: LayerVersion, region: str) -> int:
    """Copy the previous version's features outside the region (and their parts); count."""
    params = {
        "v": new.id,
        "old": old_id,
        "prefix": region_prefix(region) + "%",
        "offset": new.feature_count,
    }
    copied = session.execute(_COPY, params).rowcount
    session.execute(_COPY_PARTS, params)
    return int(copied)


def coverage_after(previous: LayerVersion | None, region: str) -> list[str] | None:
    """The new coverage: the previous one with R's sub-regions replaced by R (NULL stays)."""
    if previous is None:
        return [region]
    if previous.coverage_codes is None:
        return None
    prefix = region_prefix(region)
    kept = {c for c in previous.coverage_codes if not c.startswith(prefix)}
    return sorted(kept | {region})
