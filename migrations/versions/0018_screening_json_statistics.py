"""screening's JSON columns left out of the planner's statistics

Revision ID: 0018_screening_json_statistics
Revises: 0017_screening_part_figures

No query filters or joins on `result`, `inputs` or `layer_versions`: lists filter on the
verdict, category, officer, project name and time, and read the JSON only to show it. Yet
every ANALYZE of the table (autovacuum runs one each time a tenth of it is new: every
15 000 rows of a 150 000-row table) built statistics of those columns from its 30 000
sampled rows: 0.66–0.72 s of CPU on the bench's 10× database, 0.41 s without them,
taken from whatever the server does meanwhile (a batch filing its rows).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_screening_json_statistics"
down_revision: str | None = "0017_screening_part_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("result", "inputs", "layer_versions")


def _set(target: int) -> None:
    columns = ", ".join(f"ALTER COLUMN {c} SET STATISTICS {target}" for c in _COLUMNS)
    op.execute(f"ALTER TABLE screening {columns}")


def upgrade() -> None:
    """No statistics for the JSON columns (0: none collected)."""
    _set(0)


def downgrade() -> None:
    """The server's default statistics target again (-1)."""
    _set(-1)
