"""Site screening: create (JSON or file upload), read, list, reports."""

import datetime as dt
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api.auth import Principal, Reader, require
from app.api.deps import DbSession, screening_scope
from app.api.metrics import screening_filed
from app.api.models.files import file_response
from app.api.models.industries import IndustriesView
from app.api.models.jobs import JobView
from app.api.models.screenings import BatchRow, ScreeningListItem, ScreeningRecord
from app.api.params import MAX_INT, finite_float, load_json
from app.api.problems import problem_responses
from app.api.slots import in_screening_slot
from app.api.uploads import saved_upload
from app.catalog import ProjectCategories, industry_catalog, project_categories
from app.errors import InvalidInput, NotFound
from app.screening import batch
from app.screening.batch_jobs import SYNC_SITES, submit_batch
from app.screening.inputs import (
    MAX_NAME_CHARS,
    MAX_OFFICER_CHARS,
    ScreeningBody,
    request_from_body,
    request_from_file,
)
from app.screening.models import ScreeningResult
from app.screening.opinion import DOCX_MEDIA_TYPE, opinion_docx
from app.screening.report import report_html, report_pdf
from app.screening.screen_one import screen_and_file
from app.screening.service import (
    ScreeningRequest,
    get_screening,
    list_screenings,
)
from app.store.models import Screening

# Categories are catalog data (open like other reads); everything else needs an officer, who
# sees only their own screenings (admins see all).
router = APIRouter(
    prefix="/screenings",
    tags=["screenings"],
    dependencies=[Reader],
    responses=problem_responses(401, 403),
)
Officer = Depends(require("officer"))
__all__ = ["SYNC_SITES", "router"]  # tests size their batches by SYNC_SITES

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
                        "project_name": {"type": "string", "maxLength": MAX_NAME_CHARS},
                        "axis_order": {"type": "string"},
                        "officer": {"type": "string", "maxLength": MAX_OFFICER_CHARS},
                        "industry_code": {
                            "type": "string",
                            "description": "GB/T 4754-2017 code, e.g. C26 or C2614",
                        },
                        "eia_item": {
                            "type": "string",
                            "description": "item number of the 2021 EIA catalog, e.g. 44",
                        },
                    },
                }
            },
        }
    }
}


_BATCH_FIELDS = {
    "file": {
        "type": "string",
        "format": "binary",
        "description": "CSV (lon/lat or WKT; UTF-8 or GBK), GeoJSON, GeoPackage or zipped "
        "Shapefile. Optional per-row columns, headers in Chinese or English: 项目名称/name, "
        "项目类别/category, 行业代码/industry_code, 环评类别/eia_item, 缓冲距离（米）/buffer_m",
    },
    "crs": {"type": "string"},
    "encoding": {"type": "string"},
    "project_category": {
        "type": "string",
        "description": "the category of rows whose 项目类别 cell is empty",
    },
    "buffer_m": {
        "type": "number",
        "description": "the buffer of rows whose 缓冲距离 cell is empty",
    },
    "format": {"type": "string", "enum": list(batch.FORMATS)},
}
_BATCH_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": _BATCH_FIELDS}
            }
        }
    }
}


def _filed(actor: str, req: ScreeningRequest) -> Response:
    """Screen, file with its audit entry, commit and count; the answer is the JSON filed,
    encoded once (in Rust), not validated again and re-encoded in Python (`response_model`
    documents it)."""
    with screening_scope() as session:
        result, body = screen_and_file(session, req, audit_actor=actor)
    screening_filed(result.verdict)
    return Response(body, status_code=201, media_type="application/json")


def _screen_json(actor: str, raw: bytes) -> Response:
    """Parse, check and screen a JSON request (in a worker thread: parsing a large site is
    CPU work the event loop must not wait for)."""
    try:
        body = ScreeningBody.model_validate(load_json(raw or b"{}"))
    except ValidationError as exc:
        raise InvalidInput(
            f"The screening request is not valid JSON of the documented shape: {exc}. See /docs."
        ) from exc
    return _filed(actor, request_from_body(body, actor))


