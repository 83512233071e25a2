"""Static charts for the model-training report (conversion-prediction regressors).

Same rules as :mod:`liftlab.plots.style`: matplotlib's object-oriented API only (``Figure``, never
``pyplot``, so nothing registers with a global figure manager or opens a window), a quiet house
style, and inlined into the report as SVG with :func:`liftlab.plots.style.figure_to_svg`.

Every function accepts whatever the training step hands it, including empty frames, missing
columns and NaN values, and then returns a small figure that says "no data" instead of raising:
the report must never be the reason a pipeline fails.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from liftlab.plots.style import (
    FIG_WIDTH_IN,
    GRID_COLOR,
    MUTED_COLOR,
    TEXT_COLOR,
    bottom_legend,
    clip_label,
    empty_figure,
    plain,
    set_narrow_title,
    style_axis,
)
from liftlab.reports.format import MODEL_METRIC_LABELS
from strategies.evaluation import METRIC_DIRECTIONS

__all__ = [
    "METRIC_LABELS",
    "comparison_chart",
    "feature_importance_chart",
    "predicted_vs_actual",
    "residuals_plot",
]

METRIC_LABELS = MODEL_METRIC_LABELS
"""Display names of the regression metrics (their home: ``liftlab.reports.format``)."""

_BEST_COLOR = "#1e6fd9"
_OTHER_COLOR = "#9dbfe9"
_BASELINE_COLOR = "#c3c9d0"
_HOLDOUT_COLOR = "#e07b00"
_POINT_COLOR = "#1e6fd9"
_TREND_COLOR = "#c62828"
_NEGATIVE_COLOR = "#d9a3a0"
_BASELINE_NAME = "baseline_mean"
_LABEL_CHARS = 34


def _metric_title(metric: str) -> str:
    label = METRIC_LABELS.get(metric, metric)
    direction = METRIC_DIRECTIONS.get(metric)
    return f"{label} ({direction} is better)" if direction else label


def _floats(values: Any) -> np.ndarray:
    """Anything array-like (Series, list, None) as a 1-D float array; non-numbers become NaN."""
    if values is None:
        return np.array([], dtype=float)
    try:
        series = pd.Series(np.asarray(values, dtype=object).ravel())
    except (TypeError, ValueError):
        return np.array([], dtype=float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)


def _flags(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return np.array([v is True or (isinstance(v, np.bool_) and bool(v)) for v in df[name]])


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    return text.replace("-", "\u2212")


def _paired(actual: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite (actual, predicted) pairs; mismatched lengths are cut to the shorter one."""
    a, p = _floats(actual), _floats(predicted)
    n = min(a.size, p.size)
    a, p = a[:n], p[:n]
    keep = np.isfinite(a) & np.isfinite(p)
    return a[keep], p[keep]


