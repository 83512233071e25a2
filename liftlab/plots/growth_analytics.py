"""Static charts for the growth-analytics report (:mod:`liftlab.reports.growth_analytics`).

Same rules as :mod:`liftlab.plots.style`: figures use the object-oriented API (never pyplot),
so they cannot leak into a global figure manager or open a window, and the report inlines them
as SVG. Every function takes plain frames and never raises on missing columns, NaN values or
an empty frame: it returns a small figure that says what is missing instead.

The charts draw what the report decided, they do not decide: the forest plot colours each
interval by the ``decision`` column it is given and the heatmap outlines the cells whose
``significant`` column is true. The report computes both from the intervals it prints, so a
chart can never call a result that its table does not.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from liftlab.plots.ab_testing import funnel_plot
from liftlab.plots.style import (
    DECISION_COLORS,
    FIG_WIDTH_IN,
    GRID_COLOR,
    HEAT_CMAP,
    HEAT_MISSING_FILL,
    HEAT_NOT_OK_FILL,
    MUTED_COLOR,
    TEXT_COLOR,
    UNKNOWN_COLOR,
    axis_pct,
    bottom_legend,
    clip_label,
    empty_figure,
    heat_cell,
    heat_colorbar,
    heat_norm,
    numeric_column,
    plain,
    set_title,
    style_axis,
    text_color_on,
)

__all__ = [
    "FUNNEL_STAGES",
    "METRIC_LABELS",
    "funnel_chart",
    "k_selection_chart",
    "lift_forest_chart",
    "metric_label",
    "persona_lift_heatmap",
]

METRIC_LABELS: dict[str, str] = {
    "ctr": "Click-through rate",
    "add_to_cart_rate": "Add-to-cart rate",
    "purchase_conversion": "Purchase conversion",
    "revenue_per_user": "Revenue per user",
    "orders_per_user": "Orders per user",
}
"""Display names of the growth metrics (the report's tables use the same ones)."""

FUNNEL_STAGES: tuple[str, ...] = ("users", "sessions", "clicks", "add_to_carts", "purchases")
"""The growth funnel's stages, in order (``stage`` values of the funnel table)."""

#: Short stage names for the funnel's "carts / clicks" labels.
_STAGE_WORDS = {"add_to_carts": "carts"}
_FADE = 0.4  # share of its colour-scale distance from 0 a non-significant cell keeps
_ZERO_COLOR = "#4a5560"
_BAND = "#f5f7f9"
_CHOSEN_COLOR = "#1e6fd9"


def metric_label(metric: Any) -> str:
    """'purchase_conversion' → 'Purchase conversion'; unknown metrics read as their name."""
    name = "" if metric is None else str(metric)
    return METRIC_LABELS.get(name, name.replace("_", " ").capitalize() or "?")


def _pct(value: float, digits: int = 1) -> str:
    """Signed percent with a real minus ('+12.3%'), no sign on a rounded zero, '±∞' ends."""
    if value is None or not np.isfinite(value):
        if value is not None and np.isinf(value):
            return "\u2212∞" if value < 0 else "+∞"
        return "n/a"
    text = f"{value * 100:+.{digits}f}%"
    if float(text[:-1]) == 0:
        text = f"{0:.{digits}f}%"
    return text.replace("-", "\u2212")


def _texts(df: pd.DataFrame, col: str, default: str = "") -> pd.Series:
    """A column as display strings ('' or ``default`` for None/NaN), whether or not it exists."""
    if col not in df.columns:
        return pd.Series(default, index=df.index, dtype=object)
    return df[col].map(lambda v: v if isinstance(v, str) and v else default).astype(object)


def _flags(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df[col].map(lambda v: isinstance(v, bool | np.bool_) and bool(v)).to_numpy(bool)


def _limits(values: np.ndarray) -> tuple[float, float]:
    """x limits that include 0 and every finite value, with a little air."""
    finite = values[np.isfinite(values)]
    lo = min(0.0, float(finite.min())) if finite.size else -0.05
    hi = max(0.0, float(finite.max())) if finite.size else 0.05
    if math.isclose(lo, hi):
        lo, hi = lo - 0.05, hi + 0.05
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


# --- overall lift: one forest panel per metric, experiments shared as rows -------------------


def lift_forest_chart(
    results: pd.DataFrame,
    *,
    experiment_labels: Mapping[str, str] | None = None,
    metrics: Sequence[str] = (),
) -> Figure:
    """Relative lift of every experiment with its CI, one narrow panel per metric side by side.

    Rows are experiments (shared by every panel, so one experiment reads across its metrics);
    each panel has its own x scale because metrics move by different amounts. The dot is the
    relative lift, the line its interval, the colour the ``decision`` column (win, loss,
    neutral, inconclusive, as the report's chips); a comparison without an estimate is a grey
    × on the zero line. ``experiment_labels`` maps experiment id → row label; ``metrics``
    fixes the panel order (others follow in order of appearance).
    """
    df = results if isinstance(results, pd.DataFrame) else pd.DataFrame()
    if df.empty or not {"experiment", "metric"}.issubset(df.columns):
        return empty_figure("No experiment results to plot.")
    df = df.assign(
        g_exp=df["experiment"].astype(str),
        g_met=df["metric"].astype(str),
        g_lift=numeric_column(df, "rel_lift"),
        g_lo=numeric_column(df, "rel_ci_low"),
        g_hi=numeric_column(df, "rel_ci_high"),
        g_dec=_texts(df, "decision").str.lower(),
    )
    labels = {str(k): str(v) for k, v in (experiment_labels or {}).items()}
    exps = list(pd.unique(df["g_exp"]))
    present = list(pd.unique(df["g_met"]))
    order = [m for m in metrics if m in present] + [m for m in present if m not in metrics]
    n_rows, n_panels = len(exps), len(order)
    row_h = 0.36
    fig_h = n_rows * row_h + 1.45
    fig = Figure(figsize=(FIG_WIDTH_IN, fig_h))
    fig.patch.set_facecolor("white")
    row_labels = [plain(clip_label(labels.get(e, e), 34)) for e in exps]
    longest = max((len(t) for t in row_labels), default=4)
    left_in = min(0.25 + 0.066 * longest, 2.6)
    gap_in, right_in = 0.3, 0.15
    panel_w = (FIG_WIDTH_IN - left_in - right_in - gap_in * (n_panels - 1)) / max(n_panels, 1)
    bottom_in, top_in = 0.75, 0.55
    ys = np.arange(n_rows, dtype=float)[::-1]
    y_of = dict(zip(exps, ys, strict=True))
    for p, metric in enumerate(order):
        ax = fig.add_axes(
            (
                (left_in + p * (panel_w + gap_in)) / FIG_WIDTH_IN,
                bottom_in / fig_h,
                panel_w / FIG_WIDTH_IN,
                (fig_h - bottom_in - top_in) / fig_h,
            )
        )
        sub = df[df["g_met"] == metric]
        xlo, xhi = _limits(np.concatenate([sub["g_lo"], sub["g_hi"], sub["g_lift"]]).astype(float))
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(-0.6, n_rows - 0.4)
        style_axis(ax)
        for i, y in enumerate(ys):
            if i % 2 == 1:
                ax.axhspan(y - 0.5, y + 0.5, color=_BAND, zorder=0, linewidth=0)
        ax.axvline(0, color=_ZERO_COLOR, linewidth=1.0, zorder=1)
        for r in sub.itertuples(index=False):
            y = y_of[r.g_exp]
            color = DECISION_COLORS.get(r.g_dec, UNKNOWN_COLOR)
            if not np.isfinite(r.g_lift):
                ax.plot([0], [y], marker="x", color=UNKNOWN_COLOR, markersize=6, zorder=3)
                continue
            lo, hi = r.g_lo, r.g_hi
            if np.isfinite(lo) or np.isfinite(hi):
                ax.plot(
                    [
                        max(lo, xlo) if not np.isnan(lo) else r.g_lift,
                        min(hi, xhi) if not np.isnan(hi) else r.g_lift,
                    ],
                    [y, y],
                    color=color,
                    linewidth=2.4,
                    solid_capstyle="round",
                    zorder=2,
                )
            ax.plot(
                [r.g_lift],
                [y],
                marker="o",
                markersize=6.5,
                color=color,
                markeredgecolor="white",
                markeredgewidth=1.0,
                linestyle="",
                zorder=3,
            )
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=False))
        ax.xaxis.set_major_formatter(FuncFormatter(axis_pct))
        ax.tick_params(axis="x", labelsize=7.5)
        ax.set_yticks(ys, row_labels if p == 0 else [""] * n_rows)
        title = "\n".join(textwrap.wrap(metric_label(metric), 22)[:2])
        ax.set_title(plain(title), loc="left", fontsize=9.5, fontweight="bold", color=TEXT_COLOR)
    handles = [
        Line2D([], [], marker="o", linestyle="-", color=c, markersize=6, linewidth=2, label=d)
        for d, c in DECISION_COLORS.items()
    ]
    handles.append(
        Line2D([], [], marker="x", linestyle="", color=UNKNOWN_COLOR, label="no estimate")
    )
    bottom_legend(
        fig, handles, anchor=(left_in / FIG_WIDTH_IN, 0.0), handlelength=2.0, columnspacing=1.4
    )
    return fig


