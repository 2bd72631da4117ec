"""Views of filed screenings (the result itself is app.screening.models.ScreeningResult)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.screening.models import ScreeningResult, Verdict
from app.store.models import Screening


class ScreeningRecord(ScreeningResult):
    """A filed screening: its result, who filed it and the inputs as given."""

    created_by: str | None
    inputs: dict[str, Any]

    @classmethod
    def of(cls, row: Screening) -> "ScreeningRecord":
        """The filed result with who filed it and the inputs."""
        return cls.model_validate(
            {**row.result, "created_by": row.created_by, "inputs": row.inputs}
        )


class ScreeningLinks(BaseModel):
    """The screening and its printable report."""

    self: str
    report: str


class ScreeningListItem(BaseModel):
    """One line of the screening register."""

    id: str
    created_at: str
    created_by: str | None
    project_name: str | None
    project_category: str | None
    verdict: Verdict
    county: str | None
    township: str | None
    links: ScreeningLinks
    officer: str | None = Field(None, description="经办人 named on the screening")

    @classmethod
    def of(cls, r: Screening) -> "ScreeningListItem":
        """The register line of a filed screening."""
        return cls(
            id=r.id,
            created_at=r.created_at.isoformat(),
            created_by=r.created_by,
            project_name=r.project_name,
            project_category=r.project_category,
            verdict=r.verdict,
            county=r.result["context"].get("county"),
            township=r.result["context"].get("township"),
            links=ScreeningLinks(
                self=f"/screenings/{r.id}", report=f"/screenings/{r.id}/report.html"
            ),
            officer=r.officer,
        )


class BatchRow(BaseModel):
    """One site of a batch: its project, verdict, where it lies, per finding layer the overlap
    (`<layer>_overlap_m2`) and nearest distance (`<layer>_distance_m`), and the screening it
    was filed as. JSON keeps these keys; CSV and XLSX carry the same columns under Chinese
    headers (序号, 项目名称, 项目类别, 行业代码, 缓冲距离（米）, 研判结论, 结论说明, …)."""

    model_config = ConfigDict(extra="allow")

    row: int = Field(description="序号: the row's number in the file (1 = first data row)")
    site: str = Field(description="the site's label: its project name, id, or row number")
    project_name: str | None = Field(default=None, description="项目名称 from the row")
    project_category: str | None = Field(
        default=None, description="项目类别 screened: the row's, else the request's"
    )
    industry_code: str | None = Field(default=None, description="行业代码 (GB/T 4754-2017)")
    eia_item: str | None = Field(default=None, description="环评类别: 名录 item from the row")
    buffer_m: float | None = Field(
        default=None, description="缓冲距离（米）: the row's, else the request's"
    )
    verdict: str = Field(description="prohibited | restricted | attention | clear | error")
    verdict_zh: str
    verdict_label: str | None = Field(
        default=None, description="verdict_zh, marked （不完整） when complete is false"
    )
    main_conflict: str | None = Field(
        default=None, description="主要冲突: layer and feature of the most severe finding"
    )
    complete: bool | None = Field(
        default=None,
        description="数据完整: whether every finding layer's data cover the site (with buffer)",
    )
    county: str | None = None
    township: str | None = None
    zone_type: str | None = None
    hit_layers: str | None = Field(default=None, description="layers overlapped, ;-separated")
    rules: str | None = Field(default=None, description="the first rule message per finding")
    warnings: str | None = Field(
        default=None, description="data-coverage warnings in Chinese, ；-separated"
    )
    screening_id: str | None = Field(
        default=None, description="研判编号: the row's filed screening, at /screenings/{id}"
    )
    report_url: str | None = Field(
        default=None, description="报告链接: /screenings/{id}/report.pdf"
    )
    created_at: str | None = Field(
        default=None,
        description="研判时间: when the row was filed, ISO 8601 with offset (CSV/XLSX: 北京时间)",
    )
    problem: str | None = Field(
        description="why the row could not be screened, in Chinese (第 n 行：…)"
    )
