"""Mapbox vector tiles (WebMercatorQuad) of active layer versions: SQL, cache keys, TileJSON."""

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import morecantile
from psycopg import ClientCursor
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.cache import LockedLRU
from app.catalog import LayerSpec, catalog, get_layer_spec
from app.config import get_settings
from app.errors import NotFound
from app.store.catalog_epoch import active_version_ids, known_active_version_ids
from app.store.layers import get_layer
from app.store.models import Layer

EXTENT = 4096  # tile grid units per tile side
BUFFER = 64  # grid units drawn beyond the tile edge, so strokes join across tiles
MAX_ZOOM = 22  # deepest tile served; TileJSON advertises less and clients overzoom
TILEJSON_MAXZOOM = 16
GRID = morecantile.tms.get("WebMercatorQuad")
# Bump when the tile SQL or properties change: ETags then change for unchanged data too.
RENDER_REVISION = 2
# Longer strings (control_unit access lists run to hundreds of characters) stay out of tiles;
# clients fetch them by `fid`. Key, label and fill_by attributes are always kept.
MAX_TILE_TEXT = 80
ATTRIBUTION = "Redline — 合成参考数据（synthetic reference data），非官方成果，不可用于审批"


class TileOutOfRange(NotFound):
    """z/x/y outside the served WebMercatorQuad pyramid."""

    type = "https://redline.example.org/problems/tile-out-of-range"
    title = "No such tile"


@dataclass(frozen=True)
class TileAddress:
    """One tile of one layer version; `fingerprint` is stable until the version changes."""

    layer_id: str
    version_id: int
    z: int
    x: int
    y: int

    @property
    def fingerprint(self) -> str:
        """A short hash of layer, version, tile and render revision: the tile's ETag."""
        key = f"{self.layer_id}:{self.version_id}:{self.z}/{self.x}/{self.y}:r{RENDER_REVISION}"
        return hashlib.sha256(key.encode()).hexdigest()[:24]


class TileCache(LockedLRU[bytes]):
    """Tile bytes, least recently used out first, bounded by count and total size.

    Keyed by version id: a new import activates a new id, so stale tiles are never hit and
    simply age out.
    """

    def __init__(self, max_tiles: int, max_bytes: int) -> None:
        super().__init__(max_items=max_tiles, max_size=max_bytes, sizeof=len)

    @property
    def size_bytes(self) -> int:
        """Total bytes of the cached tiles."""
        return int(self.size)


@lru_cache
def tile_cache() -> TileCache:
    """The process-wide tile cache, sized from the settings."""
    settings = get_settings()
    return TileCache(settings.tile_cache_tiles, settings.tile_cache_mb * 1024 * 1024)


def check_tile(z: int, x: int, y: int) -> None:
    """z/x/y must name a WebMercatorQuad tile up to MAX_ZOOM."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"Zoom {z} is not served; use 0..{MAX_ZOOM}.")
    last = GRID.matrix(z).matrixWidth - 1
    if not (0 <= x <= last and 0 <= y <= last):
        raise TileOutOfRange(f"Tile {z}/{x}/{y} is outside the grid: x and y run 0..{last}.")


def tile_width_m(z: int) -> float:
    """Width of a zoom-z tile in Web Mercator metres."""
    bounds = GRID.xy_bounds(morecantile.Tile(0, 0, z))
    return bounds.right - bounds.left


def active_version_id(layer: Layer) -> int:
    """The layer's active version id, or NotFound when nothing was imported yet."""
    if layer.active_version_id is None:
        raise NotFound(f"Layer {layer.id} has no active version; import data first.")
    return layer.active_version_id


def locate_tile(session: Session, layer_id: str, z: int, x: int, y: int) -> TileAddress:
    """The tile of the layer's active version (UnknownLayer / NotFound / TileOutOfRange)."""
    get_layer_spec(layer_id)
    check_tile(z, x, y)
    version_id = active_version_ids(session).get(layer_id)
    if version_id is None:
        raise NotFound(f"Layer {layer_id} has no active version; import data first.")
    return TileAddress(layer_id, version_id, z, x, y)


