"""Static charts for the campaign-uplift report (:mod:`liftlab.reports.campaign_uplift`).

Same rules as :mod:`liftlab.plots.style`: figures are built with the object-oriented API
(``matplotlib.figure.Figure``, never pyplot), so they cannot leak into a global figure manager
or open a window, and the report inlines them as SVG via :func:`liftlab.plots.style.figure_to_svg`.

Every function takes the gold tables of :func:`strategies.campaign_uplift.summarise_campaigns`
as they are and never raises on missing columns, NaN values or an empty frame: it returns a
small figure that says what is missing instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from liftlab.plots.style import (
    CONTROL_COLOR,
    DECISION_COLORS,
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
    short_pct,
    style_axis,
)

__all__ = [
    "ALL_CATEGORIES",
    "ROI_DECISION_COLORS",
    "category_spend_chart",
    "funnel_chart",
    "roi_chart",
    "spend_chart",
]

ALL_CATEGORIES = "all"
"""The ``category`` of a campaign's total row in the summary (as in strategies.campaign_uplift)."""

ROI_DECISION_COLORS: dict[str, str] = {
    "profitable": "#2e9e4f",
    "unprofitable": "#d64541",
    "inconclusive": "#f0a202",
    "no cost": "#8a949e",
}
"""One colour per ROI decision, shared with the report's badges."""

_TARGET_COLOR = "#1e6fd9"
UNKNOWN_COLOR = "#b0b7bf"
_ZERO_COLOR = "#4a5560"
_STAGES = ("assigned", "sent", "opened", "clicked", "purchased")
_SYMLOG_ABOVE = 20.0  # ROI beyond ±2,000 %: a linear axis would squash every other campaign


# --- small helpers ---------------------------------------------------------------------------


def _frame(df: Any) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        return pd.DataFrame()
    return df.reset_index(drop=True)


def _texts(df: pd.DataFrame, col: str, default: str = "") -> pd.Series:
    """A column as display strings ('' or ``default`` for None/NaN), whether or not it exists."""
    if col not in df.columns:
        return pd.Series(default, index=df.index, dtype=object)

    def text(v: Any) -> str:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            return default
        return str(v) or default

    return df[col].map(text).astype(object)


def _is_all(categories: pd.Series) -> pd.Series:
    """True for a campaign's total row ("all"; a missing category counts as the total)."""
    text = categories.map(lambda v: v.strip().lower() if isinstance(v, str) else "")
    return text.isin([ALL_CATEGORIES, ""])


def _campaign_label(campaign_id: str, name: str, width: int = 24, sep: str = "\n") -> str:
    cid = clip_label(campaign_id or "?", width)
    if name and name != campaign_id:
        return plain(f"{cid}{sep}{clip_label(name, width)}")
    return plain(cid)


def _money(value: float, *, signed: bool = False) -> str:
    if not np.isfinite(value):
        return ""
    sign = "+" if signed else ""
    ax = abs(value)
    text = f"{value:{sign},.0f}" if ax >= 1000 else f"{value:{sign}.2f}"
    if signed and float(text.replace(",", "")) == 0:
        text = text.lstrip("+-")
    return text.replace("-", "\u2212")


def _roi_pct(value: float, _pos: int | None = None) -> str:
    """ROI tick / label: 1.5 -> '+150%', 131.3 -> '+13,132%', 0 -> '0%'."""
    if not np.isfinite(value):
        return "n/a"
    pct = value * 100
    if round(pct, 6) == 0:
        return "0%"
    text = f"{pct:+,.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"
    return text.replace("-", "\u2212")


def _title(ax, title: str, subtitle: str = "") -> None:
    set_title(ax, title, subtitle, max_chars=90)


def _decision_color(value: str) -> str:
    return DECISION_COLORS.get(value.strip().lower(), UNKNOWN_COLOR)


# --- spend: target vs control ------------------------------------------------------------------


def _spend_rows(summary: Any, *, totals: bool) -> pd.DataFrame:
    df = _frame(summary)
    if df.empty:
        return df
    keep = (
        _is_all(_texts(df, "category")) if "category" in df.columns else pd.Series(True, df.index)
    )
    if not totals:
        keep = ~keep
    return df[keep.to_numpy()].reset_index(drop=True)


