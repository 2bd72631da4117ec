"""Site screening: create (JSON or file upload), read, list, reports."""

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.api.deps import DbSession
from app.api.uploads import saved_upload
from app.errors import InvalidInput
from app.screening.inputs import ScreeningBody, request_from_body, request_from_file
from app.screening.report import report_html, report_pdf
from app.screening.service import get_screening, list_screenings, screen_site

router = APIRouter(prefix="/screenings", tags=["screenings"])

_MULTIPART_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": ScreeningBody.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "land-approval TXT, KML/KMZ, zipped Shapefile, "
                            "GeoPackage, GeoJSON or CSV",
                        },
                        "crs": {"type": "string"},
                        "encoding": {"type": "string"},
                        "buffer_m": {"type": "number"},
                        "project_category": {"type": "string"},
                        "project_name": {"type": "string"},
                        "axis_order": {"type": "string"},
                    },
                }
            },
        }
    }
}


def _float(value: str | None, name: str) -> float:
    try:
        return float(value) if value not in (None, "") else 0.0
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a number, not {value!r}.") from exc


@router.post("", status_code=201, openapi_extra=_MULTIPART_DOC)
async def create_screening(
    request: Request,
    session: DbSession,
    user: Annotated[str | None, Header(alias="X-Redline-User")] = None,
) -> dict:
    """Screen a site: JSON (`geometry` or `wkt`) or a multipart upload in field `file`."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise InvalidInput("A multipart screening needs the site file in field `file`.")
        field = {k: (str(v) if v is not None else None) for k, v in form.items() if k != "file"}
        async with saved_upload(upload) as path:
            req = request_from_file(
                path,
                field.get("crs") or None,
                field.get("encoding") or None,
                _float(field.get("buffer_m"), "buffer_m"),
                field.get("project_category") or None,
                field.get("project_name") or None,
                field.get("axis_order") or "auto",
                user,
            )
            return await run_in_threadpool(screen_site, session, req)
    try:
        body = ScreeningBody.model_validate(json.loads(await request.body() or b"{}"))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            f"The screening request is not valid JSON of the documented shape: {exc}. See /docs."
        ) from exc
    req = request_from_body(body, user)
    return await run_in_threadpool(screen_site, session, req)


@router.get("")
def list_all(
    session: DbSession,
    verdict: Annotated[
        str | None, Query(pattern="^(prohibited|restricted|attention|clear)$")
    ] = None,
    category: str | None = None,
    project: Annotated[str | None, Query(description="part of the project name")] = None,
    since: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict]:
    """Filed screenings, newest first."""
    rows = list_screenings(session, verdict, category, project, since, limit, offset)
    return [
        {
            "id": r.id,
            "created_at": r.created_at.isoformat(),
            "created_by": r.created_by,
            "project_name": r.project_name,
            "project_category": r.project_category,
            "verdict": r.verdict,
            "county": r.result["context"].get("county"),
            "township": r.result["context"].get("township"),
            "links": {"self": f"/screenings/{r.id}", "report": f"/screenings/{r.id}/report.html"},
        }
        for r in rows
    ]


@router.get("/{screening_id}")
def get_one(screening_id: str, session: DbSession) -> dict:
    row = get_screening(session, screening_id)
    return {**row.result, "created_by": row.created_by, "inputs": row.inputs}


@router.get("/{screening_id}/report.html", response_class=HTMLResponse)
def report_as_html(screening_id: str, session: DbSession) -> HTMLResponse:
    """A printable report: map, findings, rules with legal bases, data versions."""
    return HTMLResponse(report_html(session, get_screening(session, screening_id)))


@router.get("/{screening_id}/report.pdf", response_class=Response)
def report_as_pdf(screening_id: str, session: DbSession) -> Response:
    pdf = report_pdf(session, get_screening(session, screening_id))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="screening-{screening_id}.pdf"'},
    )
