"""The administrative hierarchy as data: the `region` table and region code prefixes."""

import re
from pathlib import Path

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from app.catalog import plan_for
from app.catalog.yamlfile import load_yaml
from app.config import PROJECT_ROOT
from app.errors import NotFound
from app.store.models import Region

# A region named by an import or a filter: a GB/T 2260 six-digit code.
REGION_CODE = re.compile(r"\d{6}")
REGIONS_FILE = PROJECT_ROOT / "layers" / "regions" / "regions.yaml"

# Units of the loaded admin layers: layer id → (level, parent attribute).
_ADMIN_SQL = text("""
SELECT f.attributes->>'code' AS code, f.attributes->>'name' AS name,
       coalesce(f.attributes->>'city_code', f.attributes->>'province_code') AS parent
FROM feature f JOIN layer l ON l.active_version_id = f.version_id AND l.id = 'admin_county'
UNION ALL
SELECT f.attributes->>'code', f.attributes->>'name', f.attributes->>'county_code'
FROM feature f JOIN layer l ON l.active_version_id = f.version_id AND l.id = 'township'
UNION ALL
SELECT f.attributes->>'code', f.attributes->>'name', f.attributes->>'township_code'
FROM feature f JOIN layer l ON l.active_version_id = f.version_id AND l.id = 'village'
""")
_LEVEL_BY_LENGTH = {6: "county", 9: "township", 12: "village"}


def region_prefix(code: str) -> str:
    """The code prefix every unit inside a region shares: 510000→51, 511700→5117."""
    prefix = code
    while len(prefix) > 2 and len(prefix) <= 6 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def within(code: str | None, region_code: str) -> bool:
    """Whether a unit's code lies inside a region (by code prefix)."""
    return code is not None and code.startswith(region_prefix(region_code))


def read_divisions(path: Path = REGIONS_FILE) -> list[Region]:
    """The provinces and prefecture cities of layers/regions/regions.yaml."""
    with path.open(encoding="utf-8") as fh:
        doc = load_yaml(fh) or {}
    rows = [Region(code=p["code"], level="province", name=p["name"]) for p in doc["provinces"]]
    rows += [
        Region(code=c["code"], level="city", name=c["name"], parent_code=c["parent_code"])
        for c in doc.get("cities", [])
    ]
    return rows


def sync_regions(session: Session) -> int:
    """Rebuild the region table from regions.yaml and the active admin layers; returns rows."""
    rows = {r.code: r for r in read_divisions()}
    for code, name, parent in session.execute(_ADMIN_SQL):
        level = _LEVEL_BY_LENGTH.get(len(code or ""))
        if level is None or code in rows:
            continue
        rows[code] = Region(code=code, level=level, name=name, parent_code=parent)
    session.execute(delete(Region))
    session.add_all(rows.values())
    session.flush()
    return len(rows)


# The extent of each loaded county (the active admin_county layer).
_COUNTY_EXTENTS = text("""
SELECT code, ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1
FROM (SELECT f.attributes->>'code' AS code, ST_Extent(f.geom) AS e
      FROM feature f JOIN layer l ON l.active_version_id = f.version_id
      WHERE l.id = 'admin_county' GROUP BY 1) s
""")
# Townships and villages: their own extent in their layer.
_UNIT_EXTENT = text("""
SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1
FROM (SELECT ST_Extent(f.geom) AS e FROM feature f
      JOIN layer l ON l.active_version_id = f.version_id
      WHERE l.id IN ('township', 'village') AND f.attributes->>'code' = :code) s
""")
# Layers in force inside a region: the active version's features by their county code.
_LAYERS_IN = text("""
SELECT l.id AS layer, v.version, max(f.origin_version) AS region_version,
       count(*) AS feature_count, sum(f.area_m2) / 1e6 AS area_km2
FROM layer l JOIN layer_version v ON v.id = l.active_version_id
JOIN feature f ON f.version_id = v.id
WHERE f.county_code LIKE :prefix GROUP BY l.id, v.version ORDER BY l.id
""")
LISTED_LEVELS = ("province", "city", "county")
Box = tuple[float, float, float, float]


def _merge(a: Box | None, b: Box) -> Box:
    return b if a is None else (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _plan(code: str) -> dict | None:
    plan = plan_for(code[:6])
    return {"code": plan.code, "title": plan.title} if plan else None


def _loaded(session: Session) -> tuple[dict[str, Region], dict[str, Box]]:
    """Every region row, and the extent of each region with loaded counties beneath it."""
    regions = {r.code: r for r in session.scalars(select(Region))}
    boxes: dict[str, Box] = {}
    for row in session.execute(_COUNTY_EXTENTS):
        code: str | None = row.code
        # A county and its ancestors up the hierarchy share its extent.
        while code is not None:
            boxes[code] = _merge(boxes.get(code), (row.x0, row.y0, row.x1, row.y1))
            code = regions[code].parent_code if code in regions else None
    return regions, boxes


def _view(region: Region, box: Box | None, children: list[Region]) -> dict:
    return {
        "code": region.code,
        "level": region.level,
        "name": region.name,
        "parent_code": region.parent_code,
        "bbox": list(box) if box else None,
        "children": [c.code for c in children],
        "plan": _plan(region.code),
    }


def _children(regions: dict[str, Region], code: str) -> list[Region]:
    return sorted((r for r in regions.values() if r.parent_code == code), key=lambda r: r.code)


def list_regions(session: Session, level: str | None = None) -> list[dict]:
    """Provinces, cities and counties with loaded data (optionally one level), with extents."""
    regions, boxes = _loaded(session)
    levels = (level,) if level else LISTED_LEVELS
    chosen = [r for r in regions.values() if r.level in levels and r.code in boxes]
    chosen.sort(key=lambda r: (LISTED_LEVELS.index(r.level), r.code))
    return [_view(r, boxes[r.code], _children(regions, r.code)) for r in chosen]


def region_detail(session: Session, code: str) -> dict:
    """One region: its extent, children with names, plan, and the layers in force inside it."""
    regions, boxes = _loaded(session)
    region = regions.get(code)
    if region is None:
        raise NotFound(f"Region {code} is not loaded; GET /regions lists those that are.")
    box = boxes.get(code)
    if box is None and len(code) > 6:
        row = session.execute(_UNIT_EXTENT, {"code": code}).one()
        box = None if row.x0 is None else (row.x0, row.y0, row.x1, row.y1)
    children = _children(regions, code)
    view = _view(region, box, children)
    view["children"] = [{"code": c.code, "level": c.level, "name": c.name} for c in children]
    # Features record the county they lie in: finer regions have no layer figures.
    layers = []
    if len(code) <= 6:
        layers = session.execute(_LAYERS_IN, {"prefix": region_prefix(code) + "%"}).all()
    view["layers"] = [dict(r._mapping) for r in layers]
    return view
