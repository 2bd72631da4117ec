"""Feature reads as GeoJSON."""

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.store.models import LayerVersion

MAX_LIMIT = 10000

_PAGE = text(
    "SELECT id, attributes, area_m2, length_m, ST_AsGeoJSON(geom, 7, 0) AS geometry, "
    "count(*) OVER () AS matched "
    "FROM feature WHERE version_id = :v "
    "AND (CAST(:minx AS float8) IS NULL "
    "     OR geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4490)) "
    "ORDER BY ordinal LIMIT :limit OFFSET :offset"
)


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """'minLon,minLat,maxLon,maxLat' in EPSG:4490."""
    if not value:
        return None
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError as exc:
        raise InvalidInput(
            f"bbox {value!r} is not four numbers: minLon,minLat,maxLon,maxLat."
        ) from exc
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise InvalidInput(f"bbox {value!r} must be minLon,minLat,maxLon,maxLat with min <= max.")
    return parts[0], parts[1], parts[2], parts[3]


def feature_collection(
    session: Session, version: LayerVersion, bbox: str | None, limit: int, offset: int
) -> dict:
    box = parse_bbox(bbox)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT} and offset >= 0.")
    minx, miny, maxx, maxy = box if box else (None, None, None, None)
    rows = session.execute(
        _PAGE,
        {
            "v": version.id,
            "minx": minx,
            "miny": miny,
            "maxx": maxx,
            "maxy": maxy,
            "limit": limit,
            "offset": offset,
        },
    ).all()
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": json.loads(r.geometry),
            "properties": {**r.attributes, "area_m2": r.area_m2, "length_m": r.length_m},
        }
        for r in rows
    ]
    return {
        "type": "FeatureCollection",
        "layer": version.layer_id,
        "version": version.version,
        "numberMatched": rows[0].matched if rows else 0,
        "numberReturned": len(features),
        "features": features,
    }
