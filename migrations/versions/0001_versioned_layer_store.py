"""versioned layer store

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create PostGIS, layer, layer_version, feature, feature_part and audit_log."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("layer_id", sa.String(length=64), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "layer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("geometry_type", sa.String(length=16), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active_version_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "layer_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=True),
        sa.Column("source_format", sa.String(length=32), nullable=True),
        sa.Column("source_crs", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feature_count", sa.Integer(), nullable=False),
        sa.Column("total_area_m2", sa.Float(), nullable=True),
        sa.Column("total_length_m", sa.Float(), nullable=True),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["layer_id"], ["layer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("layer_id", "version"),
    )
    op.create_index(op.f("ix_layer_version_layer_id"), "layer_version", ["layer_id"], unique=False)
    op.create_foreign_key(
        "fk_layer_active_version", "layer", "layer_version", ["active_version_id"], ["id"]
    )
    op.create_index(
        "one_active_version",
        "layer_version",
        ["layer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_geospatial_table(
        "feature",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["layer_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_feature_geom",
        "feature",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_feature_version_id"), "feature", ["version_id"], unique=False)
    op.create_geospatial_table(
        "feature_part",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["feature_id"], ["feature.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["layer_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_feature_part_geom",
        "feature_part",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_feature_part_feature_id"), "feature_part", ["feature_id"], unique=False
    )
    op.create_index(
        op.f("ix_feature_part_version_id"), "feature_part", ["version_id"], unique=False
    )


def downgrade() -> None:
    """Drop the layer store's tables and indexes."""
    op.drop_index(op.f("ix_feature_part_version_id"), table_name="feature_part")
    op.drop_index(op.f("ix_feature_part_feature_id"), table_name="feature_part")
    op.drop_geospatial_index(
        "idx_feature_part_geom",
        table_name="feature_part",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("feature_part")
    op.drop_index(op.f("ix_feature_version_id"), table_name="feature")
    op.drop_geospatial_index(
        "idx_feature_geom", table_name="feature", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("feature")
    op.drop_constraint("fk_layer_active_version", "layer", type_="foreignkey")
    op.drop_index(
        "one_active_version",
        table_name="layer_version",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(op.f("ix_layer_version_layer_id"), table_name="layer_version")
    op.drop_table("layer_version")
    op.drop_table("layer")
    op.drop_table("audit_log")