def _draw_spend_panel(ax, rows: pd.DataFrame, *, compact: bool = False) -> float:
    """Grouped bars (target, control) per campaign with the incremental spend above each pair;
    returns the highest bar so panels can share a y scale."""
    ids = _texts(rows, "campaign_id", "?").tolist()
    names = _texts(rows, "campaign_name").tolist()
    target = numeric_column(rows, "spend_per_customer_target").to_numpy(float)
    control = numeric_column(rows, "spend_per_customer_control").to_numpy(float)
    delta = numeric_column(rows, "incremental_spend_per_customer").to_numpy(float)
    decisions = _texts(rows, "decision").tolist()
    n = len(rows)
    x = np.arange(n, dtype=float)
    width = 0.38
    t_bars = ax.bar(
        x - width / 2, np.nan_to_num(target), width * 0.95, color=_TARGET_COLOR, zorder=2
    )
    c_bars = ax.bar(
        x + width / 2, np.nan_to_num(control), width * 0.95, color=CONTROL_COLOR, zorder=2
    )
    size = 6.5 if compact or n > 6 else 7.5
    for bars, vals in ((t_bars, target), (c_bars, control)):
        labels = [_money(v) if np.isfinite(v) else "n/a" for v in vals]
        ax.bar_label(bars, labels=labels, fontsize=size, color=TEXT_COLOR, padding=1.5)
    top = np.nanmax(np.concatenate([target, control, [0.0]]))
    top = float(top) if np.isfinite(top) and top > 0 else 1.0
    for xi, t, c, d, dec in zip(x, target, control, delta, decisions, strict=True):
        if not np.isfinite(d):
            continue
        ax.annotate(
            f"Δ {_money(d, signed=True)}",
            (xi, max(np.nan_to_num(t), np.nan_to_num(c))),
            xytext=(0, 12),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=size,
            fontweight="bold",
            color=_decision_color(dec) if dec else MUTED_COLOR,
        )
    width_chars = 14 if compact else 24
    ax.set_xticks(
        x, [_campaign_label(i, nm, width_chars) for i, nm in zip(ids, names, strict=True)]
    )
    ax.set_xlim(-0.6, n - 0.4)
    style_axis(ax)
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
    ax.tick_params(axis="x", labelsize=6.5 if compact else 8, labelcolor=TEXT_COLOR)
    ax.tick_params(axis="y", labelsize=8, labelcolor=MUTED_COLOR)
    return top


def _spend_legend(fig: Figure, y: float) -> None:
    handles = [
        Patch(facecolor=_TARGET_COLOR, label="target"),
        Patch(facecolor=CONTROL_COLOR, label="control"),
        *(
            Line2D([], [], linestyle="", marker="$Δ$", color=c, markersize=7, label=f"Δ {d}")
            for d, c in DECISION_COLORS.items()
        ),
    ]
    bottom_legend(fig, handles, anchor=(0.06, y), handlelength=1.3, columnspacing=1.2)


def spend_chart(summary: pd.DataFrame) -> Figure:
    """Spend per customer in the attribution window, target vs control, one pair per campaign.

    Uses the campaigns' total rows (``category == "all"``). Above each pair, Δ is the
    incremental spend per customer, coloured by the spend decision (win/loss/neutral/
    inconclusive, as in the report's badges).
    """
    rows = _spend_rows(summary, totals=True)
    if rows.empty:
        return empty_figure("No campaign spend data in this run.")
    spend = pd.concat(
        [
            numeric_column(rows, "spend_per_customer_target"),
            numeric_column(rows, "spend_per_customer_control"),
        ]
    )
    if not np.isfinite(spend.to_numpy(float)).any():
        return empty_figure("No finite spend per customer to compare.")
    n = len(rows)
    fig = Figure(figsize=(FIG_WIDTH_IN if n > 3 else 7.5, 3.9))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.07, 0.22, 0.91, 0.64))
    top = _draw_spend_panel(ax, rows)
    ax.set_ylim(0, top * 1.32)
    ax.set_ylabel("spend per customer", fontsize=8.5, color=MUTED_COLOR)
    _title(
        ax,
        "Spend per customer in the attribution window",
        "all categories; zero-spend customers count as 0; Δ = estimated incremental spend",
    )
    _spend_legend(fig, 0.0)
    return fig


