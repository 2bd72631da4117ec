"""Printable screening reports: HTML (Jinja2) and PDF (WeasyPrint), with a map image."""

import base64
from functools import lru_cache

import jinja2
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import catalog
from app.geo.measure import area_units
from app.screening.mapimage import render_map
from app.screening.models import LABELS
from app.store.models import LayerVersion, Screening

RELATIONS = {"inside": "位于其内", "overlaps": "部分重叠", "nearby": "邻近", "outside": "位于其外"}
KINDS = {"point": "点", "line": "线", "polygon": "面"}


@lru_cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("app.screening", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    # One conversion of m² to 公顷 and 亩 for the whole project (app.geo.measure).
    env.globals["area_units"] = area_units
    return env.get_template("report.html.j2")


def _version_notes(session: Session, versions: dict[str, int]) -> dict[str, str]:
    rows = session.execute(
        select(
            LayerVersion.layer_id, LayerVersion.version, LayerVersion.note, LayerVersion.source_name
        )
    ).all()
    return {
        r.layer_id: (r.note or r.source_name or "")
        for r in rows
        if versions.get(r.layer_id) == r.version
    }


def report_html(session: Session, row: Screening) -> str:
    """The printable report of a stored screening, its map embedded as a PNG."""
    r = row.result
    site: shapely.Geometry = to_shape(row.geom)
    png = render_map(session, site, r["layer_versions"], r["project"].get("name") or "项目用地")
    return _template().render(
        r=r,
        created_by=row.created_by,
        labels=LABELS,
        relations=RELATIONS,
        kinds=KINDS,
        titles={k: s.title_zh for k, s in catalog().items()},
        notes=_version_notes(session, r["layer_versions"]),
        map_png=base64.b64encode(png).decode("ascii"),
    )


def report_pdf(session: Session, row: Screening) -> bytes:
    """The same report as a PDF."""
    from weasyprint import HTML  # imported lazily: it loads Pango

    return HTML(string=report_html(session, row)).write_pdf()