def _screen_file(actor: str, path: Path, field: dict[str, str | None]) -> Response:
    """Read, check and screen an uploaded site file (in a worker thread)."""
    req = request_from_file(
        path,
        field.get("crs") or None,
        field.get("encoding") or None,
        finite_float(field.get("buffer_m"), "buffer_m"),
        field.get("project_category") or None,
        field.get("project_name") or None,
        field.get("axis_order") or "auto",
        actor,
        field.get("officer"),
        industry_code=field.get("industry_code") or None,
        eia_item=field.get("eia_item") or None,
    )
    return _filed(actor, req)


def _visible(session: Session, screening_id: str, caller: Principal) -> Screening:
    """The screening if the caller filed it (or is an admin); others' are not found."""
    row = get_screening(session, screening_id)
    if not caller.owns(row.created_by):
        raise NotFound(
            f"没有编号为 {screening_id} 的研判记录，可在 /screenings 查看已归档的研判。"
            f"There is no screening {screening_id!r}; list them at /screenings."
        )
    return row


# Form fields with their own bound; every other text field takes at most 100 characters.
_FIELD_LIMITS = {"project_name": MAX_NAME_CHARS, "officer": MAX_OFFICER_CHARS}


def _bounded(form: dict) -> None:
    """Refuse text form fields longer than their bound (project names 200, officer 50)."""
    for name, value in form.items():
        limit = _FIELD_LIMITS.get(name, 100)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidInput(f"Form field {name} has {len(value)} characters; at most {limit}.")


