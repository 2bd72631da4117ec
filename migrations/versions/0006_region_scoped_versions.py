"""region-scoped layer versions and the region hierarchy

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing features learn their county (the active county containing a point on them) and
# their origin (their own version): region-scoped imports copy by county code.
_BACKFILL_ADMIN = """
UPDATE feature f SET county_code = f.attributes->>'code'
FROM layer_version v WHERE v.id = f.version_id AND v.layer_id = 'admin_county'
"""
_BACKFILL_OTHERS = """
UPDATE feature f SET county_code = (
  SELECT c.attributes->>'code' FROM feature c JOIN layer l
    ON l.id = 'admin_county' AND c.version_id = l.active_version_id
  WHERE ST_Intersects(c.geom, ST_PointOnSurface(f.geom)) LIMIT 1)
FROM layer_version v WHERE v.id = f.version_id AND v.layer_id <> 'admin_county'
"""
_BACKFILL_ORIGIN = """
UPDATE feature f SET origin_version = v.version FROM layer_version v WHERE v.id = f.version_id
"""


def upgrade() -> None:
    """Add a version's region and coverage, a feature's county and origin, the region table."""
    op.add_column("layer_version", sa.Column("region_code", sa.String(12), nullable=True))
    op.add_column(
        "layer_version", sa.Column("coverage_codes", postgresql.ARRAY(sa.Text()), nullable=True)
    )
    op.add_column("feature", sa.Column("county_code", sa.String(12), nullable=True))
    op.add_column("feature", sa.Column("origin_version", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_feature_county_code"), "feature", ["county_code"])
    op.create_table(
        "region",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.String(12), nullable=True),
    )
    op.create_index(op.f("ix_region_parent_code"), "region", ["parent_code"])
    op.execute(_BACKFILL_ADMIN)
    op.execute(_BACKFILL_OTHERS)
    op.execute(_BACKFILL_ORIGIN)


def downgrade() -> None:
    """Drop the region table and the region columns."""
    op.drop_index(op.f("ix_region_parent_code"), table_name="region")
    op.drop_table("region")
    op.drop_index(op.f("ix_feature_county_code"), table_name="feature")
    op.drop_column("feature", "origin_version")
    op.drop_column("feature", "county_code")
    op.drop_column("layer_version", "coverage_codes")
    op.drop_column("layer_version", "region_code")
