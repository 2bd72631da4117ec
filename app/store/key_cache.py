"""Keys authenticated recently, remembered per process, so a request needs no transaction
of its own to check its key.

Entries are kept under the catalog epoch (app/store/catalog_epoch.py): creating, revoking or
changing a key sends the same NOTIFY as a catalog change (migration 0012), and the process
that revokes a key moves its own epoch at commit. A revoked key is therefore refused at once
by that process and within the notification's delivery by every other one; while the
listener is disconnected nothing is served from here. An entry is also dropped after
keys.TOUCH_EVERY, so the database check (which refreshes last_used_at) runs again.
"""

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.store import keys
from app.store.catalog_epoch import EpochCache, epoch

_MAX_KEYS = 4096
_FRESH_S = keys.TOUCH_EVERY.total_seconds()


@dataclass(frozen=True)
class Holder:
    """Who holds an active key: its id, owner's name and role."""

    key_id: int
    name: str
    role: str


_holders: EpochCache = EpochCache(_MAX_KEYS)


def known(secret: str) -> Holder | None:
    """The holder of SECRET if it was authenticated lately under the current epoch; never
    queries nor blocks (the event loop may call it)."""
    hit = _holders.peek(keys.hash_key(secret))
    if hit is None or time.monotonic() - hit[1] > _FRESH_S:
        return None
    return hit[0]


def authenticate(session: Session, secret: str) -> Holder | None:
    """Check SECRET in the database (keys.authenticate, which marks it used); remember an
    active key's holder under the epoch read before the check."""
    now = epoch(session)
    row = keys.authenticate(session, secret)
    if row is None:
        return None
    holder = Holder(row.id, row.name, row.role)
    if now is not None:
        _holders.put(keys.hash_key(secret), (now, (holder, time.monotonic())))
    return holder
