"""What the service needs before it can answer: database, PostGIS, schema, catalog, data."""

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.catalog import catalog, raster_catalog
from app.config import PROJECT_ROOT, get_settings
from app.store.db import session_factory
from app.store.layers import active_versions
from app.store.rasters import active_rasters
from app.store.reference import read_manifest


def _migration_heads() -> set[str]:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return set(ScriptDirectory.from_config(config).get_heads())


def _missing_reference(session: Session) -> list[str]:
    """The manifest's layers and rasters that have no active version (or file) here."""
    manifest = read_manifest(get_settings().reference_dir)
    have = set(active_versions(session)) | set(active_rasters(session))
    wanted = [*manifest.get("layers", {}), *manifest.get("rasters", {})]
    return [item for item in wanted if item not in have]


def check_readiness() -> dict[str, str]:
    """Each part ("database", "postgis", "migrations", "catalog", "reference_data") → "ok" or
    what is wrong; checks stop at the first part the others depend on."""
    checks: dict[str, str] = {}
    try:
        raster_catalog()
        checks["catalog"] = "ok" if catalog() else "empty: no layer specs"
    except (OSError, ValueError) as exc:
        checks["catalog"] = f"not loaded: {exc}"
    try:
        with session_factory()() as session:
            session.execute(text("SELECT 1"))
            checks["database"] = "ok"
            postgis = session.scalar(
                text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            )
            checks["postgis"] = "ok" if postgis else "the postgis extension is not installed"
            current = set(MigrationContext.configure(session.connection()).get_current_heads())
            heads = _migration_heads()
            checks["migrations"] = (
                "ok" if current == heads else f"at {sorted(current)}, head is {sorted(heads)}"
            )
            if checks["migrations"] != "ok" or checks["catalog"] != "ok":
                checks["reference_data"] = "not checked"
            else:
                try:
                    missing = _missing_reference(session)
                except OSError:
                    missing = ["the reference manifest"]
                checks["reference_data"] = "ok" if not missing else f"missing: {missing}"
    except SQLAlchemyError:
        checks.setdefault("database", "unreachable")
        for part in ("postgis", "migrations", "reference_data"):
            checks.setdefault(part, "not checked")
    return checks
