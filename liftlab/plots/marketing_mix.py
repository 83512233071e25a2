"""Static charts for the marketing-mix report (:mod:`liftlab.reports.marketing_mix`).

Same rules as :mod:`liftlab.plots.style`: figures are built with the object-oriented API
(``matplotlib.figure.Figure``, never pyplot) and inlined as SVG by the report; MLflow gets the
same figures as PNG. Every function takes the result tables of
:class:`strategies.mmm.result.MMMResult` as they are and never raises on missing columns, NaN
values or an empty frame: it returns a small figure that says what is missing instead.

Channels keep one colour in every chart (:func:`channel_colors`), and are ordered by their
contribution share, largest first, as in the report's tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from liftlab.plots.style import (
    FIG_WIDTH_IN,
    GRID_COLOR,
    MUTED_COLOR,
    TEXT_COLOR,
    bottom_legend,
    clip_label,
    empty_figure,
    numeric_column,
    panel_grid,
    plain,
    set_title,
    style_axis,
)

__all__ = [
    "BASE_COLORS",
    "CHANNEL_PALETTE",
    "budget_chart",
    "channel_colors",
    "channel_order",
    "contribution_time_chart",
    "marketing_mix_figures",
    "response_curves_chart",
    "roas_chart",
]

CHANNEL_PALETTE = (
    "#1e6fd9",
    "#e07b00",
    "#16a085",
    "#8e44ad",
    "#c0392b",
    "#2e9e4f",
    "#d4a017",
    "#5d6d7e",
    "#e84393",
    "#00838f",
)
"""Channel colours, assigned in share order (largest first)."""
BASE_COLORS: dict[str, str] = {
    "baseline": "#c9d1d9",
    "seasonality": "#9fb3c8",
    "control": "#d9c7a7",
}
"""Colours of the non-media parts of the decomposition, by ``kind``."""
CONTROL_SHADES = ("#d9c7a7", "#b89f77", "#e8dcc6", "#a68a64")
"""Controls are told apart by shades of one colour: they are context, not media."""
ROAS_COLOR = "#1f2933"
MROAS_COLOR = "#e07b00"
CURRENT_COLOR = "#66717d"
OPTIMAL_COLOR = "#2e9e4f"


# --- small helpers ---------------------------------------------------------------------------


def _frame(df: Any) -> pd.DataFrame:
    return df.reset_index(drop=True) if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _texts(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series("", index=df.index, dtype=object)
    return df[col].map(lambda v: "" if v is None or v != v else str(v)).astype(object)


def compact_number(value: float, currency: str = "") -> str:
    """Axis labels: 1,234,567 -> '1.2M', 25,000 -> '25k', 0.85 -> '0.85' (with '$' before a
    one-character currency symbol); never scientific notation."""
    if not np.isfinite(value):
        return ""
    ax = abs(value)
    if ax >= 1e9:
        text = f"{value / 1e9:.1f}B"
    elif ax >= 1e6:
        text = f"{value / 1e6:.1f}M"
    elif ax >= 1e4:
        text = f"{value / 1e3:.0f}k"
    elif ax >= 1e3:
        text = f"{value / 1e3:.1f}k"
    elif ax >= 10 or ax == 0:
        text = f"{value:.0f}"
    else:
        text = f"{value:.2f}"
    text = text.replace(".0k", "k").replace(".0M", "M").replace(".0B", "B")
    sign = "\u2212" if text.startswith("-") else ""
    body = text.lstrip("-")
    if currency and len(currency) == 1:
        body = plain(currency) + body
    return sign + body


def channel_order(roi: Any) -> list[str]:
    """Channels by contribution share, largest first (the report's order); name breaks ties."""
    df = _frame(roi)
    if df.empty or "channel" not in df.columns:
        return []
    share = numeric_column(df, "share").fillna(-np.inf)
    order = sorted(zip(_texts(df, "channel"), share, strict=True), key=lambda t: (-t[1], t[0]))
    return list(dict.fromkeys(c for c, _ in order if c))


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """One colour per channel, the same in every chart of a report."""
    return {c: CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i, c in enumerate(channels)}


# --- ROAS vs marginal ROAS -------------------------------------------------------------------


def roas_chart(roi: pd.DataFrame, *, interval_level: float = 0.9) -> Figure:
    """Per channel, ROAS (average return of every unit spent over the window) and marginal ROAS
    (return of the next unit), each a point with its bootstrap interval; the dashed line is 1
    (one unit of outcome per unit of spend)."""
    df = _frame(roi)
    channels = channel_order(df)
    if not channels:
        return empty_figure("No channel returns in this run.")
    df = df.assign(_channel=_texts(df, "channel")).set_index("_channel")
    n = len(channels)
    height = 0.42 * n + 1.5
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.15, 0.8 / height, 0.82, 1 - 1.45 / height))
    style_axis(ax)
    y = -np.arange(n, dtype=float)
    values = []
    for metric, color, offset in (("roas", ROAS_COLOR, 0.14), ("mroas", MROAS_COLOR, -0.14)):
        for yy, channel in zip(y, channels, strict=True):
            row = df.loc[channel] if channel in df.index else None
            if isinstance(row, pd.DataFrame):
                row = row.iloc[0]
            if row is None:
                continue
            est, lo, hi = (_num(row.get(metric + s)) for s in ("", "_ci_low", "_ci_high"))
            values += [v for v in (est, lo, hi) if np.isfinite(v)]
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [yy + offset] * 2, color=color, linewidth=2.2, alpha=0.55)
            if np.isfinite(est):
                ax.plot([est], [yy + offset], "o", color=color, markersize=6.5, zorder=3)
                ax.annotate(
                    f"{est:.2f}",
                    (est, yy + offset),
                    xytext=(0, 4 if offset > 0 else -4),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if offset > 0 else "top",
                    fontsize=7,
                    color=color,
                )
    top = max(values) if values else 1.0
    ax.set_xlim(min(0.0, min(values, default=0.0)), max(top * 1.08, 1.2))
    ax.axvline(1.0, color=CURRENT_COLOR, linestyle="--", linewidth=0.9, zorder=1)
    ax.text(1.0, 0.995, " 1 : 1 ", transform=ax.get_xaxis_transform(), fontsize=7.5,
            color=CURRENT_COLOR, ha="center", va="top",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})  # fmt: skip
    ax.set_yticks(y, [plain(clip_label(c, 22)) for c in channels])
    ax.set_ylim(y.min() - 0.6, 0.7)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8))
    ax.set_xlabel("outcome per unit of spend", fontsize=8.5, color=MUTED_COLOR)
    set_title(
        ax,
        "ROAS vs marginal ROAS by channel",
        f"points: estimate; bars: {interval_level * 100:g} % bootstrap interval",
    )
    handles = [
        Line2D([], [], color=ROAS_COLOR, marker="o", linewidth=2, label="ROAS (average)"),
        Line2D([], [], color=MROAS_COLOR, marker="o", linewidth=2, label="marginal ROAS"),
    ]
    bottom_legend(fig, handles, anchor=(0.15, 0.0), handlelength=1.8, columnspacing=1.6)
    return fig


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


