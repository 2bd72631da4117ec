"""the officer (经办人) named on a screening

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Screenings filed before keep the officer their result JSON names (none had one yet).
_BACKFILL = "UPDATE screening SET officer = result->'project'->>'officer' WHERE officer IS NULL"


def upgrade() -> None:
    """Add screening.officer (indexed: the register filters by it)."""
    op.add_column("screening", sa.Column("officer", sa.Text(), nullable=True))
    op.create_index(op.f("ix_screening_officer"), "screening", ["officer"])
    op.execute(_BACKFILL)


def downgrade() -> None:
    """Drop screening.officer."""
    op.drop_index(op.f("ix_screening_officer"), table_name="screening")
    op.drop_column("screening", "officer")
