"""Filing many screenings at once: one COPY per chunk, replacing rows filed under the same ids.

A batch row's id is derived from its job and row (batch.screening_id), so a job run again
after its worker died files each row once: the rows of the earlier run are deleted in the
same transaction as the new ones are copied in. What the rows share is filed once, as parts
(app.screening.filed_parts), in the same transaction.
"""

import hashlib
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy.orm import Session

from app.screening.filed_parts import PartEncoder
from app.screening.models import ScreeningResult
from app.screening.service import ScreeningRequest, fields_of, screening_values

_COLUMNS = (
    "id",
    "created_by",
    "project_name",
    "project_category",
    "buffer_m",
    "verdict",
    "officer",
    "inputs",
    "layer_versions",
    "geom",
    "result",
)
_COPY = f"COPY screening ({', '.join(_COLUMNS)}) FROM STDIN"
_JSON = ("inputs", "layer_versions")
_KNOWN_PARTS = "SELECT id FROM screening_part WHERE id = ANY(%s)"
# Parts in id order: two transactions filing the same new parts never wait on each other
# in a cycle.
_PARTS = """
INSERT INTO screening_part (id, body)
SELECT id, body FROM unnest(%s::text[], %s::jsonb[]) AS p(id, body) ORDER BY id
ON CONFLICT (id) DO NOTHING
"""


def _ewkb(geoms: list[shapely.Geometry]) -> list[str]:
    """The sites as hex EWKB in EPSG:4490, as the geometry column reads text."""
    tagged = shapely.set_srid(np.asarray(geoms, dtype=object), 4490)
    return shapely.to_wkb(tagged, hex=True, include_srid=True).tolist()


# What a batch files per row: the request, and its result (or the result's fields,
# service.result_fields).
Filed = list[tuple[ScreeningRequest, ScreeningResult | dict[str, Any]]]


def _row(
    req: ScreeningRequest, res: ScreeningResult | dict[str, Any], ewkb: str, parts: PartEncoder
) -> tuple[Any, ...]:
    """One screening's columns, as COPY sends them (JSON as text, geometry as EWKB)."""
    values = screening_values(req, res)
    values["geom"] = ewkb
    for key in _JSON:
        values[key] = orjson.dumps(values[key]).decode()
    encoded = parts.encode_fields(res) if isinstance(res, dict) else parts.encode(res)
    values["result"] = encoded.decode()
    return tuple(values[c] for c in _COLUMNS)


def file_screenings(
    session: Session,
    filed: Filed,
    replacing: list[str] | None = None,
    known: frozenset[str] | set[str] = frozenset(),
    parts: PartEncoder | None = None,
) -> list[str]:
    """File each (request, result) as screen_site files one, in one COPY, in the session's
    transaction; screenings already filed under their ids or under REPLACING are deleted.
    KNOWN: parts committed already (not looked up again). PARTS: the encoder (one kept from
    earlier chunks of a batch: what it encoded then is not encoded again). The ids of every
    part the encoder holds: committed with the session's transaction."""
    stale = sorted({*(replacing or []), *(fields_of(r)["id"] for _, r in filed)})
    if not stale:
        return []
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM screening WHERE id = ANY(%s)", (stale,))
        if not filed:
            return []
        sites = _ewkb([req.site.geometry for req, _ in filed])
        parts = parts if parts is not None else PartEncoder()
        rows = [_row(req, res, ewkb, parts) for (req, res), ewkb in zip(filed, sites, strict=True)]
        # Most parts were filed by an earlier chunk or batch: only the others are sent.
        new = _unfiled(cursor, [i for i in parts.parts if i not in known])
        if new:
            cursor.execute(_PARTS, (new, [parts.parts[i].decode() for i in new]))
        with cursor.copy(_COPY) as copy:
            for row in rows:
                copy.write_row(row)
    return list(parts.parts)


def _unfiled(cursor: Any, ids: list[str]) -> list[str]:
    """Of the part ids IDS, those not filed yet, in order."""
    if not ids:
        return []
    cursor.execute(_KNOWN_PARTS, (ids,))
    return sorted(set(ids) - {i for (i,) in cursor.fetchall()})


def screening_id(batch: str, row: int) -> str:
    """The id a batch row is filed under: the same on every run of the job, so a job run
    again (its worker died) replaces its rows instead of filing them twice. The batch's own
    prefix (64 bits of its hash) then the row number: a chunk's rows are neighbours in the
    primary key's index, where random ids touched a page of it per row (filing 20 % slower
    once the index outgrew the server's buffers)."""
    return f"{_batch_prefix(batch)}{row:06x}"


@lru_cache(maxsize=64)
def _batch_prefix(batch: str) -> str:
    return hashlib.sha256(batch.encode()).hexdigest()[:16]


def filed_ids(source: dict[str, Any], rows: range) -> list[str]:
    """Every row's filed id, error rows too: a row screened in an earlier run of the job and
    refused in this one leaves no screening behind."""
    batch_id = source.get("batch")
    return [screening_id(batch_id, i + 1) for i in rows] if batch_id else []
