"""Vector tiles: Redline against tipg over the same tables (scripts/bench/tipg_anchor.py).

Groups, each with tipg as anchor:
- "tiles z8|z12|z14 cache off (<layer>)": one tile of farmland, redline and township at each
  zoom, from the Redline instance started with `REDLINE_TILE_CACHE_TILES=0`
  (`ctx.extra["redline_nocache_url"]`), so every request renders in PostGIS;
- "tiles cache hit (<layer>)": the same z12 tile from the normal instance, already cached.
Figures: throughput on a cache hit at 16 connections (wrk), Redline beside tipg.

Both get the same tile of the same layer version with the same properties (fid/id and the
catalog attributes), without compression (`Accept-Encoding: identity`: tipg would gzip).
Each tile is the one holding most vertices of the layer at that zoom, so it is a dense one
at every data scale.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from collections import Counter
from typing import Any

import httpx
import psycopg
from cases import Case, Ctx, Figure
from tipg_anchor import collection_id

LAYERS = ("farmland", "redline", "township")
ZOOMS = (8, 12, 14)
HIT_ZOOM = 12
IDENTITY = {"Accept-Encoding": "identity"}
WRK_CONNECTIONS = 16
WORLD_M = 20037508.342789244  # half the WebMercatorQuad width, metres

# Vertices of the layer's active version per z14 tile (Web Mercator), at most 200 000 sampled.
_VERTICES_PER_TILE = """
WITH pts AS (
    SELECT ST_Transform((ST_DumpPoints(f.geom)).geom, 3857) AS p
      FROM feature AS f JOIN layer AS l ON l.active_version_id = f.version_id
     WHERE l.id = %(layer)s
     LIMIT 200000
)
SELECT floor((ST_X(p) + %(half)s) / %(w)s)::int AS x,
       floor((%(half)s - ST_Y(p)) / %(w)s)::int AS y,
       count(*) AS n
  FROM pts GROUP BY 1, 2
"""


def densest_tiles(dsn: str, layer: str) -> dict[int, tuple[int, int]]:
    """Per zoom in ZOOMS, the (x, y) of the tile holding most of the layer's vertices."""
    width14 = 2 * WORLD_M / 2**14
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            _VERTICES_PER_TILE, {"layer": layer, "half": WORLD_M, "w": width14}
        ).fetchall()
    if not rows:
        return {}
    found = {}
    for z in ZOOMS:
        shift = 14 - z
        counts: Counter[tuple[int, int]] = Counter()
        for x, y, n in rows:
            counts[(x >> shift, y >> shift)] += n
        found[z] = counts.most_common(1)[0][0]
    return found


def tile_properties(dsn: str, layer: str) -> list[str]:
    """The columns tipg puts in the tile: the id and the catalog attributes, as Redline does."""
    with psycopg.connect(dsn) as conn:
        spec = conn.execute("SELECT spec FROM layer WHERE id = %s", (layer,)).fetchone()[0]
    return ["id", *(a["name"] for a in spec.get("attributes", []))]


def _getter(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> Any:
    def run() -> int:
        response = client.get(url, params=params, headers=IDENTITY)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"GET {response.url}: {response.status_code} {response.text[:200]}")
        return len(response.content)

    return run


def _redline_url(base: str, layer: str, z: int, xy: tuple[int, int]) -> str:
    return f"{base}/tiles/{layer}/{z}/{xy[0]}/{xy[1]}.mvt"


def _tipg_url(base: str, layer: str, z: int, xy: tuple[int, int]) -> str:
    return f"{base}/collections/{collection_id(layer)}/tiles/WebMercatorQuad/{z}/{xy[0]}/{xy[1]}"


def _tipg_client() -> httpx.Client:
    return httpx.Client(timeout=60)


def _key_headers(ctx: Ctx) -> dict[str, str]:
    """No key while reads are open (map clients, like tipg's, send none): a key would add its
    lookup to every request. Else the admin key."""
    with httpx.Client(timeout=60) as probe:
        if probe.get(f"{ctx.redline_url}/tiles/style.json").status_code != 401:
            return {}
    return {"X-API-Key": ctx.api_key}


def _redline_client(ctx: Ctx) -> httpx.Client:
    return httpx.Client(headers=_key_headers(ctx), timeout=60)


def cases(ctx: Ctx) -> list[Case]:
    """Tiles cache off at z8/z12/z14 and cache hits, per layer, Redline beside tipg."""
    if ctx.tipg_url is None:
        return []
    redline, tipg = _redline_client(ctx), _tipg_client()
    nocache = ctx.extra.get("redline_nocache_url")
    found: list[Case] = []
    for layer in LAYERS:
        tiles = densest_tiles(ctx.dsn, layer)
        if not tiles:
            continue
        props = {"properties": ",".join(tile_properties(ctx.dsn, layer))}
        for z in ZOOMS if nocache else ():
            group = f"tiles z{z} cache off ({layer})"
            url = _redline_url(nocache, layer, z, tiles[z])
            found.append(Case(group, "redline", _getter(redline, url)))
            tipg_url = _tipg_url(ctx.tipg_url, layer, z, tiles[z])
            found.append(Case(group, "tipg", _getter(tipg, tipg_url, props), anchor=True))
        group = f"tiles cache hit ({layer})"
        hit = _getter(redline, _redline_url(ctx.redline_url, layer, HIT_ZOOM, tiles[HIT_ZOOM]))
        hit()  # cached from now on
        found.append(Case(group, "redline (cached)", hit, repeat=100))
        tipg_url = _tipg_url(ctx.tipg_url, layer, HIT_ZOOM, tiles[HIT_ZOOM])
        found.append(Case(group, "tipg", _getter(tipg, tipg_url, props), anchor=True, repeat=100))
    return found


def wrk_rate(url: str, seconds: int, headers: dict[str, str]) -> float:
    """Requests per second of `wrk` at WRK_CONNECTIONS connections (2 threads) on one URL."""
    command = ["wrk", "-t2", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: \d+", out):
        raise RuntimeError(f"wrk {url}: error responses\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk {url}: no rate in its output\n{out}")
    return float(match[1])


def figures(ctx: Ctx) -> list[Figure]:
    """Cache-hit throughput at 16 connections of the densest z12 farmland tile: Redline
    (cached) and tipg, in alternating wrk runs; the median of each."""
    if ctx.tipg_url is None or shutil.which("wrk") is None:
        return []
    seconds = int(ctx.extra.get("wrk_seconds", 10))
    rounds = int(ctx.extra.get("wrk_rounds", 3))
    layer = "farmland"
    xy = densest_tiles(ctx.dsn, layer)[HIT_ZOOM]
    props = ",".join(tile_properties(ctx.dsn, layer))
    key = _key_headers(ctx)
    targets = {
        "redline (cached)": (
            _redline_url(ctx.redline_url, layer, HIT_ZOOM, xy),
            {**IDENTITY, **key},
        ),
        "tipg": (f"{_tipg_url(ctx.tipg_url, layer, HIT_ZOOM, xy)}?properties={props}", IDENTITY),
    }
    _getter(_redline_client(ctx), targets["redline (cached)"][0])()  # fill the cache
    rates: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (url, headers) in targets.items():
            rates[name].append(wrk_rate(url, seconds, headers))
    group = f"tiles cache hit throughput, {WRK_CONNECTIONS} connections ({layer} z{HIT_ZOOM})"
    return [
        Figure(
            group,
            name,
            statistics.median(values),
            "req/s",
            anchor=name == "tipg",
            detail={"runs": values, "seconds": seconds, "tile": [HIT_ZOOM, *xy]},
        )
        for name, values in rates.items()
    ]
