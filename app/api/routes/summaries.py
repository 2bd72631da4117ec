"""Planners' summaries: areas per city / county / township, cross-tabs, plan figures, charts."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.auth import Reader
from app.api.deps import ReadSession
from app.api.models.files import XLSX, file_response
from app.api.models.summaries import Crosstab, PlanFigures, Summary
from app.api.problems import problem_responses
from app.errors import InvalidInput
from app.summary import crosstab as crosstab_mod
from app.summary.chart import area_chart
from app.summary.export import to_csv, to_xlsx
from app.summary.plan import choose_plan, plan_figures
from app.summary.service import summarize, summary_json
from app.summary.versions import parse_list, parse_pins

router = APIRouter(
    prefix="/summaries",
    tags=["summaries"],
    dependencies=[Reader],
    responses=problem_responses(401, 403),
)

SummaryBy = Annotated[str, Query(pattern="^(province|city|county|township|village)$")]
RegionFilter = Annotated[
    str | None,
    Query(pattern=r"^\d{6}$", description="GB/T 2260 code: only the units within it"),
]
AsOf = Annotated[dt.date | None, Query(description="use the versions in force on this date")]


@router.get(
    "",
    response_model=Summary,
    response_model_exclude_unset=True,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            }
        },
        **problem_responses(404, 422),
    },
)
def summary(
    session: ReadSession,
    by: SummaryBy = "county",
    region: RegionFilter = None,
    layers: Annotated[str | None, Query(description="comma-separated layer ids")] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
    as_of: AsOf = None,
    versions: Annotated[str | None, Query(description="pin versions: redline:2,...")] = None,
    rasters: Annotated[str | None, Query(description="raster ids: landcover,...")] = None,
) -> Response:
    """Per unit (with its parent's code and name): its geodesic area; per layer: covered area
    (union) in km²/公顷/亩, share, count, and for listed layers the plain sum of listed areas.
    Provinces and cities are the unions of their counties; a 直辖市's counties have no city
    row. No village data loaded: no rows, and a note says so."""
    args = (session, by, parse_list(layers), as_of, parse_pins(versions), parse_list(rasters))
    if format == "json":
        # Encoded once and kept (a repeated request is a lookup); the model documents the
        # shape, and tests/test_summary_store.py checks the body against it.
        return Response(summary_json(*args, region=region), media_type="application/json")
    result = summarize(*args, region=region)
    stem = (
        f"summary-{by}"
        + (f"-{region}" if region else "")
        + (f"-{as_of.isoformat()}" if as_of else "")
    )
    if format == "csv":
        return Response(
            to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    return Response(
        to_xlsx(result),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
    )


@router.get(
    "/crosstab",
    response_model=Crosstab,
    response_model_exclude_unset=True,
    responses=problem_responses(404, 422),
)
def crosstab(
    session: ReadSession,
    layer: str,
    rows: Annotated[str, Query(description="an attribute of the layer, or township.zone_type")],
    cols: Annotated[str | None, Query(description="a second attribute of the layer")] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """E.g. layer=redline&rows=township.zone_type; layer=protected_area&rows=category&cols=level;
    layer=control_unit&rows=unit_class."""
    if "." in rows:
        if cols:
            raise InvalidInput("cols is only for attributes of the layer itself.")
        return crosstab_mod.by_unit_attribute(session, layer, rows, as_of)
    return crosstab_mod.by_own_attributes(session, layer, rows, cols, as_of)


Region = Annotated[
    str | None,
    Query(
        pattern=r"^\d{6}$",
        description="GB/T 2260 code; the plan it follows (its own, its city's, its province's)",
    ),
]


@router.get("/plan", response_model=PlanFigures, responses=problem_responses(404, 422))
def plan(session: ReadSession, region: Region = None) -> dict[str, Any]:
    """A region's plan statistics (Bazhong 511900: protected areas 1560.07 km², 12.69 %;
    redline; 35/59/45 townships) reproduced from that region's data, union figures beside them.
    Without region: the only plan whose region has data loaded, else 422 naming them."""
    return plan_figures(session, choose_plan(session, region))


@router.get(
    "/chart",
    response_class=Response,
    responses={
        **file_response("image/png", "image/svg+xml", description="The bar chart"),
        **problem_responses(404, 422),
    },
)
def chart(
    session: ReadSession,
    layer: str,
    by: SummaryBy = "township",
    format: Annotated[str, Query(pattern="^(png|svg)$")] = "png",
    as_of: AsOf = None,
    region: RegionFilter = None,
) -> Response:
    """A bar chart of the layer's area per unit (within `region`, if given)."""
    result = summarize(session, by, [layer], as_of, region=region)
    media = "image/png" if format == "png" else "image/svg+xml"
    return Response(area_chart(result, layer, format), media_type=media)
