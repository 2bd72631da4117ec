"""Per-parcel results of a multi-parcel site: declared against computed area, and a verdict.

Pure: the parcels are screened with the site (service.screen_geometries, one query per
layer for all of them); this module turns each parcel's findings into its table row.
"""

import shapely

from app.geo.measure import area_m2
from app.screening.models import Finding, ParcelResult, verdict_label
from app.screening.rules import SEVERITY
from app.screening.site import ParcelInfo

# Declared and computed areas may differ by rounding and by the surveyors' plane (GK)
# against our ellipsoidal area; beyond this share the coordinates or the header are wrong.
AREA_TOLERANCE_PCT = 1.0


def computed_area_ha(geom: shapely.Geometry) -> float | None:
    """The parcel's geodesic area in 公顷 (None for points and lines)."""
    return area_m2(geom) / 1e4 if shapely.get_dimensions(geom) == 2 else None


def area_warning(info: ParcelInfo, computed_ha: float, difference_pct: float) -> str | None:
    """The officer's warning when the declared area is off by more than the tolerance."""
    if abs(difference_pct) <= AREA_TOLERANCE_PCT:
        return None
    return (
        f"地块「{info.label}」申报面积 {info.declared_area_ha:.4f} 公顷，"
        f"按坐标计算 {computed_ha:.4f} 公顷，相差 {difference_pct:+.2f}%，"
        f"超过 {AREA_TOLERANCE_PCT:g}%：请核对界址点坐标或申报面积。"
    )


def reasons(findings: list[Finding]) -> list[str]:
    """The rule messages of a parcel's findings, most severe first, each once."""
    hits = sorted((hit for f in findings for hit in f.rules), key=lambda h: -SEVERITY[h.verdict])
    return list(dict.fromkeys(h.message for h in hits))


def main_conflict(findings: list[Finding]) -> str | None:
    """The parcel's most severe finding as 图层「要素」 (the first one, on a tie), for a short
    reason in the report's parcel table; None when nothing restricts the parcel."""
    hits = [f for f in findings if f.verdict != "clear"]
    if not hits:
        return None
    worst = max(hits, key=lambda f: SEVERITY[f.verdict])
    label = worst.name or (worst.attributes or {}).get("code")
    return f"{worst.layer_title}「{label}」" if label else worst.layer_title


def parcel_result(
    info: ParcelInfo, geom: shapely.Geometry, verdict: str, findings: list[Finding], complete: bool
) -> ParcelResult:
    """One parcel's row: its header, areas declared and computed, verdict and reasons."""
    computed = computed_area_ha(geom)
    declared = info.declared_area_ha
    difference = pct = warning = None
    if computed is not None and declared is not None and declared > 0:
        difference = computed - declared
        pct = difference / declared * 100
        warning = area_warning(info, computed, pct)
    return ParcelResult(
        number=info.number,
        name=info.name,
        use=info.use,
        declared_area_ha=declared,
        computed_area_ha=computed,
        difference_ha=difference,
        difference_pct=pct,
        verdict=verdict,
        verdict_label=verdict_label(verdict, complete),
        reasons=reasons(findings),
        conflict=main_conflict(findings),
        warning=warning,
    )
