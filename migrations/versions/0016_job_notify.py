"""job changes announced: NOTIFY redline_job with the job's id when its status or progress moves

Revision ID: 0016_job_notify
Revises: 0015_screening_parts

A client may wait for a job to move (`GET /jobs/{id}?wait=`) instead of polling it. The API
process listening on the primary (app/store/catalog_epoch.py) wakes the requests waiting for
that job. Only status and progress fire it: lease renewals do not.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_job_notify"
down_revision: str | None = "0015_screening_parts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A row-level trigger on job sending the job's id at commit."""
    op.execute(
        """
        CREATE OR REPLACE FUNCTION redline_job_changed() RETURNS trigger
        LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_notify('redline_job', NEW.id);
            RETURN NULL;
        END
        $fn$
        """
    )
    op.execute(
        "CREATE TRIGGER job_changed AFTER UPDATE OF status, done ON job FOR EACH ROW "
        "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.done IS DISTINCT FROM NEW.done) "
        "EXECUTE FUNCTION redline_job_changed()"
    )


def downgrade() -> None:
    """Drop the trigger and its function."""
    op.execute("DROP TRIGGER IF EXISTS job_changed ON job")
    op.execute("DROP FUNCTION IF EXISTS redline_job_changed()")
