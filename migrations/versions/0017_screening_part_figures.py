"""a filed finding may refer to a part and hold its own distance: {"$part": id, "distance_m": d}

Revision ID: 0017_screening_part_figures
Revises: 0016_job_notify

A batch site's findings at a distance (a feature near the site, not met) were filed whole,
attributes and all: about 460 bytes each, 1.4 KB a row, most of what a row held after
migration 0015, while only the distance is the site's own. Such a finding is now filed as a
reference to the finding without its distance (a part shared by every site near that
feature) and the distance: `screening_result` puts the part back and lays the row's own
keys over it. A reference alone (`{"$part": id}`) reads back as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_screening_part_figures"
down_revision: str | None = "0016_job_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# FINDING: what a finding of the filed row reads back as (ITEM: the filed finding, PART: the
# part it refers to, if any).
_TEMPLATE = """
CREATE OR REPLACE FUNCTION screening_result(filed jsonb) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN filed IS NULL OR NOT filed ? '$parts' THEN filed ELSE
    (filed - '$parts')
    || COALESCE((SELECT jsonb_object_agg(ref.key, part.body)
                 FROM jsonb_each_text(filed -> '$parts') AS ref
                 JOIN screening_part AS part ON part.id = ref.value), '{}'::jsonb)
    || jsonb_build_object('findings', COALESCE((
         SELECT jsonb_agg(FINDING ORDER BY item.n)
         FROM jsonb_array_elements(filed -> 'findings') WITH ORDINALITY AS item(value, n)
         LEFT JOIN screening_part AS part ON part.id = item.value ->> '$part'), '[]'::jsonb))
  END
$fn$
"""
_FUNCTION = _TEMPLATE.replace(
    "FINDING", "COALESCE(part.body || (item.value - '$part'), item.value)"
)
_BEFORE = _TEMPLATE.replace("FINDING", "COALESCE(part.body, item.value)")  # migration 0015's


def upgrade() -> None:
    """`screening_result` lays a finding's own keys over the part it refers to."""
    op.execute(_FUNCTION)


def downgrade() -> None:
    """Findings referring to a part with figures of their own filled in, then the function
    of migration 0015 back."""
    op.execute(
        "UPDATE screening SET result = screening_result(result) WHERE result ? '$parts' "
        'AND jsonb_path_exists(result, \'$.findings[*] ? (exists(@."$part") '
        "&& exists(@.distance_m))')"
    )
    op.execute(_BEFORE)