def comparison_chart(comparison: pd.DataFrame, metric: str) -> Figure:
    """Horizontal bars: each candidate's cross-validated mean of ``metric`` ± one SD.

    The holdout score (``holdout_<metric>``) is drawn as a diamond on the same axis, so a
    candidate whose holdout falls far outside its CV spread stands out. The best candidate
    (``is_best``, else the first row) is dark blue, ``baseline_mean`` grey, others light blue.
    Rows keep the frame's order (best first, at the top).
    """
    metric = str(metric)
    mean_col = f"cv_{metric}_mean"
    if (
        comparison is None
        or not isinstance(comparison, pd.DataFrame)
        or comparison.empty
        or mean_col not in comparison.columns
    ):
        return empty_figure(f"No model comparison data for {METRIC_LABELS.get(metric, metric)}.")
    df = comparison.reset_index(drop=True)
    mean = _column(df, mean_col)
    std = _column(df, f"cv_{metric}_std")
    hold = _column(df, f"holdout_{metric}")
    if not (np.isfinite(mean).any() or np.isfinite(hold).any()):
        return empty_figure(f"No finite {METRIC_LABELS.get(metric, metric)} scores to compare.")

    names = (
        df["candidate"].map(lambda v: "" if v is None else str(v))
        if "candidate" in df.columns
        else pd.Series([f"#{i + 1}" for i in range(len(df))])
    ).tolist()
    models = df["model"].astype(str).tolist() if "model" in df.columns else [""] * len(df)
    best = _flags(df, "is_best")
    if not best.any():
        best = np.zeros(len(df), dtype=bool)
        best[0] = True
    baseline = np.array([m == _BASELINE_NAME for m in models])
    colors = [
        _BEST_COLOR if b else (_BASELINE_COLOR if base else _OTHER_COLOR)
        for b, base in zip(best, baseline, strict=True)
    ]

    n = len(df)
    height = 0.42 * n + 1.3
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.22, 0.72 / height, 0.75, 1 - 1.1 / height))
    style_axis(ax)
    y = np.arange(n)[::-1].astype(float)  # first row on top
    bar_vals = np.where(np.isfinite(mean), mean, 0.0)
    ax.barh(y, bar_vals, height=0.62, color=colors, zorder=2)
    err = np.where(np.isfinite(std) & np.isfinite(mean), std, 0.0)
    ok = np.isfinite(mean)
    if ok.any():
        ax.errorbar(
            mean[ok],
            y[ok],
            xerr=err[ok],
            fmt="none",
            ecolor=TEXT_COLOR,
            elinewidth=1.1,
            capsize=3,
            zorder=3,
        )
    hold_ok = np.isfinite(hold)
    if hold_ok.any():
        ax.plot(
            hold[hold_ok],
            y[hold_ok],
            linestyle="",
            marker="D",
            markersize=6.5,
            markerfacecolor=_HOLDOUT_COLOR,
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=4,
        )
    for yy, has in zip(y, ok, strict=True):
        if not has:
            ax.text(
                0, yy, "  no CV score", va="center", fontsize=8, color=MUTED_COLOR, style="italic"
            )
    ax.axvline(0, color="#4a5560", linewidth=0.9, zorder=1)
    finite = np.concatenate([(mean + err)[ok], (mean - err)[ok], hold[hold_ok], np.array([0.0])])
    lo, hi = float(finite.min()), float(finite.max())
    pad = (hi - lo) * 0.06 or 0.5
    ax.set_xlim(lo - pad if lo < 0 else 0.0, hi + pad)
    labels = []
    for name, model in zip(names, models, strict=True):
        label = clip_label(name, _LABEL_CHARS)
        if model and model != name:
            label = f"{label}\n({clip_label(model, _LABEL_CHARS - 2)})"
        labels.append(plain(label))
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, n - 0.4)
    ax.tick_params(axis="y", labelsize=8.5)
    for tick, b in zip(ax.get_yticklabels(), best, strict=True):
        if b:
            tick.set_fontweight("bold")
    set_narrow_title(ax, f"Model comparison on {_metric_title(metric)}")
    handles = [
        Patch(facecolor=_BEST_COLOR, label="best (CV mean)"),
        Patch(facecolor=_OTHER_COLOR, label="other candidates"),
        Patch(facecolor=_BASELINE_COLOR, label="baseline (training mean)"),
        Line2D(
            [], [], color=TEXT_COLOR, marker="|", markersize=8, linewidth=1.1, label="± 1 SD (CV)"
        ),
        Line2D(
            [],
            [],
            linestyle="",
            marker="D",
            markersize=6,
            markerfacecolor=_HOLDOUT_COLOR,
            markeredgecolor="white",
            label="holdout",
        ),
    ]
    bottom_legend(fig, handles, anchor=(0.22, 0.01), handlelength=1.4, columnspacing=1.2)
    return fig


def _square_limits(a: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    lo = float(min(a.min(), p.min(), 0.0))
    hi = float(max(a.max(), p.max()))
    if math.isclose(lo, hi):
        hi = lo + 1.0
    pad = (hi - lo) * 0.04
    return lo - pad, hi + pad


def _alpha(n: int) -> float:
    """More points, fainter dots: overlapping counts (many zeros) then read as density."""
    return float(np.clip(18 / math.sqrt(max(n, 1)), 0.15, 0.7))


def predicted_vs_actual(actual: Any, predicted: Any, *, title: str = "") -> Figure:
    """Scatter of predicted against actual values with the y = x line of a perfect model.

    No jitter: identical counts overlap, and a small alpha turns the overlap into darker dots.
    """
    a, p = _paired(actual, predicted)
    if a.size == 0:
        return empty_figure("No holdout predictions to plot.")
    fig = Figure(figsize=(5.4, 4.6))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.13, 0.12, 0.83, 0.76))
    style_axis(ax)
    ax.spines["left"].set_visible(True)
    ax.spines["left"].set_color("#c3c9d0")
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
    lo, hi = _square_limits(a, p)
    ax.plot([lo, hi], [lo, hi], color=MUTED_COLOR, linestyle="--", linewidth=1.1, zorder=1)
    ax.text(
        hi,
        hi,
        "y = x ",
        ha="right",
        va="bottom",
        fontsize=8,
        color=MUTED_COLOR,
        rotation=0,
        clip_on=True,
    )
    ax.scatter(a, p, s=14, color=_POINT_COLOR, alpha=_alpha(a.size), linewidths=0, zorder=2)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("actual", fontsize=9, color=MUTED_COLOR)
    ax.set_ylabel("predicted", fontsize=9, color=MUTED_COLOR)
    ax.tick_params(axis="y", labelcolor=MUTED_COLOR, labelsize=8.5)
    set_narrow_title(ax, title or "Predicted vs actual", f"n = {a.size:,}; on the line = perfect")
    return fig


