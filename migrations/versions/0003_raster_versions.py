"""raster versions

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the raster_version table with one active version per raster."""
    op.create_table(
        "raster_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raster_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=True),
        sa.Column("crs", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("resolution_m", sa.Float(), nullable=True),
        sa.Column("bounds_4490", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raster_id", "version"),
    )
    op.create_index(
        op.f("ix_raster_version_raster_id"), "raster_version", ["raster_id"], unique=False
    )
    op.create_index(
        "one_active_raster_version",
        "raster_version",
        ["raster_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    """Drop the raster_version table."""
    op.drop_index(
        "one_active_raster_version",
        table_name="raster_version",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(op.f("ix_raster_version_raster_id"), table_name="raster_version")
    op.drop_table("raster_version")
