"""Province-sized bench data: the reference regions copied N times through the import path.

factor 1 is the reference data exactly as `redline setup` loads it (巴中市, 达州市, 巫山县).
factor N > 1 is the same, then, per layer, one more version holding the reference features
plus N − 1 copies placed elsewhere in China: outlines densified and bent by a smooth random
displacement field (the same field for every layer of a copy, so townships still partition
their counties and a redline stays in its township), codes renumbered under made-up city
codes 9xxx, names of keyed features tagged 模拟NN, and the redline cut into patches as real
provincial data is. Deterministic (one seed per copy). Each layer version goes through
`import_file`, which registers the counties and townships as regions as it always does.

A finished build leaves a marker (the database's comment: factor and generator revision);
a second build of the same factor and revision reuses it.

    .venv/bin/python scripts/bench/scale.py --factor 10 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:55432/redline_bench_10x
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import shapely
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REVISION = 2  # bump when the generated data changes: older builds are then rebuilt
SEED = 20_260_712
GENERATOR = "redline-bench-scale"
HOME = "__city"  # the reference feature's city, carried beside its attributes
UNIT_ORDER = ("admin_county", "township", "village")  # before the layers placed in them
SEGMENT_DEG = 0.005  # densify outlines to ≤ ~500 m segments before bending them
REDLINE_PATCHES = 230  # patches per copy of the reference redline (≥ 20 000 at 100×)
LIMIT_SHARE = 0.98  # stay this far under the catalog's per-import limits
# Copies lie on a grid of reference-sized cells inside this box (lon/lat), clear of the
# service's coverage edges.
PLACEMENT_BOX = (74.0, 4.0, 135.0, 53.0)
console = Console(stderr=True)


def local_url(factor: int) -> str:
    """The default bench database of a factor on the project's local cluster."""
    port = os.environ.get("REDLINE_PGPORT", "55432")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/redline_bench_{factor}x"


def psycopg_dsn(database_url: str, database: str | None = None) -> str:
    """The SQLAlchemy URL as a libpq DSN (optionally for another database of the cluster)."""
    url = make_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


# ---------------------------------------------------------------- marker and database


def read_marker(database_url: str) -> dict | None:
    """The marker a finished build left (None: no database, no build or another tool's)."""
    try:
        with psycopg.connect(psycopg_dsn(database_url), connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = current_database()"
            ).fetchone()
    except psycopg.OperationalError:
        return None
    try:
        marker = json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None
    return marker if isinstance(marker, dict) and marker.get("generator") == GENERATOR else None