def cached_address(layer_id: str, z: int, x: int, y: int) -> TileAddress | None:
    """The tile's address when its layer's active version is known under the current epoch
    (None otherwise: then `locate_tile`). Never blocks: safe on the event loop."""
    version_id = (known_active_version_ids() or {}).get(layer_id)
    if version_id is None:
        return None
    check_tile(z, x, y)
    return TileAddress(layer_id, version_id, z, x, y)


def cached_tile(address: TileAddress) -> bytes | None:
    """The tile's bytes if they are in the cache, else None."""
    return tile_cache().get(_cache_key(address))


def _cache_key(address: TileAddress) -> tuple[int, int, int, int]:
    return (address.version_id, address.z, address.x, address.y)


# psycopg's SQL (pyformat, run with exec_driver_sql): a tile read skips SQLAlchemy's compile
# step. Candidates come from the GiST index on feature.geom (tile box transformed to 4490,
# with the buffer margin); each is drawn from its stored Web Mercator geometry
# (feature.geom_mercator), clipped to the tile and its margin before it is simplified.
# ST_AsMVT skips rows whose ST_AsMVTGeom is NULL (outside the tile): filtering them in SQL
# would compute the whole geometry pipeline twice per feature.
_TILE_SQL = """
    WITH tile AS (
        SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
               ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s) AS margin_box,
               -- Clamped to the world first: past ±180° the margin would wrap around.
               ST_Transform(ST_ClipByBox2D(
                   ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s),
                   ST_TileEnvelope(0, 0, 0)), 4490) AS box4490
    ),
    rows AS (
        SELECT f.id AS mvt_id,
               f.id AS fid,
               {attributes} AS attributes,
               ST_AsMVTGeom(
                   ST_Simplify(ST_ClipByBox2D(f.geom_mercator, tile.margin_box),
                               %(tolerance)s, true),
                   tile.box, %(extent)s, %(buffer)s, true) AS geom
          FROM feature AS f, tile
         WHERE f.version_id = %(version_id)s
           AND f.geom && tile.box4490
           AND coalesce(f.area_m2, 0) >= %(min_area)s
           AND coalesce(f.length_m, 0) >= %(min_length)s
         ORDER BY f.ordinal
    )
    SELECT ST_AsMVT(rows.*, %(layer)s, %(extent)s, 'geom', 'mvt_id') FROM rows
"""
# Long strings are left out value by value; a version without any (most layers) sends its
# attributes as they are, sparing a jsonb_each per feature.
_SHORT_ATTRIBUTES = """(
    SELECT coalesce(jsonb_object_agg(a.key, a.value), '{}'::jsonb)
      FROM jsonb_each(f.attributes) AS a
     WHERE a.key = ANY(CAST(%(keep)s AS text[]))
        OR jsonb_typeof(a.value) <> 'string'
        OR char_length(a.value #>> '{}') <= %(max_text)s)"""
_TILE = _TILE_SQL.format(attributes=_SHORT_ATTRIBUTES)
_TILE_ALL_ATTRIBUTES = _TILE_SQL.format(attributes="f.attributes")
_HAS_LONG_TEXT = """
    SELECT EXISTS (
        SELECT 1 FROM feature AS f, jsonb_each(f.attributes) AS a
         WHERE f.version_id = %(version_id)s
           AND NOT a.key = ANY(CAST(%(keep)s AS text[]))
           AND jsonb_typeof(a.value) = 'string'
           AND char_length(a.value #>> '{}') > %(max_text)s)
"""
# Version id → whether some attribute value is too long for tiles (a version never changes).
_long_texts: LockedLRU[bool] = LockedLRU(max_items=4096)


def _tile_sql(session: Session, params: dict[str, Any]) -> str:
    """The tile query for the version: attributes filtered per value only where needed."""
    version_id = params["version_id"]
    found = _long_texts.get(version_id)
    if found is None:
        keys = {k: params[k] for k in ("version_id", "keep", "max_text")}
        found = bool(_scalar(session, _HAS_LONG_TEXT, keys))
        _long_texts.put(version_id, found)
    return _TILE if found else _TILE_ALL_ATTRIBUTES


