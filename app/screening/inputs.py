"""Turn an HTTP/CLI screening request (JSON body or uploaded file) into a ScreeningRequest."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from app.screening.service import ScreeningRequest
from app.screening.site import LAND_TXT, build_site, features_from_json, geometries_from_file

# Bounds on free text, so that one request cannot bloat every listing that repeats it.
MAX_NAME_CHARS = 200
MAX_OFFICER_CHARS = 50
MAX_WKT_CHARS = 1024 * 1024


class ScreeningBody(BaseModel):
    """JSON body of POST /screenings."""

    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON geometry, Feature or FeatureCollection"
    )
    wkt: str | None = Field(None, max_length=MAX_WKT_CHARS)
    crs: str = Field(
        "EPSG:4490", max_length=100, description="EPSG:xxxx (incl. GK zones 4513-4554), GCJ02, BD09"
    )
    axis_order: str = Field(
        "auto",
        pattern="^(auto|east_north|north_east)$",
        description="for GK zones: surveyors' X (northing) first or not",
    )
    buffer_m: float = 0.0
    project_category: str | None = Field(None, max_length=100)
    project_name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    officer: str | None = Field(
        None, max_length=MAX_OFFICER_CHARS, description="经办人 (the officer's name), optional"
    )
    industry_code: str | None = Field(
        None, max_length=10, description="GB/T 4754-2017 code: C, C26, C261 or C2614"
    )
    eia_item: str | None = Field(
        None,
        max_length=10,
        description="item number of the 建设项目环境影响评价分类管理名录（2021年版）, e.g. 44",
    )


def request_from_body(body: ScreeningBody, actor: str | None) -> ScreeningRequest:
    """A screening request from the JSON body; the inputs are kept as given."""
    # The fields as given, without model_dump's copy of a large geometry (twice).
    inputs = {k: v for k, v in body if v is not None}
    geoms, parcels, fmt = features_from_json({"wkt": body.wkt, "geometry": body.geometry})
    site = build_site(geoms, body.crs, None, fmt, body.axis_order, parcels)
    return ScreeningRequest(
        site,
        body.project_name,
        body.project_category,
        body.buffer_m,
        actor,
        inputs,
        officer=_officer(body.officer),
        industry_code=body.industry_code,
        eia_item=body.eia_item,
    )


def _officer(name: str | None) -> str | None:
    """The officer's name as typed, without surrounding spaces; blank is no name."""
    return (name or "").strip() or None


def request_from_file(
    path: Path,
    crs: str | None,
    encoding: str | None,
    buffer_m: float,
    category: str | None,
    name: str | None,
    axis_order: str,
    actor: str | None,
    officer: str | None = None,
    industry_code: str | None = None,
    eia_item: str | None = None,
) -> ScreeningRequest:
    """A screening request from an uploaded file (vector file or land-approval TXT)."""
    geoms, found_crs, fmt, parcels = geometries_from_file(path, encoding)
    site = build_site(geoms, crs, found_crs, fmt, axis_order, parcels)
    # A 报盘 file names its project in its first parcel's header.
    names = [p.name for p in parcels if p.name] if fmt == LAND_TXT else []
    inputs = {
        "file": path.name,
        "format": fmt,
        "crs": crs or found_crs,
        "buffer_m": buffer_m,
        "project_category": category,
        "project_name": name,
        "officer": _officer(officer),
        "industry_code": industry_code,
        "eia_item": eia_item,
    }
    return ScreeningRequest(
        site,
        name or (names[0] if names else None),
        category,
        buffer_m,
        actor,
        inputs,
        officer=_officer(officer),
        industry_code=industry_code,
        eia_item=eia_item,
    )