def category_spend_chart(summary: pd.DataFrame) -> Figure:
    """Small multiples, one panel per transaction category: target vs control spend per
    customer per campaign (the category rows of the summary), Δ coloured by decision."""
    rows = _spend_rows(summary, totals=False)
    if rows.empty:
        return empty_figure("No per-category rows in this run.")
    rows = rows.assign(_cat=_texts(rows, "category", "?"))
    categories = list(pd.unique(rows["_cat"]))
    ncols = min(3, len(categories))
    nrows = math.ceil(len(categories) / ncols)
    fig, gs = panel_grid(nrows, ncols, panel_h=3.0, extra_h=0.5, top_in=0.4, bottom_in=0.95,
                         hspace=0.75, wspace=0.18)  # fmt: skip
    tops = []
    axes = []
    for i, cat in enumerate(categories):
        ax = fig.add_subplot(gs[i // ncols, i % ncols])
        sub = rows[rows["_cat"] == cat].reset_index(drop=True)
        tops.append(_draw_spend_panel(ax, sub, compact=True))
        ax.set_title(
            plain(clip_label(cat, 40)), loc="left", fontsize=10, fontweight="bold", color=TEXT_COLOR
        )
        axes.append(ax)
    top = max(tops) if tops else 1.0
    for ax in axes:  # one y scale: categories are compared at a glance
        ax.set_ylim(0, top * 1.35)
    _spend_legend(fig, 0.0)
    return fig


# --- ROI forest --------------------------------------------------------------------------------


def roi_chart(summary: pd.DataFrame) -> Figure:
    """Forest plot of ROI uplift with its CI: one row per campaign (dark, by ROI decision) and,
    below it, one lighter row per category; the vertical line at 0 is break-even.

    ROI = (incremental revenue − campaign cost) / campaign cost; category rows use the whole
    campaign cost. When some ROI is beyond ±2,000 % the axis is symmetric-log (linear within
    ±100 %) so the other campaigns stay readable.
    """
    df = _frame(summary)
    if df.empty or "roi" not in df.columns:
        return empty_figure("No ROI estimates in this run.")
    roi = numeric_column(df, "roi").to_numpy(float)
    low = numeric_column(df, "roi_ci_low").to_numpy(float)
    high = numeric_column(df, "roi_ci_high").to_numpy(float)
    if not np.isfinite(roi).any():
        return empty_figure("No finite ROI estimates (campaign costs missing or zero).")
    df = df.assign(
        _id=_texts(df, "campaign_id", "?"),
        _name=_texts(df, "campaign_name"),
        _cat=_texts(df, "category"),
        _total=_is_all(_texts(df, "category")).to_numpy(),
        _dec=_texts(df, "roi_decision").str.strip().str.lower(),
        _roi=roi,
        _low=low,
        _high=high,
    )
    # Order: campaign by campaign (first appearance), total row first, then its categories.
    order: list[int] = []
    starts: list[int] = []
    for cid in pd.unique(df["_id"]):
        idx = df.index[df["_id"] == cid]
        totals = [i for i in idx if df.at[i, "_total"]]
        cats = [i for i in idx if not df.at[i, "_total"]]
        starts.append(len(order))
        order.extend(totals + cats)
    rows = df.loc[order].reset_index(drop=True)
    n = len(rows)
    gap = 0.6
    ys = []
    pos = 0.0
    for i in range(n):
        if i in starts and i:
            pos += gap
        ys.append(pos)
        pos += 1.0
    y = -np.asarray(ys, dtype=float)

    height = 0.3 * (pos + 1) + 1.5
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.26, 0.75 / height, 0.71, 1 - 1.35 / height))
    style_axis(ax)

    finite = np.concatenate([rows["_roi"], rows["_low"], rows["_high"]]).astype(float)
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    symlog = max(abs(lo), abs(hi)) > _SYMLOG_ABOVE
    if symlog:
        ax.set_xscale("symlog", linthresh=1.0, linscale=1.0)
        ax.set_xlim(lo * 1.6 - 0.3 if lo < 0 else -0.3, hi * 1.6 + 0.3)
    else:
        pad = (hi - lo) * 0.08 or 0.5
        ax.set_xlim(lo - pad, hi + pad)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8))
    ax.xaxis.set_major_formatter(FuncFormatter(_roi_pct))
    ax.axvline(0, color=_ZERO_COLOR, linewidth=1.0, zorder=1)
    ax.text(
        0,
        0.995,
        " break-even ",
        transform=ax.get_xaxis_transform(),
        fontsize=7.5,
        color=_ZERO_COLOR,
        va="top",
        ha="center",
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        zorder=4,
    )

    labels = []
    for yy, r in zip(y, rows.to_dict("records"), strict=True):
        total = bool(r["_total"])
        color = ROI_DECISION_COLORS.get(r["_dec"], UNKNOWN_COLOR)
        alpha = 1.0 if total else 0.45
        if total:
            labels.append(_campaign_label(r["_id"], r["_name"], 30, sep=" · "))
        else:
            labels.append(plain("    " + clip_label(r["_cat"] or "?", 30)))
        est, lo_i, hi_i = r["_roi"], r["_low"], r["_high"]
        if np.isfinite(lo_i) and np.isfinite(hi_i):
            ax.plot(
                [lo_i, hi_i],
                [yy, yy],
                color=color,
                alpha=alpha,
                linewidth=2.6 if total else 1.8,
                solid_capstyle="butt",
                zorder=2,
            )
        if np.isfinite(est):
            ax.plot(
                [est],
                [yy],
                marker="o" if total else "o",
                markersize=7 if total else 5,
                color=color,
                alpha=1.0 if total else 0.7,
                markeredgecolor="white",
                markeredgewidth=0.8,
                linestyle="",
                zorder=3,
            )
            ax.annotate(
                _roi_pct(est),
                (est, yy),
                xytext=(0, 5),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7 if total else 6.5,
                color=TEXT_COLOR if total else MUTED_COLOR,
            )
        else:
            reason = "no cost" if r["_dec"] == "no cost" else "n/a"
            ax.text(
                0, yy, f"  {reason}", va="center", fontsize=7.5, color=MUTED_COLOR, style="italic"
            )
    ax.set_yticks(y, labels)
    ax.set_ylim(y.min() - 0.7, 1.3)
    for tick, total in zip(ax.get_yticklabels(), rows["_total"], strict=True):
        tick.set_fontweight("bold" if total else "normal")
        tick.set_fontsize(8.5 if total else 8)
        if not total:
            tick.set_color(MUTED_COLOR)
    subtitle = (
        "(incremental revenue − cost) / cost, with CI; lighter rows: one category vs the whole cost"
    )
    if symlog:
        subtitle += "; log scale beyond ±100 %"
    _title(ax, "ROI uplift by campaign", subtitle)
    handles = [
        Line2D([], [], color=c, marker="o", linewidth=2.4, markersize=6, label=d)
        for d, c in ROI_DECISION_COLORS.items()
    ]
    bottom_legend(fig, handles, anchor=(0.26, 0.0), handlelength=1.8, columnspacing=1.4)
    return fig


