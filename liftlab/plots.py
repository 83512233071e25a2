"""Static charts for the A/B test report.

The report is opened offline (ZenML dashboard, MLflow artifact, a file someone mailed), so every
chart is rendered here to self-contained SVG and inlined into the HTML: no JavaScript charting
library, no CDN.

We build figures with the object-oriented API (``matplotlib.figure.Figure``) instead of
``pyplot``: such figures are never registered with pyplot's global figure manager, so they cannot
leak memory in a long-running pipeline process, need no ``plt.close``, and never try to open a
window (no ``plt.show``, no GUI backend). Saving goes through the Agg/SVG canvases only.
"""

from __future__ import annotations

import io
import math
import re
import uuid
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

__all__ = [
    "DECISION_COLORS",
    "figure_to_png",
    "figure_to_svg",
    "forest_plot",
    "funnel_plot",
]

# One colour per decision, shared with the HTML badges so a reader can match chart and table.
DECISION_COLORS: dict[str, str] = {
    "win": "#2e9e4f",
    "loss": "#d64541",
    "neutral": "#8a949e",
    "inconclusive": "#f0a202",
}
_UNKNOWN_COLOR = "#b0b7bf"
_SRM_COLOR = "#c62828"
_TEXT = "#1f2933"
_MUTED = "#66717d"
_GRID = "#e4e7eb"
_BAND = "#f5f7f9"

# Variant palette for the funnel: the control arm is always grey, treatments get colours.
_CONTROL_COLOR = "#a7b1bb"
_VARIANT_COLORS = ["#1e6fd9", "#8e44ad", "#e07b00", "#16a085", "#c0392b", "#5d6d7e"]

_FIG_WIDTH_IN = 11.0  # ≈ 1056 px at 96 dpi: the report's content width


def _plain(text: object) -> str:
    """Make a user string safe for matplotlib text.

    Matplotlib treats text between two ``$`` as mathtext; an experiment called ``$5_off`` and
    ``$10_off`` would render as garbled math or even raise at draw time. Escaping the dollar
    signs keeps every name literal.
    """
    return str(text).replace("$", r"\$")


def _fmt_pct(value: float, digits: int = 1) -> str:
    """Signed percent with a real minus sign (0.182 -> '+18.2%'), '–' for missing."""
    if value is None or not np.isfinite(value):
        return "–"
    s = f"{value * 100:+.{digits}f}%"
    if float(s[:-1]) == 0:  # no "−0.0%": a sign on a rounded zero is noise
        s = f"{0:.{digits}f}%"
    return s.replace("-", "\u2212")


def _axis_pct(value: float, _pos: int | None = None) -> str:
    """Tick labels as signed percent without trailing zeros: '−5%', '0%', '+12.5%'."""
    pct = round(value * 100, 6)
    if pct == 0:
        return "0%"
    return f"{pct:+g}%".replace("-", "\u2212")


