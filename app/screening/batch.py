"""Batch screening: many sites from one file → one summary row per site (JSON, CSV, XLSX)."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import catalog, project_categories
from app.config import get_settings
from app.errors import InvalidInput
from app.geo import crs as crs_mod
from app.geo.local import geodesic_buffer
from app.geo.normalize import normalize_geometries
from app.io.readers import read_vector
from app.screening.coverage import coverage_warnings, site_coverage
from app.screening.models import LayerCoverage, verdict_label
from app.screening.report import LABELS
from app.screening.service import MAX_BUFFER_M, Screened, screen_geometries, screened_specs
from app.screening.site import SiteError
from app.store.db import session_scope
from app.store.layers import active_versions
from app.store.models import Feature, LayerVersion
from app.store.regions import region_prefix

MAX_SITES = 100_000
CHUNK = 500
FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_LABEL_COLUMNS = ("id", "site_id", "name", "project_name", "名称", "项目名称", "编号")


@dataclass
class BatchSites:
    """Sites read from one file, in file order, with why a row cannot be screened."""

    geometries: list[shapely.Geometry | None]  # None where the row could not be used
    labels: list[str]
    problems: dict[int, str]


def read_sites(path: Path, crs: str | None, encoding: str | None) -> BatchSites:
    """Read a CSV (lon/lat or WKT), GeoJSON, GeoPackage or zipped Shapefile of sites."""
    data = read_vector(path, encoding)
    n = len(data.geometries)
    if n > MAX_SITES:
        raise InvalidInput(f"The file has {n} sites; a batch takes at most {MAX_SITES}.")
    found = crs_mod.from_pyproj(data.crs).label if data.crs is not None else None
    source = crs_mod.parse_crs(crs or found or "EPSG:4490")
    keys = list(data.records[0].keys()) if data.records else []
    label_col = next((k for k in keys if str(k).strip().lower() in _LABEL_COLUMNS), None)
    labels = [
        str(r.get(label_col)) if label_col else str(i + 1) for i, r in enumerate(data.records)
    ]
    problems: dict[int, str] = {}
    geoms: list[shapely.Geometry | None] = [None] * n
    usable = [i for i, g in enumerate(data.geometries) if g is not None and not g.is_empty]
    for i in set(range(n)) - set(usable):
        problems[i] = "empty geometry"
    checked = normalize_geometries(
        [data.geometries[i] for i in usable], source, get_settings().coverage_bbox
    )
    for j in checked.out_of_range:
        problems[usable[j]] = "coordinates outside China: wrong crs or swapped lon/lat?"
    for j, note in checked.unrepairable.items():
        problems[usable[j]] = note
    for i, g in zip(usable, checked.geometries, strict=True):
        geoms[i] = g
    return BatchSites(geoms, labels, problems)


def _partial(session: Session, versions: dict[str, LayerVersion]) -> bool:
    """Whether some screened layer's data leave a loaded county uncovered (then each site
    is measured; otherwise every site is covered and no query is spent)."""
    county = versions.get("admin_county")
    scoped = [
        versions[s.id].coverage_codes
        for s in screened_specs(versions)
        if versions[s.id].coverage_codes is not None
    ]
    if county is None or not scoped:
        return False
    codes = session.scalars(
        select(Feature.attributes["code"].astext).where(Feature.version_id == county.id)
    ).all()
    return any(
        not all(c and c.startswith(tuple(region_prefix(r) for r in regions)) for c in codes)
        for regions in scoped
    )


def _row(
    label: str,
    screened: Screened | None,
    problem: str | None,
    coverage: list[LayerCoverage],
    buffer_m: float,
) -> dict:
    """One summary row: verdict, place, per finding layer overlap/distance, coverage."""
    row: dict = {"site": label}
    if screened is None or problem:
        return {**row, "verdict": "error", "verdict_zh": "无法研判", "problem": problem}
    ctx = screened.by_layer
    findings = {k for k, spec in catalog().items() if spec.screening_role == "finding"}
    complete = all(c.covered for c in coverage if c.layer in findings)
    township = next(iter(ctx.get("township", [])), None)
    county = next(iter(ctx.get("admin_county", [])), None)
    row.update(
        {
            "verdict": screened.verdict,
            "verdict_zh": LABELS[screened.verdict],
            "verdict_label": verdict_label(screened.verdict, complete),
            "complete": complete,
            "county": county["name"] if county else None,
            "township": township["name"] if township else None,
            "zone_type": township["attributes"].get("zone_type") if township else None,
            "hit_layers": ";".join(
                sorted({f.layer for f in screened.reported if f.relation in ("inside", "overlaps")})
            ),
        }
    )
    for layer_id, spec in catalog().items():
        if spec.screening_role != "finding":
            continue
        found = ctx.get(layer_id, [])
        touching = [f for f in found if f["relation"] in ("inside", "overlaps")]
        row[f"{layer_id}_overlap_m2"] = round(sum(f["overlap_area_m2"] or 0 for f in touching), 2)
        nearest = min((f["distance_m"] for f in found), default=None)
        row[f"{layer_id}_distance_m"] = round(nearest, 1) if nearest is not None else None
    row["rules"] = "；".join(r.message for f in screened.reported for r in f.rules[:1])
    row["warnings"] = "；".join(coverage_warnings(coverage, buffer_m)) or None
    row["problem"] = None
    return row


def screen_batch(
    sites: BatchSites,
    category: str | None,
    buffer_m: float,
    progress: Callable[[int], None] = lambda done: None,
) -> list[dict]:
    """Screen every usable site in chunks (one query per layer per chunk)."""
    project_categories().check(category)
    if not 0 <= buffer_m <= MAX_BUFFER_M:
        raise InvalidInput(f"buffer_m must be between 0 and {MAX_BUFFER_M} metres.")
    rows: list[dict] = []
    n = len(sites.geometries)
    with session_scope() as session:
        versions = active_versions(session)
        partial = _partial(session, versions)
    specs = screened_specs(versions)
    for start in range(0, n, CHUNK):
        idx = [i for i in range(start, min(start + CHUNK, n)) if sites.geometries[i] is not None]
        search = [
            geodesic_buffer(sites.geometries[i], buffer_m) if buffer_m else sites.geometries[i]
            for i in idx
        ]
        coverage: dict[int, list[LayerCoverage]] = {}
        with session_scope() as session:
            # Distances from the site itself; the buffer widens the search, and coverage
            # is measured over the buffered search area.
            plain = [sites.geometries[i] for i in idx]
            found = screen_geometries(session, plain, category, versions, [buffer_m] * len(idx))
            screened = dict(zip(idx, found, strict=True))
            for i, geom in zip(idx, search, strict=True) if partial else ():
                if screened[i].by_layer.get("admin_county"):
                    try:
                        coverage[i] = site_coverage(session, versions, specs, geom)
                    except SiteError:
                        continue  # the site is refused below as outside the loaded data
        for i in range(start, min(start + CHUNK, n)):
            s = screened.get(i)
            problem = sites.problems.get(i)
            if s is not None and "admin_county" in versions and not s.by_layer.get("admin_county"):
                problem = "outside the area covered by the loaded data"
            rows.append(_row(sites.labels[i], s, problem, coverage.get(i, []), buffer_m))
        progress(min(start + CHUNK, n))
    return rows


def write_rows(rows: list[dict], fmt: str, path: Path) -> Path:
    """Write rows as JSON, CSV (UTF-8 with BOM so spreadsheets read Chinese) or XLSX."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt == "csv":
        pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    else:
        pd.DataFrame(rows).to_excel(path, index=False, sheet_name="研判结果", engine="openpyxl")
    return path
