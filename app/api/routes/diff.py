"""Version diffs of a layer: what changed, and whether 面积不减少 still holds."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.auth import Reader
from app.api.deps import ReadSession
from app.api.params import MAX_INT
from app.api.problems import problem_responses
from app.summary.diff import diff_versions
from app.summary.diff_models import LayerDiff

router = APIRouter(tags=["layers"], dependencies=[Reader], responses=problem_responses(401, 403))


@router.get(
    "/layers/{layer_id}/diff", response_model=LayerDiff, responses=problem_responses(404, 422)
)
def layer_diff(
    layer_id: str,
    session: ReadSession,
    from_version: Annotated[
        int | None,
        Query(alias="from", ge=1, le=MAX_INT, description="default: the version before `to`"),
    ] = None,
    to_version: Annotated[
        int | None, Query(alias="to", ge=1, le=MAX_INT, description="default: the active version")
    ] = None,
    region: Annotated[
        str | None,
        Query(pattern=r"^\d{6}$", description="a division code: compare only this region"),
    ] = None,
) -> LayerDiff:
    """Added, removed and changed features (matched by the catalog key), gained and lost area
    (geodesic, km²) overall and per township, the pieces as GeoJSON, and the 面积不减少 check
    (for one region's features only, with `region`)."""
    return diff_versions(session, layer_id, from_version, to_version, region=region)
