"""Printable screening reports: HTML (Jinja2) and A4 PDF (WeasyPrint), with the site's maps."""

import base64
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import catalog
from app.geo.measure import area_units
from app.screening.mapimage import render_maps
from app.screening.models import LABELS
from app.store.models import LayerVersion, Screening

RELATIONS = {"inside": "位于其内", "overlaps": "部分重叠", "nearby": "邻近", "outside": "位于其外"}
KINDS = {"point": "点", "line": "线", "polygon": "面"}
BEIJING = ZoneInfo("Asia/Shanghai")


def beijing_time(value: str | dt.datetime | None, with_zone: bool = True) -> str:
    """An ISO time (UTC or any offset) as 2026年12月2日 11:23（北京时间）; naive means UTC."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(BEIJING)
    text = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return text + ("（北京时间）" if with_zone else "")


def beijing_date(value: str | dt.datetime | None) -> str:
    """The Beijing calendar date of a time: 2026年12月2日."""
    return beijing_time(value, with_zone=False).split(" ")[0]


def percent(share: float | None) -> str:
    """A 0-1 share as a percentage that never shows a non-zero share as 0.0%."""
    if share is None:
        return "—"
    value = share * 100
    if value == 0 or value >= 0.1:
        return f"{value:.1f}%"
    return f"{value:.2f}%" if value >= 0.01 else "不足 0.01%"


def signed(value: float | None, digits: int = 4, suffix: str = "") -> str:
    """A difference with its sign (+1.4396, -50.00%), but a plain 0 when it rounds to zero:
    never "-0.0000"."""
    if value is None:
        return "—"
    if round(value, digits) == 0:
        return f"{0:.{digits}f}{suffix}"
    return f"{value:+.{digits}f}{suffix}"


def feature_label(finding: dict[str, Any]) -> str | None:
    """A finding's feature as officers look it up: its name, else its code (图斑 JBNT…)."""
    return finding.get("name") or (finding.get("attributes") or {}).get("code")


def verdict_counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    """How many findings of each verdict, most severe first; they add up to all findings."""
    counts = dict.fromkeys(("prohibited", "restricted", "attention", "clear"), 0)
    for f in findings:
        counts[f["verdict"]] = counts.get(f["verdict"], 0) + 1
    return counts


@dataclass(frozen=True)
class KeyRow:
    """One line of page 1's key figures: a layer's findings of one verdict, summed."""

    layer_title: str
    names: str
    count: int
    figure: str
    verdict: str


def key_rows(findings: list[dict[str, Any]], limit: int = 6) -> list[KeyRow]:
    """Findings with a feature grouped by layer and verdict (most severe first, as filed):
    how many, their names, the total overlap or the nearest distance."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        if f.get("feature_id") is not None:
            groups.setdefault((f["layer"], f["verdict"]), []).append(f)
    rows = []
    for members in list(groups.values())[:limit]:
        named = [label for f in members if (label := feature_label(f))]
        names = "、".join(dict.fromkeys(named[:2]))
        if len(members) > 1:
            names = f"{names} 等 {len(members)} 处" if named else f"共 {len(members)} 处"
        names = names or "—"
        area = sum(f.get("overlap_area_m2") or 0 for f in members)
        length = sum(f.get("overlap_length_m") or 0 for f in members)
        share = sum(f.get("overlap_share") or 0 for f in members)
        if area:
            figure = f"重叠 {area / 1e4:.4f} 公顷（占用地 {percent(share)}）"
        elif length:
            figure = f"重叠 {length:.1f} 米"
        elif all(f.get("distance_m") for f in members):
            figure = f"最近 {min(f['distance_m'] for f in members):.1f} 米"
        else:
            figure = "位于其内" if members[0]["relation"] == "inside" else "相交"
        rows.append(KeyRow(members[0]["layer_title"], names, len(members), figure,
                           members[0]["verdict"]))  # fmt: skip
    return rows


@dataclass(frozen=True)
class VersionRow:
    """One data version a screening used, as the report lists it."""

    layer: str
    title: str
    version: int
    activated: str
    note: str


def version_rows(session: Session, result: dict[str, Any]) -> list[VersionRow]:
    """The layer versions of a screening: title, activation (Beijing time), note or source."""
    versions: dict[str, int] = result.get("layer_versions") or {}
    rows = session.execute(
        select(
            LayerVersion.layer_id,
            LayerVersion.version,
            LayerVersion.note,
            LayerVersion.source_name,
            LayerVersion.activated_at,
        )
    ).all()
    found = {(r.layer_id, r.version): r for r in rows}
    dates = result.get("layer_version_dates") or {}
    specs = catalog()
    out = []
    for layer, version in versions.items():
        row = found.get((layer, version))
        activated = dates.get(layer) or (row.activated_at if row else None)
        out.append(
            VersionRow(
                layer=layer,
                title=specs[layer].title_zh if layer in specs else layer,
                version=version,
                activated=beijing_time(activated, with_zone=False),
                note=(row.note or row.source_name or "") if row else "",
            )
        )
    return out


@lru_cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("app.screening", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    # One conversion of m² to 公顷 and 亩 for the whole project (app.geo.measure).
    env.globals["area_units"] = area_units
    env.filters["beijing"] = beijing_time
    env.filters["beijing_date"] = beijing_date
    env.filters["percent"] = percent
    env.filters["signed"] = signed
    env.filters["feature_label"] = feature_label
    return env


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def report_html(session: Session, row: Screening) -> str:
    """The printable report of a stored screening, its maps embedded as PNGs."""
    r = row.result
    site: shapely.Geometry = to_shape(row.geom)
    title = r["project"].get("name") or "项目用地"
    maps = render_maps(session, site, r.get("findings") or [], r["layer_versions"], title)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            r=r,
            created_by=row.created_by,
            officer=r["project"].get("officer"),
            labels=LABELS,
            relations=RELATIONS,
            kinds=KINDS,
            versions=version_rows(session, r),
            key=key_rows(r.get("findings") or []),
            counts=verdict_counts(r.get("findings") or []),
            map_png=_b64(maps.map_png),
            locator_png=_b64(maps.locator_png),
            frame=maps.frame,
        )
    )


def report_pdf(session: Session, row: Screening) -> bytes:
    """The same report as an A4 PDF."""
    from weasyprint import HTML  # imported lazily: it loads Pango

    return HTML(string=report_html(session, row)).write_pdf()
