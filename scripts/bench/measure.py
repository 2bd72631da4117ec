"""Run the cases of one group interleaved and sum them up: p50/p90/min and ratios to anchors.

A round runs every case once (its `setup` untimed first), the order rotating from round to
round so that no case always follows the same one; a warm-up round comes first and is not
counted. Rounds go on until every case has its `repeat` timed runs. A case that raises is
reported with its error and dropped from the following rounds; the others go on.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

WARMUP_ROUNDS = 2


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary_ms(times_ms: Sequence[float]) -> dict[str, float]:
    """Median, p90, min, max and mean of timings in ms."""
    return {
        "p50_ms": statistics.median(times_ms),
        "p90_ms": percentile(times_ms, 90),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "mean_ms": statistics.fmean(times_ms),
    }


def _timed(case: Any) -> float:
    if case.setup is not None:
        case.setup()
    start = time.perf_counter()
    case.run()
    return (time.perf_counter() - start) * 1000.0


def run_group(
    group: str,
    cases: Sequence[Any],
    repeat_override: int | None = None,
    progress: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Time the cases of one group interleaved; one result dict per case, ratios included."""
    repeats = [repeat_override or c.repeat for c in cases]
    times: list[list[float]] = [[] for _ in cases]
    errors: dict[int, str] = {}
    rounds = max(repeats, default=0)
    shown = time.monotonic()
    for round_no in range(-WARMUP_ROUNDS, rounds):
        order = list(range(len(cases)))
        shift = round_no % len(cases) if cases else 0
        for i in order[shift:] + order[:shift]:
            if i in errors or (round_no >= 0 and len(times[i]) >= repeats[i]):
                continue
            try:
                elapsed = _timed(cases[i])
            except Exception as exc:  # noqa: BLE001 (reported in the results, the group goes on)
                errors[i] = f"{type(exc).__name__}: {str(exc)[:300]}"
                progress(f"    ! {group} / {cases[i].name}: {errors[i]}")
                continue
            if round_no >= 0:
                times[i].append(elapsed)
        if time.monotonic() - shown > 10:
            shown = time.monotonic()
            progress(f"    … {group}: round {round_no + 1}/{rounds}")
    results = []
    for i, case in enumerate(cases):
        result: dict[str, Any] = {
            "group": group,
            "name": case.name,
            "anchor": bool(case.anchor),
            "n": len(times[i]),
        }
        if times[i]:
            result.update(summary_ms(times[i]))
        if i in errors:
            result["error"] = errors[i]
        results.append(result)
    add_ratios(results, "p50_ms")
    return results


def add_ratios(results: list[dict[str, Any]], key: str) -> None:
    """Put on each result its `key` divided by each anchor's (`ratios`: anchor name → ratio)."""
    anchors = [r for r in results if r["anchor"] and r.get(key)]
    for r in results:
        if r.get(key) is None:
            continue
        r["ratios"] = {a["name"]: r[key] / a[key] for a in anchors if a is not r}


def figures(group: str, items: Sequence[Any]) -> list[dict[str, Any]]:
    """Figures of one group as result dicts, with ratios of values to the group's anchors."""
    results = [
        {
            "group": group,
            "name": f.name,
            "anchor": bool(f.anchor),
            "value": f.value,
            "unit": f.unit,
            "detail": dict(f.detail),
        }
        for f in items
    ]
    add_ratios(results, "value")
    return results
