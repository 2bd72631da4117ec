"""OpenAPI descriptions of the routes that answer with a file instead of JSON."""

from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _schema(media_type: str) -> dict[str, Any]:
    # A JSON file here is always a table (batch rows); other text formats are strings and
    # everything else (PDF, PNG, XLSX, GeoPackage, zip) is bytes.
    if media_type == "application/json":
        return {"type": "array", "items": {"type": "object"}}
    if media_type.startswith("text/") or media_type.endswith(("+xml", "+json")):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


def file_response(*media_types: str, description: str = "A file") -> dict[int | str, Any]:
    """`responses=` entry for a 200 whose body is a file of one of these media types."""
    content = {m: {"schema": _schema(m)} for m in media_types}
    return {200: {"description": description, "content": content}}