def _write_marker(database_url: str, marker: dict) -> None:
    name = make_url(database_url).database
    text = json.dumps(marker, ensure_ascii=False).replace("'", "''")
    with psycopg.connect(psycopg_dsn(database_url), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")


def fresh_database(database_url: str) -> None:
    """Create the database empty with PostGIS, dropping an older build of it first.

    Only databases named redline_bench_* are ever dropped.
    """
    name = make_url(database_url).database or ""
    if not re.fullmatch(r"redline_bench_[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing to rebuild {name!r}: bench databases are redline_bench_*")
    with psycopg.connect(psycopg_dsn(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(psycopg_dsn(database_url), autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def data_counts(database_url: str) -> dict[str, int]:
    """What the active versions hold: redline polygons, township units, vertices in all."""
    with psycopg.connect(psycopg_dsn(database_url)) as conn:
        polygons, townships, vertices = conn.execute(
            "SELECT sum(ST_NumGeometries(f.geom)) FILTER (WHERE l.id = 'redline'), "
            "count(*) FILTER (WHERE l.id = 'township'), sum(ST_NPoints(f.geom)) "
            "FROM feature f JOIN layer l ON l.active_version_id = f.version_id"
        ).fetchone()
    return {
        "redline_polygons": int(polygons or 0),
        "townships": int(townships or 0),
        "vertices": int(vertices or 0),
    }


def run_setup(database_url: str) -> None:
    """`redline setup` on the database: migrations, catalog, reference data, admin key."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    code = "from app.cli import app; app()"
    subprocess.run([sys.executable, "-c", code, "setup"], cwd=ROOT, env=env, check=True)


@contextmanager
def app_database(database_url: str) -> Iterator[None]:
    """The app's settings and engine pointed at this database for the duration."""
    from app.config import get_settings
    from app.store.db import get_engine

    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        yield
    finally:
        get_engine().dispose()
        if before is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = before
        get_settings.cache_clear()
        get_engine.cache_clear()


# ---------------------------------------------------------------- geometry of a copy


class CopyPlan:
    """Where copy k goes and how it is bent: an offset and a smooth displacement field."""

    def __init__(self, k: int, offset: tuple[float, float]) -> None:
        self.k = k
        self.offset = offset
        rng = np.random.default_rng(SEED + k)
        # (amplitude °, wavelength range °): ~500 m over tens of km, ~150 m over 5-10 km.
        # Their summed slope stays under 1, so the map is one-to-one (no new overlaps).
        waves = []
        for amplitude, (lo, hi) in ((0.005, (0.3, 0.6)), (0.0015, (0.05, 0.1))):
            for _ in range(2):
                angle = rng.uniform(0, 2 * np.pi)
                number = 2 * np.pi / rng.uniform(lo, hi)
                waves.append(
                    (
                        amplitude,
                        number * np.cos(angle),
                        number * np.sin(angle),
                        rng.uniform(0, 2 * np.pi),
                        rng.uniform(0, 2 * np.pi),
                    )
                )
        self.waves = waves

    def move(self, coords: np.ndarray) -> np.ndarray:
        """Bend, then shift, an (n, 2) array of lon/lat."""
        x, y = coords[:, 0], coords[:, 1]
        dx = np.zeros_like(x)
        dy = np.zeros_like(y)
        for amplitude, kx, ky, px, py in self.waves:
            phase = kx * x + ky * y
            dx += amplitude * np.sin(phase + px)
            dy += amplitude * np.sin(phase + py)
        return np.column_stack((x + dx + self.offset[0], y + dy + self.offset[1]))

    def geometries(self, geoms: np.ndarray, densify: bool) -> np.ndarray:
        """The copies of geometries: densified, bent, shifted, valid."""
        if densify:
            geoms = shapely.segmentize(geoms, SEGMENT_DEG)
        moved = shapely.transform(geoms, self.move)
        bad = ~shapely.is_valid(moved)
        if bad.any():
            moved[bad] = [_polygonal(shapely.make_valid(g), g) for g in moved[bad]]
        return moved


def _polygonal(fixed: shapely.Geometry, like: shapely.Geometry) -> shapely.Geometry:
    """make_valid's result of the same dimension as the original (drop stray lines)."""
    if fixed.geom_type != "GeometryCollection":
        return fixed
    dim = shapely.get_dimensions(like)
    parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dim]
    return shapely.union_all(parts)


def placements(extent: tuple[float, float, float, float], count: int) -> list[tuple[float, float]]:
    """Offsets of `count` copies: grid cells of the reference's size, nearest first."""
    x0, y0, x1, y1 = extent
    width, height = x1 - x0 + 0.5, y1 - y0 + 0.5
    bx0, by0, bx1, by1 = PLACEMENT_BOX
    cells = []
    for i in range(-40, 41):
        for j in range(-40, 41):
            dx, dy = i * width, j * height
            inside = bx0 <= x0 + dx and x1 + dx <= bx1 and by0 <= y0 + dy and y1 + dy <= by1
            if (i, j) != (0, 0) and inside:
                cells.append((i * i + j * j, i, j, dx, dy))
    cells.sort()
    if len(cells) < count:
        raise SystemExit(f"only {len(cells)} copies fit in China's box; factor too large")
    return [(dx, dy) for _, _, _, dx, dy in cells[:count]]


def redline_patches(geoms: np.ndarray, attrs: list[dict], k: int) -> tuple[np.ndarray, list[dict]]:
    """The redline cut by a Voronoi tessellation seeded inside it: ~REDLINE_PATCHES patches
    per copy, as provincial redline data is many patches, each keeping its parent's fields."""
    rng = np.random.default_rng(SEED * 7 + k)
    whole = shapely.union_all(geoms)
    x0, y0, x1, y1 = whole.bounds
    shapely.prepare(whole)
    seeds: list[shapely.Point] = []
    while len(seeds) < REDLINE_PATCHES:
        points = shapely.points(rng.uniform(x0, x1, 4096), rng.uniform(y0, y1, 4096))
        seeds.extend(points[shapely.contains(whole, points)][: REDLINE_PATCHES - len(seeds)])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.box(*whole.bounds))
    )
    tree = shapely.STRtree(cells)
    out_geoms: list[shapely.Geometry] = []
    out_attrs: list[dict] = []
    for geom, attr in zip(geoms, attrs, strict=True):
        for n, cell in enumerate(tree.query(geom, predicate="intersects"), start=1):
            piece = shapely.intersection(geom, cells[cell])
            polygons = [
                p for p in shapely.get_parts(piece) if p.geom_type == "Polygon" and p.area > 1e-8
            ]
            if polygons:
                out_geoms.append(shapely.multipolygons(polygons))
                out_attrs.append({**attr, "code": f"{attr['code']}-{n:03d}"})
    return np.array(out_geoms, dtype=object), out_attrs


# ---------------------------------------------------------------- attributes of a copy


class Renumbering:
    """Codes of copy k: each reference city's 4-digit prefix becomes a made-up 9xxx one."""

    def __init__(self, counties: list[dict], k: int) -> None:
        cities = sorted({c["city_code"] for c in counties})
        mapping: dict[str, str] = {}
        for index, city in enumerate(cities):
            prefix = f"{9000 + (k - 1) * len(cities) + index}"
            mapping[city] = prefix + "00"
            for county in counties:
                if county["city_code"] == city:
                    mapping[county["code"]] = prefix + county["code"][4:]
        self.mapping = mapping
        self.pattern = re.compile("|".join(sorted(mapping, key=len, reverse=True)))
        self.k = k

    def attributes(self, attrs: dict, key: list[str]) -> dict:
        """The copy's attributes: codes renumbered; a key of names only is tagged with the
        feature's city and the copy (巴河（巴中市模拟07）)."""
        out = {
            name: self.pattern.sub(lambda m: self.mapping[m.group(0)], v)
            if isinstance(v, str)
            else v
            for name, v in attrs.items()
            if name != HOME
        }
        if key and all(out.get(f) == attrs.get(f) for f in key) and isinstance(out[key[0]], str):
            out[key[0]] += f"（{attrs[HOME]}模拟{self.k:02d}）"
        return out


# ---------------------------------------------------------------- one layer


def _reference_features(session: Any, layer_id: str) -> tuple[np.ndarray, list[dict]]:
    """The active version's features; each attribute dict carries its city as HOME."""
    from sqlalchemy import text

    rows = session.execute(
        text(
            "SELECT f.attributes, ST_AsBinary(f.geom) AS wkb, c.attributes->>'city' AS city "
            "FROM feature f JOIN layer l ON l.active_version_id = f.version_id "
            "LEFT JOIN LATERAL (SELECT a.attributes FROM feature a JOIN layer al "
            "  ON al.id = 'admin_county' AND al.active_version_id = a.version_id "
            "  WHERE a.county_code = f.county_code LIMIT 1) c ON true "
            "WHERE l.id = :l ORDER BY f.ordinal"
        ),
        {"l": layer_id},
    ).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
    return np.asarray(geoms, dtype=object), [{**r.attributes, HOME: r.city or ""} for r in rows]


def reference_attributes(attrs: list[dict], key: list[str]) -> list[dict]:
    """The reference features as they are, but a key repeated in another region (巴河 flows
    through 巴中 and 达州) names that region: one whole-layer file needs unique keys."""
    seen: set[tuple] = set()
    out = []
    for attr in attrs:
        row = {k: v for k, v in attr.items() if k != HOME}
        ident = tuple(row.get(f) for f in key)
        if key and ident in seen and isinstance(row.get(key[0]), str):
            row[key[0]] += f"（{attr[HOME]}）"
        seen.add(tuple(row.get(f) for f in key))
        out.append(row)
    return out


def _plain(attrs: dict) -> dict:
    # Yes/no fields as text: GDAL reads a boolean column with gaps (dazhou's townships have
    # no ●/○ marks) as floats, which the catalog refuses; "true"/"false" reads back the same.
    return {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in attrs.items()}


def _write_geojson(path: Path, geoms: np.ndarray, attrs: list[dict]) -> None:
    shapes = shapely.to_geojson(geoms)
    with path.open("wb") as fh:
        fh.write(b'{"type":"FeatureCollection","features":[\n')
        for i, (shape, attr) in enumerate(zip(shapes, attrs, strict=True)):
            if i:
                fh.write(b",\n")
            fh.write(b'{"type":"Feature","properties":')
            fh.write(orjson.dumps(_plain(attr)))
            fh.write(b',"geometry":' + shape.encode() + b"}")
        fh.write(b"\n]}\n")


def scaled_layer(
    layer_id: str,
    geoms: np.ndarray,
    attrs: list[dict],
    plans: list[CopyPlan],
    renumber: list[Renumbering],
    key: list[str],
    limits: Any,
) -> tuple[np.ndarray, list[dict]]:
    """The reference features followed by every copy's, within the layer's import limits."""
    copies = len(plans)
    max_features = int(limits.max_features * LIMIT_SHARE)
    keep = max(0, min(len(geoms), (max_features - len(geoms)) // copies)) if copies else 0
    # Densify only while the layer stays under its vertex limit.
    base = int(shapely.get_num_coordinates(geoms).sum())
    dense = int(shapely.get_num_coordinates(shapely.segmentize(geoms, SEGMENT_DEG)).sum())
    densify = base + copies * dense * keep / max(len(geoms), 1) <= limits.max_vertices * LIMIT_SHARE
    out_geoms = [geoms]
    out_attrs = reference_attributes(attrs, key)
    for plan, codes in zip(plans, renumber, strict=True):
        rng = np.random.default_rng(SEED * 3 + plan.k)
        chosen = np.sort(rng.choice(len(geoms), keep, replace=False)) if keep < len(geoms) else None
        g = geoms if chosen is None else geoms[chosen]
        a = attrs if chosen is None else [attrs[i] for i in chosen]
        if layer_id == "redline":
            g, a = redline_patches(g, a, plan.k)
        out_geoms.append(plan.geometries(g, densify))
        out_attrs.extend(codes.attributes(x, key) for x in a)
    return np.concatenate(out_geoms), out_attrs


# ---------------------------------------------------------------- the build


def _tracker(bar: Progress, layer: str) -> tuple[Any, dict[str, int]]:
    """An import progress callback drawing one bar per stage, and its bars."""
    stages: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in stages:
            stages[stage] = bar.add_task(f"  {layer} {stage}", total=total)
        bar.update(stages[stage], completed=done, total=total)

    return progress, stages


def _layer_order(present: list[str]) -> list[str]:
    units = [u for u in UNIT_ORDER if u in present]
    return units + [layer for layer in present if layer not in units]


def _scale_layers(factor: int, database_url: str, bar: Progress) -> dict[str, dict]:
    from sqlalchemy import text

    from app.catalog import get_layer_spec
    from app.config import get_settings
    from app.store.db import session_scope
    from app.store.imports import ImportRequest, import_file

    work = get_settings().var_dir / "bench" / f"scale-{make_url(database_url).database}"
    work.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        present = list(
            session.scalars(
                text("SELECT id FROM layer WHERE active_version_id IS NOT NULL ORDER BY id")
            )
        )
        reference = {layer: _reference_features(session, layer) for layer in present}
    counties = reference["admin_county"][1]
    extent = tuple(shapely.total_bounds(np.concatenate([g for g, _ in reference.values()])))
    offsets = placements(extent, factor - 1)  # type: ignore[arg-type]
    plans = [CopyPlan(k, offset) for k, offset in enumerate(offsets, start=1)]
    renumber = [Renumbering(counties, plan.k) for plan in plans]
    layers_task = bar.add_task("layers", total=len(present))
    report: dict[str, dict] = {}
    for layer_id in _layer_order(present):
        spec = get_layer_spec(layer_id)
        started = time.perf_counter()
        geoms, attrs = reference[layer_id]
        geoms, attrs = scaled_layer(
            layer_id, geoms, attrs, plans, renumber, list(spec.key), spec.limits
        )
        path = work / f"{layer_id}.geojson"
        _write_geojson(path, geoms, attrs)
        generated = time.perf_counter()
        progress, stages = _tracker(bar, layer_id)
        request = ImportRequest(
            layer_id=layer_id,
            path=path,
            crs="EPSG:4490",
            note=f"基准测试数据：参考数据 ×{factor}（scripts/bench/scale.py 第 {REVISION} 版）",
            actor="bench-scale",
            source_name=f"bench-scale-{factor}x/{layer_id}.geojson",
            confirm=True,
        )
        with session_scope() as session:
            version = import_file(session, request, progress)
        path.unlink()
        for task in stages.values():
            bar.remove_task(task)
        report[layer_id] = {
            "features": int(version.feature_count),
            "vertices": int(shapely.get_num_coordinates(geoms).sum()),
            "polygons": int(shapely.get_num_geometries(geoms).sum()),
            "generate_s": round(generated - started, 2),
            "import_s": round(time.perf_counter() - generated, 2),
        }
        bar.advance(layers_task)
        console.print(
            f"{layer_id}: {report[layer_id]['features']} features, "
            f"{report[layer_id]['vertices']} vertices, generated in "
            f"{report[layer_id]['generate_s']} s, imported in {report[layer_id]['import_s']} s"
        )
    return report


def build(factor: int, database_url: str) -> dict:
    """Build (or reuse) the data at `factor` × the reference in the database; a summary of it.

    Returns {factor, revision, database, reused, seconds, layers: {id: {features, vertices,
    polygons, generate_s, import_s}}, redline_polygons, vertices}.
    """
    if factor < 1:
        raise SystemExit("factor must be 1 or more")
    marker = read_marker(database_url)
    if marker and marker.get("factor") == factor and marker.get("revision") == REVISION:
        # Setup is idempotent: it applies newer migrations and re-imports a reference raster
        # whose file is gone (the build may have run in another checkout).
        run_setup(database_url)
        return {**marker, "reused": True}
    started = time.perf_counter()
    name = make_url(database_url).database or ""
    if marker is not None or name.startswith("redline_bench_"):
        fresh_database(database_url)
    console.print(f"{name}: reference data (redline setup)")
    run_setup(database_url)
    setup_s = time.perf_counter() - started
    layers: dict[str, dict] = {}
    if factor > 1:
        with (
            app_database(database_url),
            Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as bar,
        ):
            layers = _scale_layers(factor, database_url, bar)
    result = {
        "generator": GENERATOR,
        "factor": factor,
        "revision": REVISION,
        "database": name,
        "setup_s": round(setup_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "layers": layers,
        **data_counts(database_url),
    }
    _write_marker(database_url, result)
    return {**result, "reused": False}


def main() -> None:
    """CLI: build one factor and print how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factor", type=int, required=True, help="1, 10 or 100")
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL (default: redline_bench_<N>x on the local cluster)"
    )
    args = parser.parse_args()
    result = build(args.factor, args.database_url or local_url(args.factor))
    verb = "reused" if result["reused"] else "built"
    console.print(
        f"{result['database']}: {args.factor}× {verb} in {result['seconds']} s; "
        f"redline polygons {result['redline_polygons']}, vertices {result['vertices']}"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
