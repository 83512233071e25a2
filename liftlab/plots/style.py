"""The house style every liftlab chart shares: colours, axis style, titles, legends, "no data"
figures and the SVG/PNG export the reports and MLflow use.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``) instead of
``pyplot``: they are never registered with pyplot's global figure manager, so they cannot leak
memory in a long-running pipeline process and never try to open a window. The colours are shared
with the HTML reports' CSS, so a reader can match a chart's colour to a table's badge.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

# One colour per decision, shared with the HTML badges so a reader can match chart and table.
DECISION_COLORS: dict[str, str] = {
    "win": "#2e9e4f",
    "loss": "#d64541",
    "neutral": "#8a949e",
    "inconclusive": "#f0a202",
}


UNKNOWN_COLOR = "#b0b7bf"


TEXT_COLOR = "#1f2933"


MUTED_COLOR = "#66717d"


GRID_COLOR = "#e4e7eb"


# Variant palette for the funnel: the control arm is always grey, treatments get colours.
CONTROL_COLOR = "#a7b1bb"


VARIANT_COLORS = ["#1e6fd9", "#8e44ad", "#e07b00", "#16a085", "#c0392b", "#5d6d7e"]


HEAT_CMAP = "RdBu"
"""Lift heatmaps: red = lower than control, blue = higher, white at no change."""
HEAT_NOT_OK_FILL = "#e9ecef"
"""A heatmap cell whose comparison has no sound estimate (status other than ok)."""
HEAT_MISSING_FILL = "#fafbfc"
"""A heatmap cell with no comparison at all."""

FIG_WIDTH_IN = 11.0  # ≈ 1056 px at 96 dpi: the report's content width


def plain(text: object) -> str:
    """Make a user string safe for matplotlib text.

    Matplotlib treats text between two ``$`` as mathtext; an experiment called ``$5_off`` and
    ``$10_off`` would render as garbled math or even raise at draw time. Escaping the dollar
    signs keeps every name literal.
    """
    return str(text).replace("$", r"\$")


def style_axis(ax) -> None:
    """A quiet axis: no box, light vertical grid, so the data carries the ink."""
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#c3c9d0")
    ax.tick_params(axis="both", colors=MUTED_COLOR, labelsize=8.5, length=0)
    ax.tick_params(axis="y", labelcolor=TEXT_COLOR, labelsize=9)
    ax.grid(axis="x", color=GRID_COLOR, linewidth=0.8)
    ax.set_axisbelow(True)


def set_title(ax, title: str, subtitle: str = "", *, max_chars: int = 90) -> None:
    """Bold left-aligned title with an optional muted subtitle line under it (every liftlab
    chart uses this, so reports look alike)."""
    if title:
        ax.set_title(
            plain(clip_label(title, max_chars)),
            loc="left",
            fontsize=10.5,
            fontweight="bold",
            color=TEXT_COLOR,
            pad=18 if subtitle else 8,
        )
    if subtitle:
        ax.text(
            0, 1.015, plain(subtitle), transform=ax.transAxes, fontsize=8.5, color=MUTED_COLOR,
            va="bottom",
        )  # fmt: skip


def bottom_legend(
    fig: Figure, handles: Sequence[object], *, anchor: tuple[float, float] | None = None, **style
) -> None:
    """One borderless legend row under the panels: at ``anchor`` (figure coordinates) or, for
    constrained-layout figures, in the space matplotlib reserves below them."""
    options: dict[str, object] = {
        "handles": handles,
        "ncol": len(handles),
        "frameon": False,
        "fontsize": 8,
        "labelcolor": TEXT_COLOR,
    }
    if anchor is None:
        options["loc"] = "outside lower left"
    else:
        options.update(loc="lower left", bbox_to_anchor=anchor)
    options.update(style)
    fig.legend(**options)


def numeric_column(df: pd.DataFrame, col: str) -> pd.Series:
    """A numeric column (NaN where missing or not a number), whether or not it exists."""
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").astype(float)


def clip_label(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def short_pct(value: float, *, whole: bool = False) -> str:
    """Bar labels: enough digits to tell variants apart at any rate size."""
    pct = value * 100
    if abs(pct) >= 100 or (whole and abs(pct) >= 10):
        return f"{pct:.0f}%"
    if abs(pct) >= 1:
        return f"{pct:.1f}%"  # 11.6% vs 12.4% must not both read "12%"
    return f"{pct:.2f}%"


def empty_figure(message: str) -> Figure:
    fig = Figure(figsize=(6, 1.0))
    fig.patch.set_facecolor("white")
    fig.text(0.5, 0.5, plain(message), ha="center", va="center", color=MUTED_COLOR, fontsize=10)
    return fig


_XML_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)


_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


_ID = re.compile(r'\bid="([^"]+)"')


_REF = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


def figure_to_svg(fig: Figure) -> str:
    """Render a figure as inline ``<svg>`` markup for embedding in HTML.

    SVG rather than PNG: it stays sharp when zoomed or printed and is searchable-free of
    external files. Text is stored as glyph paths so the chart looks identical everywhere (no
    dependence on installed fonts). The XML prolog and RDF metadata are dropped, and every
    ``id`` is prefixed with a random token because several SVGs share one HTML document and
    matplotlib reuses ids such as ``DejaVuSans-30`` and ``axes_1``.
    The figure is not closed: OO-API figures need no closing, pyplot ones belong to the caller.
    """
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": None}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, facecolor="white")
    svg = _XML_PROLOG.sub("", buf.getvalue(), count=1)
    svg = _METADATA.sub("", svg)
    ids = set(_ID.findall(svg))
    prefix = f"ll{uuid.uuid4().hex[:8]}-"

    def _prefix(match: re.Match[str]) -> str:
        head, name = match.group(1), match.group(2)
        return f"{head}{prefix}{name}" if name in ids else match.group(0)

    return _REF.sub(_prefix, svg).strip()


def figure_to_png(fig: Figure, path=None, *, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (optionally also written to ``path``), for previews and artifacts."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    data = buf.getvalue()
    if path is not None:
        with open(path, "wb") as fh:
            fh.write(data)
    return data


def panel_grid(
    nrows: int,
    ncols: int,
    *,
    panel_h: float,
    extra_h: float,
    top_in: float,
    bottom_in: float,
    hspace: float,
    wspace: float,
):  # noqa: ANN201 - (Figure, GridSpec)
    """A white figure with an ``nrows`` × ``ncols`` grid of small multiples, ``panel_h`` inches
    per row plus ``extra_h`` for the title and legend rows. Margins are in inches so titles and
    the legend keep their room whatever the number of rows."""
    height = panel_h * nrows + extra_h
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    fig.patch.set_facecolor("white")
    gs = fig.add_gridspec(
        nrows,
        ncols,
        left=0.06,
        right=0.99,
        top=1 - top_in / height,
        bottom=bottom_in / height,
        hspace=hspace,
        wspace=wspace,
    )
    return fig, gs


def set_narrow_title(ax, title: str, subtitle: str = "") -> None:  # noqa: ANN001
    """:func:`set_title` for the model and uplift charts, whose panels are narrower than the A/B
    forest plot: titles wrap at 80 characters."""
    set_title(ax, title, subtitle, max_chars=80)


# --- lift heatmaps ----------------------------------------------------------------------------


def heat_norm(values: np.ndarray, ok: np.ndarray) -> tuple[TwoSlopeNorm, float]:
    """A colour scale centred on 0 and symmetric, so equal gains and losses look equally
    strong: ±the 95th percentile of |lift| over the sound cells (their maximum with fewer than
    20), at least ±0.5 %. Returns the norm and that bound (values beyond it are clipped)."""
    magnitude = np.abs(np.asarray(values, dtype=float)[np.asarray(ok, dtype=bool)])
    if magnitude.size >= 20:
        vmax = float(np.percentile(magnitude, 95))
    else:
        vmax = float(magnitude.max()) if magnitude.size else 0.0
    vmax = max(vmax, 0.005)
    return TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax), vmax


def heat_cell(i: int, j: int, facecolor: str, *, linewidth: float, **style: Any) -> Rectangle:
    """A full heatmap cell (row ``i``, column ``j``) painted over the colour mesh, with the
    mesh's white grid line."""
    return Rectangle(
        (j - 0.5, i - 0.5), 1, 1, facecolor=facecolor, edgecolor="white", linewidth=linewidth,
        **style,
    )  # fmt: skip


def text_color_on(rgba: Any) -> str:
    """White on dark cells, the text colour on light ones (relative luminance < 0.5)."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else TEXT_COLOR


def axis_pct(value: float, _pos: int | None = None) -> str:
    """Tick labels as signed percent without trailing zeros: '−5%', '0%', '+12.5%'."""
    pct = round(value * 100, 6)
    return "0%" if pct == 0 else f"{pct:+g}%".replace("-", "\u2212")


def heat_colorbar(fig: Figure, mesh: Any, rect: tuple[float, float, float, float]) -> Any:
    """The lift scale beside a heatmap (``rect`` in figure fractions): signed percent ticks,
    symmetric around 0, drawn as vectors so the SVG holds no bitmap."""
    cbar = fig.colorbar(mesh, cax=fig.add_axes(rect))
    cbar.outline.set_visible(False)
    cbar.solids.set_rasterized(False)
    cbar.ax.tick_params(labelsize=7.5, colors=MUTED_COLOR, length=2)
    cbar.ax.yaxis.set_major_formatter(FuncFormatter(axis_pct))
    cbar.ax.yaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
    return cbar
