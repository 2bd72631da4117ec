"""A project site from JSON or a file → one valid EPSG:4490 geometry with its figures.

Pure: no database. Coverage against the loaded data is checked by the service.
"""

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from app.config import get_settings
from app.errors import InvalidInput
from app.geo import crs as crs_mod
from app.geo.geojson import geojson
from app.geo.local import gk_coordinates, gk_coordinates_many
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


_KIND_ZH = {"point": "点", "line": "线", "polygon": "面"}
# The formats an officer reads in the result (site.source_format), by reader format name.
FORMAT_LABELS = {"CSV": "CSV 表格"}
LAND_TXT = "报盘坐标文件（TXT）"
# Attribute names that carry a parcel's number, name and use in a file of several features.
_NUMBER_KEYS = ("地块编号", "编号", "number", "parcel_no", "code")
_NAME_KEYS = ("地块名称", "名称", "name", "项目名称")
_USE_KEYS = ("用途", "use", "landuse")


@dataclass(frozen=True)
class ParcelInfo:
    """What the input says about one parcel (报盘 header, or a feature's attributes)."""

    number: str | None = None
    name: str | None = None
    use: str | None = None
    declared_area_ha: float | None = None
    land_class: str | None = None  # 地类编码 (报盘 header)

    @property
    def label(self) -> str:
        """地块编号 and name as an officer names the parcel, e.g. "J-3 示例用地"."""
        return " ".join(x for x in (self.number, self.name) if x) or "未命名"


def parcel_from_attributes(record: dict[str, Any] | None) -> ParcelInfo:
    """A parcel's number, name and use from a feature's attributes (any key case)."""
    lowered = {str(k).strip().lower(): v for k, v in (record or {}).items()}

    def given(value: Any) -> bool:
        return value is not None and value == value and str(value).strip() != ""  # NaN ≠ NaN

    def pick(keys: tuple[str, ...]) -> str | None:
        return next((str(lowered[k]).strip() for k in keys if given(lowered.get(k))), None)

    return ParcelInfo(pick(_NUMBER_KEYS), pick(_NAME_KEYS), pick(_USE_KEYS))


@dataclass
class Site:
    """A site ready to screen: one valid EPSG:4490 geometry and where it came from.

    A multi-parcel input (报盘 file, several features) keeps each parcel's geometry and what
    the input says about it, to be screened one by one too."""

    geometry: shapely.Geometry  # EPSG:4490, valid, one dimension
    source_crs: str
    source_format: str
    parts: int
    warnings: list[str] = field(default_factory=list)
    parcel_info: list[ParcelInfo] = field(default_factory=list)
    parcel_geometries: list[shapely.Geometry] = field(default_factory=list)  # EPSG:4490
    # A point's figures and GeoJSON geometry, when computed with other sites' (a batch).
    known: tuple[dict[str, Any], dict[str, Any]] | None = None

    @property
    def names(self) -> list[str | None]:
        """Parcel names, in input order."""
        return [p.name for p in self.parcel_info]

    @property
    def multi_parcel(self) -> bool:
        """Whether the site is reported parcel by parcel: a 报盘 file, or several features."""
        return len(self.parcel_geometries) > 1 or (
            self.source_format == LAND_TXT and bool(self.parcel_geometries)
        )

    @property
    def kind(self) -> str:
        """point, line or polygon."""
        return FAMILY_OF_DIMENSION[shapely.get_dimensions(self.geometry)]

    @cached_property
    def area_m2(self) -> float:
        """Geodesic area of a polygon site (0 for points and lines), measured once."""
        if self.known is not None:  # a point's (its kind took a batch 6 µs a point)
            return self.known[0]["area_m2"]
        return area_m2(self.geometry) if self.kind == "polygon" else 0.0

    def figures(self) -> dict[str, Any]:
        """Geodesic size, vertex and part counts, and the centroid (also in Gauss-Krüger)."""
        if self.known is not None:
            return self.known[0]
        c = self.geometry.centroid
        kind = self.kind
        return {
            "kind": kind,
            "area_m2": self.area_m2,
            "length_m": length_m(self.geometry) if kind == "line" else 0.0,
            "perimeter_m": length_m(self.geometry) if kind == "polygon" else 0.0,
            "vertices": int(shapely.get_num_coordinates(self.geometry)),
            "parts": self.parts,
            "centroid": {
                "lon": round(c.x, 7),
                "lat": round(c.y, 7),
                "epsg": 4490,
                "gauss_kruger": gk_coordinates(c.x, c.y),
            },
        }

    def geojson(self) -> dict[str, Any]:
        """The site's GeoJSON geometry (EPSG:4490)."""
        return self.known[1] if self.known is not None else geojson(self.geometry)


