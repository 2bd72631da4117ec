"""Domain errors that carry an RFC 9457 problem description (type, title, detail)."""

from typing import Any


class RedlineError(Exception):
    """An error a user can act on; rendered as application/problem+json."""

    status: int = 400
    type: str = "about:blank"
    title: str = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem body: type, title, status, detail and any extra members."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def _problem(slug: str) -> str:
    return f"https://redline.example.org/problems/{slug}"


class NotFound(RedlineError):
    """Something named in the request does not exist (404)."""

    status = 404
    type = _problem("not-found")
    title = "Not found"


class UnknownLayer(NotFound):
    """The layer id is not in the catalog (404)."""

    type = _problem("unknown-layer")
    title = "Unknown layer"


class InvalidInput(RedlineError):
    """The request or its file cannot be used as given (422)."""

    status = 422
    type = _problem("invalid-input")
    title = "The input cannot be used"


class UnreadableFile(InvalidInput):
    """The uploaded file is not in a format that can be read (422)."""

    type = _problem("unreadable-file")
    title = "The file cannot be read"


class CrsError(InvalidInput):
    """The source CRS is missing, unknown or not supported (422)."""

    type = _problem("crs")
    title = "The coordinate reference system is missing or not supported"


class ImportRejected(InvalidInput):
    """The file was read but its content is invalid; the import changed nothing (422)."""

    type = _problem("import-rejected")
    title = "The import was rejected; nothing was changed"
