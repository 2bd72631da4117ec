"""the job queue: procrastinate's tables and functions

Revision ID: 0008
Revises: 0007

The schema SQL is the one the installed procrastinate ships (SchemaManager.get_schema()).
A later procrastinate release that changes it needs a migration of ours applying its
sql/migrations files.
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables go with their triggers and indexes; functions and types are dropped by name.
_DROP = r"""
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || r.sig || ' CASCADE';
    END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t
             JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'c')
               AND t.typname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(r.typname) || ' CASCADE';
    END LOOP;
END $$;
"""


def _run_script(sql: str) -> None:
    # Many statements and literal % signs: the driver's simple query protocol, no parameters.
    op.get_bind().connection.driver_connection.execute(sql)


def upgrade() -> None:
    """Create the queue's objects (clearing any left without our tables, e.g. by a test reset)."""
    _run_script(_DROP)
    _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    """Drop the queue's objects."""
    _run_script(_DROP)
