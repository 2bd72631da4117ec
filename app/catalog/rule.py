"""A screening rule as written in a layer's `rules:` list (docs/rules.md), checked at load."""

from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

Relation = Literal["inside", "overlaps", "nearby", "outside"]
Verdict = Literal["prohibited", "restricted", "attention"]
RELATIONS: frozenset[str] = frozenset(Relation.__args__)

# Filled from the plan of the region the site lies in (app.screening.rules.plan_context).
PLAN_FIELDS: frozenset[str] = frozenset({"plan_title", "plan_short_title", "city"})
# Filled from the finding itself; a message may also use the layer's attributes.
FINDING_FIELDS: frozenset[str] = frozenset(
    {
        "layer", "layer_title", "feature_id", "name", "relation", "category", "overlap_text",
        "overlap_area_m2", "overlap_area_ha", "overlap_area_mu", "overlap_pct", "overlap_share",
        "overlap_length_m", "distance_m",
    }
)


def placeholders(template: str) -> set[str]:
    """The field names a format string uses: "{name}（{code}）" → {"name", "code"}."""
    fields = (field for _, field, _, _ in Formatter().parse(template) if field is not None)
    return {field.split(".")[0].split("[")[0] for field in fields}


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

    @model_validator(mode="after")
    def _basis_cites_only_the_plan(self) -> "Rule":
        unknown = placeholders(self.basis) - PLAN_FIELDS
        if unknown:
            raise ValueError(
                f"rule {self.id or '(no id)'}: unknown placeholder(s) in basis "
                f"{', '.join(sorted(unknown))}; a basis may use {', '.join(sorted(PLAN_FIELDS))}"
            )
        return self

    def check_message(self, attributes: set[str]) -> None:
        """ValueError naming the rule if its message uses a field no finding of the layer has."""
        unknown = placeholders(self.message) - PLAN_FIELDS - FINDING_FIELDS - attributes
        if unknown:
            raise ValueError(
                f"rule {self.id or '(no id)'}: unknown placeholder(s) in message "
                f"{', '.join(sorted(unknown))}; use the layer's attributes, the finding's "
                f"figures or {', '.join(sorted(PLAN_FIELDS))}"
            )

    def dump(self) -> dict[str, Any]:
        """The rule as written in the YAML."""
        return self.model_dump(exclude_unset=True, exclude_none=True)