def _style_axis(ax) -> None:
    """A quiet axis: no box, light vertical grid, so the data carries the ink."""
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#c3c9d0")
    ax.tick_params(axis="both", colors=_MUTED, labelsize=8.5, length=0)
    ax.tick_params(axis="y", labelcolor=_TEXT, labelsize=9)
    ax.grid(axis="x", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _finite_limits(values: Sequence[float]) -> tuple[float, float]:
    """x limits that always include 0 and every finite CI end, with a little air."""
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    lo = min(0.0, float(arr.min())) if arr.size else -0.05
    hi = max(0.0, float(arr.max())) if arr.size else 0.05
    if math.isclose(lo, hi):
        lo, hi = lo - 0.05, hi + 0.05
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def forest_plot(
    results: pd.DataFrame, *, srm_experiments: Sequence[str] = (), max_label_chars: int = 42
) -> Figure:
    """Relative lift with confidence intervals, one panel per metric.

    Only overall rows (``segment == "all"``) are drawn: segments would multiply the rows and
    invite reading noise as signal. Each row is one "experiment · variant" comparison; the dot
    is the relative lift, the line its CI, the colour the decision. Rows that could not be
    estimated (status != "ok", NaN lift) still get one grey "×" on the zero line with the
    reason written next to it, so a missing comparison is visible instead of silently absent.
    Experiments listed in ``srm_experiments`` get a red label: their numbers are not to be
    trusted.
    """
    df = results if results is not None else pd.DataFrame()
    if "segment" in df.columns:
        df = df[df["segment"].astype(str) == "all"]
    required = {"experiment", "variant", "metric"}
    if df.empty or not required.issubset(df.columns):
        return _empty_figure("No overall (segment = all) comparisons to plot.")
    df = df.copy()
    for col in ("rel_lift", "rel_ci_low", "rel_ci_high"):
        df[col] = pd.to_numeric(df[col], errors="coerce") if col in df.columns else np.nan
    for col in ("decision", "status", "metric_type"):
        if col not in df.columns:
            df[col] = None
    srm_set = {str(e) for e in srm_experiments}

    metrics = list(pd.unique(df["metric"].astype(str)))
    exp_order = {e: i for i, e in enumerate(pd.unique(df["experiment"].astype(str)))}
    df["exp_key"] = df["experiment"].astype(str)
    df["metric_key"] = df["metric"].astype(str)
    df["_eorder"] = df["exp_key"].map(exp_order)
    df["_vorder"] = np.arange(len(df))  # keep the input order of variants within an experiment

    panels = []
    for metric in metrics:
        sub = df[df["metric_key"] == metric].sort_values(["_eorder", "_vorder"], kind="stable")
        panels.append((metric, sub))

    row_h, panel_extra, gap, top = 0.34, 0.75, 0.35, 0.7
    heights = [len(sub) * row_h + panel_extra for _, sub in panels]
    fig_h = top + sum(heights) + gap * (len(panels) - 1) + 0.15
    fig = Figure(figsize=(_FIG_WIDTH_IN, fig_h))
    fig.patch.set_facecolor("white")

    axes, y_cursor = [], fig_h - top
    for (metric, sub), h in zip(panels, heights, strict=True):
        plot_h = h - panel_extra
        bottom = y_cursor - 0.32 - plot_h  # 0.32 in of title above the plot area
        ax = fig.add_axes((0.3, bottom / fig_h, 0.5, plot_h / fig_h))
        _draw_forest_panel(ax, metric, sub, srm_set, max_label_chars)
        axes.append(ax)
        y_cursor -= h + gap

    # Size the margins from the rendered label widths, so long (or bold SRM) experiment names
    # and wide CI annotations are never clipped, whatever the font.
    renderer = FigureCanvasAgg(fig).get_renderer()
    dpi = fig.dpi
    label_w = max(
        (t.get_window_extent(renderer).width for ax in axes for t in ax.get_yticklabels()),
        default=0.0,
    )
    note_w = max(
        (
            t.get_window_extent(renderer).width
            for ax in axes
            for t in ax.texts
            if t.get_position()[0] > 1.0
        ),
        default=0.0,
    )
    left_in = min(label_w / dpi + 0.2, _FIG_WIDTH_IN * 0.45)
    right_in = min(note_w / dpi + 0.35, _FIG_WIDTH_IN * 0.3)
    left, width = left_in / _FIG_WIDTH_IN, 1 - (left_in + right_in) / _FIG_WIDTH_IN
    for ax in axes:
        pos = ax.get_position()
        ax.set_position((left, pos.y0, width, pos.height))

    handles = [
        Line2D([], [], marker="o", linestyle="-", color=c, markersize=7, linewidth=2, label=d)
        for d, c in DECISION_COLORS.items()
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="x",
            linestyle="",
            color=_UNKNOWN_COLOR,
            markersize=7,
            label="not estimable",
        )
    )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(left, 1 - 0.08 / fig_h),
        ncol=len(handles),
        frameon=False,
        fontsize=9,
        labelcolor=_TEXT,
        handlelength=2.2,
        columnspacing=1.6,
    )
    return fig


def _row_label(experiment: str, variant: object, max_chars: int) -> str:
    label = f"{experiment} · {variant}"
    if len(label) > max_chars:
        label = label[: max_chars - 1] + "…"
    return label


