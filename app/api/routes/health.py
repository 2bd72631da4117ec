"""Liveness and database check."""

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import DbSession
from app.api.models.health import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: DbSession) -> Health:
    """Database and PostGIS versions; fails if the database is unreachable."""
    pg, postgis = session.execute(
        text("SELECT current_setting('server_version'), postgis_lib_version()")
    ).one()
    return Health(status="ok", database=f"PostgreSQL {pg}", postgis=postgis)
