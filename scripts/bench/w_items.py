"""OGC API - Features items pages: Redline's /ogc against tipg over the same tables.

Groups "items <collection> first page" and "items <collection> deep page" (the last full
page), tipg as anchor. Both answer in CRS84 with the same page size, the same features (file
order is id order) and the same properties (the catalog attributes and the measure; tipg adds
`id` and per-feature links), without compression (`Accept-Encoding: identity`).
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from cases import Case, Ctx
from tipg_anchor import collection_id

COLLECTIONS = ("farmland", "redline", "township", "control_unit", "protected_area", "river")
LIMIT = 100
IDENTITY = {"Accept-Encoding": "identity"}


def feature_counts(dsn: str) -> dict[str, int]:
    """Features of each layer's active version."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT l.id, v.feature_count FROM layer AS l "
            "JOIN layer_version AS v ON v.id = l.active_version_id"
        ).fetchall()
    return dict(rows)


def _getter(client: httpx.Client, url: str, params: dict[str, Any], expect: int) -> Any:
    def run() -> int:
        response = client.get(url, params=params, headers=IDENTITY)
        if response.status_code != 200:
            raise RuntimeError(f"GET {response.url}: {response.status_code} {response.text[:200]}")
        # Checked without parsing: the client's JSON decoding is not the server's time.
        if f'"numberReturned":{expect},'.encode() not in response.content:
            raise RuntimeError(f"GET {response.url}: not {expect} features")
        return len(response.content)

    return run


def _key_headers(ctx: Ctx) -> dict[str, str]:
    """No key while reads are open (GIS clients, like tipg's, send none), else the admin key."""
    with httpx.Client(timeout=60) as probe:
        if probe.get(f"{ctx.redline_url}/ogc/conformance").status_code != 401:
            return {}
    return {"X-API-Key": ctx.api_key}


def cases(ctx: Ctx) -> list[Case]:
    """The first page and the last full page of several collections, Redline beside tipg."""
    if ctx.tipg_url is None:
        return []
    redline = httpx.Client(headers=_key_headers(ctx), timeout=60)
    tipg = httpx.Client(timeout=60)
    counts = feature_counts(ctx.dsn)
    found: list[Case] = []
    for layer in COLLECTIONS:
        matched = counts.get(layer, 0)
        if matched == 0:
            continue
        pages = {"first page": 0}
        if matched > 2 * LIMIT:
            pages["deep page"] = matched - LIMIT
        for page, offset in pages.items():
            params = {"limit": LIMIT, "offset": offset}
            expect = min(LIMIT, matched - offset)
            group = f"items {layer} {page}"
            ours = f"{ctx.redline_url}/ogc/collections/{layer}/items"
            theirs = f"{ctx.tipg_url}/collections/{collection_id(layer)}/items"
            found.append(Case(group, "redline", _getter(redline, ours, params, expect)))
            found.append(Case(group, "tipg", _getter(tipg, theirs, params, expect), anchor=True))
    return found
