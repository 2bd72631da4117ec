"""Figures with Chinese labels, and their bytes."""

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from app.render.fonts import plt, register_cjk_fonts


def new_figure(width: float, height: float, dpi: int) -> tuple[Figure, Axes]:
    """A figure with one axes, CJK fonts registered."""
    register_cjk_fonts()
    return plt.subplots(figsize=(width, height), dpi=dpi)


def figure_bytes(fig: Figure, fmt: str = "png", tight: bool = False) -> bytes:
    """The figure encoded as `fmt` (png, svg…); the figure is closed afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, **({"bbox_inches": "tight"} if tight else {}))
    plt.close(fig)
    return buf.getvalue()