def _binned_means(x: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``y`` within quantile bins of ``x``: a cheap trend line for systematic bias."""
    if x.size < 2 * bins:
        bins = max(1, x.size // 10)
    if bins < 2:
        return np.array([]), np.array([])
    order = np.argsort(x, kind="stable")
    chunks = np.array_split(order, bins)
    xs = np.array([x[c].mean() for c in chunks if c.size])
    ys = np.array([y[c].mean() for c in chunks if c.size])
    return xs, ys


def residuals_plot(actual: Any, predicted: Any, *, title: str = "") -> Figure:
    """Residuals (actual − predicted) against the prediction, with the zero line.

    A red line joins the mean residual of ten prediction deciles: if it drifts away from zero,
    the model is biased in that range (typically under-predicting the biggest ads).
    """
    a, p = _paired(actual, predicted)
    if a.size == 0:
        return empty_figure("No holdout predictions to plot.")
    r = a - p
    fig = Figure(figsize=(5.4, 4.6))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.13, 0.12, 0.83, 0.76))
    style_axis(ax)
    ax.spines["left"].set_visible(True)
    ax.spines["left"].set_color("#c3c9d0")
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
    ax.axhline(0, color="#4a5560", linewidth=1.0, zorder=1)
    ax.scatter(p, r, s=14, color=_POINT_COLOR, alpha=_alpha(a.size), linewidths=0, zorder=2)
    xs, ys = _binned_means(p, r)
    handles = [
        Line2D([], [], linestyle="", marker="o", color=_POINT_COLOR, alpha=0.6, label="ad"),
    ]
    if xs.size:
        ax.plot(xs, ys, color=_TREND_COLOR, linewidth=1.6, marker="o", markersize=3, zorder=3)
        handles.append(
            Line2D([], [], color=_TREND_COLOR, marker="o", markersize=3, label="mean by decile")
        )
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=len(handles),
        frameon=False,
        fontsize=8,
        labelcolor=TEXT_COLOR,
        borderaxespad=0.2,
        handlelength=1.5,
    )
    lim = float(np.max(np.abs(r))) * 1.08 or 1.0
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("predicted", fontsize=9, color=MUTED_COLOR)
    ax.set_ylabel("residual (actual − predicted)", fontsize=9, color=MUTED_COLOR)
    ax.tick_params(axis="y", labelcolor=MUTED_COLOR, labelsize=8.5)
    set_narrow_title(
        ax,
        title or "Residuals",
        f"n = {a.size:,}; above 0 = model under-predicts",
    )
    return fig


def feature_importance_chart(importance: pd.DataFrame, *, top: int = 20, title: str = "") -> Figure:
    """Permutation importance: horizontal bars, most important on top, ± one SD.

    ``importance`` has ``feature``, ``importance_mean`` and ``importance_std``. A negative mean
    (shuffling the feature *helped*, i.e. it is noise) is drawn in a muted red. Only the ``top``
    features by mean importance are shown; the subtitle says how many were left out.
    """
    if (
        importance is None
        or not isinstance(importance, pd.DataFrame)
        or importance.empty
        or "importance_mean" not in importance.columns
    ):
        return empty_figure("No feature importance computed.")
    df = pd.DataFrame(
        {
            "feature": (
                importance["feature"].map(lambda v: "" if v is None else str(v))
                if "feature" in importance.columns
                else pd.Series([f"feature {i}" for i in range(len(importance))])
            ).to_numpy(),
            "mean": _column(importance.reset_index(drop=True), "importance_mean"),
            "std": _column(importance.reset_index(drop=True), "importance_std"),
        }
    )
    df = df[np.isfinite(df["mean"])]
    if df.empty:
        return empty_figure("No finite feature importance values.")
    n_total = len(df)
    try:
        top = max(1, int(top))
    except (TypeError, ValueError):
        top = 20
    df = df.sort_values("mean", ascending=False, kind="stable").head(top)
    n = len(df)
    height = 0.3 * n + 1.3
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.25, 0.55 / height, 0.72, 1 - 1.1 / height))
    style_axis(ax)
    y = np.arange(n)[::-1].astype(float)
    means = df["mean"].to_numpy(dtype=float)
    stds = df["std"].to_numpy(dtype=float)
    err = np.where(np.isfinite(stds), stds, 0.0)
    colors = [_BEST_COLOR if m >= 0 else _NEGATIVE_COLOR for m in means]
    ax.barh(y, means, height=0.66, color=colors, zorder=2)
    ax.errorbar(
        means, y, xerr=err, fmt="none", ecolor=TEXT_COLOR, elinewidth=1.0, capsize=2.5, zorder=3
    )
    ax.axvline(0, color="#4a5560", linewidth=0.9, zorder=1)
    ax.set_yticks(y, [plain(clip_label(f, 44)) for f in df["feature"]])
    ax.set_ylim(-0.6, n - 0.4)
    ax.tick_params(axis="y", labelsize=8.5)
    ext = np.concatenate([means + err, means - err, [0.0]])
    lo, hi = float(ext.min()), float(ext.max())
    pad = (hi - lo) * 0.05 or 0.01
    ax.set_xlim(lo - pad if lo < 0 else 0.0, hi + pad)
    ax.set_xlabel("drop in score when the feature is shuffled", fontsize=8.5, color=MUTED_COLOR)
    shown = f"top {n} of {n_total} features" if n < n_total else f"{n_total} features"
    set_narrow_title(ax, title or "Permutation feature importance", f"{shown}; bars ± 1 SD")
    return fig
