"""Place search by name, for the map page's search box."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.auth import Reader
from app.api.deps import ReadSession
from app.api.models.places import Place
from app.api.problems import problem_responses
from app.errors import InvalidInput
from app.store.places import search_places

router = APIRouter(
    prefix="/places",
    tags=["places"],
    dependencies=[Reader],
    responses=problem_responses(401, 403),
)


@router.get("", response_model=list[Place], responses=problem_responses(422))
def places(
    session: ReadSession,
    q: Annotated[str, Query(min_length=1, max_length=50, description="part of the name")],
    limit: Annotated[int, Query(ge=1, le=20)] = 10,
) -> list[dict]:
    """Counties, townships, protected areas and redlines whose name contains q."""
    text = q.strip()
    if not text:
        raise InvalidInput("q is blank: send part of a place name, e.g. q=光雾山.")
    return search_places(session, text, limit)