def _draw_forest_panel(ax, metric: str, sub: pd.DataFrame, srm: set[str], max_chars: int) -> None:
    """One metric: rows top to bottom in experiment order, alternating bands per experiment."""
    n = len(sub)
    ys = np.arange(n)[::-1].astype(float)  # first row on top
    lows = sub["rel_ci_low"].to_numpy(dtype=float)
    highs = sub["rel_ci_high"].to_numpy(dtype=float)
    lifts = sub["rel_lift"].to_numpy(dtype=float)
    xlo, xhi = _finite_limits([*lows, *highs, *lifts])
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(-0.6, n - 0.4)
    _style_axis(ax)

    # Light band behind every other experiment so multi-variant experiments read as a group.
    exps = sub["exp_key"].tolist()
    band_idx = -1
    prev = None
    for y, exp in zip(ys, exps, strict=True):
        if exp != prev:
            band_idx += 1
            prev = exp
        if band_idx % 2 == 1:
            ax.axhspan(y - 0.5, y + 0.5, color=_BAND, zorder=0, linewidth=0)

    ax.axvline(0, color="#4a5560", linewidth=1.1, zorder=1)

    ok_x, ok_y, ok_c = [], [], []
    na_y = []
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    for y, row, lo, hi, lift in zip(
        ys, sub.itertuples(index=False), lows, highs, lifts, strict=True
    ):
        decision = str(row.decision) if isinstance(row.decision, str) else ""
        color = DECISION_COLORS.get(decision, _UNKNOWN_COLOR)
        if np.isfinite(lift):
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot(
                    [lo, hi], [y, y], color=color, linewidth=2.4, solid_capstyle="round", zorder=2
                )
            ok_x.append(lift)
            ok_y.append(y)
            ok_c.append(color)
            text = f"{_fmt_pct(lift)}  [{_fmt_pct(lo)}, {_fmt_pct(hi)}]"
            weight = "bold" if decision in ("win", "loss") else "normal"
            ax.text(
                1.02,
                y,
                text,
                transform=trans,
                va="center",
                ha="left",
                fontsize=8.5,
                color=color if decision in ("win", "loss") else _TEXT,
                fontweight=weight,
            )
        else:
            na_y.append(y)
            status = row.status if isinstance(row.status, str) and row.status else "no estimate"
            ax.text(
                1.02,
                y,
                f"n/a ({_plain(status)})",
                transform=trans,
                va="center",
                ha="left",
                fontsize=8.5,
                color=_MUTED,
                style="italic",
            )

    if ok_x:
        ax.scatter(ok_x, ok_y, c=ok_c, s=46, zorder=3, edgecolors="white", linewidths=1.2)
    if na_y:
        ax.scatter(
            [0.0] * len(na_y), na_y, marker="x", c=_UNKNOWN_COLOR, s=40, zorder=3, linewidths=1.6
        )

    labels = [_plain(_row_label(r.exp_key, r.variant, max_chars)) for r in sub.itertuples()]
    ax.set_yticks(ys, labels)
    for tick, exp in zip(ax.get_yticklabels(), exps, strict=True):
        if exp in srm:
            tick.set_color(_SRM_COLOR)
            tick.set_fontweight("bold")
    ax.xaxis.set_major_formatter(FuncFormatter(_axis_pct))

    mtypes = [t for t in pd.unique(sub["metric_type"]) if isinstance(t, str)]
    kind = f"  ({', '.join(mtypes)})" if mtypes else ""
    ax.set_title(_plain(metric), loc="left", fontsize=11, fontweight="bold", color=_TEXT, pad=8)
    if kind:
        ax.text(
            1.0,
            1.0,
            _plain(kind.strip()),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8.5,
            color=_MUTED,
        )
    ax.text(
        1.02,
        1.0,
        "lift  [CI]",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=8.5,
        color=_MUTED,
    )


def _stage_rates(group: pd.DataFrame) -> list[tuple[str, float]]:
    """Conversion between consecutive stages for one experiment × variant.

    Step rates (clicks / opens) compare variants far better than raw per-unit totals, which span
    orders of magnitude between impressions and conversions. With a single stage there is no
    step, so we fall back to that stage's total per unit.
    """
    g = group.sort_values("stage_order", kind="stable")
    stages = g["stage"].astype(str).tolist()
    totals = pd.to_numeric(g["total"], errors="coerce").to_numpy(dtype=float)
    if len(stages) == 1:
        n_units = pd.to_numeric(g["n_units"], errors="coerce").to_numpy(dtype=float)[0]
        rate = totals[0] / n_units if n_units and np.isfinite(n_units) else np.nan
        return [(f"{stages[0]}\nper unit", rate)]
    out = []
    for i in range(1, len(stages)):
        prev = totals[i - 1]
        rate = totals[i] / prev if np.isfinite(prev) and prev > 0 else np.nan
        out.append((f"{stages[i]}\n/ {stages[i - 1]}", rate))
    return out


