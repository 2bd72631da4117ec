"""One batch row: the cells written out for a site, and the screening request it stands for."""

from typing import Any

import shapely

from app.catalog import catalog
from app.screening.batch_input import BatchSites
from app.screening.models import LABELS, Finding
from app.screening.projects import ProjectKind
from app.screening.service import Screened, ScreeningRequest
from app.screening.site import Site


def project_cells(
    i: int, sites: BatchSites, project: ProjectKind | None, buffer_m: float | None
) -> dict[str, Any]:
    """The row's number, label and project as screened (or as given, for a row in error)."""
    given = sites.row(i)
    return {
        "row": i + 1,
        "site": sites.label(i),
        "project_name": given.name,
        "project_category": project.category if project else given.category,
        "industry_code": project.industry_code if project else given.industry_code,
        "eia_item": project.eia_item if project else given.eia_item,
        "buffer_m": buffer_m,
    }


def error_row(cells: dict[str, Any], reason: str) -> dict[str, Any]:
    """A row that could not be screened: 无法研判, and why (第 n 行：…)."""
    return {
        **cells,
        "verdict": "error",
        "verdict_zh": "无法研判",
        "verdict_label": "无法研判",
        "screening_id": None,
        "report_url": None,
        "created_at": None,
        "problem": f"第 {cells['row']} 行：{reason}",
    }


_columns: list[Any] = [None, {}, {}]  # the catalog the columns were listed for, and them


def _finding_columns() -> tuple[dict[str, tuple[str, str]], dict[str, Any]]:
    """Per finding layer of the catalog, its overlap and distance columns; and those columns'
    values when nothing is found (listed once per catalog, not once per row)."""
    specs = catalog()
    if _columns[0] is not specs:
        columns = {
            layer_id: (f"{layer_id}_overlap_m2", f"{layer_id}_distance_m")
            for layer_id, spec in specs.items()
            if spec.screening_role == "finding"
        }
        empty = {
            k: v
            for overlap, distance in columns.values()
            for k, v in ((overlap, 0), (distance, None))
        }
        _columns[:] = [specs, columns, empty]
    return _columns[1], _columns[2]


def main_conflict(findings: list[Finding]) -> str | None:
    """The most severe finding with a rule hit: its layer and feature."""
    top = next((f for f in findings if f.rules and f.verdict != "clear"), None)
    if top is None:
        return None
    return (
        top.layer_title
        if top.name in (None, top.layer_title)
        else f"{top.layer_title}「{top.name}」"
    )


def result_row(cells: dict[str, Any], screened: Screened, result: dict[str, Any]) -> dict[str, Any]:
    """One screened row: verdict, place, per finding layer overlap/distance, its filed id.
    RESULT: the result's fields (service.result_fields, or a result's own)."""
    ctx, findings, verdict = result["context"], result["findings"], result["verdict"]
    row = {
        **cells,
        "verdict": verdict,
        "verdict_zh": LABELS[verdict],
        "verdict_label": result["verdict_label"],
        "main_conflict": main_conflict(findings),
        "complete": result["complete"],
        "county": ctx.county,
        "township": ctx.township,
        "zone_type": ctx.zone_type,
        "hit_layers": ";".join(
            sorted({f.layer for f in findings if f.relation in ("inside", "overlaps")})
        ),
    }
    columns, empty = _finding_columns()
    row.update(empty)  # most layers, for most sites: nothing found
    for layer_id, found in screened.by_layer.items():
        if not found or layer_id not in columns:
            continue
        overlap_key, distance_key = columns[layer_id]
        touching = [f for f in found if f["relation"] in ("inside", "overlaps")]
        row[overlap_key] = round(sum(f["overlap_area_m2"] or 0 for f in touching), 2)
        row[distance_key] = round(min(f["distance_m"] for f in found), 1)
    row["rules"] = "；".join(r.message for f in findings for r in f.rules[:1])
    row["warnings"] = "；".join(result["warnings"]) or None
    row["screening_id"] = result["id"]
    row["report_url"] = f"/screenings/{result['id']}/report.pdf"
    row["created_at"] = result["created_at"]
    row["problem"] = None
    return row


def filed_inputs(
    source: dict[str, Any], cells: dict[str, Any], sites: BatchSites
) -> dict[str, Any]:
    """What a batch row's filed screening records as given: the batch, file, row and project."""
    return {
        **source,
        "row": cells["row"],
        "crs": sites.source_crs,
        **{k: cells[k] for k in ("project_name", "project_category", "industry_code", "eia_item")},
        "buffer_m": cells["buffer_m"],
    }


def request_of(
    sites: BatchSites,
    i: int,
    cells: dict[str, Any],
    project: ProjectKind,
    filed_as: dict[str, Any],
    known: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> ScreeningRequest:
    """The screening request a batch row stands for (its project as resolved by row_project);
    KNOWN: its figures and geometry, if computed already (`site.point_figures`)."""
    geom = sites.geometry(i)
    # Figures are known only for a single point (the ufunc cost a point 6 µs).
    parts = 1 if known is not None else int(shapely.get_num_geometries(geom))
    site = Site(geom, sites.source_crs, sites.source_format, parts, known=known)
    return ScreeningRequest(
        site,
        sites.row(i).name,
        project.category,
        cells["buffer_m"],
        filed_as.get("actor"),
        filed_inputs(filed_as.get("source", {}), cells, sites),
        industry_code=project.industry_code,
        eia_item=project.eia_item,
    )
