"""bench/results.json and bench/results.md: the machine, every figure per scale, the targets.

results.md has one table per workload (every scale, each case with its ratios to the group's
anchors), a growth table (each non-anchor figure at 1×, 10× and 100× data) and the targets of
issue 12 item 2, each met or missed with the measured ratio or value.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

BEIJING = ZoneInfo("Asia/Shanghai")


def machine(admin_dsn: str, root: Path) -> dict[str, Any]:
    """Cores, RAM, CPU model, PostgreSQL/PostGIS versions, git commit, date (Beijing time)."""
    info: dict[str, Any] = {
        "date": dt.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M (北京时间)"),
        "cores": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cpu": _cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "git_commit": _git(root, "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")),
    }
    try:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            row = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
            info["postgis"] = row[0] if row else None
            info["max_connections"] = int(conn.execute("SHOW max_connections").fetchone()[0])
    except psycopg.Error as exc:
        info["postgresql"] = f"unreachable: {exc}"
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


# Targets of issue 12 item 2. Groups are matched by pattern (case-insensitive) so that every
# zoom and every collection is judged; "redline" is the non-anchor case named redline…,
# anchors are matched by name. Rules: ratio_max (redline ÷ sum of the anchors ≤ limit),
# ratio_min (≥ limit), ms_max (redline's p50 in ms ≤ limit), value_min (a figure ≥ limit).
@dataclass(frozen=True)
class Target:
    """One target of the issue, judged on the groups its pattern matches."""

    title: str
    group: str
    rule: str
    limit: float
    anchors: tuple[str, ...] = ()
    scales: tuple[int, ...] | None = None  # None: at every scale measured
    unit: str | None = None  # value_min: only figures in this unit


HEALTH_RAW = ("/health", "raw SQL")
TARGETS = [
    Target("point screening p50 ≤ 2 × (/health + raw SQL)", r"^point screening$", "ratio_max",
           2.0, HEALTH_RAW),
    Target("point screening ≥ 200 req/s at 16 clients",
           r"^point screening throughput, 16 clients$", "value_min", 200, unit="req/s"),
    Target("1 000-vertex polygon p50 ≤ 2 × (/health + raw SQL)", r"^polygon screening",
           "ratio_max", 2.0, HEALTH_RAW),
    Target("batch ≥ 5 000 sites/s (points)", r"batch", "value_min", 5000, unit="sites/s"),
    Target("tiles ≤ 1.0 × tipg, cache off, every zoom", r"^tiles?\b.*cache off", "ratio_max",
           1.0, ("tipg",)),
    Target("tiles ≥ 2 × tipg's throughput on cache hits", r"^tiles?\b.*(hit|throughput)",
           "ratio_min", 2.0, ("tipg",)),
    Target("OGC items ≤ 1.0 × tipg, every collection", r"items", "ratio_max", 1.0, ("tipg",)),
    Target("township summary cold ≤ 1.0 × geopandas overlay", r"summary.*cold", "ratio_max",
           1.0, ("geopandas",)),
    Target("township summary cold ≤ 5 s at 100×", r"summary.*cold", "ms_max", 5000, (), (100,)),
    Target("township summary warm ≤ 2 × /health at 1×", r"summary.*warm", "ratio_max", 2.0,
           ("/health",), (1,)),
    Target("township summary warm ≤ 100 ms at 100×", r"summary.*warm", "ms_max", 100, (),
           (100,)),
]  # fmt: skip


def _groups(scale_result: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for workload in scale_result.get("workloads", []):
        for group in workload.get("groups", []):
            yield workload["module"], group


def _ms(result: dict[str, Any]) -> float | None:
    """A result's latency in ms: a case's p50, or a figure in ms or s."""
    if result.get("p50_ms") is not None:
        return result["p50_ms"]
    factor = {"ms": 1.0, "s": 1000.0}.get(result.get("unit", ""))
    return result["value"] * factor if factor and result.get("value") is not None else None


def _value(result: dict[str, Any], rule: str) -> float | None:
    """The figure a rule compares: a latency for ms/ratio_max rules, else the figure's value."""
    if rule in ("ratio_max", "ms_max"):
        return _ms(result)
    return result.get("value")