def funnel_plot(funnel: pd.DataFrame, *, controls: Mapping[str, str] | None = None) -> Figure:
    """Small multiples, one panel per experiment: stage-to-stage conversion per variant.

    ``controls`` maps experiment -> control variant name; the control is drawn in grey so the
    eye goes to the treatments. Without it, variants are coloured in order of appearance.
    An empty frame yields a small figure that says so (the report shows a note instead).
    """
    needed = {"experiment", "variant", "stage", "stage_order", "total"}
    if funnel is None or funnel.empty or not needed.issubset(funnel.columns):
        return _empty_figure("No funnel data in this run.")
    df = funnel.copy()
    if "n_units" not in df.columns:
        df["n_units"] = np.nan
    df["exp_key"] = df["experiment"].astype(str)
    df["var_key"] = df["variant"].astype(str)
    controls = {str(k): str(v) for k, v in (controls or {}).items()}
    experiments = list(pd.unique(df["exp_key"]))

    ncols = min(3, len(experiments))
    nrows = math.ceil(len(experiments) / ncols)
    panel_h = 2.9
    fig = Figure(figsize=(_FIG_WIDTH_IN, panel_h * nrows + 0.2))
    fig.patch.set_facecolor("white")
    gs = fig.add_gridspec(
        nrows,
        ncols,
        left=0.06,
        right=0.99,
        top=1 - 0.45 / (panel_h * nrows),
        bottom=0.55 / (panel_h * nrows),
        hspace=0.62,
        wspace=0.2,
    )

    ymax_all = 0.0
    axes = []
    for i, exp in enumerate(experiments):
        ax = fig.add_subplot(gs[i // ncols, i % ncols])
        axes.append(ax)
        sub = df[df["exp_key"] == exp]
        variants = list(pd.unique(sub["var_key"]))
        control = controls.get(exp)
        if control in variants:  # control first, on the left of each group
            variants = [control] + [v for v in variants if v != control]
        rates = {v: _stage_rates(sub[sub["var_key"] == v]) for v in variants}
        cats: list[str] = []
        for v in variants:
            for label, _ in rates[v]:
                if label not in cats:
                    cats.append(label)
        x = np.arange(len(cats))
        width = 0.8 / max(1, len(variants))
        palette = iter(_VARIANT_COLORS * 4)
        for j, v in enumerate(variants):
            color = _CONTROL_COLOR if v == control else next(palette)
            lookup = dict(rates[v])
            vals = np.array([lookup.get(c, np.nan) for c in cats], dtype=float)
            offs = x - 0.4 + width * (j + 0.5)
            label = f"{v} (control)" if v == control else v
            bars = ax.bar(
                offs, np.nan_to_num(vals), width * 0.92, color=color, label=_plain(label), zorder=2
            )
            # Narrower bars with more variants: smaller labels, then whole percents, so
            # neighbouring labels never run into each other.
            crowded = len(variants) >= 4
            texts = [_short_pct(val, whole=crowded) if np.isfinite(val) else "" for val in vals]
            size = 7 if len(variants) <= 2 else 6
            ax.bar_label(bars, labels=texts, fontsize=size, color=_TEXT, padding=1.5)
            if np.isfinite(vals).any():
                ymax_all = max(ymax_all, float(np.nanmax(vals)))
        ax.set_xticks(x, [_plain(c) for c in cats])
        _style_axis(ax)
        ax.grid(axis="x", visible=False)
        ax.grid(axis="y", color=_GRID, linewidth=0.8)
        ax.tick_params(axis="x", labelsize=7.5, labelcolor=_TEXT)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{round(v * 100, 6):g}%"))
        ax.set_title(_plain(exp), loc="left", fontsize=10, fontweight="bold", color=_TEXT, pad=16)
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncol=len(variants),
            frameon=False,
            fontsize=7.5,
            handlelength=1,
            borderaxespad=0.1,
            columnspacing=1,
        )
        ymax = max((b.get_height() for b in ax.patches), default=0)
        ax.set_ylim(0, (ymax or 0.01) * 1.18)
    return fig


def _short_pct(value: float, *, whole: bool = False) -> str:
    """Bar labels: enough digits to tell variants apart at any rate size."""
    pct = value * 100
    if abs(pct) >= 100 or (whole and abs(pct) >= 10):
        return f"{pct:.0f}%"
    if abs(pct) >= 1:
        return f"{pct:.1f}%"  # 11.6% vs 12.4% must not both read "12%"
    return f"{pct:.2f}%"


def _empty_figure(message: str) -> Figure:
    fig = Figure(figsize=(6, 1.0))
    fig.patch.set_facecolor("white")
    fig.text(0.5, 0.5, _plain(message), ha="center", va="center", color=_MUTED, fontsize=10)
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
