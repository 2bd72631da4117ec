"""Other regions loaded for one test module, in a transaction rolled back at its end.

Modules that need 达州市 and 巫山县 next to 巴中市 work in such a session, so the other
modules keep seeing 巴中市 alone.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.config import get_settings
from app.store.db import get_engine
from app.store.imports import ImportRequest, import_file
from app.store.reference import load_reference, reference_root

OTHER_COUNTIES = (("dazhou", "511700"), ("wushan", "500237"))


@contextmanager
def rolled_back_session() -> Iterator[Session]:
    """A session whose commits are savepoints of one outer transaction, rolled back at exit."""
    connection = get_engine().connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def load_all_regions(session: Session) -> None:
    """The three reference regions, as `redline setup` loads them."""
    load_reference(session, reference_root(get_settings().reference_dir))


def import_other_counties(session: Session) -> None:
    """Only the counties of 达州市 and 巫山县 (scoped imports): every other layer still
    covers 巴中市 alone."""
    root = reference_root(get_settings().reference_dir)
    for folder, code in OTHER_COUNTIES:
        req = ImportRequest(
            layer_id="admin_county",
            path=root / folder / "admin_county.geojson",
            crs="EPSG:4490",
            actor="tests",
            confirm=True,
            region=code,
        )
        import_file(session, req)