@router.post(
    "",
    status_code=201,
    response_model=ScreeningResult,
    response_model_exclude_unset=True,
    responses=problem_responses(400, 413, 422),
    openapi_extra=_MULTIPART_DOC,
)
async def create_screening(request: Request, officer: Principal = Officer) -> Response:
    """Screen a site: JSON (`geometry` or `wkt`) or a multipart upload in field `file`."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise InvalidInput("A multipart screening needs the site file in field `file`.")
        field = {k: (str(v) if v is not None else None) for k, v in form.items() if k != "file"}
        _bounded(field)
        async with saved_upload(upload) as path:
            return await in_screening_slot(_screen_file, officer.name, path, field)
    return await in_screening_slot(_screen_json, officer.name, await request.body())


@router.post(
    "/batch",
    response_class=Response,
    responses={
        **file_response(
            *batch.FORMATS.values(),
            description="The rows, for a small batch",
            json_model=list[BatchRow],
        ),
        202: {"model": JobView, "description": "A large batch: the job, at /jobs/{id}"},
        **problem_responses(400, 413, 422),
    },
    openapi_extra=_BATCH_DOC,
)
async def create_batch(
    request: Request, session: DbSession, officer: Principal = Officer
) -> Response:
    """Screen up to 100 000 sites, each row filed as a screening (its id and report link in
    the row): small batches answer at once, larger ones become a job (202 with /jobs/{id}
    for progress and the result link). A row that cannot be screened says why, in Chinese."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise InvalidInput(
            "没有收到站点文件：请在 multipart 字段 file 中上传站点文件。"
            "A batch needs the sites file in multipart field `file`."
        )
    _bounded({k: v for k, v in form.items() if k != "file"})
    fmt = str(form.get("format") or "json")
    if fmt not in batch.FORMATS:
        raise InvalidInput(
            f"不支持的结果格式“{fmt}”：format 请填 {'、'.join(batch.FORMATS)} 之一。"
            f"format must be one of {', '.join(batch.FORMATS)}."
        )
    category = str(form.get("project_category") or "") or None
    buffer_m = finite_float(str(form.get("buffer_m") or ""), "buffer_m")
    project_categories().check(category)
    async with saved_upload(upload) as path:
        sites = await run_in_threadpool(
            batch.read_sites, path, form.get("crs") or None, form.get("encoding") or None
        )
    # A small batch is screened here and now, so it takes a screening slot.
    job = await in_screening_slot(
        submit_batch,
        session,
        sites,
        fmt,
        category,
        buffer_m,
        upload.filename,
        officer.name,
        screening_filed,
    )
    if job.status == "done":
        return FileResponse(
            job.result_path,
            media_type=batch.FORMATS[fmt],
            filename=f"screening-batch-{job.id}.{fmt}",
            headers={"X-Redline-Job": job.id},
        )
    return JSONResponse(
        JobView.of(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/jobs/{job.id}"},
    )


@router.get("/categories", response_model=ProjectCategories)
def categories() -> ProjectCategories:
    """Project categories an officer can pick, and the groups rules refer to."""
    return project_categories()


@router.get("/industries", response_model=IndustriesView)
def industries() -> IndustriesView:
    """Industry codes (GB/T 4754-2017) and EIA catalog items, each with its rule category."""
    return IndustriesView.of(industry_catalog())


@router.get("", response_model=list[ScreeningListItem], responses=problem_responses(422))
def list_all(
    session: DbSession,
    verdict: Annotated[
        str | None, Query(pattern="^(prohibited|restricted|attention|clear)$")
    ] = None,
    category: str | None = None,
    project: Annotated[str | None, Query(description="part of the project name")] = None,
    since: dt.datetime | None = None,
    officer_name: Annotated[
        str | None,
        Query(alias="officer", max_length=MAX_OFFICER_CHARS, description="经办人, exact name"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    officer: Principal = Officer,
) -> list[ScreeningListItem]:
    """Filed screenings, newest first (an officer's own; an admin's list has everyone's)."""
    owner = None if officer.sees_all else officer.name
    rows = list_screenings(
        session, verdict, category, project, since, limit, offset, owner, officer_name
    )
    return [ScreeningListItem.of(r) for r in rows]


@router.get(
    "/{screening_id}",
    response_model=ScreeningRecord,
    response_model_exclude_unset=True,
    responses=problem_responses(404, 422),
)
def get_one(screening_id: str, session: DbSession, officer: Principal = Officer) -> ScreeningRecord:
    """A filed screening as it was answered, with who filed it and the inputs as given."""
    return ScreeningRecord.of(_visible(session, screening_id, officer))


@router.get(
    "/{screening_id}/report.html",
    response_class=HTMLResponse,
    responses={
        **file_response("text/html", description="The report page"),
        **problem_responses(404, 422),
    },
)
def report_as_html(
    screening_id: str, session: DbSession, officer: Principal = Officer
) -> HTMLResponse:
    """A printable report: map, findings, rules with legal bases, data versions."""
    return HTMLResponse(report_html(session, _visible(session, screening_id, officer)))


@router.get(
    "/{screening_id}/report.pdf",
    response_class=Response,
    responses={
        **file_response("application/pdf", description="The report as PDF"),
        **problem_responses(404, 422),
    },
)
def report_as_pdf(screening_id: str, session: DbSession, officer: Principal = Officer) -> Response:
    """The same report as a PDF, for the file."""
    pdf = report_pdf(session, _visible(session, screening_id, officer))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="screening-{screening_id}.pdf"'},
    )


def _attachment(ascii_name: str, name: str) -> str:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@router.get(
    "/{screening_id}/report.docx",
    response_class=Response,
    responses={
        **file_response(DOCX_MEDIA_TYPE, description="The draft 研判意见 as a Word document"),
        **problem_responses(404, 422),
    },
)
def report_as_docx(screening_id: str, session: DbSession, officer: Principal = Officer) -> Response:
    """An editable 研判意见 (Word) drafted from the findings, for the officer to sign."""
    row = _visible(session, screening_id, officer)
    project = (row.result.get("project") or {}).get("name") or screening_id
    project = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", project)[:80]  # safe on every disk
    return Response(
        opinion_docx(session, row),
        media_type=DOCX_MEDIA_TYPE,
        headers={
            "Content-Disposition": _attachment(
                f"screening-{screening_id}.docx", f"{project}-研判意见.docx"
            )
        },
    )
