"""Point sites screened in memory: the parts of the active versions near a batch, in STRtrees.

For a single point the figures PostGIS computes per part (app.screening.findings) reduce to
two: whether the point meets the part (planar, as `ST_Intersects` on geometry) and, when it
does not, its geodesic distance to the part. PostGIS (geography `ST_Distance`) finds the
nearest point on the part's great-circle edges on the sphere and measures the spheroid distance
to it; here the part is drawn in a gnomonic projection on the sphere, where those edges are
straight, the nearest point found there (shapely), and the distance to it measured with
`pyproj.Geod` on the CGCS2000 ellipsoid (GRS80). Both agree to millimetres.

A chunk of points is looked up in every layer through one `Probe`: its query boxes (per
search radius) and gnomonic drawing are made once, not once per layer.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import LayerSpec
from app.screening.findings import reach, relation

GEOD = pyproj.Geod(ellps="GRS80")
# The sphere PostGIS finds nearest points on (its radius does not move them).
_SPHERE = "+R=6371008.8 +no_defs"

_PARTS = text("""
SELECT p.version_id, p.feature_id, ST_AsBinary(p.geom) AS wkb
FROM feature_part p
WHERE p.version_id = ANY(:versions) AND p.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)
ORDER BY p.id
""")
_FEATURES = text("SELECT id, attributes, area_m2 FROM feature WHERE id = ANY(:ids)")


def box_degrees(radius_m: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-widths (lon, lat) of a box surely holding RADIUS_M around latitude LAT."""
    # A degree of latitude is at least 110 574 m; of longitude, at the box's far latitude
    # (at most half a degree poleward for the radii screened) at least 111 320 m × cos.
    far = np.radians(np.minimum(np.abs(lat) + 1.0, 89.0))
    return radius_m / (110_000 * np.cos(far)) + 1e-6, radius_m / 110_000 + 1e-6


@dataclass
class _Layer:
    """One version's parts: as stored (lon/lat, prepared; their bounds), drawn gnomonic,
    their features, in a tree."""

    parts: np.ndarray
    bounds: np.ndarray
    flat: np.ndarray
    feature: np.ndarray
    line: np.ndarray
    tree: shapely.STRtree