# --- funnel ----------------------------------------------------------------------------------


def funnel_chart(
    funnel: pd.DataFrame,
    *,
    experiment_labels: Mapping[str, str] | None = None,
    controls: Mapping[str, str] | None = None,
) -> Figure:
    """Stage-to-stage conversion per variant, one panel per experiment (the A/B report's
    funnel chart, with the experiments' names as panel titles).

    The ``users`` stage is left out of the bars: sessions per user is a count, not a
    conversion, and a 700 % bar would flatten every rate beside it; the report's table shows
    the users. ``controls`` maps experiment → control label (drawn in grey).
    """
    df = funnel if isinstance(funnel, pd.DataFrame) else pd.DataFrame()
    needed = {"experiment", "variant", "stage", "stage_order", "total"}
    if df.empty or not needed.issubset(df.columns):
        return empty_figure("No funnel data in this run.")
    df = df[_texts(df, "stage").str.lower() != "users"]
    if df.empty:
        return empty_figure("No funnel stages after users in this run.")
    labels = {str(k): str(v) for k, v in (experiment_labels or {}).items()}
    keys = df["experiment"].astype(str)
    df = df.assign(
        experiment=keys.map(lambda e: clip_label(labels.get(e, e), 44)),
        stage=_texts(df, "stage").map(lambda st: _STAGE_WORDS.get(st, st)),
    )
    ctl = {clip_label(labels.get(str(e), str(e)), 44): str(c) for e, c in (controls or {}).items()}
    return funnel_plot(df, controls=ctl)


