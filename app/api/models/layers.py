"""Views of catalog layers and their versions."""

from typing import Any

from pydantic import BaseModel

from app.catalog import LayerSpec
from app.store.models import LayerVersion


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


class VersionView(BaseModel):
    """One imported version of a layer: provenance, figures and the import's repairs."""

    version: int
    status: str
    source_name: str | None
    source_format: str | None
    source_crs: str | None
    note: str | None
    created_by: str | None
    created_at: str | None
    activated_at: str | None
    feature_count: int | None
    total_area_km2: float | None
    union_area_km2: float | None
    total_length_km: float | None
    repaired: list[Any]
    warnings: list[Any]
    region_code: str | None = None
    coverage_codes: list[str] | None = None

    @classmethod
    def of(cls, v: LayerVersion) -> "VersionView":
        """The view of a stored version."""
        report = v.report or {}
        union = report.get("union_area_m2")
        return cls(
            version=v.version,
            status=v.status,
            source_name=v.source_name,
            source_format=v.source_format,
            source_crs=v.source_crs,
            note=v.note,
            created_by=v.created_by,
            created_at=_iso(v.created_at),
            activated_at=_iso(v.activated_at),
            feature_count=v.feature_count,
            total_area_km2=v.total_area_m2 / 1e6 if v.total_area_m2 is not None else None,
            union_area_km2=union / 1e6 if union is not None else None,
            total_length_km=v.total_length_m / 1e3 if v.total_length_m is not None else None,
            repaired=report.get("repaired", []),
            warnings=report.get("warnings", []),
            region_code=v.region_code,
            coverage_codes=v.coverage_codes,
        )


class LayerRef(BaseModel):
    """The layer an uploaded version belongs to."""

    layer: str


class UploadedVersion(VersionView, LayerRef):
    """The version an upload created: `layer`, then the version's fields."""

    @classmethod
    def of_upload(cls, layer_id: str, v: LayerVersion) -> "UploadedVersion":
        """The view of a version just imported into `layer_id`."""
        return cls(layer=layer_id, **VersionView.of(v).model_dump())


class LayerLinks(BaseModel):
    """Where the layer, its features and its versions are."""

    self: str
    features: str
    versions: str


class LayerView(BaseModel):
    """A catalog layer with its active version's figures."""

    id: str
    title_zh: str
    title_en: str
    geometry_type: str
    active_version: int | None
    feature_count: int | None
    total_area_km2: float | None
    links: LayerLinks

    @classmethod
    def fields_of(cls, spec: LayerSpec, active: LayerVersion | None) -> dict[str, Any]:
        """The summary fields of a layer, shared with the detail view."""
        return {
            "id": spec.id,
            "title_zh": spec.title_zh,
            "title_en": spec.title_en,
            "geometry_type": spec.geometry_type,
            "active_version": active.version if active else None,
            "feature_count": active.feature_count if active else 0,
            "total_area_km2": active.total_area_m2 / 1e6
            if active and active.total_area_m2
            else None,
            "links": LayerLinks(
                self=f"/layers/{spec.id}",
                features=f"/layers/{spec.id}/features",
                versions=f"/layers/{spec.id}/versions",
            ),
        }

    @classmethod
    def of(cls, spec: LayerSpec, active: LayerVersion | None) -> "LayerView":
        """The list view of a layer."""
        return cls(**cls.fields_of(spec, active))


class LayerDetail(LayerView):
    """A layer with its attributes, key, style, screening rules and active version."""

    attributes: list[dict[str, Any]]
    key: list[str]
    style: dict[str, Any]
    rules: list[dict[str, Any]]
    active: VersionView | None

    @classmethod
    def of(cls, spec: LayerSpec, active: LayerVersion | None) -> "LayerDetail":
        """The detail view of a layer."""
        return cls(
            **cls.fields_of(spec, active),
            attributes=[a.model_dump(exclude_none=True) for a in spec.attributes],
            key=spec.key,
            style=spec.style.dump(),
            rules=[rule.dump() for rule in spec.rules],
            active=VersionView.of(active) if active else None,
        )
