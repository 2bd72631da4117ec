"""Alembic environment: the URL comes from the app settings."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import engine_from_config, pool

from app.config import get_settings
from app.store.models import Base

config = context.config
config.set_main_option("sqlalchemy.url", get_settings().database_url.replace("%", "%%"))


def include_object(obj, name, type_, reflected, compare_to):
    """Leave PostGIS's and procrastinate's own tables out of autogenerate; GeoAlchemy2 judges
    spatial objects."""
    # PostGIS owns spatial_ref_sys and the tiger/topology schemas; the job queue's tables
    # come from procrastinate's schema SQL (migration 0008), not from our models.
    if type_ == "table" and (name == "spatial_ref_sys" or name.startswith("procrastinate_")):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def run_migrations_online() -> None:
    """Run the migrations on the connection the caller passed, or on DATABASE_URL."""
    connectable = config.attributes.get("connection") or engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
