"""API keys: random secrets shown once, stored as SHA-256 hashes, each with an owner and role."""

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.store import audit
from app.store.catalog_epoch import mark_changed
from app.store.models import ApiKey

ROLES = ("viewer", "officer", "editor", "admin")
# A key is "rl_" + 43 url-safe characters (32 random bytes); its first 11 characters are the
# prefix, kept in clear to find the row and to name the key in lists and the audit log.
KEY_PREFIX = "rl_"
PREFIX_LENGTH = 11
# last_used_at is refreshed at most this often, so reads do not each write a row.
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    """A key just created: the row and its secret, which is never shown again."""

    row: ApiKey
    secret: str


def rank(role: str) -> int:
    """The role's place in viewer < officer < editor < admin (-1 for no role)."""
    return ROLES.index(role) if role in ROLES else -1


def hash_key(secret: str) -> str:
    """SHA-256 hex of the key (random 256-bit keys need no slow hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str) -> str | None:
    """The public prefix of something presented as a key, or None if it is not one of ours."""
    return secret[:PREFIX_LENGTH] if secret.startswith(KEY_PREFIX) else None


def create_key(session: Session, name: str, role: str, created_by: str | None) -> NewKey:
    """A new active key for NAME with ROLE; the secret is in the result only."""
    name = name.strip()
    if not name:
        raise InvalidInput("A key needs the name of its owner.")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        role=role,
        prefix=secret[:PREFIX_LENGTH],
        key_hash=hash_key(secret),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    audit.record(session, created_by, "key-create", row.prefix, key_id=row.id, role=role, name=name)
    return NewKey(row, secret)


def authenticate(session: Session, secret: str) -> ApiKey | None:
    """The active key this secret is, or None; marks it used."""
    prefix = prefix_of(secret)
    if prefix is None:
        return None
    digest = hash_key(secret)
    candidates = session.scalars(
        select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    ).all()
    found = next((k for k in candidates if hmac.compare_digest(k.key_hash, digest)), None)
    if found is not None:
        now = dt.datetime.now(dt.UTC)
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            session.execute(update(ApiKey).where(ApiKey.id == found.id).values(last_used_at=now))
    return found


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, active and revoked, oldest first (no secrets: only hashes are stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def find_key(session: Session, ref: str) -> ApiKey:
    """The key with this id or prefix; NotFound if none or if a prefix is ambiguous."""
    if ref.isdigit():
        row = session.get(ApiKey, int(ref))
        rows = [row] if row else []
    else:
        rows = list(session.scalars(select(ApiKey).where(ApiKey.prefix == ref)))
    if len(rows) != 1:
        raise NotFound(f"There is no single key {ref!r}; list them with `redline keys list`.")
    return rows[0]


def revoke_key(session: Session, ref: str, actor: str | None) -> ApiKey:
    """Revoke the key with this id or prefix (at once: it is refused from now on)."""
    row = find_key(session, ref)
    if row.revoked_at is None:
        mark_changed(session)  # this process forgets the key at commit (app/store/key_cache.py)
        row.revoked_at = dt.datetime.now(dt.UTC)
        audit.record(session, actor, "key-revoke", row.prefix, key_id=row.id, name=row.name)
        session.flush()
    return row


def has_active_admin(session: Session) -> bool:
    """Whether any admin key is still active."""
    return (
        session.scalar(
            select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None)).limit(1)
        )
        is not None
    )
