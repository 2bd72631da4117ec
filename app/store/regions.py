"""The administrative hierarchy as data: the `region` table and region code prefixes."""

import re
from pathlib import Path

import yaml
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT
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
        doc = yaml.safe_load(fh) or {}
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
