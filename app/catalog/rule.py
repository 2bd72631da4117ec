"""A screening rule as written in a layer's `rules:` list (docs/rules.md), checked at load."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Relation = Literal["inside", "overlaps", "nearby", "outside"]
Verdict = Literal["prohibited", "restricted", "attention"]
RELATIONS: frozenset[str] = frozenset(Relation.__args__)


def _as_list(value: Any) -> Any:
    # YAML lets a one-item list be written as the bare item: `relation: nearby`.
    return value if isinstance(value, list) else [value]


class Rule(BaseModel):
    """One rule: conditions on a finding and the project category → verdict, message, basis.

    An absent condition (None) always holds; `categories: []` is a condition no category meets.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    relation: Annotated[list[Relation], BeforeValidator(_as_list)] | None = None
    where: dict[str, Any] | None = None
    within_m: int | float | None = Field(None, ge=0)
    categories: Annotated[list[str], BeforeValidator(_as_list)] | None = None
    except_categories: Annotated[list[str], BeforeValidator(_as_list)] | None = None
    verdict: Verdict
    message: str = Field(min_length=1, description="a format string over the finding")
    basis: str = ""

    def dump(self) -> dict[str, Any]:
        """The rule as written in the YAML."""
        return self.model_dump(exclude_unset=True, exclude_none=True)
