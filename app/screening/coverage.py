"""Data coverage at a site: which layers' data cover the whole site with its buffer.

A layer's coverage is the union of the active counties within its active version's
`coverage_codes` (all loaded counties when NULL: an unscoped import). Every coverage set
present is measured against the site (geography, so geodesic) by the screening statement
(app.screening.lookup), with the findings.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import shapely
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.screening.lookup import CoverageQuery, look_up
from app.screening.models import LayerCoverage
from app.screening.site import SiteError
from app.store.regions import region_prefix


class Versioned(Protocol):
    """What coverage reads of a layer version (a LayerVersion row or its snapshot)."""

    id: int
    coverage_codes: list[str] | None


# Below these the uncovered part is float noise or a sliver between neighbouring counties.
MIN_UNCOVERED_M2 = 1.0
MIN_UNCOVERED_M = 1.0
# Seams between real county outlines (a few cm wide) leave a few m² uncovered under a long
# buffered road: a share this small is a seam, never a missing county.
MAX_SEAM_SHARE = 1e-5


@dataclass
class Measured:
    """How much of the site one coverage set leaves uncovered."""

    dim: int
    share: float
    amount: float | None

    @property
    def covered(self) -> bool:
        """Whether the set covers the site, up to a metre (or square metre) of slivers."""
        if self.dim == 0:
            return self.share == 0
        return self.amount is not None and (
            self.amount < (MIN_UNCOVERED_M2 if self.dim == 2 else MIN_UNCOVERED_M)
            or self.share < MAX_SEAM_SHARE
        )


def _prefixes(version: Versioned) -> tuple[str, ...]:
    """The code prefixes of a version's coverage; ("",) = every loaded county."""
    if version.coverage_codes is None:
        return ("",)
    return _prefixes_of(tuple(version.coverage_codes))


@lru_cache(maxsize=1024)
def _prefixes_of(codes: tuple[str, ...]) -> tuple[str, ...]:
    # Asked for every layer twice a screening; a version's codes never change.
    return tuple(sorted({region_prefix(c) for c in codes}))


def coverage_query(
    versions: dict[str, Any], specs: list[LayerSpec], geom: shapely.Geometry
) -> CoverageQuery | None:
    """What the screening statement measures for SPECS' coverage of GEOM (None without a
    county layer: nothing to measure against). The first set, every county, is the data."""
    county = versions.get("admin_county")
    if county is None:
        return None
    sets = [("",)] + sorted({_prefixes(versions[s.id]) for s in specs})
    return CoverageQuery(geom, county.id, sets)


def _measured(query: CoverageQuery, rows: list[dict[str, Any]]) -> dict[tuple, Measured]:
    """Each coverage set's uncovered share and amount of the site, from the statement's rows."""
    dim = int(shapely.get_dimensions(query.geometry))
    out: dict[int, Measured] = {}
    for r in rows:
        size = r["size"] or 0.0
        uncovered = max(size - (r["covered"] or 0.0), 0.0)
        share = uncovered / size if size else 0.0
        out[r["set_no"]] = Measured(dim, share, uncovered if dim else None)
    return {s: out[i] for i, s in enumerate(query.sets)}


def outside_counties(geometry: shapely.Geometry) -> SiteError:
    """The refusal of a site wholly outside every loaded county."""
    c = geometry.centroid
    return SiteError(
        f"用地（约 {c.x:.5f}, {c.y:.5f}）不在已加载数据（区县图层 admin_county）的覆盖范围内："
        "请检查坐标和坐标系（手机地图坐标请选 GCJ02/BD09），或先加载该地区的数据。"
        f"The site (around {c.x:.5f}, {c.y:.5f}) is outside the area covered by the loaded "
        "data (the admin_county layer). Check the coordinates and the crs (GCJ02/BD09 for "
        "phone-map coordinates), or load data for that area."
    )


def coverage_of(
    query: CoverageQuery | None,
    rows: list[dict[str, Any]],
    versions: dict[str, Any],
    specs: list[LayerSpec],
) -> list[LayerCoverage]:
    """Per screened layer, whether its data cover the search geometry; a SiteError when
    the site lies wholly outside every loaded county. ROWS: the statement's coverage."""
    if query is None:
        return []
    measured = _measured(query, rows)
    if measured[("",)].share >= 1 - 1e-9:
        raise outside_counties(query.geometry)
    out = []
    for spec in specs:
        m = measured[_prefixes(versions[spec.id])]
        amount = 0.0 if m.covered else m.amount
        extent = {2: {"uncovered_area_m2": amount}, 1: {"uncovered_length_m": amount}}
        out.append(
            LayerCoverage(
                layer=spec.id,
                title_zh=spec.title_zh,
                covered=m.covered,
                uncovered_share=0.0 if m.covered else round(m.share, 6),
                **extent.get(m.dim, {}),
            )
        )
    return out


def site_coverage(
    session: Session,
    versions: dict[str, Any],
    specs: list[LayerSpec],
    geom: shapely.Geometry,
) -> list[LayerCoverage]:
    """Per screened layer, whether its data cover the search geometry; a SiteError when
    the site lies wholly outside every loaded county (the statement without findings)."""
    query = coverage_query(versions, specs, geom)
    if query is None:
        return []
    return coverage_of(query, look_up(session, [], [], [], query).coverage, versions, specs)


def _amount(item: LayerCoverage) -> str:
    """The uncovered length or area in words: 公里/米, 平方公里/公顷."""
    if item.uncovered_length_m is not None:
        m = item.uncovered_length_m
        return f"（{m / 1000:.1f} 公里）" if m >= 1000 else f"（{m:.0f} 米）"
    if item.uncovered_area_m2 is not None:
        a = item.uncovered_area_m2
        return f"（{a / 1e6:.1f} 平方公里）" if a >= 1e6 else f"（{a / 1e4:.2f} 公顷）"
    return ""


def coverage_warnings(items: list[LayerCoverage], buffer_m: float) -> list[str]:
    """A warning in Chinese for each layer whose data leave part of the site uncovered."""
    site = f"项目用地（含 {buffer_m:g} 米缓冲区）" if buffer_m > 0 else "项目用地"
    return [
        f"{i.title_zh}数据未覆盖{site}的 {i.uncovered_share * 100:.1f}%{_amount(i)}，"
        f"该部分未作{i.title_zh}研判"
        for i in items
        if not i.covered
    ]
