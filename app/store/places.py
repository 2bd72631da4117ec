"""Place search: named features of the active versions (counties, townships, protected areas,
redlines) whose label matches what the officer typed."""

from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Integer, Text

from app.catalog import catalog

# The layers a place search reads, in the order their places are listed for an equal match.
PLACE_LAYERS = ("admin_county", "township", "protected_area", "redline")

# One row per (layer, name, county): features sharing a name in one county (a redline in
# several parts) are one place. Exact names first, then names that start with the text.
# The label attribute comes from the catalog and the text is bound, never pasted in.
_SEARCH = text(r"""
WITH p AS (
  SELECT * FROM unnest(:layers, :labels, :ranks) AS p(layer_id, label, rank)
), hits AS (
  SELECT l.id AS layer, l.title_zh AS layer_title, p.rank, f.attributes->>p.label AS name,
         f.county_code, f.geom, coalesce(f.area_m2, f.length_m, 0) AS size
  FROM p JOIN layer l ON l.id = p.layer_id
  JOIN feature f ON f.version_id = l.active_version_id
  WHERE f.attributes->>p.label ILIKE :pattern ESCAPE '\'
), places AS (
  SELECT layer, layer_title, rank, name, county_code, ST_Extent(geom) AS box,
         (array_agg(ST_PointOnSurface(geom) ORDER BY size DESC))[1] AS inside
  FROM hits GROUP BY layer, layer_title, rank, name, county_code
)
SELECT p.layer, p.layer_title, p.name, c.attributes->>'name' AS county,
       ST_XMin(p.box) AS x0, ST_YMin(p.box) AS y0, ST_XMax(p.box) AS x1, ST_YMax(p.box) AS y1,
       ST_X(p.inside) AS cx, ST_Y(p.inside) AS cy
FROM places p
LEFT JOIN layer lc ON lc.id = 'admin_county'
LEFT JOIN feature c ON c.version_id = lc.active_version_id
  AND c.attributes->>'code' = p.county_code
ORDER BY (p.name = :q) DESC, (p.name ILIKE :prefix ESCAPE '\') DESC, p.rank,
         length(p.name), p.name, county
LIMIT :limit
""").bindparams(
    bindparam("layers", type_=ARRAY(Text)),
    bindparam("labels", type_=ARRAY(Text)),
    bindparam("ranks", type_=ARRAY(Integer)),
)


def _escaped(q: str) -> str:
    """The text with LIKE's wildcards taken literally (an officer's % or _ is a character)."""
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_places(session: Session, q: str, limit: int) -> list[dict[str, Any]]:
    """Places whose name contains Q (case-insensitive), best matches first, at most LIMIT."""
    specs = [catalog()[i] for i in PLACE_LAYERS if i in catalog() and catalog()[i].label]
    rows = session.execute(
        _SEARCH,
        {
            "layers": [s.id for s in specs],
            "labels": [s.label for s in specs],
            "ranks": list(range(len(specs))),
            "pattern": f"%{_escaped(q)}%",
            "prefix": f"{_escaped(q)}%",
            "q": q,
            "limit": limit,
        },
    ).mappings()
    return [
        {
            "name": r["name"],
            "layer": r["layer"],
            "layer_title": r["layer_title"],
            "county": r["county"],
            "bbox": [r["x0"], r["y0"], r["x1"], r["y1"]],
            "center": [r["cx"], r["cy"]],
        }
        for r in rows
    ]