def point_figures(xy: np.ndarray) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """`Site.figures()` and the GeoJSON geometry of many 2D single points (x, y), at once."""
    gk = gk_coordinates_many(xy[:, 0], xy[:, 1])
    return [
        (
            {
                "kind": "point",
                "area_m2": 0.0,
                "length_m": 0.0,
                "perimeter_m": 0.0,
                "vertices": 1,
                "parts": 1,
                "centroid": {
                    "lon": round(x, 7),
                    "lat": round(y, 7),
                    "epsg": 4490,
                    "gauss_kruger": g,
                },
            },
            {"type": "Point", "coordinates": (x, y)},
        )
        for x, y, g in zip(xy[:, 0].tolist(), xy[:, 1].tolist(), gk, strict=True)
    ]


def geometries_from_json(body: dict) -> list[shapely.Geometry]:
    """GeoJSON geometry, Feature or FeatureCollection, or a WKT string."""
    return features_from_json(body)[0]


def features_from_json(body: dict) -> tuple[list[shapely.Geometry], list[ParcelInfo], str]:
    """(geometries, what each feature's properties say about its parcel, format label)."""
    if body.get("wkt"):
        try:
            return [shapely.from_wkt(body["wkt"])], [], "WKT"
        except shapely.errors.GEOSException as exc:
            raise SiteError(
                f"WKT 无法识别（{exc}）：请填写完整的 WKT，如 POINT (106.75 31.85)。"
                f"wkt is not valid WKT: {exc}"
            ) from exc
    geo = body.get("geometry")
    if geo is None:
        raise SiteError(
            "没有收到用地范围：请用 geometry（GeoJSON）或 wkt 给出用地范围，或上传文件。"
            "Give the site as `geometry` (GeoJSON) or `wkt`, or upload a file."
        )
    if isinstance(geo, str):
        geo = json.loads(geo)
    try:
        if geo.get("type") == "FeatureCollection":
            features = [f for f in geo.get("features", []) if f.get("geometry")]
            return (
                [shape(f["geometry"]) for f in features],
                [parcel_from_attributes(f.get("properties")) for f in features],
                "GeoJSON",
            )
        if geo.get("type") == "Feature":
            return ([shape(geo["geometry"])] if geo.get("geometry") else []), [], "GeoJSON"
        return [shape(geo)], [], "GeoJSON"
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise SiteError(
            f"geometry 不是有效的 GeoJSON（{exc}）：请检查 type 与 coordinates。"
            f"geometry is not valid GeoJSON: {exc}"
        ) from exc


def geometries_from_file(
    path: Path, encoding: str | None
) -> tuple[list, str | None, str, list[ParcelInfo]]:
    """(geometries, CRS found in the file, format label, what the file says of each parcel)."""
    if path.suffix.lower() == ".txt":
        land = load_land_file(path)
        geoms = [p.geometry() for p in land.parcels]
        info = [
            ParcelInfo(
                p.number or None,
                p.name or None,
                p.use or None,
                p.declared_area_ha,
                p.land_class or None,
            )
            for p in land.parcels
        ]
        return geoms, f"EPSG:{land.epsg}", LAND_TXT, info
    data = read_vector(path, encoding)
    found = crs_mod.from_pyproj(data.crs).label if data.crs is not None else None
    info = [parcel_from_attributes(r) for r in data.records]
    return list(data.geometries), found, FORMAT_LABELS.get(data.format, data.format), info


