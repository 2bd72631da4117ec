"""A PNG map of a screened site over the layers it was screened against (matplotlib)."""

import io
import math
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402
import shapely  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.catalog import catalog, draw_order  # noqa: E402

CJK_FONTS = [
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "SimHei",
    "DejaVu Sans",
]
CJK_FONT_FILES = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]

_FEATURES = text(
    "SELECT f.attributes, ST_AsBinary(ST_ClipByBox2D(f.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, "
    "4490))) AS wkb FROM feature f JOIN layer_version v ON v.id = f.version_id "
    "WHERE v.layer_id = :layer AND v.version = :version "
    "AND f.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
)


def _extent(site: shapely.Geometry) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = site.bounds
    pad = max(x1 - x0, y1 - y0) * 0.6 + 0.01  # at least ~1 km around the site
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _colour(style: dict, attributes: dict) -> str:
    by = style.get("fill_by")
    if by:
        first = next(iter(by["values"].values()))
        return by["values"].get(attributes.get(by["attribute"]), first)
    return style.get("fill", style.get("stroke", "#999999"))


def _draw(ax, geom: shapely.Geometry, style: dict, colour: str, alpha: float) -> None:
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            x, y = part.exterior.xy
            ax.fill(x, y, color=colour, alpha=alpha, linewidth=0)
            ax.plot(x, y, color=style.get("stroke", colour), linewidth=style.get("stroke_width", 1))
        elif part.geom_type == "LineString":
            x, y = part.xy
            ax.plot(
                x, y, color=style.get("stroke", colour), linewidth=style.get("stroke_width", 1.5)
            )


@lru_cache
def _register_cjk_fonts() -> None:
    # Matplotlib's font cache may predate the font package: register the files directly.
    for path in CJK_FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    plt.rcParams["axes.unicode_minus"] = False


def render_map(
    session: Session, site: shapely.Geometry, layer_versions: dict[str, int], title: str
) -> bytes:
    _register_cjk_fonts()
    x0, y0, x1, y1 = _extent(site)
    fig, ax = plt.subplots(figsize=(8, 7), dpi=110)
    legend = []
    specs = catalog()
    for layer_id in draw_order(layer_versions):
        if layer_id not in layer_versions or layer_id not in specs:
            continue
        spec = specs[layer_id]
        rows = session.execute(
            _FEATURES,
            {
                "layer": layer_id,
                "version": layer_versions[layer_id],
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
            },
        ).all()
        for row in rows:
            geom = shapely.from_wkb(bytes(row.wkb))
            # Context layers are washed out so the protected layers stay readable.
            alpha = (
                0.12 if spec.screening_role == "context" else spec.style.get("fill_opacity", 0.4)
            )
            _draw(ax, geom, spec.style, _colour(spec.style, row.attributes), alpha)
        if rows:
            legend.append(Patch(color=_colour(spec.style, {}), alpha=0.6, label=spec.title_zh))
    for part in shapely.get_parts(site):
        if part.geom_type == "Polygon":
            ax.plot(*part.exterior.xy, color="#ff6d00", linewidth=2.5)
        elif part.geom_type == "LineString":
            ax.plot(*part.xy, color="#ff6d00", linewidth=3)
        else:
            ax.plot(
                part.x, part.y, marker="*", markersize=16, color="#ff6d00", markeredgecolor="black"
            )
    legend.append(Patch(color="#ff6d00", label="项目用地"))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    # Equal ground distances on both axes at this latitude.
    ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_title(title)
    ax.set_xlabel("经度 (CGCS2000)")
    ax.set_ylabel("纬度 (CGCS2000)")
    ax.legend(handles=legend, loc="lower right", fontsize=8, framealpha=0.85)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
