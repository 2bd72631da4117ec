"""How a layer kind is drawn (layers/*.yaml `style:`), with the one set of defaults.

Every renderer (QGIS QML, MapLibre, KML, the report map, the summary charts) reads this
model, so a layer without `stroke_width` or `fill` looks the same in all of them.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

GeometryKind = Literal["polygon", "line", "point"]
Colour = Annotated[str, StringConstraints(pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$")]  # #rrggbb, #rgb
Number = int | float  # ints stay ints so /layers/{id} shows the YAML's own numbers

DEFAULT_Z = 85  # kinds without `z` draw above the zoning layers, below county outlines
FALLBACK_COLOUR = "#9e9e9e"  # a neutral grey: features no catalog colour applies to
DEFAULT_STROKE = "#555555"
DEFAULT_STROKE_WIDTH = 1.0  # screen points
POLYGON_FILL_OPACITY = 0.4
POINT_RADIUS = 4.0


class FillBy(BaseModel):
    """Colours by the value of one attribute (categorised rendering)."""

    model_config = ConfigDict(extra="forbid")

    attribute: str
    values: dict[str | int | bool, Colour] = {}


class LayerStyle(BaseModel):
    """A layer kind's style; unset fields stay None and the methods apply the defaults."""

    model_config = ConfigDict(extra="forbid")

    z: int = Field(DEFAULT_Z, description="draw order: higher on top")
    fill: Colour | None = None
    fill_opacity: Number | None = Field(None, ge=0, le=1)
    fill_by: FillBy | None = None
    stroke: Colour | None = None
    stroke_width: Number = Field(DEFAULT_STROKE_WIDTH, ge=0)
    stroke_dash: list[Number] | None = None
    radius: Number = Field(POINT_RADIUS, gt=0)

    def dump(self) -> dict[str, Any]:
        """The style as written in the YAML (defaults the file left out are not added)."""
        return self.model_dump(exclude_unset=True, exclude_none=True)

    @property
    def categories(self) -> dict[str | int | bool, Colour]:
        """fill_by value → colour; empty when the layer has one colour."""
        return dict(self.fill_by.values) if self.fill_by else {}

    @property
    def fill_attribute(self) -> str | None:
        """The attribute that picks the colour, if any."""
        return self.fill_by.attribute if self.fill_by else None

    @property
    def outline(self) -> Colour:
        """Outline colour of areas and points."""
        return self.stroke or DEFAULT_STROKE

    def base_colour(self, kind: GeometryKind) -> Colour:
        """The colour of a feature no fill_by value matches: lines by stroke, others by fill."""
        if kind == "line":
            return self.stroke or self.fill or FALLBACK_COLOUR
        return self.fill or FALLBACK_COLOUR

    def colour_for(self, attributes: dict[str, Any], kind: GeometryKind) -> Colour:
        """The colour of one feature, by its fill_by attribute value."""
        if self.fill_by:
            colour = self.fill_by.values.get(attributes.get(self.fill_by.attribute))
            if colour:
                return colour
        return self.base_colour(kind)

    def swatch(self, kind: GeometryKind) -> Colour:
        """One colour standing for the whole layer (legend patches, charts)."""
        return next(iter(self.categories.values()), None) or self.base_colour(kind)

    def opacity(self, kind: GeometryKind) -> float:
        """Fill opacity: areas are see-through by default, points opaque."""
        if self.fill_opacity is not None:
            return float(self.fill_opacity)
        return POLYGON_FILL_OPACITY if kind == "polygon" else 1.0
