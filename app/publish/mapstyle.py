"""Catalog styles (layers/*.yaml `style`) → a MapLibre style spec v8 with a legend; pure."""

from collections.abc import Callable, Iterable
from typing import Any

from app.catalog import LayerSpec, draw_order
from app.errors import InvalidInput

BACKGROUND = "#f7f7f5"


def colour_expression(spec: LayerSpec) -> str | list[Any]:
    """A plain colour, or a `match` on the fill_by attribute with the base colour as fallback."""
    style = spec.style
    fallback = style.base_colour(spec.geometry_type)
    if not style.fill_attribute or not style.categories:
        return fallback
    expression: list[Any] = ["match", ["get", style.fill_attribute]]
    for value, colour in style.categories.items():
        expression += [value, colour]
    return [*expression, fallback]


def _line_paint(spec: LayerSpec) -> dict[str, Any]:
    style = spec.style
    colour = style.base_colour("line") if spec.geometry_type == "line" else style.outline
    paint: dict[str, Any] = {"line-color": colour, "line-width": float(style.stroke_width)}
    if style.stroke_dash:
        paint["line-dasharray"] = list(style.stroke_dash)
    return paint


def style_layers(spec: LayerSpec) -> list[dict[str, Any]]:
    """MapLibre layers of one catalog layer: fill + outline, line, or circle."""
    base = {"source": spec.id, "source-layer": spec.id, "metadata": {"redline:layer": spec.id}}
    style = spec.style
    if spec.geometry_type == "polygon":
        fill = {
            "id": f"{spec.id}-fill",
            "type": "fill",
            **base,
            # A fully transparent fill (admin_county) is kept: it still answers clicks.
            "paint": {
                "fill-color": colour_expression(spec),
                "fill-opacity": style.opacity("polygon"),
            },
        }
        line = {"id": f"{spec.id}-line", "type": "line", **base, "paint": _line_paint(spec)}
        return [fill, line]
    if spec.geometry_type == "line":
        line = {
            "id": f"{spec.id}-line",
            "type": "line",
            **base,
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": _line_paint(spec),
        }
        return [line]
    circle = {
        "id": f"{spec.id}-circle",
        "type": "circle",
        **base,
        "paint": {
            "circle-color": colour_expression(spec),
            "circle-radius": float(style.radius),
            "circle-stroke-color": style.outline,
            "circle-stroke-width": float(style.stroke_width),
        },
    }
    return [circle]


def legend(spec: LayerSpec) -> dict[str, Any]:
    """Legend entries (label → colour) for a web page, from the same catalog style."""
    style = spec.style
    entry: dict[str, Any] = {
        "id": spec.id,
        "title_zh": spec.title_zh,
        "title_en": spec.title_en,
        "geometry_type": spec.geometry_type,
        "style_layers": [layer["id"] for layer in style_layers(spec)],
        "stroke": style.stroke,
    }
    if style.fill_attribute and style.categories:
        attribute = spec.attribute(style.fill_attribute)
        entry["attribute"] = style.fill_attribute
        entry["attribute_label"] = attribute.label_zh if attribute else style.fill_attribute
        entry["entries"] = [
            {"value": value, "label": str(value), "color": colour}
            for value, colour in style.categories.items()
        ]
    else:
        colour = style.base_colour(spec.geometry_type)
        entry["entries"] = [{"value": None, "label": spec.title_zh, "color": colour}]
    return entry


def map_style(
    specs: Iterable[LayerSpec],
    tilejson_url: Callable[[str], str],
    basemap_url: str | None = None,
) -> dict[str, Any]:
    """A style with one vector source per layer (its TileJSON) and an optional raster basemap.

    No glyphs or sprites are referenced: the map works offline, so there are no symbol layers.
    """
    by_id = {spec.id: spec for spec in specs}
    order = draw_order(by_id)
    sources: dict[str, Any] = {
        layer_id: {"type": "vector", "url": tilejson_url(layer_id)} for layer_id in order
    }
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}
    ]
    if basemap_url:
        sources["basemap"] = {"type": "raster", "tiles": [basemap_url], "tileSize": 256}
        layers.append({"id": "basemap", "type": "raster", "source": "basemap"})
    for layer_id in order:
        layers += style_layers(by_id[layer_id])
    return {
        "version": 8,
        "name": "Redline 生态分区",
        "metadata": {"redline:legend": [legend(by_id[layer_id]) for layer_id in reversed(order)]},
        "sources": sources,
        "layers": layers,
    }


def check_basemap_url(url: str) -> str:
    """A raster XYZ template: http(s) with {z}, {x} and {y} placeholders."""
    if not url.startswith(("https://", "http://")) or not all(
        part in url for part in ("{z}", "{x}", "{y}")
    ):
        raise InvalidInput(
            f"basemap {url!r} is not an XYZ tile template; use e.g. "
            "https://t0.tianditu.gov.cn/vec_w/wmts?...&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}."
        )
    return url