def build_site(
    geoms: list,
    crs: str | None,
    found_crs: str | None,
    fmt: str,
    axis_order: str = "auto",
    parcels: list[ParcelInfo] | None = None,
) -> Site:
    """Validate, convert to EPSG:4490 and merge the parts of a site.

    PARCELS (one per geometry, if given) say what the input tells of each parcel."""
    info = list(parcels) if parcels else [ParcelInfo()] * len(geoms)
    kept = [i for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    geoms, info = [geoms[i] for i in kept], [info[i] for i in kept]
    if not geoms:
        raise SiteError(
            "用地范围为空：请绘制或上传至少一个点、线或面。"
            "The site geometry is empty. Draw or upload at least one point, line or polygon."
        )
    dims = {shapely.get_dimensions(g) for g in geoms}
    if len(dims) > 1:
        raise SiteError(
            "用地范围混合了点、线、面：请按类型分别研判。"
            "The site mixes points, lines and polygons; screen each kind separately."
        )
    vertices = int(sum(shapely.get_num_coordinates(g) for g in geoms))
    if vertices > MAX_VERTICES:
        raise SiteError(
            f"用地范围有 {vertices} 个节点，上限为 {MAX_VERTICES} 个：请简化（如按 0.1 米容差）"
            f"或拆分后研判。The site has {vertices} vertices; the limit is {MAX_VERTICES}. "
            "Simplify it (e.g. to 0.1 m tolerance) or split it."
        )
    source = crs_mod.parse_crs(crs or found_crs or "EPSG:4490")
    geoms = orient_surveyor_axes(geoms, source, axis_order)
    if looks_like_lat_lon(geoms, source):
        raise SiteError(
            "坐标看起来是“纬度, 经度”的顺序：请经度在前、纬度在后，如 [106.75, 31.85]。"
            "The coordinates look like latitude, longitude. Give longitude first "
            "(GeoJSON and WKT order: lon lat), e.g. [106.75, 31.85]."
        )
    kind = FAMILY_OF_DIMENSION[dims.pop()]
    checked = normalize_geometries(geoms, source, get_settings().coverage_bbox, kind)
    if checked.out_of_range:
        x0, y0, x1, y1 = checked.box()
        raise SiteError(
            f"按 {source.label} 换算，用地位于经度 {x0:.4f}..{x1:.4f}、纬度 {y0:.4f}..{y1:.4f}，"
            "不在国内：请检查坐标系（crs）是否选对、坐标顺序是否颠倒。"
            f"With {source.label} the site lands at lon {x0:.4f}..{x1:.4f}, "
            f"lat {y0:.4f}..{y1:.4f}, outside China. Check the crs parameter and the "
            "coordinate order."
        )
    if checked.unrepairable:
        first = min(checked.unrepairable)
        raise SiteError(
            f"第 {first + 1} 部分图形无效且无法自动修复为{_KIND_ZH[kind]}：请修正该部分后重新提交。"
            f"Part {first + 1}: {checked.unrepairable[first]}."
        )
    warnings = [
        f"第 {i + 1} 部分图形无效，已自动修复，请核对。Part {i + 1}: {note}"
        for i, note in sorted(checked.repaired.items())
    ]
    fixed = checked.geometries
    merged = (
        shapely.union_all(fixed)
        if kind != "point"
        else shapely.MultiPoint([p for g in fixed for p in shapely.get_parts(g)])
    )
    if len(fixed) == 1 and kind == "point":
        merged = fixed[0]
    # A lone geometry that says nothing of itself is no parcel table.
    keep = len(fixed) > 1 or fmt == LAND_TXT
    return Site(
        merged,
        source.label,
        fmt,
        len(fixed),
        warnings,
        info if keep else [],
        list(fixed) if keep else [],
    )
