"""The report's maps of a screened site, over the layer versions it was screened against.

Reads the findings' features and the layers around the site from the store, projects them to
the site's Gauss-Krüger zone and hands them to app.render for drawing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import catalog, draw_order
from app.render.mapframe import GkFrame, framed, gk_frame, map_extent
from app.render.sitemap import MapLayer, locator_png, site_map_png

COUNTY_LAYER = "admin_county"
LOCATOR_MIN_SIZE_M = 20_000.0

_FEATURES = text(
    "SELECT f.attributes, ST_AsBinary(ST_ClipByBox2D(f.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, "
    "4490))) AS wkb FROM feature f JOIN layer_version v ON v.id = f.version_id "
    "WHERE v.layer_id = :layer AND v.version = :version "
    "AND f.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
)
_BY_ID = text("SELECT ST_AsBinary(geom) AS wkb FROM feature WHERE id = ANY(:ids)")
# The counties the site touches (none outside the loaded regions: then no locator map).
_COUNTIES = text(
    "SELECT f.attributes, ST_AsBinary(f.geom) AS wkb "
    "FROM feature f JOIN layer_version v ON v.id = f.version_id "
    "WHERE v.layer_id = :layer AND v.version = :version "
    "AND ST_Intersects(f.geom, ST_GeomFromWKB(:site, 4490)) LIMIT 12"
)


@dataclass(frozen=True)
class SiteMaps:
    """The main map and the locator map (None without county data), and their projection."""

    map_png: bytes
    locator_png: bytes | None
    frame: GkFrame


def finding_extent(
    session: Session, site: shapely.Geometry, findings: Iterable[dict[str, Any]], frame: GkFrame
) -> tuple[float, float, float, float]:
    """The main map's box (projected): the site and the near parts of every finding's feature."""
    ids = sorted({f["feature_id"] for f in findings if f.get("feature_id") is not None})
    rows = session.execute(_BY_ID, {"ids": ids}).all() if ids else []
    features = [frame.project(shapely.from_wkb(bytes(r.wkb))) for r in rows]
    return map_extent(frame.project(site), features)


def _layers(
    session: Session, frame: GkFrame, box: tuple[float, ...], layer_versions: dict[str, int]
) -> list[MapLayer]:
    x0, y0, x1, y1 = frame.unproject_bounds(box)
    specs = catalog()
    layers = []
    for layer_id in draw_order(layer_versions):
        params = {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
        rows = session.execute(
            _FEATURES, {"layer": layer_id, "version": layer_versions[layer_id], **params}
        ).all()
        features = [(frame.project(shapely.from_wkb(bytes(r.wkb))), r.attributes) for r in rows]
        layers.append(MapLayer(specs[layer_id], [f for f in features if not f[0].is_empty]))
    return layers


def _locator(
    session: Session, site: shapely.Geometry, frame: GkFrame, layer_versions: dict[str, int]
) -> bytes | None:
    if COUNTY_LAYER not in layer_versions:
        return None
    rows = session.execute(
        _COUNTIES,
        {"site": site.wkb, "layer": COUNTY_LAYER, "version": layer_versions[COUNTY_LAYER]},
    ).all()
    if not rows:
        return None
    counties = [
        (frame.project(shapely.from_wkb(bytes(r.wkb))), str(r.attributes.get("name") or ""))
        for r in rows
    ]
    projected = frame.project(site)
    box = shapely.total_bounds([projected, *(g for g, _ in counties)])
    return locator_png(projected, counties, framed(tuple(box), LOCATOR_MIN_SIZE_M))


def render_maps(
    session: Session,
    site: shapely.Geometry,
    findings: Iterable[dict[str, Any]],
    layer_versions: dict[str, int],
    title: str,
) -> SiteMaps:
    """The site over each screened layer's features around it, in its Gauss-Krüger zone."""
    frame = gk_frame(shapely.centroid(site).x)
    box = finding_extent(session, site, findings, frame)
    layers = _layers(session, frame, box, layer_versions)
    main = site_map_png(frame.project(site), layers, title, box)
    return SiteMaps(main, _locator(session, site, frame, layer_versions), frame)
