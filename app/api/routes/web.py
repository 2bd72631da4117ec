"""The map page at / and its static files (MapLibre from the npm build, no CDN)."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app.errors import NotFound

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = WEB / "node_modules" / "maplibre-gl" / "dist"

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    """The map page (not part of the API document)."""
    return FileResponse(WEB / "static" / "index.html")


def mount_static(app: FastAPI) -> None:
    """Our page files, and MapLibre's build from node_modules (installed by `make web`)."""
    if VENDOR.exists():
        app.mount("/static/vendor", StaticFiles(directory=VENDOR), name="vendor")
    else:

        @app.get("/static/vendor/{name}", include_in_schema=False)
        def missing_vendor(name: str) -> None:
            raise NotFound("MapLibre is not installed: run `make web` (npm ci in app/web).")

    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
