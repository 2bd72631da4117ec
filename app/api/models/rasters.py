"""Views of raster layers, their versions and zonal statistics."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from app.catalog import RasterSpec
from app.store.models import RasterVersion


class RasterVersionView(BaseModel):
    """One GeoTIFF version of a raster layer."""

    version: int
    status: str
    crs: str | None
    width: int | None
    height: int | None
    resolution_m: float | None
    bounds_4490: list[float] | None
    source_name: str | None
    note: str | None
    created_by: str | None
    activated_at: str | None

    @classmethod
    def of(cls, v: RasterVersion) -> "RasterVersionView":
        """The view of a stored raster version."""
        return cls(
            version=v.version,
            status=v.status,
            crs=v.crs,
            width=v.width,
            height=v.height,
            resolution_m=v.resolution_m,
            bounds_4490=v.bounds_4490,
            source_name=v.source_name,
            note=v.note,
            created_by=v.created_by,
            activated_at=v.activated_at.isoformat() if v.activated_at else None,
        )


class RasterRef(BaseModel):
    """The raster layer an uploaded version belongs to."""

    raster: str


class UploadedRaster(RasterVersionView, RasterRef):
    """The version an upload created: `raster`, then the version's fields."""

    @classmethod
    def of_upload(cls, raster_id: str, v: RasterVersion) -> "UploadedRaster":
        """The view of a raster version just imported."""
        return cls(raster=raster_id, **RasterVersionView.of(v).model_dump())


class RasterClassView(BaseModel):
    """A class of a categorical raster."""

    label: str
    color: str | None


class RasterLayerView(BaseModel):
    """A catalog raster layer with its classes and active version."""

    id: str
    title_zh: str
    title_en: str
    kind: str
    classes: dict[int, RasterClassView]
    active: RasterVersionView | None

    @classmethod
    def of(cls, spec: RasterSpec, active: RasterVersion | None) -> "RasterLayerView":
        """The view of a raster layer and its active version (if any)."""
        return cls(
            id=spec.id,
            title_zh=spec.title_zh,
            title_en=spec.title_en,
            kind=spec.kind,
            classes={k: RasterClassView(**c.model_dump()) for k, c in spec.classes.items()},
            active=RasterVersionView.of(active) if active else None,
        )


class ZonalRow(BaseModel):
    """One admin unit with the raster's statistics over it (class shares or min/mean/max)."""

    model_config = ConfigDict(extra="allow")

    code: str | None
    name: str | None
    parent: str | None


class ZonalStats(BaseModel):
    """Zonal statistics of a raster per admin unit."""

    raster: str
    by: str
    version: dict[str, int]
    rows: list[ZonalRow]

    @classmethod
    def of(cls, raster_id: str, by: str, summary: dict[str, Any]) -> "ZonalStats":
        """The raster's columns of a summary (see app.summary.service.summarize)."""
        return cls(
            raster=raster_id,
            by=by,
            version=summary.get("raster_versions", {}),
            rows=[
                ZonalRow(
                    code=r["code"], name=r["name"], parent=r["parent"], **r["rasters"][raster_id]
                )
                for r in summary["rows"]
            ],
        )
