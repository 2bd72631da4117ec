"""Point sites screened in memory: the parts of the active versions near a batch, in STRtrees.

For a single point the figures PostGIS computes per part (app.screening.findings) reduce to
two: whether the point meets the part (planar, as `ST_Intersects` on geometry) and, when it
does not, its geodesic distance to the part. PostGIS (geography `ST_Distance`) finds the
nearest point on the part's great-circle edges on the sphere and measures the spheroid distance
to it; here the part is drawn in a gnomonic projection on the sphere, where those edges are
straight, the nearest point found there (shapely), and the distance to it measured with
`pyproj.Geod` on the CGCS2000 ellipsoid (GRS80). Both agree to millimetres.
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
    """One version's parts: as stored (lon/lat), drawn gnomonic, their features, in a tree."""

    parts: np.ndarray
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
            index.layers[version_id] = _Layer(
                parts=parts,
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

    def pairs(
        self,
        version_id: int,
        xy: np.ndarray,
        radii: np.ndarray,
        points: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(site, part, meets, distance_m) of every part each point meets or lies within its
        radius of (geodesic; 0 for a part met). POINTS: the points at XY, if made already."""
        layer = self.layers[version_id]
        points = shapely.points(xy) if points is None else points
        if not np.any(radii > 0):
            site, part = layer.tree.query(points, predicate="intersects")
            return site, part, np.ones(len(site), bool), np.zeros(len(site))
        dx, dy = box_degrees(radii, xy[:, 1])
        boxes = shapely.box(xy[:, 0] - dx, xy[:, 1] - dy, xy[:, 0] + dx, xy[:, 1] + dy)
        site, part = layer.tree.query(boxes)
        meets = shapely.intersects(points[site], layer.parts[part])
        distance = np.zeros(len(site))
        miss = ~meets
        if miss.any():
            flat_points = self._flat(points[site[miss]])
            nearest = shapely.get_coordinates(
                shapely.shortest_line(flat_points, layer.flat[part[miss]])
            ).reshape(-1, 2, 2)[:, 1]
            lonlat = self._back(nearest)
            _, _, d = GEOD.inv(xy[site[miss], 0], xy[site[miss], 1], lonlat[:, 0], lonlat[:, 1])
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
        radii = np.array([reach(radius_m, float(b)) for b in buffers_m])
        site, part, meets, distance = self.pairs(version_id, xy, radii, points)
        layer = self.layers[version_id]
        feature = layer.feature[part]
        out: list[list[dict[str, Any]]] = [[] for _ in range(len(xy))]
        if not len(site):
            return out
        # Per (site, feature): met by any part, a line if any part is, the nearest part.
        order = np.lexsort((feature, site))
        site, feature = site[order], feature[order]
        meets, distance, line = meets[order], distance[order], layer.line[part[order]]
        starts = np.flatnonzero(
            np.r_[True, (site[1:] != site[:-1]) | (feature[1:] != feature[:-1])]
        )
        hit = np.logical_or.reduceat(meets, starts)
        is_line = np.logical_or.reduceat(line, starts)
        nearest = np.where(hit, 0.0, np.minimum.reduceat(distance, starts))
        rows = sorted(
            zip(
                site[starts].tolist(),
                nearest.tolist(),
                feature[starts].tolist(),
                hit.tolist(),
                is_line.tolist(),
                strict=True,
            )
        )
        for i, d, feature_id, intersects, on_line in rows:
            out[i].append(self._figures(spec, feature_id, bool(intersects), bool(on_line), d))
            if buffers_m[i] > 0:
                out[i][-1]["buffer_m"] = float(buffers_m[i])
                out[i][-1]["within_buffer"] = 0 < d <= buffers_m[i]
        return out

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