def _scalar(session: Session, sql: str, params: dict[str, Any]) -> Any:
    # Values inlined, as tipg does: bound parameters let psycopg prepare the statement after
    # five runs, and PostgreSQL's generic plan for it, blind to the tile, was ~25 % slower.
    connection = session.connection()
    inlined = ClientCursor(connection.connection.driver_connection).mogrify(sql, params)
    return connection.exec_driver_sql(inlined).scalar()


def tile_params(spec: LayerSpec, address: TileAddress) -> dict[str, Any]:
    """Zoom-dependent simplification and size thresholds for one tile query."""
    tile_m = tile_width_m(address.z)
    unit_m = tile_m / EXTENT  # one tile grid unit in Mercator metres
    # One screen pixel on the ground (MapLibre draws vector tiles 512 px wide); cos(30°) is
    # about right for China's latitudes.
    pixel_ground_m = tile_m / 512 * math.cos(math.radians(30))
    return {
        "z": address.z,
        "x": address.x,
        "y": address.y,
        "margin": BUFFER / EXTENT,
        "extent": EXTENT,
        "buffer": BUFFER,
        "layer": address.layer_id,
        "version_id": address.version_id,
        "tolerance": unit_m / 2,
        # Features smaller than a pixel are invisible: dropping them keeps low-zoom tiles of
        # many small patches (farmland) small.
        "min_area": pixel_ground_m**2 if spec.geometry_type == "polygon" else 0.0,
        "min_length": pixel_ground_m if spec.geometry_type == "line" else 0.0,
        "keep": kept_attributes(spec),
        "max_text": MAX_TILE_TEXT,
    }


def kept_attributes(spec: LayerSpec) -> list[str]:
    """Attributes kept in tiles however long: the key, the label and the styling attribute."""
    keep = [*spec.key, spec.label, spec.style.fill_attribute]
    return sorted({name for name in keep if name})


def render_tile(session: Session, address: TileAddress) -> bytes:
    """MVT bytes of one tile (b"" when no feature touches it), from the cache when possible."""
    data = cached_tile(address)
    if data is None:
        params = tile_params(get_layer_spec(address.layer_id), address)
        data = bytes(_scalar(session, _tile_sql(session, params), params) or b"")
        tile_cache().put(_cache_key(address), data)
    return data


_EXTENT_SQL = text(
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
    "FROM (SELECT ST_Extent(geom) AS e FROM feature WHERE version_id = :v) AS x"
)


def published_layers(session: Session) -> list[str]:
    """Ids of catalog layers that have an active version, i.e. that have tiles."""
    active = set(session.scalars(select(Layer.id).where(Layer.active_version_id.is_not(None))))
    return [layer_id for layer_id in catalog() if layer_id in active]


def tilejson(session: Session, layer_id: str, tiles_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 of the active version; `tiles_url` is the absolute {z}/{x}/{y} template."""
    spec, layer = get_layer(session, layer_id)
    version_id = active_version_id(layer)
    minx, miny, maxx, maxy = session.execute(_EXTENT_SQL, {"v": version_id}).one()
    world = GRID.bbox
    bounds = [
        round(max(minx, world.left), 6),
        round(max(miny, world.bottom), 6),
        round(min(maxx, world.right), 6),
        round(min(maxy, world.top), 6),
    ]
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-9)
    center_zoom = max(0, min(TILEJSON_MAXZOOM, math.floor(math.log2(360 / span))))
    fields = {"fid": "要素编号（feature id, for click lookups）"}
    fields.update({a.name: f"{a.label_zh or a.name}（{a.type}）" for a in spec.attributes})
    return {
        "tilejson": "3.0.0",
        "name": spec.id,
        "description": f"{spec.title_zh} — {spec.title_en}",
        "attribution": ATTRIBUTION,
        # The version id in the URL makes browsers fetch new tiles after an import.
        "tiles": [f"{tiles_url}?v={version_id}"],
        "scheme": "xyz",
        "minzoom": 0,
        "maxzoom": TILEJSON_MAXZOOM,
        "bounds": bounds,
        "center": [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            center_zoom,
        ],
        "vector_layers": [
            {
                "id": spec.id,
                "description": spec.title_zh,
                "minzoom": 0,
                "maxzoom": TILEJSON_MAXZOOM,
                "fields": fields,
            }
        ],
    }
