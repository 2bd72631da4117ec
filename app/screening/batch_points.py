"""A batch's point sites screened in memory: the same findings, verdicts and coverage as the
SQL path (`screen_geometries`, `site_coverage`), without a query per layer or per site.

The parts near every point of the batch are read once (app.screening.pointindex); lines,
polygons and multipoints keep the SQL path. A chunk of points is looked up in every layer
with one probe, and judged with what the batch cache keeps (app.screening.batch_cache): the
figures of a feature met and its findings are shared by the sites meeting it, never mutated.
"""

import numpy as np
import shapely
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.screening.batch_cache import BatchCache
from app.screening.findings import reach
from app.screening.models import LayerCoverage
from app.screening.pointindex import PointIndex
from app.screening.projects import ProjectKind
from app.screening.service import Screened, screened_specs
from app.store.models import LayerVersion
from app.store.regions import region_prefix


def point_mask(geoms: list[shapely.Geometry | None]) -> np.ndarray:
    """Which sites are single points (screened in memory); None is not one."""
    return shapely.get_type_id(np.asarray(geoms, dtype=object)) == 0


def bounds_of(points: list[shapely.Geometry] | np.ndarray) -> tuple[float, ...]:
    """The extent (x0, y0, x1, y1) of a batch's points."""
    return tuple(shapely.total_bounds(np.asarray(points, dtype=object)).tolist())


def _radius(spec: LayerSpec) -> float:
    """The layer's own search radius (context layers: only what the site touches)."""
    return 0.0 if spec.screening_role == "context" else spec.search_radius_m


class PointScreener:
    """The active versions' parts around a batch's points, and screening with them."""

    def __init__(
        self,
        session: Session,
        versions: dict[str, LayerVersion],
        bounds: tuple[float, ...],
        max_buffer_m: float,
    ) -> None:
        """Read the parts of VERSIONS near BOUNDS (x0, y0, x1, y1: the batch's points) widened
        by the widest search (layer radius plus MAX_BUFFER_M)."""
        self.versions = versions
        self.specs = screened_specs(versions)
        self.cache = BatchCache(versions)
        self._coverage: dict[tuple[str, ...], list[LayerCoverage]] = {}
        margin = max((reach(_radius(s), max_buffer_m) for s in self.specs), default=0.0)
        self.index = PointIndex.load(
            session,
            [versions[s.id].id for s in self.specs],
            bounds,
            margin,
        )

    def screen(
        self, points: list[shapely.Geometry], kind: ProjectKind, buffer_m: float
    ) -> list[Screened]:
        """Findings, rules and verdict of each point (as `screen_geometries` gives them)."""
        geoms = np.asarray(points, dtype=object)
        probe = self.index.probe(
            shapely.get_coordinates(geoms), np.full(len(points), float(buffer_m)), geoms
        )
        per_layer = []
        for spec in self.specs:
            version = self.versions[spec.id].id
            per_site = self.index.found(spec, version, probe, _radius(spec))
            if spec.screening_role == "context":
                per_site = [
                    [f for f in found if f["relation"] in ("inside", "overlaps")]
                    if found
                    else found
                    for found in per_site
                ]
            per_layer.append(per_site)
        ids = [spec.id for spec in self.specs]
        # Per site, its layers' findings in the layers' order.
        rows = zip(*per_layer, strict=True) if per_layer else ([] for _ in points)
        results = [Screened(dict(zip(ids, found, strict=True)), []) for found in rows]
        self.cache.judge(results, kind, self.specs)
        return results

    def coverage(self, screened: Screened) -> list[LayerCoverage]:
        """Per screened layer, whether its data cover the point (as `site_coverage`): a
        point is covered by a layer when a county it lies in is within the layer's regions."""
        if "admin_county" not in self.versions:
            return []
        codes = tuple(
            sorted(
                (f.get("attributes") or {}).get("code") or ""
                for f in screened.by_layer.get("admin_county", [])
            )
        )
        # Points in the same counties are covered alike: each answer is built once.
        if codes not in self._coverage:
            self._coverage[codes] = [self._covers(spec, codes) for spec in self.specs]
        return self._coverage[codes]

    def _covers(self, spec: LayerSpec, codes: tuple[str, ...]) -> LayerCoverage:
        """Whether a point in the counties CODES is covered by the data of one layer."""
        scope = self.versions[spec.id].coverage_codes
        prefixes = ("",) if scope is None else tuple(region_prefix(c) for c in scope)
        covered = any(code.startswith(prefixes) for code in codes)
        return LayerCoverage(
            layer=spec.id,
            title_zh=spec.title_zh,
            covered=covered,
            uncovered_share=0.0 if covered else 1.0,
        )
