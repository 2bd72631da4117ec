"""A bar chart of a layer's area by unit (PNG or SVG), Chinese labels included."""

import io

from app.catalog import get_layer_spec
from app.screening.mapimage import _register_cjk_fonts, plt

MAX_BARS = 60
UNIT_WORDS = {"city": "市", "county": "县区", "township": "乡镇"}


def area_chart(summary: dict, layer_id: str, fmt: str = "png") -> bytes:
    spec = get_layer_spec(layer_id)
    rows = sorted(
        summary["rows"], key=lambda r: r["layers"][layer_id].get("area_km2", 0), reverse=True
    )
    rows = [r for r in rows if r["layers"][layer_id].get("area_km2")][:MAX_BARS]
    _register_cjk_fonts()
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.28 * len(rows) + 1.2)), dpi=100)
    labels = [
        r["name"] if summary["by"] != "township" else f"{r['parent']}·{r['name']}" for r in rows
    ]
    values = [r["layers"][layer_id]["area_km2"] for r in rows]
    colour = spec.style.get("fill") or next(
        iter((spec.style.get("fill_by") or {}).get("values", {"": "#4caf50"}).values())
    )
    ax.barh(labels[::-1], values[::-1], color=colour)
    ax.set_xlabel(f"{spec.title_zh}面积（平方公里）")
    ax.set_title(f"{spec.title_zh}面积（按{UNIT_WORDS[summary['by']]}）")
    for y, v in enumerate(values[::-1]):
        ax.text(v, y, f" {v:,.2f}", va="center", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    plt.close(fig)
    return buf.getvalue()