# --- contribution over time ------------------------------------------------------------------


def contribution_time_chart(
    contributions: pd.DataFrame, *, channels: Sequence[str] = (), outcome_label: str = "outcome"
) -> Figure:
    """Stacked areas of the decomposition per period: baseline, seasonality, controls, then the
    channels (``channels`` order, largest share last so it sits on top). Negative parts (a
    season below average, a price increase) stack below zero, so the areas always add up to
    the model's prediction, drawn as a line."""
    df = _frame(contributions)
    needed = {"date", "component", "contribution"}
    if df.empty or not needed <= set(df.columns):
        return empty_figure("No contributions over time in this run.")
    df = df.assign(
        _date=pd.to_datetime(df["date"], errors="coerce"),
        _component=_texts(df, "component"),
        _kind=_texts(df, "kind"),
        _value=numeric_column(df, "contribution").fillna(0.0),
    )
    df = df[df["_date"].notna() & (df["_component"] != "")]
    if df.empty:
        return empty_figure("No dated contributions in this run.")
    wide = df.pivot_table(index="_date", columns="_component", values="_value", aggfunc="sum")
    wide = wide.sort_index().fillna(0.0)
    kinds = df.drop_duplicates("_component").set_index("_component")["_kind"].to_dict()
    media = [c for c in channels if c in wide.columns]
    media += [c for c in wide.columns if kinds.get(c) == "channel" and c not in media]
    rank = {"baseline": 0, "seasonality": 1, "control": 2}
    base = sorted(
        (c for c in wide.columns if c not in media), key=lambda c: (rank.get(kinds.get(c), 3), c)
    )
    colors = channel_colors(media)
    controls = [c for c in base if kinds.get(c) == "control"]
    order = base + list(reversed(media))  # the largest channel ends on top
    fig = Figure(figsize=(FIG_WIDTH_IN, 4.6))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.08, 0.25, 0.9, 0.63))
    x = wide.index.to_numpy()
    pos_base = np.zeros(len(wide))
    neg_base = np.zeros(len(wide))
    handles = []
    for component in order:
        values = wide[component].to_numpy(float)
        kind = kinds.get(component, "")
        color = colors.get(component) or BASE_COLORS.get(kind, "#b0b7bf")
        if kind == "control":
            color = CONTROL_SHADES[controls.index(component) % len(CONTROL_SHADES)]
        pos, neg = np.clip(values, 0, None), np.clip(values, None, 0)
        ax.fill_between(x, pos_base, pos_base + pos, color=color, linewidth=0, step=None)
        if (neg < 0).any():
            ax.fill_between(x, neg_base + neg, neg_base, color=color, linewidth=0, alpha=0.9)
        pos_base, neg_base = pos_base + pos, neg_base + neg
        handles.append(Patch(facecolor=color, label=plain(clip_label(component, 18))))
    ax.plot(x, wide.sum(axis=1).to_numpy(float), color=TEXT_COLOR, linewidth=1.0,
            label="model prediction")  # fmt: skip
    ax.axhline(0, color="#8a949e", linewidth=0.8)
    style_axis(ax)
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
    ax.tick_params(axis="y", labelsize=8, labelcolor=MUTED_COLOR)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: compact_number(v)))
    ax.set_xlim(x.min(), x.max())
    ax.set_ylabel(plain(f"{outcome_label} per period"), fontsize=8.5, color=MUTED_COLOR)
    set_title(
        ax,
        "What drove the outcome, period by period",
        "stacked: baseline and trend, seasonality, controls, then each channel; line: the "
        "model's prediction",
    )
    handles.reverse()  # legend reads top of the stack first, as the areas do
    handles.append(Line2D([], [], color=TEXT_COLOR, linewidth=1.0, label="prediction"))
    bottom_legend(fig, handles, anchor=(0.08, 0.0), ncol=min(len(handles), 7),
                  handlelength=1.2, columnspacing=1.2)  # fmt: skip
    return fig