def judge(target: Target, scale: int, group: dict[str, Any]) -> dict[str, Any] | None:
    """Whether one group meets TARGET; None when the group lacks what the target compares."""
    results = [*group.get("cases", []), *group.get("figures", [])]
    subjects = [r for r in results if not r["anchor"] and r["name"].lower().startswith("redline")]
    subjects = subjects or [r for r in results if not r["anchor"]]
    if target.unit is not None:
        subjects = [r for r in subjects if r.get("unit") == target.unit]
    row: dict[str, Any] = {"target": target.title, "scale": scale, "group": group["name"]}
    for subject in subjects:
        value = _value(subject, target.rule)
        if value is None:
            continue
        if target.rule in ("ms_max", "value_min"):
            measured = value
        else:
            anchors = [
                _value(r, target.rule)
                for r in results
                if r["anchor"] and any(a.lower() in r["name"].lower() for a in target.anchors)
            ]
            if len(anchors) < len(target.anchors) or None in anchors or not sum(anchors):
                continue
            measured = value / sum(anchors)
        met = measured <= target.limit if target.rule.endswith("max") else measured >= target.limit
        return {**row, "case": subject["name"], "measured": measured, "met": met}
    return None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target at every scale it applies to: met, missed, or not measured."""
    rows = []
    for target in TARGETS:
        for scale_key, scale_result in results.get("scales", {}).items():
            scale = int(scale_key)
            if target.scales is not None and scale not in target.scales:
                continue
            found = [
                judge(target, scale, group)
                for _, group in _groups(scale_result)
                if re.search(target.group, group["name"], re.IGNORECASE)
            ]
            found = [f for f in found if f is not None]
            rows += found or [{"target": target.title, "scale": scale, "met": None}]
    return rows


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def _ratios(result: dict[str, Any]) -> str:
    return ", ".join(f"{_fmt(v)}× {k}" for k, v in result.get("ratios", {}).items())


def case_line(r: dict[str, Any]) -> str:
    """One case as a progress line."""
    if "p50_ms" not in r:
        return f"{r['name']}: {r.get('error', 'no timing')}"
    mark = " (anchor)" if r["anchor"] else ""
    ratios = f"  [{_ratios(r)}]" if r.get("ratios") else ""
    return (
        f"{r['name']}{mark}: p50 {_fmt(r['p50_ms'])} ms, p90 {_fmt(r['p90_ms'])} ms, "
        f"n {r['n']}{ratios}"
    )


def figure_line(r: dict[str, Any]) -> str:
    """One figure as a progress line."""
    mark = " (anchor)" if r["anchor"] else ""
    ratios = f"  [{_ratios(r)}]" if r.get("ratios") else ""
    return f"{r['name']}{mark}: {_fmt(r['value'])} {r['unit']}{ratios}"


def _target_rows(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| target | data | group | measured | |", "|---|---:|---|---:|---|"]
    for r in rows:
        if r["met"] is None:
            out.append(f"| {r['target']} | {r['scale']}× | — | — | not measured |")
            continue
        title = next(t for t in TARGETS if t.title == r["target"])
        unit = {"ms_max": " ms", "value_min": f" {title.unit or ''}"}.get(title.rule, "×")
        verdict = "met" if r["met"] else "**missed**"
        out.append(
            f"| {r['target']} | {r['scale']}× | {r['group']} | {_fmt(r['measured'], 2)}{unit} "
            f"| {verdict} |"
        )
    return out


def _workload_tables(results: dict[str, Any]) -> list[str]:
    by_module: dict[str, list[tuple[str, dict, dict]]] = {}
    titles: dict[str, str] = {}
    for scale_key, scale_result in results.get("scales", {}).items():
        for workload in scale_result.get("workloads", []):
            titles[workload["module"]] = workload.get("title", workload["module"])
            for group in workload.get("groups", []):
                by_module.setdefault(workload["module"], []).append((scale_key, workload, group))
            if workload.get("error"):
                by_module.setdefault(workload["module"], []).append(
                    (scale_key, workload, {"name": "error: " + workload["error"]})
                )
    out = []
    for module, entries in by_module.items():
        out += ["", f"### {titles[module]} (`{module}`)", ""]
        out += ["| data | group | case | p50 | p90 | min | n | ratio to anchors |"]
        out += ["|---:|---|---|---:|---:|---:|---:|---|"]
        for scale_key, _, group in entries:
            for r in group.get("cases", []):
                name = f"{r['name']} (anchor)" if r["anchor"] else r["name"]
                if "p50_ms" not in r:
                    out.append(
                        f"| {scale_key}× | {group['name']} | {name} | — | — | — | {r['n']} "
                        f"| {r.get('error', '')} |"
                    )
                    continue
                out.append(
                    f"| {scale_key}× | {group['name']} | {name} | {_fmt(r['p50_ms'])} ms "
                    f"| {_fmt(r['p90_ms'])} ms | {_fmt(r['min_ms'])} ms | {r['n']} "
                    f"| {_ratios(r)} |"
                )
            for r in group.get("figures", []):
                name = f"{r['name']} (anchor)" if r["anchor"] else r["name"]
                out.append(
                    f"| {scale_key}× | {group['name']} | {name} | {_fmt(r['value'])} {r['unit']} "
                    f"| | | | {_ratios(r)} |"
                )
            if not group.get("cases") and not group.get("figures"):
                out.append(f"| {scale_key}× | {group['name']} | | | | | | |")
    return out


def _growth_table(results: dict[str, Any]) -> list[str]:
    """Each figure per scale, its growth from the smallest scale, and (for non-anchors) its
    ratio to the group's first anchor per scale: on a shared machine the ratio is the steadier
    sign of growth, the anchors being measured in the same minutes."""
    scales = sorted(int(s) for s in results.get("scales", {}))
    rows: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for scale in scales:
        for _, group in _groups(results["scales"][str(scale)]):
            for r in [*group.get("cases", []), *group.get("figures", [])]:
                if r.get("p50_ms", r.get("value")) is not None:
                    rows.setdefault((group["name"], r["name"]), {})[scale] = r
    arrow = " → ".join(f"{s}×" for s in scales)
    out = [f"| group | case | {' | '.join(f'{s}×' for s in scales)} | {arrow} | ratio {arrow} |"]
    out.append("|---|---|" + "---:|" * (len(scales) + 2))
    for key, by_scale in rows.items():
        values = {s: r.get("p50_ms", r.get("value")) for s, r in by_scale.items()}
        first = values.get(scales[0])
        cells = [
            f"{_fmt(values[s])}{' ms' if 'p50_ms' in by_scale[s] else ' ' + by_scale[s]['unit']}"
            if s in by_scale
            else "—"
            for s in scales
        ]
        growth = " → ".join(
            f"{values[s] / first:.2g}×" if s in values and first else "—" for s in scales
        )
        ratio = ""
        anchor = next(iter(next(iter(by_scale.values())).get("ratios", {})), None)
        if anchor is not None and not next(iter(by_scale.values()))["anchor"]:
            found = [by_scale[s].get("ratios", {}).get(anchor) if s in by_scale else None
                     for s in scales]  # fmt: skip
            ratio = " → ".join(_fmt(v) + "×" if v is not None else "—" for v in found)
            ratio += f" {anchor}"
        out.append(f"| {key[0]} | {key[1]} | {' | '.join(cells)} | {growth} | {ratio} |")
    return out


def markdown(results: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    """results.md."""
    m = results.get("machine", {})
    s = results.get("settings", {})
    lines = [
        "# Redline benchmarks (`make bench`)",
        "",
        f"{m.get('date', '')}, commit `{m.get('git_commit', '')}`"
        + (" (uncommitted changes)" if m.get("git_dirty") else "")
        + f"; {m.get('cores')} cores ({m.get('cpu')}), {m.get('ram_gb')} GB RAM; "
        f"PostgreSQL {m.get('postgresql')}, PostGIS {m.get('postgis')}; "
        f"{s.get('api_workers')} API processes, 1 job worker; per-key rate limits raised to "
        f"{s.get('rate_limits_per_minute', 0):,}/min for the bench"
        + ("; **quick run** (BENCH_QUICK=1)" if s.get("quick") else "")
        + ".",
        "",
        "Latencies are medians (p50) and p90 of interleaved runs; ratios divide a case's p50 "
        "by each anchor's p50 measured in the same run (throughput: value ÷ anchor's value).",
        "",
        "## Targets (issue 12)",
        "",
        *_target_rows(targets),
        "",
        "## Workloads",
        *_workload_tables(results),
        "",
        "## Growth with the data",
        "",
        *_growth_table(results),
    ]
    for scale_key, scale_result in results.get("scales", {}).items():
        data = scale_result.get("data", {})
        lines.append("")
        lines.append(
            f"Data {scale_key}× (`{scale_result.get('database')}`): "
            + ", ".join(f"{k} {v}" for k, v in data.items() if not isinstance(v, dict | list))
        )
    if results.get("notes"):
        lines += ["", "## Notes", "", *[f"- {n}" for n in results["notes"]]]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out_dir: Path) -> None:
    """Write results.json (with the targets judged) and results.md into OUT_DIR."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = evaluate(results)
    payload = {**results, "targets": targets}
    (out_dir / "results.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    (out_dir / "results.md").write_text(markdown(results, targets), encoding="utf-8")
