"""The PNG map of a screened site over the catalog layers around it."""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from app.catalog import LayerSpec, LayerStyle
from app.render.figures import figure_bytes, new_figure

SITE_COLOUR = "#ff6d00"
CONTEXT_ALPHA = 0.12  # context layers are washed out so the protected layers stay readable


@dataclass
class MapLayer:
    """One catalog layer's features (lon/lat geometry, attributes) clipped to the map extent."""

    spec: LayerSpec
    features: list[tuple[shapely.Geometry, dict[str, Any]]] = field(default_factory=list)


def map_extent(site: shapely.Geometry) -> tuple[float, float, float, float]:
    """The site's bounds padded on every side (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = site.bounds
    pad = max(x1 - x0, y1 - y0) * 0.6 + 0.01  # at least ~1 km around the site
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _draw(ax: Axes, geom: shapely.Geometry, style: LayerStyle, colour: str, alpha: float) -> None:
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            x, y = part.exterior.xy
            ax.fill(x, y, color=colour, alpha=alpha, linewidth=0)
            ax.plot(x, y, color=style.outline, linewidth=style.stroke_width)
        elif part.geom_type == "LineString":
            x, y = part.xy
            ax.plot(x, y, color=colour, linewidth=style.stroke_width)


def _draw_site(ax: Axes, site: shapely.Geometry) -> None:
    for part in shapely.get_parts(site):
        if part.geom_type == "Polygon":
            ax.plot(*part.exterior.xy, color=SITE_COLOUR, linewidth=2.5)
        elif part.geom_type == "LineString":
            ax.plot(*part.xy, color=SITE_COLOUR, linewidth=3)
        else:
            ax.plot(
                part.x,
                part.y,
                marker="*",
                markersize=16,
                color=SITE_COLOUR,
                markeredgecolor="black",
            )


def site_map_png(site: shapely.Geometry, layers: Iterable[MapLayer], title: str) -> bytes:
    """Layers bottom to top in the given order, the site on top, a legend of what is shown."""
    x0, y0, x1, y1 = map_extent(site)
    fig, ax = new_figure(8, 7, dpi=110)
    legend = []
    for layer in layers:
        spec, style = layer.spec, layer.spec.style
        kind = spec.geometry_type
        alpha = CONTEXT_ALPHA if spec.screening_role == "context" else style.opacity(kind)
        for geom, attributes in layer.features:
            _draw(ax, geom, style, style.colour_for(attributes, kind), alpha)
        if layer.features:
            legend.append(Patch(color=style.swatch(kind), alpha=0.6, label=spec.title_zh))
    _draw_site(ax, site)
    legend.append(Patch(color=SITE_COLOUR, label="项目用地"))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    # Equal ground distances on both axes at this latitude.
    ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_title(title)
    ax.set_xlabel("经度 (CGCS2000)")
    ax.set_ylabel("纬度 (CGCS2000)")
    ax.legend(handles=legend, loc="lower right", fontsize=8, framealpha=0.85)
    return figure_bytes(fig, "png", tight=True)
