"""OpenAPI descriptions of the routes that answer with a file instead of JSON."""

from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _schema(media_type: str) -> dict[str, Any]:
    # Text formats are strings; everything else (PDF, PNG, XLSX, GeoPackage, zip) is bytes.
    if media_type.startswith("text/") or media_type.endswith(("+xml", "+json")):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


def file_response(
    *media_types: str, description: str = "A file", json_model: Any = None
) -> dict[int | str, Any]:
    """`responses=` entry for a 200 whose body is a file of one of these media types.

    A JSON file is described by `json_model` (FastAPI files it under application/json).
    """
    content = {m: {"schema": _schema(m)} for m in media_types if m != "application/json"}
    response: dict[str, Any] = {"description": description, "content": content}
    if json_model is not None:
        response["model"] = json_model
    return {200: response}
