"""The one statement that files a screening and, for an API request, its audit entry.

One round trip instead of two: the audit row is inserted from the screening row the same
statement returns, so both commit (or neither) with the request's transaction.
"""

from typing import Any

import orjson
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.catalog import catalog, raster_catalog
from app.store.models import current_request
from app.store.raw import RawStatement

_COLUMNS = """
INSERT INTO screening (id, created_by, project_name, project_category, buffer_m, verdict,
                       officer, inputs, layer_versions, geom, result)
"""
_VALUES = """
SELECT :id, :created_by, :project_name, :project_category, :buffer_m, :verdict, :officer,
       CAST(:inputs AS json), CAST(:layer_versions AS json),
       ST_GeomFromWKB(:geom, 4490), CAST(:result AS json)
"""
# Filed only if the versions a screening read are still the active ones (a screening read
# from memory, app.screening.point_cells: no statement of its own told which were).
_STILL_ACTIVE = """
WHERE (SELECT coalesce(jsonb_object_agg(id, active_version_id), '{}') FROM layer
       WHERE active_version_id IS NOT NULL AND id = ANY(:layer_ids)) = CAST(:layers AS jsonb)
  AND (SELECT coalesce(jsonb_object_agg(raster_id, id), '{}') FROM raster_version
       WHERE status = 'active' AND raster_id = ANY(:raster_ids)) = CAST(:rasters AS jsonb)
"""
_AUDIT = """
RETURNING id
), logged AS (
INSERT INTO audit_log (actor, action, target, outcome, detail, request_id, client_addr)
SELECT :actor, 'screening', filed.id, 'ok', CAST(:detail AS jsonb), :request_id, :client_addr
FROM filed WHERE :audited
)
SELECT count(*) FROM filed
"""


def _statement(checked: bool) -> RawStatement:
    body = "WITH filed AS (" + _COLUMNS + _VALUES + (_STILL_ACTIVE if checked else "") + _AUDIT
    # A write: never sent to a read replica.
    return RawStatement(text(body).execution_options(on_primary=True))


_FILE = _statement(checked=False)
_FILE_CHECKED = _statement(checked=True)


def file_screening(
    session: Session,
    values: dict[str, Any],
    geometry: shapely.Geometry,
    result_json: bytes,
    audit_actor: str | None,
    still_active: tuple[dict[str, int], dict[str, int]] | None = None,
) -> bool:
    """Insert the screening (VALUES: its columns as service.screening_values gives them) at
    GEOMETRY with RESULT_JSON as filed; with AUDIT_ACTOR, log who filed it and the
    verdict, with the request's id and client address. STILL_ACTIVE: the (layer, raster)
    versions it read, filed only while they are the catalog's active ones. Whether filed."""
    info = current_request.get()
    checks: dict[str, Any] = {}
    if still_active is not None:
        layers, rasters = still_active
        checks = {
            "layer_ids": list(catalog()),
            "layers": orjson.dumps(layers).decode(),
            "raster_ids": list(raster_catalog()),
            "rasters": orjson.dumps(rasters).decode(),
        }
    cursor = (_FILE if still_active is None else _FILE_CHECKED).execute(
        session,
        {
            **checks,
            **values,
            "inputs": orjson.dumps(values["inputs"]).decode(),
            "layer_versions": orjson.dumps(values["layer_versions"]).decode(),
            "geom": shapely.to_wkb(geometry),
            "result": result_json.decode(),
            "audited": audit_actor is not None,
            "actor": audit_actor,
            "detail": orjson.dumps({"verdict": values["verdict"]}).decode(),
            "request_id": info.request_id if info is not None else None,
            "client_addr": info.client_addr if info is not None else None,
        },
    )
    return cursor.fetchone()[0] == 1
