"""Latency of POST /screenings over real HTTP, against GET /health as a baseline.

Cases, all in one run against a running server: GET /health (one database round trip),
POST /screenings with one point site, and with one 1000-vertex near-circle (radius ~800 m,
built with pyproj.Geod) in Bazhong's 南江县 around lon 106.84, lat 32.35. Each case gets a
warm-up, then N timed requests (time.perf_counter around httpx.Client calls); the table gives
median and p90 in ms and the ratio of each median to the /health median.

Run: `make run` in one terminal, then, from the repository root,

    .venv/bin/python scripts/bench/screening_bench.py [BASE_URL] [-n 30] [--json out.json]

Each timed POST stores a screening (project_name "bench") in the service's database.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pyproj import Geod

DEFAULT_URL = "http://127.0.0.1:8000"
CENTER_LON, CENTER_LAT = 106.84, 32.35  # 南江县, Bazhong
RADIUS_M = 800.0
VERTICES = 1000
WARMUP = 5


@dataclass
class CaseResult:
    case: str
    n: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    ratio_to_health: float | None = None


def point_geometry() -> dict[str, Any]:
    return {"type": "Point", "coordinates": [CENTER_LON, CENTER_LAT]}


def circle_geometry(vertices: int = VERTICES, radius_m: float = RADIUS_M) -> dict[str, Any]:
    """A geodesic near-circle: `vertices` distinct points, the ring closed by repeating one."""
    geod = Geod(ellps="GRS80")  # the CGCS2000 ellipsoid, to well under a millimetre
    azimuths = [360.0 * i / vertices for i in range(vertices)]
    lons, lats, _ = geod.fwd(
        [CENTER_LON] * vertices, [CENTER_LAT] * vertices, azimuths, [radius_m] * vertices
    )
    ring = [[round(lon, 8), round(lat, 8)] for lon, lat in zip(lons, lats, strict=True)]
    ring.reverse()  # counter-clockwise exterior (RFC 7946 right-hand rule)
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def screening_body(geometry: dict[str, Any]) -> dict[str, Any]:
    return {
        "geometry": geometry,
        "crs": "EPSG:4490",
        "project_category": "工业",
        "project_name": "bench",
    }


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def measure(
    name: str, send: Callable[[], httpx.Response], expect: int, n: int, warmup: int
) -> CaseResult:
    """Warm up, then time n requests; any unexpected status aborts the run."""

    def checked() -> None:
        response = send()
        if response.status_code != expect:
            sys.exit(
                f"{name}: HTTP {response.status_code} (expected {expect}): {response.text[:500]}"
            )

    for _ in range(warmup):
        checked()
    times_ms: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        checked()
        times_ms.append((time.perf_counter() - start) * 1000.0)
    return CaseResult(
        case=name,
        n=n,
        median_ms=statistics.median(times_ms),
        p90_ms=percentile(times_ms, 90),
        min_ms=min(times_ms),
        max_ms=max(times_ms),
    )


def run(base_url: str, n: int, warmup: int, timeout: float) -> list[CaseResult]:
    point = screening_body(point_geometry())
    polygon = screening_body(circle_geometry())
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        try:
            client.get("/health")
        except httpx.HTTPError as exc:
            sys.exit(f"Cannot reach {base_url}/health ({exc}). Is the server up (`make run`)?")
        results = [
            measure("GET /health", lambda: client.get("/health"), 200, n, warmup),
            measure(
                "POST /screenings point",
                lambda: client.post("/screenings", json=point),
                201,
                n,
                warmup,
            ),
            measure(
                f"POST /screenings polygon ({VERTICES} vertices)",
                lambda: client.post("/screenings", json=polygon),
                201,
                n,
                warmup,
            ),
        ]
    baseline = results[0].median_ms
    for result in results:
        result.ratio_to_health = result.median_ms / baseline if baseline > 0 else None
    return results


def table(results: list[CaseResult]) -> str:
    width = max(len(r.case) for r in results)
    lines = [f"{'case':<{width}}  {'median ms':>10}  {'p90 ms':>10}  {'× /health':>10}"]
    lines.append("-" * len(lines[0]))
    for r in results:
        ratio = f"{r.ratio_to_health:.1f}" if r.ratio_to_health is not None else "n/a"
        lines.append(f"{r.case:<{width}}  {r.median_ms:>10.1f}  {r.p90_ms:>10.1f}  {ratio:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Latency of POST /screenings (point and 1000-vertex polygon) over HTTP, "
        "as ratios to GET /health measured in the same run."
    )
    parser.add_argument(
        "base_url", nargs="?", default=DEFAULT_URL, help=f"server URL (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "-n", "--requests", type=int, default=30, help="timed requests per case (default 30)"
    )
    parser.add_argument(
        "--warmup", type=int, default=WARMUP, help=f"warm-up requests per case (default {WARMUP})"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="per-request timeout, s (default 60)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be >= 1 and --warmup >= 0")

    results = run(args.base_url.rstrip("/"), args.requests, args.warmup, args.timeout)
    print(f"{args.base_url}: {args.requests} timed requests per case after {args.warmup} warm-up")
    print(table(results))
    if args.json:
        payload = {
            "base_url": args.base_url,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "requests": args.requests,
            "warmup": args.warmup,
            "site": {
                "lon": CENTER_LON,
                "lat": CENTER_LAT,
                "radius_m": RADIUS_M,
                "vertices": VERTICES,
            },
            "results": [asdict(r) for r in results],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"JSON written to {args.json}")


if __name__ == "__main__":
    main()
