"""per-unit figures of each layer version, computed once (summaries only aggregate them)

Revision ID: 0010_unit_cover
Revises: 0009_catalog_notify

A summary by county, township or village used to intersect every layer with every unit on
each request. Both versions of such a pair are immutable, so app/store/unit_cover.py
computes the pair once (at import; versions imported before this migration on first use)
and keeps the figures here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_unit_cover"
down_revision: str | None = "0009_catalog_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create unit_cover, keyed by (unit version, layer version, home digits)."""
    op.create_table(
        "unit_cover",
        sa.Column("unit_version_id", sa.Integer(), nullable=False),
        sa.Column("layer_version_id", sa.Integer(), nullable=False),
        sa.Column("home", sa.SmallInteger(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("shown", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["layer_version_id"], ["layer_version.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_version_id"], ["layer_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unit_version_id", "layer_version_id", "home"),
    )
    op.create_index(op.f("ix_unit_cover_layer_version_id"), "unit_cover", ["layer_version_id"])


def downgrade() -> None:
    """Drop unit_cover (summaries compute per request again)."""
    op.drop_index(op.f("ix_unit_cover_layer_version_id"), table_name="unit_cover")
    op.drop_table("unit_cover")
