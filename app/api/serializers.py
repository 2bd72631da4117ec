"""Plain-dict views of store rows for JSON responses."""

from app.catalog import LayerSpec
from app.store.models import Job, Layer, LayerVersion, RasterVersion


def version_view(v: LayerVersion) -> dict:
    return {
        "version": v.version,
        "status": v.status,
        "source_name": v.source_name,
        "source_format": v.source_format,
        "source_crs": v.source_crs,
        "note": v.note,
        "created_by": v.created_by,
        "created_at": v.created_at.isoformat() if v.created_at else None,
        "activated_at": v.activated_at.isoformat() if v.activated_at else None,
        "feature_count": v.feature_count,
        "total_area_km2": v.total_area_m2 / 1e6 if v.total_area_m2 is not None else None,
        "union_area_km2": (v.report or {}).get("union_area_m2", 0) / 1e6
        if (v.report or {}).get("union_area_m2") is not None
        else None,
        "total_length_km": v.total_length_m / 1e3 if v.total_length_m is not None else None,
        "repaired": (v.report or {}).get("repaired", []),
        "warnings": (v.report or {}).get("warnings", []),
    }


def layer_view(
    spec: LayerSpec, layer: Layer, active: LayerVersion | None, detail: bool = False
) -> dict:
    body = {
        "id": spec.id,
        "title_zh": spec.title_zh,
        "title_en": spec.title_en,
        "geometry_type": spec.geometry_type,
        "active_version": active.version if active else None,
        "feature_count": active.feature_count if active else 0,
        "total_area_km2": active.total_area_m2 / 1e6 if active and active.total_area_m2 else None,
        "links": {
            "self": f"/layers/{spec.id}",
            "features": f"/layers/{spec.id}/features",
            "versions": f"/layers/{spec.id}/versions",
        },
    }
    if detail:
        body["attributes"] = [a.model_dump(exclude_none=True) for a in spec.attributes]
        body["key"] = spec.key
        body["style"] = spec.style.dump()
        body["rules"] = [rule.dump() for rule in spec.rules]
        body["active"] = version_view(active) if active else None
    return body


def raster_version_view(v: RasterVersion) -> dict:
    return {
        "version": v.version,
        "status": v.status,
        "crs": v.crs,
        "width": v.width,
        "height": v.height,
        "resolution_m": v.resolution_m,
        "bounds_4490": v.bounds_4490,
        "source_name": v.source_name,
        "note": v.note,
        "created_by": v.created_by,
        "activated_at": v.activated_at.isoformat() if v.activated_at else None,
    }


def job_view(job: Job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "percent": round(100 * job.done / job.total, 1) if job.total else 100,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error,
        "params": job.params,
        "links": {
            "self": f"/jobs/{job.id}",
            "result": f"/jobs/{job.id}/result" if job.status == "done" else None,
        },
    }
