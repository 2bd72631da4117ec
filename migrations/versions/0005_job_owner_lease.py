"""job owner and lease

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Record which process runs a job and until when its lease holds."""
    op.add_column("job", sa.Column("owner", sa.Text(), nullable=True))
    op.add_column("job", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the job owner and lease columns."""
    op.drop_column("job", "lease_until")
    op.drop_column("job", "owner")
