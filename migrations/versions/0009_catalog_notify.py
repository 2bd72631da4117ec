"""catalog changes announced: NOTIFY redline_catalog when versions change

Revision ID: 0009_catalog_notify
Revises: 0008

Each API and worker process caches what it derives from the active versions under an epoch
(app/store/catalog_epoch.py) and moves the epoch when it hears this notification. NOTIFY is
delivered at commit, once per transaction, so only committed changes are announced.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_catalog_notify"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("layer", "layer_version", "raster_version")


def upgrade() -> None:
    """The notifying function and one statement-level trigger per table."""
    op.execute(
        """
        CREATE OR REPLACE FUNCTION redline_catalog_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('redline_catalog', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in _TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_catalog_changed "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION redline_catalog_changed()"
        )


def downgrade() -> None:
    """Drop the triggers and the function."""
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_catalog_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS redline_catalog_changed()")
