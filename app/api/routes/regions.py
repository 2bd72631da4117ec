"""The administrative hierarchy: loaded regions, their extents, children, plans and layers."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.api.auth import Reader
from app.api.deps import ReadSession
from app.api.models.regions import RegionDetail, RegionList
from app.api.problems import problem_responses
from app.store import regions as store

router = APIRouter(
    prefix="/regions",
    tags=["regions"],
    dependencies=[Reader],
    responses=problem_responses(401, 403),
)


@router.get("", response_model=RegionList, responses=problem_responses(422))
def list_regions(
    session: ReadSession,
    level: Annotated[str | None, Query(pattern="^(province|city|county)$")] = None,
) -> dict[str, Any]:
    """Every province, city and county with loaded data: extent, children, plan."""
    return {"regions": store.list_regions(session, level)}


@router.get("/{code}", response_model=RegionDetail, responses=problem_responses(404, 422))
def region(
    session: ReadSession,
    code: Annotated[
        str,
        Path(
            pattern=r"^\d{6}(\d{3}(\d{3})?)?$",
            description="GB/T 2260 code (6 digits), township (9) or village (12) code",
        ),
    ],
) -> dict[str, Any]:
    """One region with its children's names and the layers in force inside it."""
    return store.region_detail(session, code)
