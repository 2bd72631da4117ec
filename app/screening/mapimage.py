"""A PNG map of a screened site over the layer versions it was screened against."""

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import catalog, draw_order
from app.render.sitemap import MapLayer, map_extent, site_map_png

_FEATURES = text(
    "SELECT f.attributes, ST_AsBinary(ST_ClipByBox2D(f.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, "
    "4490))) AS wkb FROM feature f JOIN layer_version v ON v.id = f.version_id "
    "WHERE v.layer_id = :layer AND v.version = :version "
    "AND f.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
)


def render_map(
    session: Session, site: shapely.Geometry, layer_versions: dict[str, int], title: str
) -> bytes:
    """The site over each screened layer version's features around it (PNG)."""
    x0, y0, x1, y1 = map_extent(site)
    specs = catalog()
    layers = []
    for layer_id in draw_order(layer_versions):
        rows = session.execute(
            _FEATURES,
            {
                "layer": layer_id,
                "version": layer_versions[layer_id],
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
            },
        ).all()
        features = [(shapely.from_wkb(bytes(row.wkb)), row.attributes) for row in rows]
        layers.append(MapLayer(specs[layer_id], features))
    return site_map_png(site, layers, title)
