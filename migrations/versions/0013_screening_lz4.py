"""screening results compressed with lz4

Revision ID: 0013_screening_lz4
Revises: 0012_key_notify

A screening's result (7 KB for a point, 40 KB for a 1 000-vertex site, which it holds as
GeoJSON) is compressed when filed. PostgreSQL's default pglz took 1.1-1.8 ms per 40 KB row,
lz4 0.3-0.5 ms for the same stored size, on the path of every screening's answer. Rows filed
before keep their compression; both read back the same.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_screening_lz4"
down_revision: str | None = "0012_key_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("result", "inputs", "layer_versions")


def upgrade() -> None:
    """lz4 for the JSON columns of new screenings."""
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE screening ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    """Back to the server's default compression."""
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE screening ALTER COLUMN {column} SET COMPRESSION default")
