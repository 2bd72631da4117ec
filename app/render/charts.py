"""Horizontal bar charts (summary areas by unit)."""

from collections.abc import Sequence

from app.render.figures import figure_bytes, new_figure


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    colour: str,
    xlabel: str,
    title: str,
    fmt: str = "png",
) -> bytes:
    """Bars top to bottom in the given order, each with its value printed at its end."""
    fig, ax = new_figure(9, max(3.0, 0.28 * len(labels) + 1.2), dpi=100)
    ax.barh(list(labels)[::-1], list(values)[::-1], color=colour)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    for y, v in enumerate(list(values)[::-1]):
        ax.text(v, y, f" {v:,.2f}", va="center", fontsize=7)
    fig.tight_layout()
    return figure_bytes(fig, fmt)
