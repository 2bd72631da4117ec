"""A bar chart of a layer's area by unit (PNG or SVG), Chinese labels included."""

from app.catalog import get_layer_spec
from app.render.charts import bar_chart

MAX_BARS = 60
UNIT_WORDS = {"province": "省", "city": "市", "county": "县区", "township": "乡镇", "village": "村"}


def area_chart(summary: dict, layer_id: str, fmt: str = "png") -> bytes:
    """The largest MAX_BARS units by the layer's area, in the layer's catalog colour."""
    spec = get_layer_spec(layer_id)
    rows = sorted(
        summary["rows"], key=lambda r: r["layers"][layer_id].get("area_km2", 0), reverse=True
    )
    rows = [r for r in rows if r["layers"][layer_id].get("area_km2")][:MAX_BARS]
    labels = [
        r["name"] if summary["by"] != "township" else f"{r['parent']}·{r['name']}" for r in rows
    ]
    return bar_chart(
        labels,
        [r["layers"][layer_id]["area_km2"] for r in rows],
        spec.style.swatch(spec.geometry_type),
        xlabel=f"{spec.title_zh}面积（平方公里）",
        title=f"{spec.title_zh}面积（按{UNIT_WORDS[summary['by']]}）",
        fmt=fmt,
    )
