"""The one statement that files a screening and, for an API request, its audit entry.

One round trip instead of two: the audit row is inserted from the screening row the same
statement returns, so both commit (or neither) with the request's transaction.
"""

from typing import Any

import orjson
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.store.models import current_request
from app.store.raw import RawStatement

_FILE = RawStatement(
    text("""
WITH filed AS (
  INSERT INTO screening (id, created_by, project_name, project_category, buffer_m, verdict,
                         officer, inputs, layer_versions, geom, result)
  VALUES (:id, :created_by, :project_name, :project_category, :buffer_m, :verdict, :officer,
          CAST(:inputs AS jsonb), CAST(:layer_versions AS jsonb),
          ST_GeomFromWKB(:geom, 4490), CAST(:result AS jsonb))
  RETURNING id
)
INSERT INTO audit_log (actor, action, target, outcome, detail, request_id, client_addr)
SELECT :actor, 'screening', filed.id, 'ok', CAST(:detail AS jsonb), :request_id, :client_addr
FROM filed WHERE :audited
""").execution_options(on_primary=True)  # a write: never sent to a read replica
)


def file_screening(
    session: Session,
    values: dict[str, Any],
    geometry: shapely.Geometry,
    result_json: bytes,
    audit_actor: str | None,
) -> None:
    """Insert the screening (VALUES: its columns as service.screening_values gives them) at
    GEOMETRY with RESULT_JSON as filed; with AUDIT_ACTOR, log who filed it and the
    verdict, with the request's id and client address."""
    info = current_request.get()
    _FILE.execute(
        session,
        {
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
