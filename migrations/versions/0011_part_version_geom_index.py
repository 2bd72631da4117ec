"""one GiST index on (version_id, geom) for feature parts

Revision ID: 0011_part_version_geom_index
Revises: 0010_unit_cover

Every query of feature_part asks for one version's parts near a place. With a GiST index on
the geometry alone and a B-tree on the version, the planner ANDed two bitmaps at province
scale: the version's B-tree returned all 21 000 parts of a large layer for each of the 16
layers a screening searches (11 ms of a 3 ms statement). btree_gist lets one GiST index
answer both conditions; it replaces the geometry-only index (no query reads parts of every
version at once).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_part_version_geom_index"
down_revision: str | None = "0010_unit_cover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create btree_gist and the (version_id, geom) index, drop the geometry-only one."""
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_feature_part_version_geom "
        "ON feature_part USING gist (version_id, geom)"
    )
    op.execute("DROP INDEX IF EXISTS idx_feature_part_geom")
    op.execute("ANALYZE feature_part")


def downgrade() -> None:
    """Back to the geometry-only GiST index."""
    op.execute("CREATE INDEX IF NOT EXISTS idx_feature_part_geom ON feature_part USING gist (geom)")
    op.execute("DROP INDEX IF EXISTS ix_feature_part_version_geom")