# --- response curves -------------------------------------------------------------------------


def _interp(curve: pd.DataFrame, column: str, at: float) -> float:
    if not np.isfinite(at) or curve.empty:
        return math.nan
    xs = curve["_x"].to_numpy(float)
    ys = numeric_column(curve, column).to_numpy(float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() < 2 or at < xs[ok].min() or at > xs[ok].max():
        return math.nan
    return float(np.interp(at, xs[ok], ys[ok]))


def response_curves_chart(
    curves: pd.DataFrame,
    budget_plan: pd.DataFrame | None = None,
    *,
    channels: Sequence[str] = (),
    currency: str = "",
    outcome_label: str = "outcome",
    interval_level: float = 0.9,
) -> Figure:
    """Small multiples, one panel per channel: the expected incremental outcome per period for
    a constant spend per period, with its interval band; the current (grey) and recommended
    (green) spend of the budget plan marked on the curve."""
    df = _frame(curves)
    if df.empty or not {"channel", "spend_per_period", "response"} <= set(df.columns):
        return empty_figure("No response curves in this run.")
    df = df.assign(_channel=_texts(df, "channel"), _x=numeric_column(df, "spend_per_period"))
    names = [c for c in channels if c in set(df["_channel"])]
    names += [c for c in pd.unique(df["_channel"]) if c and c not in names]
    plan = _frame(budget_plan)
    plan = (
        plan.assign(_channel=_texts(plan, "channel")).set_index("_channel")
        if not plan.empty
        else plan
    )
    colors = channel_colors(names)
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, gs = panel_grid(nrows, ncols, panel_h=2.5, extra_h=0.6, top_in=0.35, bottom_in=0.85,
                         hspace=0.55, wspace=0.22)  # fmt: skip
    for i, channel in enumerate(names):
        ax = fig.add_subplot(gs[i // ncols, i % ncols])
        curve = df[df["_channel"] == channel].sort_values("_x")
        x = curve["_x"].to_numpy(float)
        y = numeric_column(curve, "response").to_numpy(float)
        lo = numeric_column(curve, "response_ci_low").to_numpy(float)
        hi = numeric_column(curve, "response_ci_high").to_numpy(float)
        color = colors[channel]
        if np.isfinite(lo).any() and np.isfinite(hi).any():
            ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
        ax.plot(x, y, color=color, linewidth=1.8)
        if channel in getattr(plan, "index", []):
            row = plan.loc[channel]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            for col, mcolor, marker in (
                ("current_spend", CURRENT_COLOR, "o"),
                ("optimal_spend", OPTIMAL_COLOR, "D"),
            ):
                at = _num(row.get(col))
                if not np.isfinite(at):
                    continue
                ax.axvline(at, color=mcolor, linestyle=":", linewidth=1.0)
                resp = _interp(curve, "response", at)
                if np.isfinite(resp):
                    ax.plot([at], [resp], marker=marker, color=mcolor, markersize=6,
                            markeredgecolor="white", markeredgewidth=0.8, zorder=4)  # fmt: skip
        style_axis(ax)
        ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
        ax.tick_params(axis="both", labelsize=7.5, labelcolor=MUTED_COLOR)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: compact_number(v, currency)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: compact_number(v)))
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_title(plain(clip_label(channel, 40)), loc="left", fontsize=10,
                     fontweight="bold", color=TEXT_COLOR)  # fmt: skip
        if i % ncols == 0:
            ax.set_ylabel(plain(f"{outcome_label} / period"), fontsize=8, color=MUTED_COLOR)
        if i // ncols == nrows - 1:
            ax.set_xlabel("spend per period", fontsize=8, color=MUTED_COLOR)
    handles = [
        Patch(facecolor="#8a949e", alpha=0.3, label=f"{interval_level * 100:g} % interval"),
        Line2D([], [], color=CURRENT_COLOR, marker="o", linestyle=":", label="current spend"),
        Line2D([], [], color=OPTIMAL_COLOR, marker="D", linestyle=":", label="recommended spend"),
    ]
    bottom_legend(fig, handles, anchor=(0.06, 0.0), handlelength=2.0, columnspacing=1.6)
    return fig


# --- budget plan -----------------------------------------------------------------------------


def budget_chart(
    budget_plan: pd.DataFrame, *, channels: Sequence[str] = (), currency: str = ""
) -> Figure:
    """Spend per period by channel: current (grey) vs recommended (green), the allowed range
    as a thin bar behind them; a channel held at a bound is labelled."""
    df = _frame(budget_plan)
    if df.empty or not {"channel", "current_spend", "optimal_spend"} <= set(df.columns):
        return empty_figure("No budget plan in this run.")
    df = df.assign(_channel=_texts(df, "channel"))
    names = [c for c in channels if c in set(df["_channel"])]
    names += [c for c in df["_channel"] if c and c not in names]
    df = df.set_index("_channel").loc[names]
    n = len(names)
    height = 0.45 * n + 1.4
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.15, 0.75 / height, 0.8, 1 - 1.35 / height))
    style_axis(ax)
    y = -np.arange(n, dtype=float)
    lower = numeric_column(df, "lower_bound").to_numpy(float)
    upper = numeric_column(df, "upper_bound").to_numpy(float)
    current = numeric_column(df, "current_spend").to_numpy(float)
    optimal = numeric_column(df, "optimal_spend").to_numpy(float)
    active = _texts(df, "bound_active").to_numpy()
    for yy, lo, hi in zip(y, lower, upper, strict=True):
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yy, yy], color=TEXT_COLOR, linewidth=1.0, zorder=3)
            ax.plot([lo, hi], [yy, yy], "|", color=TEXT_COLOR, markersize=9, zorder=3)
    ax.barh(y + 0.17, np.nan_to_num(current), 0.3, color=CURRENT_COLOR, alpha=0.55)
    ax.barh(y - 0.17, np.nan_to_num(optimal), 0.3, color=OPTIMAL_COLOR)
    for yy, cur, opt, flag in zip(y, current, optimal, active, strict=True):
        if not np.isfinite(opt):
            continue
        text = compact_number(opt, currency)
        if np.isfinite(cur) and cur > 0:
            change = (opt / cur - 1) * 100
            text += f"  ({change:+.0f} %)".replace("-", "\u2212")
        if flag:
            text += f"  · at {flag} bound"
        ax.annotate(text, (opt, yy - 0.17), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=7.5, color=TEXT_COLOR,
                    fontweight="bold" if flag else "normal")  # fmt: skip
    finite = np.concatenate([current, optimal, upper])
    finite = finite[np.isfinite(finite)]
    ax.set_xlim(0, (finite.max() if finite.size else 1.0) * 1.3)
    ax.set_yticks(y, [plain(clip_label(c, 22)) for c in names])
    ax.set_ylim(y.min() - 0.6, 0.6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: compact_number(v, currency)))
    set_title(
        ax,
        "Budget per period: current vs recommended",
        "line: the allowed range (bounds); labels: recommended spend and change",
    )
    handles = [
        Patch(facecolor=CURRENT_COLOR, alpha=0.55, label="current"),
        Patch(facecolor=OPTIMAL_COLOR, label="recommended"),
        Line2D([], [], color=TEXT_COLOR, marker="|", markersize=8, label="allowed range"),
    ]
    bottom_legend(fig, handles, anchor=(0.15, 0.0), handlelength=1.3, columnspacing=1.4)
    return fig


# --- all of them -----------------------------------------------------------------------------


def marketing_mix_figures(
    result: Any,
    *,
    currency: str = "",
    outcome_label: str = "outcome",
    interval_level: float = 0.9,
) -> dict[str, Figure]:
    """Every chart of one run, by file stem (``mmm_roas``, ``mmm_contributions``, …): what the
    report inlines and the publish step saves as PNG."""
    channels = channel_order(getattr(result, "roi", None))
    return {
        "mmm_roas": roas_chart(result.roi, interval_level=interval_level),
        "mmm_contributions": contribution_time_chart(
            result.contributions, channels=channels, outcome_label=outcome_label
        ),
        "mmm_response_curves": response_curves_chart(
            result.response_curves,
            result.budget_plan,
            channels=channels,
            currency=currency,
            outcome_label=outcome_label,
            interval_level=interval_level,
        ),
        "mmm_budget": budget_chart(result.budget_plan, channels=channels, currency=currency),
    }
