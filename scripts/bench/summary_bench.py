"""Summary latency over HTTP: a cold summary by township, then warm (cached) ones.

Run `make run` in one terminal, then `.venv/bin/python scripts/bench/summary_bench.py`.
Start the server fresh for a true cold number: the cache lives in the server process.
Baseline in the same run: GET /health (one database round trip); results as ratios.
"""

import argparse
import statistics
import time

import httpx


def timed(client: httpx.Client, path: str, params: dict | None = None) -> float:
    start = time.perf_counter()
    resp = client.get(path, params=params)
    elapsed = (time.perf_counter() - start) * 1000
    resp.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("-n", type=int, default=30, help="warm requests per case")
    args = parser.parse_args()
    with httpx.Client(base_url=args.base_url, timeout=300) as client:
        health = [timed(client, "/health") for _ in range(args.n)]
        base = statistics.median(health)
        print(f"{'case':<52}{'median ms':>12}{'× /health':>12}")
        print(f"{'GET /health':<52}{base:>12.1f}{1.0:>12.1f}")
        for label, params in [
            ("summary by township (all layers)", {"by": "township"}),
            ("summary by township + landcover/eco rasters",
             {"by": "township", "rasters": "landcover,eco_importance"}),
            ("summary by county", {"by": "county"}),
        ]:
            cold = timed(client, "/summaries", params)
            warm = statistics.median(timed(client, "/summaries", params) for _ in range(args.n))
            print(f"{label + ' — cold':<52}{cold:>12.1f}{cold / base:>12.1f}")
            print(f"{label + ' — warm':<52}{warm:>12.1f}{warm / base:>12.1f}")


if __name__ == "__main__":
    main()
