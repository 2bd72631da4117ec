"""Batch workload: 10 000 point sites screened, against geopandas and one SQL statement.

Sites: random points (fixed seed) inside the loaded counties of 巴中市, `project_category=工业`.
Figures, in rounds run one after the other (redline, geopandas, SQL, repeated; medians):

- redline: the CSV posted to `POST /screenings/batch` (format=csv), `/jobs/{id}?wait=`
  long-polled until done, the result downloaded; wall time → sites/s. Every row is filed as
  a screening.
- geopandas (the anchor): `read_postgis` of the active versions' parts once (its time
  reported apart), then per layer `sjoin(predicate="dwithin")` within the layer's search
  radius in a local metric projection, with the distance of each pair → sites/s.
- one SQL statement (psycopg, prepared): every site's features within each layer's radius,
  whether they meet the site and the geodesic distance, in one statement → sites/s.
- the job worker's peak RSS (VmHWM, reset through /proc/<pid>/clear_refs before each batch
  where allowed) for 10 000 and, when `ctx.extra["batch_100k"]`, 100 000 points: flat when
  the rows are streamed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
import yaml

from scripts.bench.cases import Ctx, Figure

GROUP = "batch 10 000 points"
SITES = 10_000
BIG = 100_000
CATEGORY = "工业"
# Five rounds: the first large batch also starts the worker's pool and builds the point
# index (reported on its own too), so the median is a warm batch's.
ROUNDS = 5
REGION = "5119"  # 巴中市: the sites fall in its counties at every scale
METRIC = "+proj=aeqd +lat_0=32 +lon_0=107 +ellps=GRS80 +units=m"
ROOT = Path(__file__).resolve().parents[2]

_COUNTIES = """
SELECT ST_AsBinary(ST_Union(f.geom)) FROM feature f JOIN layer l
  ON l.active_version_id = f.version_id
WHERE l.id = 'admin_county' AND f.attributes->>'code' LIKE %s
"""
_PARTS = """
SELECT l.id AS layer, p.feature_id, p.geom FROM feature_part p JOIN layer l
  ON l.active_version_id = p.version_id WHERE l.id = ANY(:layers)
"""
# Every site's features within each layer's radius (context layers: those it meets), whether
# it meets them and the geodesic distance: the lookup a point screening needs, for all sites.
# CASE fixes the order: parts of other versions (the index holds them all) never reach the
# costly geography test.
_ONE_STATEMENT = """
WITH site AS (
  SELECT ord, ST_SetSRID(ST_MakePoint(x, y), 4490) AS g, y AS lat
  FROM unnest(%(xs)s::float8[], %(ys)s::float8[]) WITH ORDINALITY AS t(x, y, ord)
),
lyr AS (
  SELECT l.id, l.active_version_id AS v, t.radius
  FROM unnest(%(layers)s::text[], %(radii)s::float8[]) AS t(id, radius)
  JOIN layer l ON l.id = t.id AND l.active_version_id IS NOT NULL
)
SELECT site.ord, lyr.id, p.feature_id, bool_or(ST_Intersects(p.geom, site.g)) AS meets,
       min(CASE WHEN ST_Intersects(p.geom, site.g) THEN 0
                ELSE ST_Distance(geography(p.geom), geography(site.g)) END) AS distance_m
FROM site CROSS JOIN lyr
JOIN feature_part p ON p.version_id = lyr.v
 AND p.geom && ST_Expand(site.g, lyr.radius / (111000 * cos(radians(site.lat + 1))) + 1e-6)
 AND CASE WHEN p.version_id <> lyr.v THEN false
          WHEN ST_Intersects(p.geom, site.g) THEN true
          WHEN lyr.radius <= 0 THEN false
          ELSE ST_DWithin(geography(p.geom), geography(site.g), lyr.radius) END
