"""A project site from JSON or a file → one valid EPSG:4490 geometry with its figures.

Pure: no database. Coverage against the loaded data is checked by the service.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from app.config import get_settings
from app.errors import InvalidInput
from app.geo import crs as crs_mod
from app.geo.local import gk_coordinates
from app.geo.measure import area_m2, length_m
from app.geo.normalize import (
    FAMILY_OF_DIMENSION,
    looks_like_lat_lon,
    normalize_geometries,
    orient_surveyor_axes,
)
from app.io.landtxt import load_land_file
from app.io.readers import read_vector

# A documented limit: beyond this a site is a layer, not a project site.
MAX_VERTICES = 20000


class SiteError(InvalidInput):
    """The site cannot be screened as given (422 problem with what to change)."""

    type = "https://redline.example.org/problems/invalid-site"
    title = "The site geometry cannot be screened"


@dataclass
class Site:
    """A site ready to screen: one valid EPSG:4490 geometry and where it came from."""

    geometry: shapely.Geometry  # EPSG:4490, valid, one dimension
    source_crs: str
    source_format: str
    parts: int
    warnings: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # parcel names from a coordinate file

    @property
    def kind(self) -> str:
        """point, line or polygon."""
        return FAMILY_OF_DIMENSION[shapely.get_dimensions(self.geometry)]

    def figures(self) -> dict[str, Any]:
        """Geodesic size, vertex and part counts, and the centroid (also in Gauss-Krüger)."""
        c = self.geometry.centroid
        return {
            "kind": self.kind,
            "area_m2": area_m2(self.geometry) if self.kind == "polygon" else 0.0,
            "length_m": length_m(self.geometry) if self.kind == "line" else 0.0,
            "perimeter_m": length_m(self.geometry) if self.kind == "polygon" else 0.0,
            "vertices": int(shapely.get_num_coordinates(self.geometry)),
            "parts": self.parts,
            "centroid": {
                "lon": round(c.x, 7),
                "lat": round(c.y, 7),
                "epsg": 4490,
                "gauss_kruger": gk_coordinates(c.x, c.y),
            },
        }


def geometries_from_json(body: dict) -> list[shapely.Geometry]:
    """GeoJSON geometry, Feature or FeatureCollection, or a WKT string."""
    if body.get("wkt"):
        try:
            return [shapely.from_wkt(body["wkt"])]
        except shapely.errors.GEOSException as exc:
            raise SiteError(f"wkt is not valid WKT: {exc}") from exc
    geo = body.get("geometry")
    if geo is None:
        raise SiteError("Give the site as `geometry` (GeoJSON) or `wkt`, or upload a file.")
    if isinstance(geo, str):
        geo = json.loads(geo)
    try:
        if geo.get("type") == "FeatureCollection":
            return [shape(f["geometry"]) for f in geo.get("features", []) if f.get("geometry")]
        if geo.get("type") == "Feature":
            return [shape(geo["geometry"])] if geo.get("geometry") else []
        return [shape(geo)]
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise SiteError(f"geometry is not valid GeoJSON: {exc}") from exc


def geometries_from_file(path: Path, encoding: str | None) -> tuple[list, str | None, str, list]:
    """(geometries, CRS found in the file, format, parcel names)."""
    if path.suffix.lower() == ".txt":
        land = load_land_file(path)
        geoms = [p.geometry() for p in land.parcels]
        return geoms, f"EPSG:{land.epsg}", "land-approval TXT", [p.name for p in land.parcels]
    data = read_vector(path, encoding)
    found = crs_mod.from_pyproj(data.crs).label if data.crs is not None else None
    return list(data.geometries), found, data.format, []


def build_site(
    geoms: list,
    crs: str | None,
    found_crs: str | None,
    fmt: str,
    axis_order: str = "auto",
    names: list[str] | None = None,
) -> Site:
    """Validate, convert to EPSG:4490 and merge the parts of a site."""
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        raise SiteError(
            "The site geometry is empty. Draw or upload at least one point, line or polygon."
        )
    dims = {shapely.get_dimensions(g) for g in geoms}
    if len(dims) > 1:
        raise SiteError("The site mixes points, lines and polygons; screen each kind separately.")
    vertices = int(sum(shapely.get_num_coordinates(g) for g in geoms))
    if vertices > MAX_VERTICES:
        raise SiteError(
            f"The site has {vertices} vertices; the limit is {MAX_VERTICES}. "
            "Simplify it (e.g. to 0.1 m tolerance) or split it."
        )
    source = crs_mod.parse_crs(crs or found_crs or "EPSG:4490")
    geoms = orient_surveyor_axes(geoms, source, axis_order)
    if looks_like_lat_lon(geoms, source):
        raise SiteError(
            "The coordinates look like latitude, longitude. Give longitude first "
            "(GeoJSON and WKT order: lon lat), e.g. [106.75, 31.85]."
        )
    kind = FAMILY_OF_DIMENSION[dims.pop()]
    checked = normalize_geometries(geoms, source, get_settings().coverage_bbox, kind)
    if checked.out_of_range:
        x0, y0, x1, y1 = checked.box()
        raise SiteError(
            f"With {source.label} the site lands at lon {x0:.4f}..{x1:.4f}, "
            f"lat {y0:.4f}..{y1:.4f}, outside China. Check the crs parameter and the "
            "coordinate order."
        )
    if checked.unrepairable:
        first = min(checked.unrepairable)
        raise SiteError(f"Part {first + 1}: {checked.unrepairable[first]}.")
    warnings = [f"part {i + 1}: {note}" for i, note in sorted(checked.repaired.items())]
    fixed = checked.geometries
    merged = (
        shapely.union_all(fixed)
        if kind != "point"
        else shapely.MultiPoint([p for g in fixed for p in shapely.get_parts(g)])
    )
    if len(fixed) == 1 and kind == "point":
        merged = fixed[0]
    return Site(merged, source.label, fmt, len(fixed), warnings, names or [])
