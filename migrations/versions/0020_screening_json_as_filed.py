"""screening's JSON columns kept as filed (`json`), not rebuilt as `jsonb`

Revision ID: 0020_screening_json_as_filed
Revises: 0019_feature_mercator

No query looks inside a screening's `result`, `inputs` or `layer_versions` (lists filter on
the verdict, category, officer, project name and time; 0018), but `jsonb` builds a tree of
every value as it is written and serialises it again. Filing a batch spends most of the
database's time there: a COPY of 10 000 filed batch rows (20 MB of JSON) took 331–353 ms
into `jsonb` columns, 162–168 ms into `json` ones, which check the syntax and keep the text.
Reading a result back casts it once: `screening_result(json)` hands it to the `jsonb`
function that puts the shared parts back, a screening at a time, not a batch. Compression
(0013) and statistics (0018) are set again, as a type change may reset them. The table is
rewritten once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_screening_json_as_filed"
down_revision: str | None = "0019_feature_mercator"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("result", "inputs", "layer_versions")


def _retype(kind: str) -> None:
    changes = ", ".join(
        f"ALTER COLUMN {c} TYPE {kind} USING {c}::{kind}, "
        f"ALTER COLUMN {c} SET COMPRESSION lz4, ALTER COLUMN {c} SET STATISTICS 0"
        for c in _COLUMNS
    )
    op.execute(f"ALTER TABLE screening {changes}")


_READ = """
CREATE OR REPLACE FUNCTION screening_result(filed json) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$ SELECT screening_result(filed::jsonb) $fn$
"""


def upgrade() -> None:
    """The three columns as `json`, and `screening_result` for them."""
    _retype("json")
    op.execute(_READ)
    # The rewritten table has no statistics and no visibility map: vacuumed now, not by
    # autovacuum's first pass under the first writes (VACUUM runs outside a transaction).
    with op.get_context().autocommit_block():
        op.execute("VACUUM (ANALYZE) screening")


def downgrade() -> None:
    """The three columns as `jsonb` again."""
    op.execute("DROP FUNCTION IF EXISTS screening_result(json)")
    _retype("jsonb")