GROUP BY 1, 2, 3
"""


def _radii() -> dict[str, float]:
    """Search radius per screened layer from the catalog YAML (context layers: 0)."""
    out = {}
    for path in sorted((ROOT / "layers").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        role = spec.get("screening_role", "finding")
        if not spec.get("id") or role == "none":
            continue
        out[spec["id"]] = 0.0 if role == "context" else float(spec.get("search_radius_m", 0))
    return out


def sites(dsn: str, n: int, seed: int = 12) -> np.ndarray:
    """N random lon/lat points inside the loaded counties of 巴中市."""
    with psycopg.connect(dsn) as conn:
        wkb = conn.execute(_COUNTIES, (REGION + "%",)).fetchone()[0]
    area = shapely.from_wkb(bytes(wkb))
    shapely.prepare(area)
    x0, y0, x1, y1 = area.bounds
    rng = np.random.default_rng(seed)
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < n:
        xy = rng.uniform([x0, y0], [x1, y1], size=(n, 2))
        found.append(xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])])
    return np.concatenate(found)[:n]


def _csv(xy: np.ndarray) -> bytes:
    """The sites as a batch CSV (name, lon, lat)."""
    lines = [f"点位{i},{x:.7f},{y:.7f}" for i, (x, y) in enumerate(xy)]
    return ("name,lon,lat\n" + "\n".join(lines) + "\n").encode("utf-8")


def run_batch(ctx: Ctx, body: bytes) -> tuple[float, str, int]:
    """Submit, wait for, and download one batch: (wall seconds, job id, result bytes)."""
    assert ctx.http is not None
    t0 = time.perf_counter()
    resp = ctx.http.post(
        f"{ctx.redline_url}/screenings/batch",
        files={"file": ("sites.csv", body, "text/csv")},
        data={"format": "csv", "project_category": CATEGORY},
        timeout=600,
    )
    resp.raise_for_status()
    job = resp.json()
    while job["status"] in ("queued", "running"):
        # A long poll: the API answers as soon as the job moves (progress or end).
        url = f"{ctx.redline_url}/jobs/{job['id']}"
        job = ctx.http.get(url, params={"wait": 20}, timeout=60).json()
    if job["status"] != "done":
        raise RuntimeError(f"batch job {job['id']} ended {job['status']}: {job.get('error')}")
    result = ctx.http.get(f"{ctx.redline_url}/jobs/{job['id']}/result", timeout=600)
    result.raise_for_status()
    return time.perf_counter() - t0, job["id"], len(result.content)


def _worker_pid(dsn: str, job_id: str) -> int | None:
    """The pid of the worker that ran the job (its owner: host, pid, start token)."""
    with psycopg.connect(dsn) as conn:
        owner = conn.execute("SELECT owner FROM job WHERE id = %s", (job_id,)).fetchone()[0]
    parts = (owner or "").rsplit(" ", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _status_mb(pid: int, key: str) -> float | None:
    """A /proc/<pid>/status memory figure (VmHWM, VmRSS) in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS (Linux clear_refs 5); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def geopandas_read(database_url: str, layers: list[str]) -> tuple[Any, float]:
    """The active parts of LAYERS, read once, and the seconds it took."""
    import geopandas as gpd
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        parts = gpd.read_postgis(text(_PARTS), conn, geom_col="geom", params={"layers": layers})
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return parts, elapsed


def geopandas_sjoin(parts: Any, xy: np.ndarray, radii: dict[str, float]) -> int:
    """Every site's features within each layer's radius and their distances: pairs found."""
    import geopandas as gpd

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4490)
    points = points.to_crs(METRIC)
    metric = parts.to_crs(METRIC)
    found = 0
    for layer, radius in radii.items():
        mine = metric[metric["layer"] == layer]
        if mine.empty:
            continue
        if radius > 0:
            pairs = gpd.sjoin(points, mine, predicate="dwithin", distance=radius)
        else:
            pairs = gpd.sjoin(points, mine, predicate="intersects")
        d = shapely.distance(
            points.geometry.values[pairs.index.to_numpy()],
            mine.geometry.values[mine.index.get_indexer(pairs["index_right"])],
        )
        found += len(pairs.assign(d=d).groupby([pairs.index, "feature_id"])["d"].min())
    return found


