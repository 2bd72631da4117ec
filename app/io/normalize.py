"""Turn read source data into valid EPSG:4490 geometries and catalog attributes, or reject."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import shapely

from app.catalog import LayerSpec
from app.config import get_settings
from app.errors import CrsError, ImportRejected
from app.geo import crs as crs_mod
from app.geo.normalize import BBox, StoredGeometries, normalize_geometries
from app.geo.repair import FAMILIES
from app.io.attributes import column_mapping, validate_record
from app.io.readers import SourceData

MAX_LISTED_ERRORS = 100


@dataclass
class NormalizedLayer:
    """Valid EPSG:4490 geometries with their catalog attributes, and what was repaired."""

    geometries: list[shapely.Geometry]
    attributes: list[dict]
    source_crs: str
    repaired: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def resolve_source_crs(data: SourceData, crs: str | None) -> crs_mod.SourceCrs:
    """An explicit CRS wins (a .prj saying WGS84 is often wrong for Amap data); then the file's."""
    if crs:
        return crs_mod.parse_crs(crs)
    if data.crs is None:
        raise CrsError(
            f"The {data.format} file does not say which coordinate system it uses (no .prj or "
            "CRS). Pass it explicitly, e.g. crs=EPSG:4490, EPSG:4545 (Gauss-Krüger) or GCJ02."
        )
    return crs_mod.from_pyproj(data.crs)


def _range_errors(checked: StoredGeometries, label: str, bbox: BBox) -> list[dict]:
    minx, miny, maxx, maxy = bbox
    errors = []
    for i in checked.out_of_range:
        x0, y0, x1, y1 = checked.box(i)
        errors.append(
            {
                "feature": i + 1,
                "problem": f"coordinates from {label} land at lon {x0:.4f}..{x1:.4f}, "
                f"lat {y0:.4f}..{y1:.4f}, outside China ({minx}-{maxx}E, {miny}-{maxy}N): "
                "wrong CRS, or latitude and longitude swapped?",
            }
        )
    return errors


def normalize(
    data: SourceData,
    spec: LayerSpec,
    crs: str | None,
    progress: Callable[[str, int, int], None] | None = None,
) -> NormalizedLayer:
    """Validate everything and collect every error before rejecting, so one fix round suffices."""
    source = resolve_source_crs(data, crs)
    errors: list[dict] = []
    kind = spec.geometry_type
    geoms = data.geometries
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            errors.append({"feature": i + 1, "problem": "geometry is missing or empty"})
        elif g.geom_type not in FAMILIES[kind]:
            errors.append(
                {
                    "feature": i + 1,
                    "problem": f"is a {g.geom_type}, but layer {spec.id} holds {kind} geometries",
                }
            )
    if errors:
        raise _rejected(errors, spec)
    bbox = get_settings().coverage_bbox
    checked = normalize_geometries(geoms, source, bbox, kind)
    errors = _range_errors(checked, source.label, bbox)
    if errors:
        raise _rejected(errors, spec)

    mapping, unmatched = column_mapping(list(data.records[0].keys()) if data.records else [], spec)
    result = NormalizedLayer([], [], source.label, warnings=list(data.warnings))
    if unmatched:
        result.warnings.append(f"columns not in the catalog were ignored: {', '.join(unmatched)}")
    total = len(checked.geometries)
    for i, (geom, raw) in enumerate(zip(checked.geometries, data.records, strict=True)):
        attrs, problems = validate_record(
            {mapping[k]: v for k, v in raw.items() if k in mapping}, spec
        )
        errors.extend({"feature": i + 1, **p} for p in problems)
        if geom is None:
            note = checked.unrepairable[i]
            errors.append({"feature": i + 1, "field": "geometry", "problem": note})
            continue
        if i in checked.repaired:
            result.repaired.append({"feature": i + 1, "note": checked.repaired[i]})
        result.geometries.append(geom)
        result.attributes.append(attrs)
        if progress and (i + 1) % 1000 == 0:
            progress("validate", i + 1, total)
    if progress:
        progress("validate", total, total)
    errors.extend(_duplicate_keys(result.attributes, spec))
    if errors:
        raise _rejected(errors, spec)
    return result


def _duplicate_keys(records: list[dict], spec: LayerSpec) -> list[dict]:
    if not spec.key:
        return []
    keys = [tuple(r.get(k) for k in spec.key) for r in records]
    dupes = {k for k, n in Counter(keys).items() if n > 1}
    return [
        {
            "feature": i + 1,
            "field": ",".join(spec.key),
            "problem": f"key {k} occurs more than once in the file",
        }
        for i, k in enumerate(keys)
        if k in dupes
    ]


def _rejected(errors: list[dict], spec: LayerSpec) -> ImportRejected:
    first = errors[0]
    where = f"feature {first['feature']}" + (
        f", field {first['field']}" if "field" in first else ""
    )
    return ImportRejected(
        f"{len(errors)} problem(s) in the file for layer {spec.id}; first: {where}: "
        f"{first['problem']}. Fix the file and upload it again.",
        errors=errors[:MAX_LISTED_ERRORS],
        error_count=len(errors),
    )
