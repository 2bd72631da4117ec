"""Typed screening results: a finding, and the filed result of one screening.

Built once by the service; the API returns them as they are and the CLI prints them. Fields
some findings lack (an "outside" finding has no feature) stay unset, and `as_json` drops
unset fields, so the stored and returned JSON keep the keys they always had.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.screening.rules import RuleHit

Verdict = Literal["prohibited", "restricted", "attention", "clear"]
Relation = Literal["inside", "overlaps", "nearby", "outside"]
LABELS = {"prohibited": "禁止", "restricted": "限制", "attention": "关注", "clear": "无冲突"}
INCOMPLETE = "不完整"


def verdict_label(verdict: str, complete: bool) -> str:
    """The verdict in Chinese, marked 不完整 when a finding layer does not cover the site."""
    return LABELS[verdict] + ("" if complete else f"（{INCOMPLETE}）")


class Finding(BaseModel):
    """How the site meets one feature (or a whole layer, for "outside"), with the rules hit."""

    layer: str
    layer_title: str
    feature_id: int | None
    name: str | None
    relation: Relation
    overlap_area_m2: float | None
    overlap_area_ha: float | None = None
    overlap_area_mu: float | None = None
    overlap_share: float | None = Field(description="overlap / site area (0–1)")
    overlap_length_m: float | None
    distance_m: float | None
    feature_area_m2: float | None = None
    attributes: dict[str, Any] | None
    rules: list[RuleHit] = Field(description="rules this finding meets, most severe first")
    verdict: Verdict
    within_buffer: bool | None = Field(
        default=None,
        description="with a buffer: whether the feature lies beyond the site but within the "
        "buffer (distance_m is always measured from the site itself)",
    )

    @classmethod
    def of(cls, figures: dict[str, Any], hits: list[RuleHit]) -> "Finding":
        """A finding from its figures (see findings.find_many) and the rules it meets."""
        return cls(**figures, rules=hits, verdict=hits[0].verdict if hits else "clear")


class Project(BaseModel):
    """What the officer said about the project."""

    name: str | None
    category: str | None
    buffer_m: float
    officer: str | None = Field(None, description="经办人: the officer who screened the site")
    industry_code: str | None = None
    industry_name: str | None = None
    eia_item: str | None = None
    eia_item_name: str | None = None
    categories: list[str] = Field(
        default_factory=list,
        description="the rule categories the project was judged as (all when unspecified)",
    )


class Centroid(BaseModel):
    """The site's centroid in EPSG:4490 and in Gauss-Krüger surveyor coordinates."""

    lon: float
    lat: float
    epsg: int
    gauss_kruger: dict[str, Any]


class SiteFigures(BaseModel):
    """The normalized site: its measures (geodesic), source and GeoJSON geometry (EPSG:4490)."""

    kind: str
    area_m2: float
    length_m: float
    perimeter_m: float
    vertices: int
    parts: int
    centroid: Centroid
    source_crs: str | None
    source_format: str | None
    parcels: list[str | None]
    search_area_m2: float
    geometry: dict[str, Any] = Field(description="GeoJSON geometry, EPSG:4490 (lon, lat)")


class AccessCondition(BaseModel):
    """One condition of a unit's 准入清单 and whether it applies to the project."""

    effect: Literal["prohibited", "restricted"]
    industries: list[str]
    text: str
    applies: bool | None = Field(
        None, description="None when the project gives no industry code (judged by category)"
    )
    judged: str | None = Field(
        None, description="how it was judged for the project, when it counts (in Chinese)"
    )


class ControlUnit(BaseModel):
    """An environmental control unit the site touches, with its access list."""

    code: Any
    name: str | None
    unit_class: Any
    overlap_share: float | None
    access_list: dict[str, Any]
    conditions: list[AccessCondition] = Field(default_factory=list)


class CategoryVerdict(BaseModel):
    """The verdict the site would get for one project category."""

    category: str
    verdict: Verdict
    verdict_label: str
    rule_ids: list[str]


class UnitShare(BaseModel):
    """A county or township the site touches, with its share of the site."""

    code: Any
    name: str | None
    county: str | None
    share: float = Field(
        description="share of the site (0–1): of its area, its length for lines, 1.0 for a point"
    )
    zone_type: str | None
    county_positioning: str | None


class Context(BaseModel):
    """Where the site lies: county, township, its zone type and the control units.

    County and township are the units holding most of the site; the shares list every one
    it touches."""

    county: str | None
    county_code: Any
    township: str | None
    township_code: Any
    zone_type: Any
    county_positioning: Any
    overlay_energy: Any
    overlay_heritage: Any
    townships: list[str | None]
    control_units: list[ControlUnit]
    county_shares: list[UnitShare] = Field(default_factory=list)
    township_shares: list[UnitShare] = Field(default_factory=list)
    summary: str | None = Field(
        default=None, description="e.g. 跨 4 个乡镇，其中 3 个为重点生态功能区，占用地 82%"
    )


class LayerCoverage(BaseModel):
    """Whether one layer's data cover the whole site with its buffer, and what they miss."""

    layer: str
    title_zh: str
    covered: bool
    uncovered_share: float = Field(description="uncovered part / search area (0–1)")
    uncovered_area_m2: float | None = Field(
        default=None, description="uncovered area (geodesic), for polygon search areas"
    )
    uncovered_length_m: float | None = Field(
        default=None, description="uncovered length (geodesic), for line sites without buffer"
    )


class ParcelResult(BaseModel):
    """One parcel of a multi-parcel site (报盘 file, file of several features), screened alone."""

    number: str | None = Field(description="地块编号")
    name: str | None
    use: str | None = Field(description="用途")
    declared_area_ha: float | None = Field(description="申报面积（公顷）, from the 报盘 header")
    computed_area_ha: float | None = Field(description="geodesic area of the coordinates (公顷)")
    difference_ha: float | None = Field(description="computed − declared (公顷)")
    difference_pct: float | None = Field(description="(computed − declared) / declared × 100")
    verdict: Verdict
    verdict_label: str
    reasons: list[str] = Field(description="the parcel's rule messages, most severe first")
    conflict: str | None = Field(
        default=None, description="the most severe finding as 图层「要素」, e.g. 环境管控单元「…」"
    )
    warning: str | None = None


class ScreeningResult(BaseModel):
    """One screening: verdict, site, context, findings and the data versions used."""

    id: str
    created_at: str
    verdict: Verdict
    project: Project
    site: SiteFigures
    context: Context
    findings: list[Finding]
    layer_versions: dict[str, int]
    layer_version_dates: dict[str, str | None]
    rasters: dict[str, Any] = Field(description="statistics of the search area per raster")
    warnings: list[str]
    coverage: list[LayerCoverage] = Field(
        default_factory=list,
        description="per screened layer, whether its data cover the site with its buffer "
        "(absent from screenings filed before coverage was reported)",
    )
    complete: bool = Field(
        default=True, description="false when a finding layer's data do not cover the site"
    )
    verdict_label: str | None = Field(
        default=None, description='the verdict in Chinese, e.g. "限制" or "限制（不完整）"'
    )
    parcels: list[ParcelResult] | None = Field(
        default=None, description="per parcel of a multi-parcel input (报盘 TXT, several features)"
    )
    by_category: list[CategoryVerdict] | None = Field(
        default=None,
        description="per category, when the project was judged as several (unspecified: all)",
    )

    def as_json(self) -> dict[str, Any]:
        """The JSON document (as filed in the database), without fields never set."""
        return self.model_dump(mode="json", exclude_unset=True)
