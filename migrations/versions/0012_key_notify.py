"""key changes announced: NOTIFY redline_catalog when an API key is created, revoked or changed

Revision ID: 0012_key_notify
Revises: 0011_part_version_geom_index

Each process remembers the keys it authenticated lately under the catalog epoch
(app/store/key_cache.py), so a revocation must move every process's epoch. Only the columns
that decide who a key is fire it: last_used_at, refreshed as keys are used, does not.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_key_notify"
down_revision: str | None = "0011_part_version_geom_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A statement-level trigger on api_key calling the function of migration 0009."""
    op.execute(
        "CREATE TRIGGER api_key_catalog_changed "
        "AFTER INSERT OR DELETE OR TRUNCATE "
        "OR UPDATE OF revoked_at, role, name, key_hash, prefix ON api_key "
        "FOR EACH STATEMENT EXECUTE FUNCTION redline_catalog_changed()"
    )


def downgrade() -> None:
    """Drop the trigger."""
    op.execute("DROP TRIGGER IF EXISTS api_key_catalog_changed ON api_key")