class PointIndex:
    """The active versions' parts within an extent, for screening point sites in memory."""

    def __init__(self, centre: tuple[float, float]) -> None:
        gnomonic = f"+proj=gnom +lon_0={centre[0]} +lat_0={centre[1]} {_SPHERE}"
        self._to_flat = pyproj.Transformer.from_crs(
            f"+proj=longlat {_SPHERE}", gnomonic, always_xy=True
        )
        self.layers: dict[int, _Layer] = {}
        self.features: dict[int, tuple[dict[str, Any], float | None]] = {}
        self._shared: dict[tuple, dict[str, Any]] = {}
        self._templates: dict[tuple, dict[str, Any]] = {}

    @classmethod
    def load(
        cls, session: Session, version_ids: list[int], bounds: tuple[float, ...], margin_m: float
    ) -> "PointIndex":
        """The parts of VERSION_IDS within BOUNDS (x0, y0, x1, y1) widened by MARGIN_M."""
        x0, y0, x1, y1 = bounds
        dx, dy = box_degrees(np.array([margin_m]), np.array([max(abs(y0), abs(y1))]))
        index = cls(((x0 + x1) / 2, (y0 + y1) / 2))
        rows = session.execute(
            _PARTS,
            {
                "versions": version_ids,
                "x0": x0 - dx[0],
                "y0": y0 - dy[0],
                "x1": x1 + dx[0],
                "y1": y1 + dy[0],
            },
        ).all()
        by_version: dict[int, list] = {v: [] for v in version_ids}
        for r in rows:
            by_version[r.version_id].append(r)
        for version_id, mine in by_version.items():
            parts = shapely.from_wkb([bytes(r.wkb) for r in mine])
            shapely.prepare(parts)  # points in large polygons: an indexed test
            index.layers[version_id] = _Layer(
                parts=parts,
                bounds=shapely.bounds(parts),
                flat=index._flat(parts),
                feature=np.array([r.feature_id for r in mine], dtype=np.int64),
                line=shapely.get_dimensions(parts) == 1,
                tree=shapely.STRtree(parts),
            )
        ids = sorted({r.feature_id for r in rows})
        for f in session.execute(_FEATURES, {"ids": ids}):
            index.features[f.id] = (f.attributes, f.area_m2)
        return index

    def _flat(self, geoms: np.ndarray) -> np.ndarray:
        """GEOMS drawn in the gnomonic projection (great circles become straight lines)."""

        def fn(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(self._to_flat.transform(xy[:, 0], xy[:, 1]))

        return shapely.transform(geoms, fn)

    def _back(self, xy: np.ndarray) -> np.ndarray:
        """Gnomonic coordinates back to lon/lat."""
        lon, lat = self._to_flat.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
        return np.column_stack([lon, lat])

    def probe(
        self, xy: np.ndarray, buffers_m: np.ndarray, points: np.ndarray | None = None
    ) -> "Probe":
        """The points at XY (POINTS, if made already) with their buffers, to look up in
        every layer: what does not depend on the layer is made once."""
        return Probe(xy, shapely.points(xy) if points is None else points, buffers_m, self)

    def pairs(
        self, version_id: int, probe: "Probe", radius_m: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(site, part, meets, distance_m) of every part each point of PROBE meets or lies
        within `reach(RADIUS_M, its buffer)` of (geodesic; 0 for a part met)."""
        layer = self.layers[version_id]
        radii = probe.radii(radius_m)
        if not np.any(radii > 0):
            site, part = layer.tree.query(probe.points)
            meets = shapely.intersects(layer.parts[part], probe.points[site])
            site, part = site[meets], part[meets]
            return site, part, np.ones(len(site), bool), np.zeros(len(site))
        site, part = layer.tree.query(probe.boxes(radius_m))
        # Only a part whose bounds hold the point can meet it.
        xy, bounds = probe.xy[site], layer.bounds[part]
        held = (bounds[:, 0] <= xy[:, 0]) & (xy[:, 0] <= bounds[:, 2])
        held &= (bounds[:, 1] <= xy[:, 1]) & (xy[:, 1] <= bounds[:, 3])
        meets = np.zeros(len(site), bool)
        meets[held] = shapely.intersects(layer.parts[part[held]], probe.points[site[held]])
        distance = np.zeros(len(site))
        miss = ~meets
        if miss.any():
            near = site[miss]
            nearest = shapely.get_coordinates(
                shapely.shortest_line(probe.flat()[near], layer.flat[part[miss]])
            ).reshape(-1, 2, 2)[:, 1]
            lonlat = self._back(nearest)
            _, _, d = GEOD.inv(xy[miss, 0], xy[miss, 1], lonlat[:, 0], lonlat[:, 1])
            distance[miss] = d
        keep = meets | (distance <= radii[site])
        return site[keep], part[keep], meets[keep], distance[keep]

    def find(
        self,
        spec: LayerSpec,
        version_id: int,
        xy: np.ndarray,
        radius_m: float,
        buffers_m: np.ndarray,
        points: np.ndarray | None = None,
    ) -> list[list[dict[str, Any]]]:
        """Each point's relations to one layer version, as `findings.find_many` gives them
        for a single-point site (same keys, order and figures)."""
        return self.found(spec, version_id, self.probe(xy, buffers_m, points), radius_m)

    def found(
        self, spec: LayerSpec, version_id: int, probe: "Probe", radius_m: float
    ) -> list[list[dict[str, Any]]]:
        """As `find`, for the points of PROBE.

        The figures of a feature a point meets are the same for every point meeting it
        (distance 0): one dict, shared by those points, never to be mutated."""
        site, part, meets, distance = self.pairs(version_id, probe, radius_m)
        out: list[list[dict[str, Any]]] = [[] for _ in range(len(probe.xy))]
        if not len(site):
            return out
        layer = self.layers[version_id]
        feature = layer.feature[part]
        # Per (site, feature): met by any part, a line if any part is, the nearest part.
        order = np.lexsort((feature, site))
        site, feature = site[order], feature[order]
        meets, distance, line = meets[order], distance[order], layer.line[part[order]]
        starts = np.flatnonzero(
            np.r_[True, (site[1:] != site[:-1]) | (feature[1:] != feature[:-1])]
        )
        site, feature = site[starts], feature[starts]
        hit = np.logical_or.reduceat(meets, starts)
        is_line = np.logical_or.reduceat(line, starts)
        nearest = np.where(hit, 0.0, np.minimum.reduceat(distance, starts))
        # Each point's features nearest first, then by id.
        rows = np.lexsort((feature, nearest, site))
        buffers = probe.buffer_list
        for i, d, feature_id, intersects, on_line in zip(
            site[rows].tolist(),
            nearest[rows].tolist(),
            feature[rows].tolist(),
            hit[rows].tolist(),
            is_line[rows].tolist(),
            strict=True,
        ):
            b = buffers[i]
            if intersects:
                figures = self._met(spec, feature_id, on_line, b)
            else:
                nearby = self._nearby(spec, feature_id)
                if b > 0:
                    figures = {
                        **nearby,
                        "distance_m": d,
                        "buffer_m": b,
                        "within_buffer": 0 < d <= b,
                    }
                else:
                    figures = {**nearby, "distance_m": d}
            out[i].append(figures)
        return out

    def _met(self, spec: LayerSpec, feature_id: int, is_line: bool, buffer_m: float) -> dict:
        """The figures of a feature met by a point (shared by every point meeting it)."""
        key = (spec.id, feature_id, is_line, buffer_m)
        figures = self._shared.get(key)
        if figures is None:
            figures = self._figures(spec, feature_id, True, is_line, 0.0)
            if buffer_m > 0:
                figures["buffer_m"] = buffer_m
                figures["within_buffer"] = False
            self._shared[key] = figures
        return figures

    def _nearby(self, spec: LayerSpec, feature_id: int) -> dict:
        """The figures of a feature near a point, but for its distance (a template to copy)."""
        key = (spec.id, feature_id)
        figures = self._templates.get(key)
        if figures is None:
            figures = self._templates[key] = self._figures(spec, feature_id, False, False, 0.0)
        return figures

    def _figures(
        self, spec: LayerSpec, feature_id: int, intersects: bool, is_line: bool, d: float
    ) -> dict[str, Any]:
        """One feature's figures for a point site (no overlap area or length for a point)."""
        attributes, area = self.features[feature_id]
        rel = relation(intersects and not is_line, intersects, None, None, is_line)
        return {
            "layer": spec.id,
            "layer_title": spec.title_zh,
            "feature_id": feature_id,
            "name": (attributes or {}).get(spec.label or "name"),
            "relation": rel,
            "overlap_area_m2": None,
            "overlap_area_ha": None,
            "overlap_area_mu": None,
            "overlap_share": None,
            "overlap_length_m": None,
            "distance_m": d,
            "feature_area_m2": area,
            "attributes": attributes,
            "site_share": 1.0 if rel != "nearby" else 0.0,
        }


class Probe:
    """Points looked up in every layer of an index: their query boxes per search radius and
    their gnomonic drawing are made once, whatever the number of layers."""

    def __init__(
        self, xy: np.ndarray, points: np.ndarray, buffers_m: np.ndarray, index: PointIndex
    ) -> None:
        self.xy = xy
        self.points = points
        self.buffers = np.asarray(buffers_m, dtype=float)
        self.buffer_list: list[float] = self.buffers.tolist()
        self._index = index
        self._radii: dict[float, np.ndarray] = {}
        self._boxes: dict[float, np.ndarray] = {}
        self._flat: np.ndarray | None = None

    def radii(self, radius_m: float) -> np.ndarray:
        """How far from each point a layer of search radius RADIUS_M is searched (`reach`)."""
        if radius_m not in self._radii:  # reach() of each buffer (it adds them elementwise)
            self._radii[radius_m] = np.zeros(len(self.xy)) + reach(radius_m, self.buffers)
        return self._radii[radius_m]

    def boxes(self, radius_m: float) -> np.ndarray:
        """Boxes surely holding each point's search (lon/lat)."""
        if radius_m not in self._boxes:
            xy = self.xy
            dx, dy = box_degrees(self.radii(radius_m), xy[:, 1])
            self._boxes[radius_m] = shapely.box(
                xy[:, 0] - dx, xy[:, 1] - dy, xy[:, 0] + dx, xy[:, 1] + dy
            )
        return self._boxes[radius_m]

    def flat(self) -> np.ndarray:
        """The points drawn in the index's gnomonic projection."""
        if self._flat is None:
            self._flat = self._index._flat(self.points)
        return self._flat
