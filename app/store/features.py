"""Feature reads as GeoJSON: the one paged items query behind /layers/…/features and /ogc items."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.store.models import Feature, LayerVersion

MAX_LIMIT = 10000
Bbox = tuple[float, float, float, float]


def parse_bbox(value: str | None, error: type[InvalidInput] = InvalidInput) -> Bbox | None:
    """'minx,miny,maxx,maxy' (or 6 numbers with heights, which are dropped) as four floats.

    The axis order is the caller's CRS; `error` is the exception a malformed value raises.
    """
    if value is None or not value.strip():
        return None
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 6:  # minx,miny,minz,maxx,maxy,maxz: heights play no part here
        numbers = numbers[:2] + numbers[3:5]
    if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
        raise error(
            f"bbox={value!r} must be four numbers minx,miny,maxx,maxy with min <= max, in the "
            "axis order of its CRS (lon,lat for CRS84 and /layers), e.g. "
            "bbox=106.5,31.5,107.5,32.5."
        )
    return numbers[0], numbers[1], numbers[2], numbers[3]


@dataclass(frozen=True)
class GeometryOutput:
    """How feature geometries leave the database: SRID, axis swap and decimal digits."""

    srid: int = 4490
    north_first: bool = False  # the output CRS lists latitude/northing first
    digits: int = 7

    def shape(self) -> ColumnElement:
        """The feature geometry in this output's SRID and axis order."""
        geometry: ColumnElement = Feature.geom
        if self.srid != 4490:
            geometry = func.ST_Transform(geometry, self.srid)
        if self.north_first:
            geometry = func.ST_FlipCoordinates(geometry)
        return geometry

    def geojson(self, geometry: ColumnElement) -> ColumnElement:
        """ST_AsGeoJSON of a geometry in this output, labelled `geometry`."""
        # options 0: no per-geometry "crs" member.
        return func.ST_AsGeoJSON(geometry, self.digits, 0).label("geometry")

    def column(self) -> ColumnElement:
        """ST_AsGeoJSON of the feature geometry in this output, labelled `geometry`."""
        return self.geojson(self.shape())


STORAGE_LON_LAT = GeometryOutput()


def select_features(output: GeometryOutput) -> Select:
    """The columns every feature read serializes: id, attributes, measures, geometry."""
    return select(
        Feature.id, Feature.attributes, Feature.area_m2, Feature.length_m, output.column()
    )


def page(
    session: Session,
    conditions: Sequence[ColumnElement],
    output: GeometryOutput,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """One page of features (file order) matching the conditions, and how many match in all."""
    matched = session.scalar(select(func.count()).select_from(Feature).where(*conditions)) or 0
    rows = session.execute(
        select_features(output)
        .where(*conditions)
        .order_by(Feature.ordinal, Feature.id)
        .limit(min(limit, MAX_LIMIT))
        .offset(offset)
    ).all()
    return list(rows), matched


def feature_json(row: Row, names: Sequence[str] | None = None) -> dict[str, Any]:
    """A GeoJSON Feature; properties are `names` in order, or all attributes plus measures."""
    values = {**row.attributes, "area_m2": row.area_m2, "length_m": row.length_m}
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": json.loads(row.geometry),
        "properties": values if names is None else {name: values.get(name) for name in names},
    }


def feature_collection(
    session: Session, version: LayerVersion, bbox: str | None, limit: int, offset: int
) -> dict:
    """A page of one version's features in EPSG:4490 lon/lat; bbox selects by bounding box."""
    box = parse_bbox(bbox)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT} and offset >= 0.")
    conditions = [Feature.version_id == version.id]
    if box is not None:
        conditions.append(Feature.geom.op("&&")(func.ST_MakeEnvelope(*box, 4490)))
    rows, matched = page(session, conditions, STORAGE_LON_LAT, limit, offset)
    return {
        "type": "FeatureCollection",
        "layer": version.layer_id,
        "version": version.version,
        # As before the shared query: a page past the last feature reports 0 matched.
        "numberMatched": matched if rows else 0,
        "numberReturned": len(rows),
        "features": [feature_json(r) for r in rows],
    }
