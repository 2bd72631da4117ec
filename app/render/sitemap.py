"""The PNG maps of a screened site: the main map (projected metres, scale bar, north arrow,
legend) and a small locator map of the site in its county.

Geometries arrive already projected (see app.render.mapframe); only drawing happens here.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter, MaxNLocator
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from app.catalog import LayerSpec, LayerStyle
from app.render.figures import figure_bytes, new_figure
from app.render.mapframe import Bounds, length_label, nice_length

SITE_COLOUR = "#d50000"
CONTEXT_ALPHA = 0.12  # context layers are washed out so the protected layers stay readable
MAP_WIDTH_IN = 7.0
DPI = 150


@dataclass
class MapLayer:
    """One catalog layer's features (projected geometry, attributes) around the site."""

    spec: LayerSpec
    features: list[tuple[shapely.Geometry, dict[str, Any]]] = field(default_factory=list)


def _polygon_path(poly: shapely.Polygon) -> Path:
    """A polygon with its holes as one matplotlib path (even-odd: holes stay empty)."""
    rings = [poly.exterior, *poly.interiors]
    return Path.make_compound_path(*(Path(list(r.coords), closed=True) for r in rings))


def _draw(ax: Axes, geom: shapely.Geometry, style: LayerStyle, colour: str, alpha: float) -> None:
    for part in shapely.get_parts(geom):
        if part.is_empty:
            continue
        if part.geom_type == "Polygon":
            path = _polygon_path(part)
            ax.add_patch(PathPatch(path, facecolor=colour, alpha=alpha, linewidth=0))
            ax.add_patch(
                PathPatch(path, fill=False, edgecolor=style.outline, linewidth=style.stroke_width)
            )
        elif part.geom_type == "LineString":
            ax.plot(*part.xy, color=colour, linewidth=max(style.stroke_width, 1.2))
        elif part.geom_type == "Point":
            ax.plot(part.x, part.y, marker="o", markersize=6, color=colour, markeredgecolor="k")
        else:  # a collection from clipping: draw its members
            _draw(ax, part, style, colour, alpha)


def _draw_site(ax: Axes, site: shapely.Geometry, scale: float = 1.0) -> None:
    for part in shapely.get_parts(site):
        if part.geom_type == "Polygon":
            ax.add_patch(
                PathPatch(
                    _polygon_path(part),
                    facecolor="none",
                    edgecolor=SITE_COLOUR,
                    linewidth=2.2 * scale,
                    zorder=10,
                )
            )
        elif part.geom_type == "LineString":
            ax.plot(*part.xy, color=SITE_COLOUR, linewidth=2.8 * scale, zorder=10)
        else:
            ax.plot(
                part.x,
                part.y,
                marker="*",
                markersize=16 * scale,
                color=SITE_COLOUR,
                markeredgecolor="black",
                zorder=10,
            )


def _scale_bar(ax: Axes, extent: Bounds, size: float = 8) -> None:
    width, height = extent[2] - extent[0], extent[3] - extent[1]
    length = nice_length(width)
    ax.add_artist(
        AnchoredSizeBar(
            ax.transData,
            length,
            length_label(length),
            "lower left",
            pad=0.6,
            borderpad=0.8,
            sep=4,
            frameon=True,
            size_vertical=height * 0.006,
            fontproperties=FontProperties(size=size),
        )
    )


def _north_arrow(ax: Axes) -> None:
    """Grid north: straight up in a Gauss-Krüger projection."""
    ax.annotate(
        "N",
        xy=(0.95, 0.96),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "black", "edgecolor": "black", "width": 4, "headwidth": 11},
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
    )


def _frame(ax: Axes, extent: Bounds) -> None:
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal")  # projected metres: equal scale on both axes


def site_map_png(
    site: shapely.Geometry, layers: Iterable[MapLayer], title: str, extent: Bounds
) -> bytes:
    """Layers bottom to top, the site on top, a scale bar, a north arrow and a legend of the
    layers actually drawn, below the map. Surveyor's axes: X north, Y east (metres)."""
    width, height = extent[2] - extent[0], extent[3] - extent[1]
    fig, ax = new_figure(MAP_WIDTH_IN, MAP_WIDTH_IN * height / width, dpi=DPI)
    legend: list[Any] = []
    for layer in layers:
        spec, style = layer.spec, layer.spec.style
        kind = spec.geometry_type
        alpha = CONTEXT_ALPHA if spec.screening_role == "context" else style.opacity(kind)
        for geom, attributes in layer.features:
            _draw(ax, geom, style, style.colour_for(attributes, kind), alpha)
        if layer.features:
            legend.append(_swatch(spec))
    _draw_site(ax, site)
    legend.append(_site_swatch(site))
    _frame(ax, extent)
    _scale_bar(ax, extent)
    _north_arrow(ax)
    metres = FuncFormatter(lambda v, _: f"{v:.0f}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(4))
        axis.set_major_formatter(metres)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("Y（东向，米）", fontsize=8)
    ax.set_ylabel("X（北向，米）", fontsize=8)
    ax.set_title(title, fontsize=11)
    ax.legend(
        handles=legend,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.07),
        ncol=min(len(legend), 4),
        fontsize=8,
        frameon=False,
    )
    return figure_bytes(fig, "png", tight=True)


def _swatch(spec: LayerSpec) -> Any:
    kind = spec.geometry_type
    colour = spec.style.swatch(kind)
    if kind == "line":
        return Line2D([], [], color=colour, linewidth=2, label=spec.title_zh)
    if kind == "point":
        return Line2D([], [], color=colour, marker="o", linestyle="", label=spec.title_zh)
    return Patch(facecolor=colour, edgecolor=spec.style.outline, alpha=0.6, label=spec.title_zh)


def _site_swatch(site: shapely.Geometry) -> Any:
    dim = shapely.get_dimensions(site)
    if dim == 0:
        return Line2D([], [], color=SITE_COLOUR, marker="*", markersize=12, linestyle="",
                      markeredgecolor="black", label="项目用地")  # fmt: skip
    if dim == 1:
        return Line2D([], [], color=SITE_COLOUR, linewidth=2.8, label="项目用地")
    return Patch(facecolor="none", edgecolor=SITE_COLOUR, linewidth=2, label="项目用地")


def locator_png(
    site: shapely.Geometry, counties: Sequence[tuple[shapely.Geometry, str]], extent: Bounds
) -> bytes:
    """A small map of the counties the site lies in (outlined, named) with the site marked."""
    width, height = extent[2] - extent[0], extent[3] - extent[1]
    fig, ax = new_figure(2.6, 2.6 * height / width, dpi=DPI)
    for geom, name in counties:
        for part in shapely.get_parts(geom):
            if part.geom_type == "Polygon":
                path = _polygon_path(part)
                ax.add_patch(PathPatch(path, facecolor="#f5f5f5", edgecolor="#555", linewidth=0.8))
        label = shapely.point_on_surface(geom)
        ax.text(label.x, label.y, name, fontsize=7, ha="center", va="center", color="#333")
    _draw_site(ax, site, scale=0.7)
    centre = shapely.centroid(site)
    ax.plot(centre.x, centre.y, marker="*", markersize=11, color=SITE_COLOUR,
            markeredgecolor="black", zorder=11)  # fmt: skip
    _frame(ax, extent)
    _scale_bar(ax, extent, size=6)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("项目位置示意", fontsize=8)
    return figure_bytes(fig, "png", tight=True)
