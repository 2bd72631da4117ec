"""shared parts of filed screening results, stored once: screening_part + screening_result()

Revision ID: 0015_screening_parts
Revises: 0014_feature_version_indexes

The sites of one batch share most of their results: the data coverage, the layer versions
and their dates, the context of a township and control unit (with its 准入清单 texts), the
findings of a feature a site lies in. Filed in full, each row held about 11 KB of JSON, 9 of
them the same as its neighbours'; the database spent more time parsing, compressing and
writing those than the batch spent screening. A batch row now refers to them by their hash
(`"$parts": {field: id}` for top-level fields, `{"$part": id}` in place of a finding), each
part stored once. `screening_result(result)` puts them back; the ORM reads every result
through it, so a reader never sees a reference. Rows filed before, and single screenings,
hold no reference and read back as they are.

Parts are content-addressed and shared between batches, so none is deleted with a row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_screening_parts"
down_revision: str | None = "0014_feature_version_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION screening_result(filed jsonb) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN filed IS NULL OR NOT filed ? '$parts' THEN filed ELSE
    (filed - '$parts')
    || COALESCE((SELECT jsonb_object_agg(ref.key, part.body)
                 FROM jsonb_each_text(filed -> '$parts') AS ref
                 JOIN screening_part AS part ON part.id = ref.value), '{}'::jsonb)
    || jsonb_build_object('findings', COALESCE((
         SELECT jsonb_agg(COALESCE(part.body, item.value) ORDER BY item.n)
         FROM jsonb_array_elements(filed -> 'findings') WITH ORDINALITY AS item(value, n)
         LEFT JOIN screening_part AS part ON part.id = item.value ->> '$part'), '[]'::jsonb))
  END
$fn$
"""


def upgrade() -> None:
    """The parts table (lz4, as the results) and the function that puts a result together."""
    op.execute(
        "CREATE TABLE screening_part (id varchar(64) PRIMARY KEY, "
        "body jsonb COMPRESSION lz4 NOT NULL)"
    )
    op.execute(_FUNCTION)


def downgrade() -> None:
    """Results with references filled in again, then the parts and function dropped."""
    op.execute("UPDATE screening SET result = screening_result(result) WHERE result ? '$parts'")
    op.execute("DROP FUNCTION screening_result(jsonb)")
    op.execute("DROP TABLE screening_part")
