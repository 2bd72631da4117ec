from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import DbSession

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: DbSession) -> dict:
    """Database and PostGIS versions; fails if the database is unreachable."""
    pg, postgis = session.execute(
        text("SELECT current_setting('server_version'), postgis_lib_version()")
    ).one()
    return {"status": "ok", "database": f"PostgreSQL {pg}", "postgis": postgis}
