"""features indexed by version first: (version_id, geom) GiST and (version_id, ordinal, id)

Revision ID: 0014_feature_version_indexes
Revises: 0013_screening_lz4

Like feature_part in 0011: tiles and bbox filters ask for one version's features in a box,
which a geometry-only GiST index answered together with a version B-tree returning every
feature of the version (196 000 for farmland at province scale). An OGC items page is one
version's features in file order: with (version_id, ordinal, id) the first page reads its
rows from the index instead of sorting the whole version. Both replace the indexes they
extend (the version B-tree is the new one's prefix).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_feature_version_indexes"
down_revision: str | None = "0013_screening_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The two version-first indexes; drop the ones they replace."""
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_feature_version_geom "
        "ON feature USING gist (version_id, geom)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_feature_version_order ON feature (version_id, ordinal, id)"
    )
    op.execute("DROP INDEX IF EXISTS idx_feature_geom")
    op.execute("DROP INDEX IF EXISTS ix_feature_version_id")
    op.execute("ANALYZE feature")


def downgrade() -> None:
    """Back to the geometry GiST and the version B-tree."""
    op.execute("CREATE INDEX IF NOT EXISTS idx_feature_geom ON feature USING gist (geom)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_feature_version_id ON feature (version_id)")
    op.execute("DROP INDEX IF EXISTS ix_feature_version_geom")
    op.execute("DROP INDEX IF EXISTS ix_feature_version_order")
