"""Static charts for the uplift-modelling report (Hillstrom-style e-mail targeting).

Same rules as :mod:`liftlab.plots.style` and :mod:`liftlab.plots.training`: matplotlib's object-
oriented API only (``Figure``, never ``pyplot``), a quiet house style, inlined into the report
as SVG with :func:`liftlab.plots.style.figure_to_svg`.

Every function accepts whatever the pipeline hands it, including empty frames, missing columns
and NaN values, and then returns a small figure that says "no data" instead of raising: the
report must never be the reason a pipeline fails. Outcomes have different units (a visit rate,
spend in money), so every chart draws one panel per outcome (or metric) with its own axis."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from liftlab.plots.style import (
    DECISION_COLORS,
    FIG_WIDTH_IN,
    GRID_COLOR,
    MUTED_COLOR,
    TEXT_COLOR,
    UNKNOWN_COLOR,
    VARIANT_COLORS,
    bottom_legend,
    clip_label,
    empty_figure,
    plain,
    set_narrow_title,
    style_axis,
)

__all__ = [
    "POLICY_LABELS",
    "arm_colors",
    "effects_chart",
    "group_label",
    "policy_chart",
    "profit_curve_chart",
    "qini_chart",
    "targeting_chart",
]

POLICY_LABELS: dict[str, str] = {
    "model": "Model policy",
    "send_all": "Send everyone",
    "send_nobody": "Send nobody",
}
"""Display names of the policies compared on the holdout, shared with the report."""

_RANGE_OR_NUMBER = re.compile(r"^[\d.,\s\u2212\u2013+-]+$")


def group_label(feature: str, value: str) -> str:
    """A customer group as a reader says it: ``history 30–65`` (a range or number),
    ``mens: yes`` (a flag), ``channel: Web`` (a category); just ``value`` without a feature."""
    if not feature:
        return value
    if _RANGE_OR_NUMBER.match(value):
        return f"{feature} {value}"
    return f"{feature}: {value}"


_MODEL_COLOR = "#23364a"
_ESTIMATE_COLOR = "#1e6fd9"
_NOBODY_COLOR = "#a7b1bb"
_PREDICTED_COLOR = "#e07b00"
_RANDOM_COLOR = "#8a949e"
_MAX_CURVE_POINTS = 400
_MAX_PANELS_PER_ROW = 3


# --- input helpers: anything in, clean arrays out -----------------------------------------------


def _frame(df: Any) -> pd.DataFrame:
    return df.reset_index(drop=True) if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _str(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series("", index=df.index, dtype=object)
    return df[col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))


def _ordered(values: Sequence[str], order: Sequence[str] = ()) -> list[str]:
    """Distinct non-empty values, those in ``order`` first (in that order), then as they appear."""
    seen = [v for v in dict.fromkeys(values) if v]
    first = [o for o in order if o in seen]
    return first + [v for v in seen if v not in first]


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    """One colour per treatment arm, stable across every chart of the report."""
    return {a: VARIANT_COLORS[i % len(VARIANT_COLORS)] for i, a in enumerate(arms)}


def _panels(n: int, height: float) -> tuple[Figure, list[Any]]:
    cols = min(n, _MAX_PANELS_PER_ROW)
    rows = -(-n // cols)
    fig = Figure(figsize=(FIG_WIDTH_IN, height * rows), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.08, wspace=0.08)
    fig.patch.set_facecolor("white")
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _y_grid(ax) -> None:
    ax.spines["left"].set_visible(True)
    ax.spines["left"].set_color("#c3c9d0")
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
    ax.tick_params(axis="y", labelcolor=MUTED_COLOR, labelsize=8.5)


def _limits(values: np.ndarray, *, include_zero: bool = True) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if include_zero:
        v = np.concatenate([v, [0.0]])
    if v.size == 0:
        return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if np.isclose(lo, hi):
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _fmt(value: float, *, pp: bool = False, signed: bool = False) -> str:
    if not np.isfinite(value):
        return "n/a"
    sign = "+" if signed else ""
    if pp:
        text = f"{value * 100:{sign}.2f} pp"
    elif abs(value) >= 1e4:
        text = f"{value:{sign},.0f}"
    elif abs(value) >= 1 or value == 0:
        text = f"{value:{sign}.2f}"
    else:
        text = f"{value:{sign}.3g}"
    return text.replace("-", "\u2212")


def _thin(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """At most ~400 points per line (keeping both ends): a holdout of 20,000 customers would
    otherwise put 20,000 vertices per curve into the SVG for no visible difference."""
    if x.size <= _MAX_CURVE_POINTS:
        return (x, *ys)
    idx = np.unique(np.linspace(0, x.size - 1, _MAX_CURVE_POINTS).round().astype(int))
    return (x[idx], *(y[idx] for y in ys))


# --- average effects ------------------------------------------------------------------------


def effects_chart(
    effects: pd.DataFrame,
    *,
    metric_order: Sequence[str] = (),
    arm_order: Sequence[str] = (),
) -> Figure:
    """Forest plot of the absolute average treatment effect (variant − control) with its CI,
    one panel per metric (units differ: percentage points for a rate, money for spend), one row
    per arm, coloured by the A/B decision. Only overall rows (``segment == "all"``) are drawn;
    a row without an estimate gets a grey "×" on the zero line."""
    df = _frame(effects)
    if "segment" in df.columns:
        df = df[_str(df, "segment").isin(["all", ""])].reset_index(drop=True)
    if df.empty or not {"metric", "variant"}.issubset(df.columns):
        return empty_figure("No average treatment effects to plot.")
    metrics = _ordered(_str(df, "metric").tolist(), metric_order)
    if not metrics:
        return empty_figure("No average treatment effects to plot.")
    arms = _ordered(_str(df, "variant").tolist(), arm_order)
    rank = {a: i for i, a in enumerate(arms)}
    max_rows = max(len(_str(df[_str(df, "metric") == m], "variant").unique()) for m in metrics)
    fig, axes = _panels(len(metrics), 0.5 * max_rows + 1.7)
    for ax, metric in zip(axes, metrics, strict=True):
        sub = df[_str(df, "metric") == metric].reset_index(drop=True)
        sub = sub.assign(_order=_str(sub, "variant").map(rank).fillna(len(rank)))
        sub = sub.sort_values("_order", kind="stable").reset_index(drop=True)
        pp = (_str(sub, "metric_type") == "proportion").all()
        scale = 100.0 if pp else 1.0
        est, lo, hi = (_num(sub, c) * scale for c in ("abs_diff", "abs_ci_low", "abs_ci_high"))
        n = len(sub)
        y = np.arange(n)[::-1].astype(float)
        style_axis(ax)
        ax.axvline(0, color="#4a5560", linewidth=1.0, zorder=1)
        xlo, xhi = _limits(np.concatenate([est, lo, hi]))
        for yy, row, e, a, b in zip(y, sub.to_dict("records"), est, lo, hi, strict=True):
            decision = str(row.get("decision") or "")
            color = DECISION_COLORS.get(decision, UNKNOWN_COLOR)
            if np.isfinite(e):
                if np.isfinite(a) and np.isfinite(b):
                    ax.plot([a, b], [yy, yy], color=color, linewidth=2.4, zorder=2)
                ax.plot([e], [yy], marker="o", markersize=7, color=color, zorder=3)
                ax.annotate(
                    plain(_fmt(e / scale, pp=pp, signed=True)),
                    (e, yy),
                    xytext=(0, 7),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                    color=TEXT_COLOR,
                )
            else:
                ax.plot([0], [yy], marker="x", markersize=7, color=UNKNOWN_COLOR, zorder=3)
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_yticks(y, [plain(clip_label(str(v), 18)) for v in _str(sub, "variant")])
        ax.tick_params(axis="y", labelsize=8.5)
        ax.set_xlabel(
            "percentage points (variant − control)" if pp else "outcome units (variant − control)",
            fontsize=8,
            color=MUTED_COLOR,
        )
        set_narrow_title(ax, clip_label(metric, 30))
    handles = [
        Line2D([], [], color=c, marker="o", linewidth=2.4, label=d)
        for d, c in DECISION_COLORS.items()
    ]
    bottom_legend(fig, handles, title=None)
    return fig


# --- Qini curves ----------------------------------------------------------------------------


def qini_chart(
    qini_curves: pd.DataFrame,
    *,
    outcome_order: Sequence[str] = (),
    arm_order: Sequence[str] = (),
) -> Figure:
    """Qini curve of the best learner against the random-targeting line, one panel per outcome,
    one line per arm (its random line dashed, same colour). Above the dashed line = the model
    ranks customers better than chance; the area between them is the Qini coefficient."""
    df = _frame(qini_curves)
    if df.empty or not {"fraction", "qini"}.issubset(df.columns):
        return empty_figure("No Qini curves to plot.")
    df = df.assign(_outcome=_str(df, "outcome"), _arm=_str(df, "arm"))
    ok = np.isfinite(_num(df, "fraction")) & np.isfinite(_num(df, "qini"))
    df = df[ok].reset_index(drop=True)
    if df.empty:
        return empty_figure("No finite Qini curve points to plot.")
    outcomes = _ordered(df["_outcome"].tolist(), outcome_order) or [""]
    arms = _ordered(df["_arm"].tolist(), arm_order)
    colors = arm_colors(arms)
    fig, axes = _panels(len(outcomes), 3.5)
    for ax, outcome in zip(axes, outcomes, strict=True):
        sub = df[df["_outcome"] == outcome]
        style_axis(ax)
        _y_grid(ax)
        learners = _ordered(_str(sub, "learner").tolist())
        for arm in _ordered(sub["_arm"].tolist(), arms) or [""]:
            part = sub[sub["_arm"] == arm].sort_values("fraction", kind="stable")
            if part.empty:
                continue
            color = colors.get(arm, _MODEL_COLOR)
            x, q, r = _thin(_num(part, "fraction"), _num(part, "qini"), _num(part, "random"))
            ax.plot(x * 100, q, color=color, linewidth=1.7, zorder=3)
            if np.isfinite(r).any():
                ax.plot(x * 100, r, color=color, linewidth=1.1, linestyle="--", zorder=2)
        ax.axhline(0, color="#4a5560", linewidth=0.8, zorder=1)
        ax.set_xlim(0, 100)
        ax.set_xlabel("customers targeted (%, best score first)", fontsize=8, color=MUTED_COLOR)
        title = outcome or "outcome"
        set_narrow_title(
            ax, clip_label(title, 30), f"learner {', '.join(learners)}" if learners else ""
        )
    axes[0].set_ylabel("cumulative incremental outcome", fontsize=8, color=MUTED_COLOR)
    handles = [Line2D([], [], color=colors[a], linewidth=1.7, label=a) for a in arms]
    handles.append(Line2D([], [], color=_RANDOM_COLOR, linestyle="--", label="random targeting"))
    bottom_legend(fig, handles)
    return fig


# --- targeting policy -----------------------------------------------------------------------


def _policy_label(policy: str, arm: str) -> str:
    label = POLICY_LABELS.get(policy, policy or "policy")
    return f"{label}: {arm}" if arm else label


def policy_chart(
    policy: pd.DataFrame,
    *,
    outcome_order: Sequence[str] = (),
    arm_order: Sequence[str] = (),
) -> Figure:
    """Estimated profit per customer of each policy (bars) with its bootstrap CI, one panel per
    outcome: the model policy (blue) against e-mailing everyone with one arm (arm colours) and
    e-mailing nobody (grey). Estimates are inverse-propensity weighted on the holdout."""
    df = _frame(policy)
    if df.empty or "profit_per_customer" not in df.columns:
        return empty_figure("No policy comparison to plot.")
    df = df.assign(_outcome=_str(df, "outcome"), _policy=_str(df, "policy"), _arm=_str(df, "arm"))
    outcomes = _ordered(df["_outcome"].tolist(), outcome_order) or [""]
    if not np.isfinite(_num(df, "profit_per_customer")).any():
        return empty_figure("No finite policy profit estimates to plot.")
    arms = _ordered(df["_arm"].tolist(), arm_order)
    colors = arm_colors(arms)
    n_rows = int(df.groupby("_outcome").size().max())
    height = 0.42 * n_rows + 1.5
    fig, axes = _panels(len(outcomes), height)
    for ax, outcome in zip(axes, outcomes, strict=True):
        sub = df[df["_outcome"] == outcome].reset_index(drop=True)
        style_axis(ax)
        n = len(sub)
        y = np.arange(n)[::-1].astype(float)
        est = _num(sub, "profit_per_customer")
        lo, hi = _num(sub, "profit_ci_low"), _num(sub, "profit_ci_high")
        bar_colors = [
            _MODEL_COLOR
            if p == "model"
            else _NOBODY_COLOR
            if p == "send_nobody"
            else colors.get(a, UNKNOWN_COLOR)
            for p, a in zip(sub["_policy"], sub["_arm"], strict=True)
        ]
        ax.barh(y, np.where(np.isfinite(est), est, 0.0), height=0.6, color=bar_colors, zorder=2)
        ci = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        if ci.any():
            ax.errorbar(
                est[ci],
                y[ci],
                xerr=np.vstack([np.maximum(est[ci] - lo[ci], 0), np.maximum(hi[ci] - est[ci], 0)]),
                fmt="none",
                ecolor=TEXT_COLOR,
                elinewidth=1.1,
                capsize=3,
                zorder=3,
            )
        ax.axvline(0, color="#4a5560", linewidth=0.9, zorder=1)
        xlo, xhi = _limits(np.concatenate([est, lo, hi]))
        ax.set_xlim(xlo, xhi)
        for yy, e in zip(y, est, strict=True):
            if not np.isfinite(e):
                ax.text(0, yy, "  no estimate", va="center", fontsize=8, color=MUTED_COLOR)
        labels = [
            plain(clip_label(_policy_label(p, a), 30))
            for p, a in zip(sub["_policy"], sub["_arm"], strict=True)
        ]
        ax.set_yticks(y, labels)
        ax.set_ylim(-0.6, n - 0.4)
        ax.tick_params(axis="y", labelsize=8.5)
        for tick, p in zip(ax.get_yticklabels(), sub["_policy"], strict=True):
            if p == "model":
                tick.set_fontweight("bold")
        ax.set_xlabel("profit per customer (holdout estimate)", fontsize=8, color=MUTED_COLOR)
        set_narrow_title(ax, clip_label(outcome or "policy", 30))
    return fig


def profit_curve_chart(
    profit_curves: pd.DataFrame,
    *,
    outcome_order: Sequence[str] = (),
    chosen: dict[str, float] | None = None,
) -> Figure:
    """Incremental profit per customer (vs e-mailing nobody) when e-mailing the top share of
    customers by expected profit: the holdout estimate (blue) and what the model itself
    predicts (orange, dashed), one panel per outcome. ``chosen`` maps outcome → the share the
    model policy contacts, drawn as a vertical line."""
    df = _frame(profit_curves)
    if df.empty or "fraction" not in df.columns:
        return empty_figure("No profit curve to plot.")
    df = df.assign(_outcome=_str(df, "outcome"))
    est_all = _num(df, "incremental_profit_per_customer")
    pred_all = _num(df, "predicted_incremental_profit_per_customer")
    if not (np.isfinite(est_all).any() or np.isfinite(pred_all).any()):
        return empty_figure("No finite profit curve values to plot.")
    outcomes = _ordered(df["_outcome"].tolist(), outcome_order) or [""]
    chosen = chosen or {}
    fig, axes = _panels(len(outcomes), 3.3)
    for ax, outcome in zip(axes, outcomes, strict=True):
        sub = df[df["_outcome"] == outcome].sort_values("fraction", kind="stable")
        style_axis(ax)
        _y_grid(ax)
        x = _num(sub, "fraction") * 100
        est = _num(sub, "incremental_profit_per_customer")
        pred = _num(sub, "predicted_incremental_profit_per_customer")
        ok = np.isfinite(x) & np.isfinite(est)
        if ok.any():
            ax.plot(x[ok], est[ok], color=_ESTIMATE_COLOR, linewidth=1.8, marker="o", markersize=3)
            best = int(np.argmax(np.where(ok, est, -np.inf)))
            ax.plot([x[best]], [est[best]], marker="*", markersize=11, color=_ESTIMATE_COLOR)
        okp = np.isfinite(x) & np.isfinite(pred)
        if okp.any():
            ax.plot(x[okp], pred[okp], color=_PREDICTED_COLOR, linewidth=1.4, linestyle="--")
        share = chosen.get(outcome)
        if share is not None and np.isfinite(share):
            ax.axvline(share * 100, color=TEXT_COLOR, linewidth=0.9, linestyle=":", zorder=1)
        ax.axhline(0, color="#4a5560", linewidth=0.8, zorder=1)
        ax.set_xlim(0, 100)
        ax.set_xlabel(
            "customers e-mailed (%, best expected profit first)", fontsize=8, color=MUTED_COLOR
        )
        set_narrow_title(ax, clip_label(outcome or "policy", 30))
    axes[0].set_ylabel("incremental profit / customer", fontsize=8, color=MUTED_COLOR)
    handles = [
        Line2D([], [], color=_ESTIMATE_COLOR, marker="o", markersize=3, label="holdout estimate"),
        Line2D([], [], color=_ESTIMATE_COLOR, marker="*", linestyle="", markersize=9, label="peak"),
        Line2D([], [], color=_PREDICTED_COLOR, linestyle="--", label="model prediction"),
    ]
    if chosen:
        handles.append(Line2D([], [], color=TEXT_COLOR, linestyle=":", label="model policy share"))
    bottom_legend(fig, handles)
    return fig


# --- whom to e-mail -------------------------------------------------------------------------


def targeting_chart(
    targeting_summary: pd.DataFrame, *, arms: Sequence[str] = (), max_rows: int = 24
) -> Figure:
    """Stacked horizontal bars: for every customer group (:func:`group_label`) the share to
    send each arm (arm colours) and, in light grey, the share to leave alone. ``arms`` are the
    arm names in column order of ``share_<arm>`` (found from the columns when not given)."""
    df = _frame(targeting_summary)
    if df.empty:
        return empty_figure("No targeting summary to plot.")
    arms = list(arms) or [
        c[len("share_") :]
        for c in df.columns
        if str(c).startswith("share_") and c != "share_to_email"
    ]
    shares = {a: _num(df, f"share_{a}") for a in arms}
    total = _num(df, "share_to_email")
    if not arms and not np.isfinite(total).any():
        return empty_figure("No targeting shares to plot.")
    df = df.head(max(1, int(max_rows)))
    n = len(df)
    labels = [
        plain(clip_label(group_label(f, v), 34))
        for f, v in zip(_str(df, "feature"), _str(df, "value"), strict=True)
    ]
    height = 0.32 * n + 1.3
    fig, (ax,) = _panels(1, height)
    style_axis(ax)
    y = np.arange(n)[::-1].astype(float)
    colors = arm_colors(arms)
    left = np.zeros(n)
    for arm in arms:
        v = np.nan_to_num(shares[arm][:n], nan=0.0)
        ax.barh(y, v * 100, left=left * 100, height=0.66, color=colors[arm], zorder=2)
        left += v
    if not arms:
        left = np.nan_to_num(total[:n], nan=0.0)
        ax.barh(y, left * 100, height=0.66, color=_ESTIMATE_COLOR, zorder=2)
    rest = np.clip(1 - left, 0, 1)
    ax.barh(y, rest * 100, left=left * 100, height=0.66, color="#eef1f4", zorder=2)
    ax.set_xlim(0, 100)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, n - 0.4)
    ax.tick_params(axis="y", labelsize=8.5)
    ax.set_xlabel("share of the group's customers (%)", fontsize=8, color=MUTED_COLOR)
    set_narrow_title(ax, "Recommended e-mail by customer group")
    handles = [Patch(facecolor=colors[a], label=plain(a)) for a in arms]
    handles.append(Patch(facecolor="#eef1f4", label="no e-mail"))
    bottom_legend(fig, handles)
    return fig