# --- personas: how k was chosen ----------------------------------------------------------------


def k_selection_chart(
    k_table: pd.DataFrame, *, min_jaccard: float = 0.75, min_share: float = 0.05
) -> Figure:
    """Two small panels over k: the smallest bootstrap Jaccard (stability) with its threshold,
    and the silhouette (separation). Admissible k are solid dots, others hollow; the chosen k
    is ringed and labelled. Stability decides admissibility, silhouette picks among the
    admissible: the two panels read left to right in that order."""
    df = k_table if isinstance(k_table, pd.DataFrame) else pd.DataFrame()
    if df.empty or "k" not in df.columns:
        return empty_figure("No k table in this run.")
    df = df.assign(g_k=numeric_column(df, "k")).dropna(subset=["g_k"]).sort_values("g_k")
    if df.empty:
        return empty_figure("No k table in this run.")
    k = df["g_k"].to_numpy(float)
    admissible = _flags(df, "admissible")
    chosen = _flags(df, "chosen")
    fig = Figure(figsize=(FIG_WIDTH_IN, 2.7))
    fig.patch.set_facecolor("white")
    panels = (
        ("min_jaccard", "Stability: smallest persona's bootstrap Jaccard", min_jaccard),
        ("silhouette", "Separation: silhouette", None),
    )
    for p, (col, title, threshold) in enumerate(panels):
        ax = fig.add_axes((0.07 + p * 0.485, 0.24, 0.42, 0.58))
        values = numeric_column(df, col).to_numpy(float)
        style_axis(ax)
        ax.grid(axis="x", visible=False)
        ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
        ax.plot(k, values, color=MUTED_COLOR, linewidth=1.2, zorder=2)
        ax.scatter(k[admissible], values[admissible], s=36, color=_CHOSEN_COLOR, zorder=3)
        ax.scatter(
            k[~admissible],
            values[~admissible],
            s=36,
            facecolors="white",
            edgecolors=MUTED_COLOR,
            linewidths=1.3,
            zorder=3,
        )
        for kk, v in zip(k[chosen], values[chosen], strict=True):
            if np.isfinite(v):
                ax.scatter([kk], [v], s=150, facecolors="none", edgecolors=TEXT_COLOR, zorder=4)
                ax.annotate(
                    f"chosen k = {kk:g}",
                    (kk, v),
                    xytext=(0, 10),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                    fontweight="bold",
                    color=TEXT_COLOR,
                )
        if threshold is not None:
            ax.axhline(threshold, color=DECISION_COLORS["loss"], linestyle="--", linewidth=1)
            ax.text(
                k.min(),
                threshold,
                f"admissible ≥ {threshold:g}",
                va="top",
                ha="left",
                fontsize=7.5,
                color=DECISION_COLORS["loss"],
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
            )
        finite = values[np.isfinite(values)]
        lo = min(float(finite.min()) if finite.size else 0.0, threshold or 1.0)
        hi = max(float(finite.max()) if finite.size else 1.0, threshold or 0.0)
        pad = (hi - lo) * 0.2 or 0.1
        ax.set_ylim(lo - pad, hi + pad * 1.6)
        ax.set_xticks(k, [f"{v:g}" for v in k])
        ax.set_xlabel("k (number of personas)", fontsize=8, color=MUTED_COLOR)
        set_title(ax, title)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=_CHOSEN_COLOR, label="admissible k"),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor=MUTED_COLOR,
            label=f"not admissible (a persona below the Jaccard line or under {min_share:.0%})",
        ),
    ]
    bottom_legend(fig, handles, anchor=(0.07, 0.0))
    return fig


