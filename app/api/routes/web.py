"""The map page at / and its static files (MapLibre from the npm build, no CDN)."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app.api.auth import settings_of
from app.errors import NotFound

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = WEB / "node_modules" / "maplibre-gl" / "dist"

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    """The map page (not part of the API document)."""
    return FileResponse(WEB / "static" / "index.html")


@router.get("/web/config.json")
def page_config(request: Request) -> dict[str, Any]:
    """What the page shows beyond the API: whether a basemap is configured, and its credit.

    The basemap's URL itself is in /tiles/style.json; this only tells the page to offer a
    toggle for it (nothing when none is set, so the page stays offline by default).
    """
    settings = settings_of(request)
    return {
        "basemap": bool(settings.basemap_url),
        "basemap_attribution": settings.basemap_attribution if settings.basemap_url else None,
    }


def mount_static(app: FastAPI) -> None:
    """Our page files, and MapLibre's build from node_modules (installed by `make web`)."""
    if VENDOR.exists():
        app.mount("/static/vendor", StaticFiles(directory=VENDOR), name="vendor")
    else:

        @app.get("/static/vendor/{name}", include_in_schema=False)
        def missing_vendor(name: str) -> None:
            raise NotFound("MapLibre is not installed: run `make web` (npm ci in app/web).")

    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
