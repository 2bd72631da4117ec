"""The health check's answer."""

from pydantic import BaseModel


class Health(BaseModel):
    """The database is reachable; its PostgreSQL and PostGIS versions."""

    status: str
    database: str
    postgis: str
