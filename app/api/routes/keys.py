"""API keys (admin): create (the secret is shown once), list, revoke."""

from fastapi import APIRouter, Depends

from app.api.auth import Principal, require
from app.api.deps import DbSession
from app.api.models.keys import CreatedKey, KeyView, NewKeyBody
from app.api.params import RowId
from app.api.problems import problem_responses
from app.store import keys as store

Admin = Depends(require("admin"))
router = APIRouter(
    prefix="/keys", tags=["keys"], dependencies=[Admin], responses=problem_responses(401, 403)
)


@router.get("", response_model=list[KeyView])
def list_keys(session: DbSession) -> list[KeyView]:
    """Every key, active and revoked; secrets are never stored, only their hashes."""
    return [KeyView.of(k) for k in store.list_keys(session)]


@router.post("", status_code=201, response_model=CreatedKey, responses=problem_responses(422))
def create_key(body: NewKeyBody, session: DbSession, admin: Principal = Admin) -> CreatedKey:
    """A new key for its owner; the secret is in this response only, so keep it now."""
    new = store.create_key(session, body.name, body.role, admin.name)
    return CreatedKey(**KeyView.of(new.row).model_dump(), key=new.secret)


@router.delete("/{key_id}", response_model=KeyView, responses=problem_responses(404, 422))
def revoke_key(key_id: RowId, session: DbSession, admin: Principal = Admin) -> KeyView:
    """Revoke a key at once: it gets 401 from now on."""
    return KeyView.of(store.revoke_key(session, str(key_id), admin.name))