# --- funnel ------------------------------------------------------------------------------------


def _stage_rates(rows: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """stage -> (share of assigned, customers) for one campaign × group."""
    out: dict[str, tuple[float, float]] = {}
    rate = numeric_column(rows, "rate")
    customers = numeric_column(rows, "customers")
    assigned = numeric_column(rows, "assigned")
    derived = customers / assigned.where(assigned > 0)
    rate = rate.where(rate.notna(), derived)
    for stage, r, c in zip(_texts(rows, "stage"), rate, customers, strict=True):
        key = stage.strip().lower()
        if key and key not in out:
            out[key] = (float(r), float(c))
    return out


def funnel_chart(funnel: pd.DataFrame) -> Figure:
    """Small multiples, one panel per campaign: the target group's funnel assigned → sent →
    opened → clicked → purchased as shares of assigned customers (bars), and the control
    group's purchase rate as a dashed grey line with a diamond on the purchased bar.

    Purchases do not need a click (a customer can buy at the box office after reading the
    email), so the purchased bar can be taller than the clicked one.
    """
    df = _frame(funnel)
    needed = {"campaign_id", "group", "stage"}
    if df.empty or not needed.issubset(df.columns):
        return empty_figure("No funnel data in this run.")
    df = df.assign(
        _id=_texts(df, "campaign_id", "?"),
        _group=_texts(df, "group").str.strip().str.lower(),
    )
    if "stage_order" in df.columns:
        df = df.assign(_order=numeric_column(df, "stage_order")).sort_values(
            "_order", kind="stable"
        )
    campaigns = sorted(pd.unique(df["_id"]))
    n = len(campaigns)
    ncols = 2 if n in (2, 4) else min(3, n)
    nrows = math.ceil(n / ncols)
    fig, gs = panel_grid(nrows, ncols, panel_h=2.8, extra_h=0.45, top_in=0.4, bottom_in=0.75,
                         hspace=0.7, wspace=0.16)  # fmt: skip
    for i, cid in enumerate(campaigns):
        ax = fig.add_subplot(gs[i // ncols, i % ncols])
        sub = df[df["_id"] == cid]
        target = _stage_rates(sub[sub["_group"] == "target"])
        control = _stage_rates(sub[sub["_group"] == "control"])
        stages = [s for s in _STAGES if s in target or s in control]
        stages += [s for s in target if s not in stages]
        x = np.arange(len(stages), dtype=float)
        vals = np.array([target.get(s, (np.nan, np.nan))[0] for s in stages], dtype=float)
        counts = [target.get(s, (np.nan, np.nan))[1] for s in stages]
        bars = ax.bar(x, np.nan_to_num(vals), 0.66, color=_TARGET_COLOR, zorder=2)
        texts = ax.bar_label(
            bars,
            labels=[short_pct(v) if np.isfinite(v) else "" for v in vals],
            fontsize=7,
            color=TEXT_COLOR,
            padding=1.5,
        )
        for text in texts:
            text.set_bbox({"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})
            text.set_zorder(6)
        ticks = [
            f"{s}\n{c:,.0f}" if np.isfinite(c) else s for s, c in zip(stages, counts, strict=True)
        ]
        ax.set_xticks(x, [plain(t) for t in ticks])
        if "purchased" in control and "purchased" in stages:
            rate = control["purchased"][0]
            if np.isfinite(rate):
                xp = float(stages.index("purchased"))
                ax.plot(
                    [xp - 0.45, xp + 0.45],
                    [rate, rate],
                    color=_ZERO_COLOR,
                    linestyle="--",
                    linewidth=1.3,
                    zorder=3,
                )
                ax.plot(
                    [xp + 0.45],
                    [rate],
                    marker="D",
                    markersize=5.5,
                    color=CONTROL_COLOR,
                    markeredgecolor=_ZERO_COLOR,
                    markeredgewidth=0.8,
                    linestyle="",
                    zorder=4,
                )
                ax.annotate(
                    f"control\n{short_pct(rate)}",
                    (xp + 0.45, rate),
                    xytext=(6, 0),
                    textcoords="offset points",
                    ha="left",
                    va="center",
                    fontsize=6.5,
                    color=_ZERO_COLOR,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
                    zorder=5,
                )
        style_axis(ax)
        ax.grid(axis="x", visible=False)
        ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
        ax.tick_params(axis="x", labelsize=7, labelcolor=TEXT_COLOR)
        ax.tick_params(axis="y", labelsize=7.5, labelcolor=MUTED_COLOR)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{round(v * 100, 6):g}%"))
        ax.set_ylim(0, 1.15)
        ax.set_xlim(-0.5, len(stages) - 0.5 + 0.75)  # room for the control label
        ax.set_title(
            plain(clip_label(cid, 40)), loc="left", fontsize=10, fontweight="bold", color=TEXT_COLOR
        )
    handles = [
        Patch(facecolor=_TARGET_COLOR, label="target: share of assigned customers"),
        Line2D(
            [],
            [],
            color=_ZERO_COLOR,
            linestyle="--",
            marker="D",
            markerfacecolor=CONTROL_COLOR,
            markersize=5,
            label="control: purchased (never contacted)",
        ),
    ]
    bottom_legend(fig, handles, anchor=(0.06, 0.0), handlelength=2.2, columnspacing=1.6)
    return fig
