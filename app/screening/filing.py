"""Filing many screenings at once: one INSERT statement per chunk, not one ORM flush per row."""

from sqlalchemy import Text, bindparam, cast, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.screening.models import ScreeningResult
from app.screening.service import ScreeningRequest, screening_values
from app.store.models import Screening

# The result goes in as JSON text serialized by pydantic (in Rust), not a dict that the driver
# serializes again: most of a row's size, and most of the cost of filing it.
_INSERT = insert(Screening.__table__).values(
    result=cast(bindparam("result_json", type_=Text), JSONB)
)


def file_screenings(
    session: Session, filed: list[tuple[ScreeningRequest, ScreeningResult]]
) -> None:
    """File each (request, result) as screen_site files one, all in one INSERT statement."""
    if filed:
        session.execute(
            _INSERT,
            [
                {
                    **screening_values(req, res),
                    "result_json": res.model_dump_json(exclude_unset=True),
                }
                for req, res in filed
            ],
        )
