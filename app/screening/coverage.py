"""Data coverage at a site: which layers' data cover the whole site with its buffer.

A layer's coverage is the union of the active counties within its active version's
`coverage_codes` (all loaded counties when NULL: an unscoped import). Every coverage set
present is measured against the site in one SQL statement (geography, so geodesic).
"""

from dataclasses import dataclass

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.screening.models import LayerCoverage
from app.screening.site import SiteError
from app.store.models import LayerVersion
from app.store.regions import region_prefix

# Below these the uncovered part is float noise or a sliver between neighbouring counties.
MIN_UNCOVERED_M2 = 1.0
MIN_UNCOVERED_M = 1.0
# Seams between real county outlines (a few cm wide) leave a few m² uncovered under a long
# buffered road: a share this small is a seam, never a missing county.
MAX_SEAM_SHARE = 1e-5

# The site cut by the county parts it meets (small, GiST-indexed), then per coverage set the
# union of its counties' pieces measured (points: counted, a point is covered or not).
_COVERED = text("""
WITH site AS (SELECT ST_GeomFromWKB(:wkb, 4490) AS g),
pieces AS (
  SELECT row_number() OVER () AS pid, coalesce(f.attributes->>'code', '') AS code,
         ST_Intersection(p.geom, site.g) AS g
  FROM site JOIN feature_part p ON p.version_id = :county AND p.geom && site.g
  JOIN feature f ON f.id = p.feature_id
  WHERE ST_Intersects(p.geom, site.g)
),
sets AS (
  SELECT set_no, prefix
  FROM unnest(CAST(:set_nos AS int[]), CAST(:prefixes AS text[])) AS t(set_no, prefix)
),
hits AS (
  SELECT DISTINCT ON (s.set_no, pc.pid) s.set_no, pc.g
  FROM sets s JOIN pieces pc ON pc.code LIKE s.prefix || '%'
)
SELECT n.set_no,
       CASE WHEN ST_Dimension(site.g) = 2 THEN ST_Area(site.g::geography)
            WHEN ST_Dimension(site.g) = 1 THEN ST_Length(site.g::geography)
            ELSE ST_NPoints(site.g) END AS size,
       (SELECT CASE WHEN ST_Dimension(site.g) = 0 THEN ST_NPoints(ST_Union(h.g))::float
                    WHEN ST_Dimension(site.g) = 2 THEN ST_Area(ST_Union(h.g)::geography)
                    ELSE ST_Length(ST_Union(h.g)::geography) END
        FROM hits h WHERE h.set_no = n.set_no) AS covered
FROM (SELECT DISTINCT set_no FROM sets) n, site
""")


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


def _prefixes(version: LayerVersion) -> tuple[str, ...]:
    """The code prefixes of a version's coverage; ("",) = every loaded county."""
    if version.coverage_codes is None:
        return ("",)
    return tuple(sorted({region_prefix(c) for c in version.coverage_codes}))


def _measure(
    session: Session, county: LayerVersion, geom: shapely.Geometry, sets: list[tuple[str, ...]]
) -> list[Measured]:
    """Each coverage set's uncovered share and amount of the site, in one statement."""
    set_nos = [i for i, s in enumerate(sets) for _ in s]
    prefixes = [p for s in sets for p in s]
    rows = session.execute(
        _COVERED,
        {
            "wkb": shapely.to_wkb(geom),
            "county": county.id,
            "set_nos": set_nos,
            "prefixes": prefixes,
        },
    ).all()
    dim = int(shapely.get_dimensions(geom))
    out: dict[int, Measured] = {}
    for r in rows:
        size = r.size or 0.0
        uncovered = max(size - (r.covered or 0.0), 0.0)
        share = uncovered / size if size else 0.0
        out[r.set_no] = Measured(dim, share, uncovered if dim else None)
    return [out[i] for i in range(len(sets))]


def site_coverage(
    session: Session,
    versions: dict[str, LayerVersion],
    specs: list[LayerSpec],
    geom: shapely.Geometry,
) -> list[LayerCoverage]:
    """Per screened layer, whether its data cover the search geometry; a SiteError when
    the site lies wholly outside every loaded county."""
    county = versions.get("admin_county")
    if county is None:
        return []
    sets = [("",)] + sorted({_prefixes(versions[s.id]) for s in specs})
    measured = dict(zip(sets, _measure(session, county, geom, sets), strict=True))
    if measured[("",)].share >= 1 - 1e-9:
        c = geom.centroid
        raise SiteError(
            f"用地（约 {c.x:.5f}, {c.y:.5f}）不在已加载数据（区县图层 admin_county）的覆盖范围内："
            "请检查坐标和坐标系（手机地图坐标请选 GCJ02/BD09），或先加载该地区的数据。"
            f"The site (around {c.x:.5f}, {c.y:.5f}) is outside the area covered by the loaded "
            "data (the admin_county layer). Check the coordinates and the crs (GCJ02/BD09 for "
            "phone-map coordinates), or load data for that area."
        )
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
