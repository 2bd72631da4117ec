"""Run Alembic migrations from code (used by `redline setup` and the tests)."""

from alembic import command
from alembic.config import Config

from app.config import PROJECT_ROOT


def upgrade_database() -> None:
    """Apply every Alembic migration up to head to the configured database."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    command.upgrade(config, "head")