# --- lift by persona ---------------------------------------------------------------------------


def _wrap(text: str, width: int, lines: int = 2) -> str:
    parts = textwrap.wrap(text, width, break_on_hyphens=False) or [text]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = clip_label(parts[-1] + "…", width)
    return "\n".join(parts)


def persona_lift_heatmap(
    cells: pd.DataFrame,
    *,
    title: str = "",
    experiment_labels: Mapping[str, str] | None = None,
    personas: Sequence[str] = (),
) -> Figure:
    """Relative lift of every experiment (rows) for every persona (columns) for one metric.

    ``cells`` has ``experiment``, ``persona``, ``rel_lift``, ``rel_ci_low``, ``rel_ci_high``,
    ``status`` and ``significant`` (bool, decided by the report: significant after the
    persona family's correction *and* the printed interval excludes 0). Colour is a diverging
    map centred at 0 (blue above, red below), symmetric and clipped at the 95th percentile of
    |lift| so one extreme cell does not wash out the rest; each cell shows the lift and its
    interval. Significant cells keep their full colour and get a frame, bold text and a '*';
    the others are faded towards white, so a large but noisy lift in a small persona does not
    draw the eye like a clear one. A comparison that is not ok
    (empty arm, zero variance, SRM) is grey with its status, a missing one is blank.
    """
    df = cells if isinstance(cells, pd.DataFrame) else pd.DataFrame()
    if df.empty or not {"experiment", "persona"}.issubset(df.columns):
        return empty_figure("No lift by persona for this metric.")
    df = df.assign(
        g_exp=df["experiment"].astype(str),
        g_per=df["persona"].astype(str),
        g_lift=numeric_column(df, "rel_lift"),
        g_lo=numeric_column(df, "rel_ci_low"),
        g_hi=numeric_column(df, "rel_ci_high"),
        g_status=_texts(df, "status", "ok"),
        g_sig=_flags(df, "significant"),
    )
    labels = {str(k): str(v) for k, v in (experiment_labels or {}).items()}
    rows = list(pd.unique(df["g_exp"]))
    present = list(pd.unique(df["g_per"]))
    cols = [p for p in personas if p in present] + [p for p in present if p not in personas]
    n_r, n_c = len(rows), len(cols)
    ri = {e: i for i, e in enumerate(rows)}
    ci = {p: j for j, p in enumerate(cols)}
    values = np.full((n_r, n_c), np.nan)
    lows, highs = values.copy(), values.copy()
    present_m = np.zeros((n_r, n_c), dtype=bool)
    ok = present_m.copy()
    sig = present_m.copy()
    status = np.full((n_r, n_c), "", dtype=object)
    for r in df.itertuples(index=False):
        i, j = ri[r.g_exp], ci[r.g_per]
        values[i, j], lows[i, j], highs[i, j] = r.g_lift, r.g_lo, r.g_hi
        present_m[i, j] = True
        status[i, j] = r.g_status
        ok[i, j] = r.g_status == "ok" and np.isfinite(r.g_lift)
        sig[i, j] = bool(r.g_sig) and ok[i, j]

    row_labels = [plain(clip_label(labels.get(e, e), 34)) for e in rows]
    longest = max((len(t) for t in row_labels), default=4)
    left_in = min(0.25 + 0.068 * longest, 2.7)
    cbar_in = 0.9
    cell_w = min((FIG_WIDTH_IN - left_in - cbar_in - 0.15) / max(n_c, 1), 1.9)
    cell_h = 0.5
    head_in, top_in, bottom_in = 0.5, (0.45 if title else 0.1), 0.5
    fig_h = top_in + head_in + n_r * cell_h + bottom_in
    fig = Figure(figsize=(FIG_WIDTH_IN, fig_h))
    fig.patch.set_facecolor("white")
    plot_w = cell_w * n_c
    ax = fig.add_axes(
        (left_in / FIG_WIDTH_IN, bottom_in / fig_h, plot_w / FIG_WIDTH_IN, n_r * cell_h / fig_h)
    )
    norm, vmax = heat_norm(values, ok)
    shown = np.ma.masked_array(np.clip(values, -vmax, vmax), mask=~ok)
    mesh = ax.pcolormesh(
        np.arange(n_c + 1) - 0.5,
        np.arange(n_r + 1) - 0.5,
        shown,
        cmap=HEAT_CMAP,
        norm=norm,
        edgecolors="white",
        linewidth=2,
    )
    cmap = mesh.get_cmap()
    big = cell_w >= 0.95
    for i in range(n_r):
        for j in range(n_c):
            if not present_m[i, j]:
                ax.add_patch(heat_cell(i, j, HEAT_MISSING_FILL, linewidth=2))
                continue
            if not ok[i, j]:
                ax.add_patch(heat_cell(i, j, HEAT_NOT_OK_FILL, linewidth=2))
                text = plain(status[i, j] if status[i, j] not in ("", "ok") else "no estimate")
                ax.text(
                    j,
                    i,
                    clip_label(text, 16),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=MUTED_COLOR,
                    style="italic",
                )
                continue
            level = float(norm(np.clip(values[i, j], -vmax, vmax)))
            if not sig[i, j]:
                # Not shown to differ: the same hue, pulled towards the white centre of the
                # scale, so the eye lands on what is clear.
                level = 0.5 + (level - 0.5) * _FADE
                ax.add_patch(heat_cell(i, j, cmap(level), linewidth=2, zorder=2))
            color = text_color_on(cmap(level))
            lift = _pct(values[i, j]) + (" *" if sig[i, j] else "")
            ax.text(
                j,
                i - 0.12,
                lift,
                ha="center",
                va="center",
                fontsize=9 if big else 7.5,
                color=color,
                fontweight="bold" if sig[i, j] else "normal",
                zorder=4,
            )
            interval = f"{_pct(lows[i, j], 0)} … {_pct(highs[i, j], 0)}"
            ax.text(
                j,
                i + 0.22,
                interval,
                ha="center",
                va="center",
                fontsize=7 if big else 6,
                color=color,
                zorder=4,
            )
            if sig[i, j]:
                ax.add_patch(
                    Rectangle(
                        (j - 0.44, i - 0.42),
                        0.88,
                        0.84,
                        fill=False,
                        edgecolor=color,
                        linewidth=1.6,
                        zorder=3,
                    )
                )
    ax.set_xlim(-0.5, n_c - 0.5)
    ax.set_ylim(n_r - 0.5, -0.5)
    ax.set_yticks(np.arange(n_r), row_labels)
    width_chars = max(10, int(cell_w * 14))
    ax.set_xticks(np.arange(n_c), [plain(_wrap(c, width_chars)) for c in cols])
    ax.xaxis.tick_top()
    for side in ax.spines:
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="both", length=0, labelsize=8.5, colors=TEXT_COLOR)
    ax.tick_params(axis="x", labelsize=8.5 if big else 7.5, pad=4)
    if title:
        fig.text(
            left_in / FIG_WIDTH_IN,
            1 - 0.12 / fig_h,
            plain(title),
            fontsize=10.5,
            fontweight="bold",
            color=TEXT_COLOR,
            va="top",
        )
    heat_colorbar(
        fig,
        mesh,
        (
            (left_in + plot_w + 0.2) / FIG_WIDTH_IN,
            bottom_in / fig_h,
            0.13 / FIG_WIDTH_IN,
            n_r * cell_h / fig_h,
        ),
    )
    handles = [
        Patch(
            facecolor="#4393c3",
            edgecolor=TEXT_COLOR,
            linewidth=1.6,
            label="* framed, full colour: significant after correction, interval excludes 0",
        ),
        Patch(facecolor="#c6dbef", edgecolor="none", label="faded: not shown to differ"),
        Patch(facecolor=HEAT_NOT_OK_FILL, edgecolor=HEAT_NOT_OK_FILL, label="not estimable"),
    ]
    bottom_legend(fig, handles, anchor=(left_in / FIG_WIDTH_IN, 0.0), handlelength=1.6)
    return fig
