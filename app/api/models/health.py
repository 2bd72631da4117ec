"""The health check's answer."""

from pydantic import BaseModel


class Health(BaseModel):
    """The database is reachable; its PostgreSQL and PostGIS versions."""

    status: str
    database: str
    postgis: str


class Liveness(BaseModel):
    """The process is up (the database is not consulted)."""

    status: str


class Readiness(BaseModel):
    """Whether the service can answer: "ready" or "not ready", with each part's state."""

    status: str
    checks: dict[str, str]