def one_statement(dsn: str, xy: np.ndarray, radii: dict[str, float]) -> tuple[float, int]:
    """The lookup for all sites in one prepared statement: (seconds, rows)."""
    params = {
        "xs": xy[:, 0].tolist(),
        "ys": xy[:, 1].tolist(),
        "layers": list(radii),
        "radii": list(radii.values()),
    }
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        rows = conn.execute(_ONE_STATEMENT, params, prepare=True).fetchall()
        return time.perf_counter() - t0, len(rows)


def _descendants(pid: int) -> list[int]:
    """The processes PID started, and theirs (the batch's process pool), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _peak(ctx: Ctx, pid: int | None, body: bytes) -> tuple[float | None, dict[str, Any]]:
    """One batch with the worker's peak RSS reset before it: (peak MB, detail). The detail
    adds the peak RSS of the worker's child processes (its screening pool), summed."""
    children = _descendants(pid) if pid else []
    reset = pid is not None and all(_reset_peak(p) for p in [pid, *children])
    before = _status_mb(pid, "VmRSS") if pid else None
    seconds, job_id, size = run_batch(ctx, body)
    pid = pid or _worker_pid(ctx.dsn, job_id)
    children = _descendants(pid) if pid else []
    pool = [_status_mb(p, "VmHWM") for p in children]
    detail = {
        "pid": pid,
        "peak_reset": reset,
        "rss_before_mb": before,
        "seconds": seconds,
        "children": len(children),
        "children_peak_mb_sum": round(sum(m for m in pool if m), 1),
    }
    return (_status_mb(pid, "VmHWM") if pid else None), detail


def cases(ctx: Ctx) -> list[Figure]:
    """The batch figures (see the module docstring); all in one run, ratios to geopandas."""
    radii = _radii()
    rounds = 1 if ctx.extra.get("quick") else ROUNDS
    xy = sites(ctx.dsn, SITES)
    body = _csv(xy)
    # A first, untimed batch: the worker warm (imports, caches) and its pid known.
    _, warm_job, _ = run_batch(ctx, _csv(xy[:300]))
    pid = _worker_pid(ctx.dsn, warm_job)
    parts, read_s = geopandas_read(ctx.database_url, list(radii))
    redline, sjoin, sql, pairs, rows, sizes = [], [], [], 0, 0, []
    for _ in range(rounds):
        seconds, _, size = run_batch(ctx, body)
        redline.append(seconds)
        sizes.append(size)
        t0 = time.perf_counter()
        pairs = geopandas_sjoin(parts, xy, radii)
        sjoin.append(time.perf_counter() - t0)
        seconds, rows = one_statement(ctx.dsn, xy, radii)
        sql.append(seconds)
    anchor = SITES / statistics.median(sjoin)

    def rate(name: str, runs: list[float], **detail: Any) -> Figure:
        value = SITES / statistics.median(runs)
        return Figure(
            GROUP,
            name,
            value,
            "sites/s",
            detail={"runs_s": runs, "ratio_to_geopandas": value / anchor, **detail},
        )

    out = [
        rate("redline (POST /screenings/batch → job → CSV)", redline, result_bytes=sizes),
        rate("redline, the worker's first large batch (pool start, point index)", redline[:1]),
        Figure(
            GROUP,
            "geopandas sjoin (in memory)",
            anchor,
            "sites/s",
            anchor=True,
            detail={"runs_s": sjoin, "pairs": pairs},
        ),
        Figure(GROUP, "geopandas read_postgis (once)", read_s, "s", detail={"parts": len(parts)}),
        rate("one SQL statement (psycopg, prepared)", sql, rows=rows),
    ]
    peak, detail = _peak(ctx, pid, body)
    out.append(
        Figure(GROUP, "redline worker peak RSS, 10 000 points", peak or 0.0, "MB", detail=detail)
    )
    if ctx.extra.get("batch_100k"):
        big = _csv(sites(ctx.dsn, BIG, seed=13))
        peak, detail = _peak(ctx, pid, big)
        detail["sites_per_s"] = BIG / detail["seconds"]
        out.append(
            Figure(
                GROUP, "redline worker peak RSS, 100 000 points", peak or 0.0, "MB", detail=detail
            )
        )
    return out
