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

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from liftlab.plots.style import (
    CONTROL_COLOR,
    DECISION_COLORS,
    FIG_WIDTH_IN,
    GRID_COLOR,
    HEAT_CMAP,
    HEAT_MISSING_FILL,
    HEAT_NOT_OK_FILL,
    MUTED_COLOR,
    TEXT_COLOR,
    UNKNOWN_COLOR,
    VARIANT_COLORS,
    axis_pct,
    clip_label,
    empty_figure,
    heat_cell,
    heat_colorbar,
    heat_norm,
    numeric_column,
    panel_grid,
    plain,
    short_pct,
    style_axis,
    text_color_on,
)

__all__ = [
    "forest_plot",
    "funnel_plot",
    "segment_heatmap",
    "sequential_plot",
]

_SRM_COLOR = "#c62828"
_BAND = "#f5f7f9"


def _fmt_pct(value: float, digits: int = 1) -> str:
    """Signed percent with a real minus sign (0.182 -> '+18.2%'), '–' for missing.

    An unbounded interval end (a Fieller CI when the control is not clearly away from 0) is
    '−∞' / '+∞', never 'inf'.
    """
    if value is None or np.isnan(value):
        return "–"
    if np.isinf(value):
        return "\u2212∞" if value < 0 else "+∞"
    s = f"{value * 100:+.{digits}f}%"
    if float(s[:-1]) == 0:  # no "−0.0%": a sign on a rounded zero is noise
        s = f"{0:.{digits}f}%"
    return s.replace("-", "\u2212")


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
    An unbounded CI end (±inf, a Fieller interval whose control is not clearly away from 0)
    runs to the panel edge and ends in an arrow; the annotation says "−∞" / "+∞".
    Experiments listed in ``srm_experiments`` get a red label: their numbers are not to be
    trusted.
    """
    df = results if results is not None else pd.DataFrame()
    if "segment" in df.columns:
        df = df[df["segment"].astype(str) == "all"]
    required = {"experiment", "variant", "metric"}
    if df.empty or not required.issubset(df.columns):
        return empty_figure("No overall (segment = all) comparisons to plot.")
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
    fig = Figure(figsize=(FIG_WIDTH_IN, fig_h))
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
    left_in = min(label_w / dpi + 0.2, FIG_WIDTH_IN * 0.45)
    right_in = min(note_w / dpi + 0.35, FIG_WIDTH_IN * 0.3)
    left, width = left_in / FIG_WIDTH_IN, 1 - (left_in + right_in) / FIG_WIDTH_IN
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
            color=UNKNOWN_COLOR,
            markersize=7,
            label="not estimable",
        )
    )
    lows = pd.to_numeric(df["rel_ci_low"], errors="coerce").to_numpy(dtype=float)
    highs = pd.to_numeric(df["rel_ci_high"], errors="coerce").to_numpy(dtype=float)
    if np.isinf(lows).any() or np.isinf(highs).any():
        handles.append(
            Line2D(
                [],
                [],
                marker=">",
                linestyle="-",
                color=MUTED_COLOR,
                markersize=6,
                linewidth=2,
                label="unbounded CI",
            )
        )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(left, 1 - 0.08 / fig_h),
        ncol=len(handles),
        frameon=False,
        fontsize=9,
        labelcolor=TEXT_COLOR,
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
    style_axis(ax)

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
        color = DECISION_COLORS.get(decision, UNKNOWN_COLOR)
        if np.isfinite(lift):
            if not (np.isnan(lo) or np.isnan(hi)):
                # An unbounded end (±inf, Fieller) runs to the panel edge and ends in an arrow.
                ax.plot(
                    [max(lo, xlo), min(hi, xhi)],
                    [y, y],
                    color=color,
                    linewidth=2.4,
                    solid_capstyle="round",
                    zorder=2,
                )
                if lo < xlo:
                    ax.plot(
                        [xlo], [y], marker="<", color=color, markersize=7, zorder=2, clip_on=False
                    )
                if hi > xhi:
                    ax.plot(
                        [xhi], [y], marker=">", color=color, markersize=7, zorder=2, clip_on=False
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
                color=color if decision in ("win", "loss") else TEXT_COLOR,
                fontweight=weight,
            )
        else:
            na_y.append(y)
            status = row.status if isinstance(row.status, str) and row.status else "no estimate"
            ax.text(
                1.02,
                y,
                f"n/a ({plain(status)})",
                transform=trans,
                va="center",
                ha="left",
                fontsize=8.5,
                color=MUTED_COLOR,
                style="italic",
            )

    if ok_x:
        ax.scatter(ok_x, ok_y, c=ok_c, s=46, zorder=3, edgecolors="white", linewidths=1.2)
    if na_y:
        ax.scatter(
            [0.0] * len(na_y), na_y, marker="x", c=UNKNOWN_COLOR, s=40, zorder=3, linewidths=1.6
        )

    labels = [plain(_row_label(r.exp_key, r.variant, max_chars)) for r in sub.itertuples()]
    ax.set_yticks(ys, labels)
    for tick, exp in zip(ax.get_yticklabels(), exps, strict=True):
        if exp in srm:
            tick.set_color(_SRM_COLOR)
            tick.set_fontweight("bold")
    ax.xaxis.set_major_formatter(FuncFormatter(axis_pct))

    mtypes = [t for t in pd.unique(sub["metric_type"]) if isinstance(t, str)]
    kind = f"  ({', '.join(mtypes)})" if mtypes else ""
    ax.set_title(plain(metric), loc="left", fontsize=11, fontweight="bold", color=TEXT_COLOR, pad=8)
    if kind:
        ax.text(
            1.0,
            1.0,
            plain(kind.strip()),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8.5,
            color=MUTED_COLOR,
        )
    ax.text(
        1.02,
        1.0,
        "lift  [CI]",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=8.5,
        color=MUTED_COLOR,
    )


# --- segment heatmap ------------------------------------------------------------------------

_NOT_OK_HATCH = "#b3bac2"


def _strings(df: pd.DataFrame, col: str, default: str = "") -> pd.Series:
    """A string column with '' (or ``default``) for None/NaN, whether or not it exists."""
    if col not in df.columns:
        return pd.Series(default, index=df.index, dtype=object)
    return df[col].map(lambda v: v if isinstance(v, str) and v else default)


def segment_heatmap(
    results: pd.DataFrame,
    *,
    max_rows: int = 40,
    max_cols: int = 30,
    max_label_chars: int = 30,
) -> Figure:
    """Relative lift per segment value (rows) × experiment (columns), one panel per metric.

    Colour is a diverging map centred at 0 (red below, blue above, white for no change),
    scaled per panel because metrics move on different scales; every cell is annotated with
    its lift. Cells whose comparison is not "ok" (empty arm, zero variance, SRM) are grey and
    hatched, with the value in grey when there is one, so they never read as an effect.
    Segment "win"/"loss" cells get a dark outline and bold text. An experiment with several
    treatments gets one column per treatment ("exp · C"). Beyond ``max_rows`` segment values
    only the largest (by units) are drawn, beyond ``max_cols`` columns the first ones; the
    figure says so.
    """
    df = results if results is not None else pd.DataFrame()
    required = {"experiment", "segment", "metric", "variant"}
    if df.empty or not required.issubset(df.columns):
        return empty_figure("No segment breakdowns to plot.")
    seg = df["segment"].map(lambda v: v if isinstance(v, str) and v else "all")
    df = df[seg != "all"].copy()
    if df.empty:
        return empty_figure("No segment breakdowns to plot.")
    df["hm_lift"] = numeric_column(df, "rel_lift")
    df["hm_status"] = _strings(df, "status", "ok")
    df["hm_decision"] = _strings(df, "decision")
    df["hm_units"] = numeric_column(df, "n_control").fillna(0) + numeric_column(
        df, "n_variant"
    ).fillna(0)
    df["hm_exp"] = df["experiment"].astype(str)
    df["hm_var"] = df["variant"].astype(str)
    df["hm_seg"] = df["segment"].astype(str)
    df["hm_met"] = df["metric"].astype(str)
    n_var = df.groupby("hm_exp", sort=False)["hm_var"].nunique()
    df["hm_col"] = [
        f"{e} · {v}" if n_var[e] > 1 else e for e, v in zip(df["hm_exp"], df["hm_var"], strict=True)
    ]

    cols = list(pd.unique(df["hm_col"]))
    # rows grouped by segment column ("device=mobile" -> "device"), in order of appearance
    rows_all = list(pd.unique(df["hm_seg"]))
    seg_col = {r: r.partition("=")[0] for r in rows_all}
    col_order = {c: i for i, c in enumerate(dict.fromkeys(seg_col[r] for r in rows_all))}
    rows_all.sort(key=lambda r: col_order[seg_col[r]])  # stable: keeps value order in a column
    notes = []
    rows = rows_all
    if len(rows_all) > max_rows:
        units = df.groupby("hm_seg")["hm_units"].max()
        keep = set(units.sort_values(ascending=False, kind="stable").index[:max_rows])
        rows = [r for r in rows_all if r in keep]
        notes.append(f"{max_rows} of {len(rows_all)} segment values (largest by units)")
    if len(cols) > max_cols:
        notes.append(f"first {max_cols} of {len(cols)} experiment columns")
        cols = cols[:max_cols]
    metrics = list(pd.unique(df["hm_met"]))
    row_idx = {r: i for i, r in enumerate(rows)}
    col_idx = {c: j for j, c in enumerate(cols)}
    n_r, n_c = len(rows), len(cols)

    # Layout in inches: the row labels set the left margin, the column labels (rotated) the
    # space under each panel.
    row_h = 0.34
    col_labels = [clip_label(c, max_label_chars) for c in cols]
    longest = max((len(c) for c in col_labels), default=4)
    xlab_h = min(0.5 * 0.062 * longest + 0.25, 1.6)
    title_h, gap = 0.38, 0.3
    panel_h = title_h + n_r * row_h + xlab_h
    top = 0.2 + (0.22 if notes else 0.0)
    fig_h = top + len(metrics) * panel_h + gap * (len(metrics) - 1) + 0.1
    fig = Figure(figsize=(FIG_WIDTH_IN, fig_h))
    fig.patch.set_facecolor("white")
    row_labels = [plain(clip_label(r, max_label_chars)) for r in rows]
    probe = fig.text(0, 0, max(row_labels, key=len, default=""), fontsize=8.5)
    renderer = FigureCanvasAgg(fig).get_renderer()
    left_in = min(probe.get_window_extent(renderer).width / fig.dpi + 0.25, FIG_WIDTH_IN * 0.35)
    probe.remove()
    cbar_in = 0.95
    cell_w = (FIG_WIDTH_IN - left_in - cbar_in - 0.2) / max(n_c, 1)
    cell_w = min(cell_w, 1.35)  # few experiments: keep cells a sensible size
    plot_w = cell_w * n_c
    annotate = cell_w >= 0.3
    fontsize = 8 if cell_w >= 0.55 else 6.5

    y_cursor = fig_h - top
    for metric in metrics:
        sub = df[df["hm_met"] == metric]
        values = np.full((n_r, n_c), np.nan)
        present = np.zeros((n_r, n_c), dtype=bool)
        ok = np.zeros((n_r, n_c), dtype=bool)
        strong = np.zeros((n_r, n_c), dtype=bool)
        status = np.full((n_r, n_c), "", dtype=object)
        for r in sub.itertuples(index=False):
            i, j = row_idx.get(r.hm_seg), col_idx.get(r.hm_col)
            if i is None or j is None:
                continue
            values[i, j] = r.hm_lift
            present[i, j] = True
            status[i, j] = r.hm_status
            ok[i, j] = r.hm_status == "ok" and np.isfinite(r.hm_lift)
            strong[i, j] = r.hm_decision in ("win", "loss")
        bottom = y_cursor - title_h - n_r * row_h
        ax = fig.add_axes(
            (left_in / FIG_WIDTH_IN, bottom / fig_h, plot_w / FIG_WIDTH_IN, n_r * row_h / fig_h)
        )
        norm, vmax = heat_norm(values, ok)
        shown = np.ma.masked_array(np.clip(values, -vmax, vmax), mask=~ok)
        edges_x, edges_y = np.arange(n_c + 1) - 0.5, np.arange(n_r + 1) - 0.5
        mesh = ax.pcolormesh(
            edges_x, edges_y, shown, cmap=HEAT_CMAP, norm=norm, edgecolors="white", linewidth=1.5
        )
        cmap = mesh.get_cmap()
        for i in range(n_r):
            for j in range(n_c):
                if not present[i, j]:
                    ax.add_patch(heat_cell(i, j, HEAT_MISSING_FILL, linewidth=1.5))
                elif not ok[i, j]:
                    ax.add_patch(
                        heat_cell(
                            i,
                            j,
                            HEAT_NOT_OK_FILL,
                            linewidth=1.5,
                            hatch="////",
                            hatchcolor=_NOT_OK_HATCH,
                        )  # fmt: skip
                    )
                if strong[i, j] and ok[i, j]:
                    ax.add_patch(
                        Rectangle(
                            (j - 0.42, i - 0.4),
                            0.84,
                            0.8,
                            fill=False,
                            edgecolor=TEXT_COLOR,
                            linewidth=1.2,
                            zorder=3,
                        )
                    )
                if not annotate or not present[i, j]:
                    continue
                v = values[i, j]
                if ok[i, j]:
                    color = text_color_on(cmap(norm(np.clip(v, -vmax, vmax))))
                    style = "normal"
                    text = _fmt_pct(v)
                elif np.isfinite(v):
                    color, style, text = MUTED_COLOR, "italic", _fmt_pct(v)
                else:
                    color, style = MUTED_COLOR, "italic"
                    text = "n/a" if status[i, j] in ("", "ok") else plain(status[i, j])
                    text = clip_label(text, 9 if cell_w >= 0.55 else 5)
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color=color,
                    style=style,
                    fontweight="bold" if strong[i, j] and ok[i, j] else "normal",
                    zorder=4,
                )
        # white rules between segment columns (device | country) so groups read as blocks
        for i in range(1, n_r):
            if seg_col[rows[i]] != seg_col[rows[i - 1]]:
                ax.axhline(i - 0.5, color="white", linewidth=5, zorder=5)
        ax.set_xlim(-0.5, n_c - 0.5)
        ax.set_ylim(n_r - 0.5, -0.5)  # first segment value on top
        ax.set_yticks(np.arange(n_r), row_labels)
        ax.set_xticks(np.arange(n_c), [plain(c) for c in col_labels])
        for side in ax.spines:
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="both", length=0, labelsize=8.5, colors=TEXT_COLOR)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_rotation_mode("anchor")
        ax.set_title(
            plain(metric), loc="left", fontsize=11, fontweight="bold", color=TEXT_COLOR, pad=8
        )
        heat_colorbar(
            fig,
            mesh,
            (
                (left_in + plot_w + 0.15) / FIG_WIDTH_IN,
                bottom / fig_h,
                0.12 / FIG_WIDTH_IN,
                n_r * row_h / fig_h,
            ),
        )
        y_cursor -= panel_h + gap

    handles = [
        Patch(facecolor=HEAT_NOT_OK_FILL, hatch="////", edgecolor=_NOT_OK_HATCH, label="not ok"),
        Patch(facecolor="white", edgecolor=TEXT_COLOR, linewidth=1.2, label="segment win / loss"),
    ]
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(left_in / FIG_WIDTH_IN, 1 - 0.04 / fig_h),
        ncol=2,
        frameon=False,
        fontsize=8.5,
        labelcolor=TEXT_COLOR,
    )
    if notes:
        fig.text(
            left_in / FIG_WIDTH_IN,
            1 - 0.36 / fig_h,
            plain("Showing " + "; ".join(notes) + "."),
            fontsize=8.5,
            color=MUTED_COLOR,
            va="top",
        )
    return fig


# --- sequential monitoring ------------------------------------------------------------------

_PATH_COLOR = "#1e6fd9"
_BOUNDARY_COLOR = "#c62828"


def _axis_num(value: float, _pos: int | None = None) -> str:
    """Compact tick labels in the metric's units: '0', '0.012', '1.5k', with a real minus."""
    if value == 0:
        return "0"
    ax = abs(value)
    text = f"{value / 1000:g}k" if ax >= 10_000 else f"{value:.3g}"
    return text.replace("-", "\u2212")


def sequential_plot(
    looks: pd.DataFrame,
    *,
    alpha: float = 0.05,
    crossed_looks: Mapping[tuple[str, str, str], float] | None = None,
    max_panels: int = 40,
    ncols: int = 4,
) -> Figure:
    """Small multiples of the sequential test over looks, one panel per comparison.

    ``looks`` has one row per experiment × metric × variant × look with ``statistic`` (z),
    ``boundary`` (group-sequential |z| boundary; NaN for mSPRT), ``p_value`` (always valid;
    NaN for group-sequential), ``ci_low``/``ci_high`` (confidence sequence, absolute scale).
    A panel with boundaries shows the z path against ±boundary, the continuation region
    shaded; otherwise the confidence sequence narrowing around 0. The look where the test
    stopped is ringed and labelled: ``crossed_looks[(experiment, metric, variant)]`` when the
    key is there (NaN = not crossed: the results frame is the authority), else the first look
    where |z| ≥ boundary, the sequence excludes 0 or p < ``alpha``.
    Only overall rows are drawn when the frame has a ``segment`` column.
    """
    df = looks if looks is not None else pd.DataFrame()
    required = {"experiment", "metric", "variant", "look"}
    if df.empty or not required.issubset(df.columns):
        return empty_figure("No sequential looks to plot.")
    if "segment" in df.columns:
        seg = df["segment"].map(lambda v: v if isinstance(v, str) and v else "all")
        df = df[seg == "all"]
    df = df.copy()
    df["_look"] = numeric_column(df, "look")
    df = df[np.isfinite(df["_look"])]
    if df.empty:
        return empty_figure("No sequential looks to plot.")
    for col in ("statistic", "boundary", "p_value", "ci_low", "ci_high"):
        df[f"_{col}"] = numeric_column(df, col)
    df["_key"] = list(
        zip(
            df["experiment"].astype(str),
            df["metric"].astype(str),
            df["variant"].astype(str),
            strict=True,
        )
    )
    keys = list(pd.unique(df["_key"]))
    note = ""
    if len(keys) > max_panels:
        note = f"Showing the first {max_panels} of {len(keys)} comparisons."
        keys = keys[:max_panels]
    crossed_looks = dict(crossed_looks or {})

    ncols = max(1, min(ncols, len(keys)))
    nrows = math.ceil(len(keys) / ncols)
    panel_h = 2.0
    head = 0.72 + (0.22 if note else 0.0)
    fig_h = panel_h * nrows + head
    fig, gs = panel_grid(
        nrows, ncols, panel_h=panel_h, extra_h=head, top_in=head, bottom_in=0.45,
        hspace=0.75, wspace=0.28,
    )  # fmt: skip
    kinds: set[str] = set()
    for n, key in enumerate(keys):
        ax = fig.add_subplot(gs[n // ncols, n % ncols])
        sub = df[df["_key"] == key].sort_values("_look", kind="stable")
        x = sub["_look"].to_numpy(dtype=float)
        kind = _draw_sequential_panel(
            ax, sub, x, alpha, crossed_looks.get(key, math.nan), known=key in crossed_looks
        )
        kinds.add(kind)
        exp, metric, variant = key
        title = clip_label(f"{exp} · {variant}", 34)
        ax.set_title(
            plain(title), loc="left", fontsize=8.5, fontweight="bold", color=TEXT_COLOR, pad=14
        )
        ax.text(
            0,
            1.02,
            plain(clip_label(metric, 40)),
            transform=ax.transAxes,
            fontsize=8,
            color=MUTED_COLOR,
            va="bottom",
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        if n // ncols == nrows - 1 or n + ncols >= len(keys):
            ax.set_xlabel("look", fontsize=8, color=MUTED_COLOR, labelpad=2)

    handles = []
    if "gst" in kinds:
        handles += [
            Line2D([], [], color=_PATH_COLOR, marker="o", markersize=4, label="z statistic"),
            Line2D([], [], color=_BOUNDARY_COLOR, linestyle="--", label="± boundary"),
        ]
    if "msprt" in kinds:
        handles.append(
            Patch(
                facecolor=_PATH_COLOR,
                alpha=0.25,
                edgecolor=_PATH_COLOR,
                label="confidence sequence",
            )
        )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="none",
            markeredgecolor=TEXT_COLOR,
            markersize=9,
            markeredgewidth=1.6,
            label="stopped (boundary crossed)",
        )
    )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.06, 1 - 0.04 / fig_h),
        ncol=len(handles),
        frameon=False,
        fontsize=8.5,
        labelcolor=TEXT_COLOR,
    )
    if note:
        fig.text(0.06, 1 - 0.34 / fig_h, plain(note), fontsize=8.5, color=MUTED_COLOR, va="top")
    return fig


def _first_true(x: np.ndarray, flags: np.ndarray) -> float:
    idx = np.flatnonzero(flags)
    return float(x[idx[0]]) if idx.size else math.nan


def _draw_sequential_panel(
    ax, sub: pd.DataFrame, x: np.ndarray, alpha: float, crossed: float, *, known: bool
) -> str:
    """One comparison's monitoring path; returns the kind drawn ("gst", "msprt" or "z").

    ``known``: ``crossed`` comes from the results (NaN = not crossed), so the crossing is not
    re-derived from the looks.
    """
    z = sub["_statistic"].to_numpy(dtype=float)
    b = sub["_boundary"].to_numpy(dtype=float)
    lo = sub["_ci_low"].to_numpy(dtype=float)
    hi = sub["_ci_high"].to_numpy(dtype=float)
    p = sub["_p_value"].to_numpy(dtype=float)
    style_axis(ax)
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
    ax.tick_params(axis="y", labelsize=7.5, labelcolor=MUTED_COLOR)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.axhline(0, color="#4a5560", linewidth=0.9, zorder=1)
    try:
        crossed = float(crossed)
    except (TypeError, ValueError):
        crossed = math.nan
    with np.errstate(invalid="ignore"):
        gst = bool(np.isfinite(b).any())
        if gst:
            kind = "gst"
            bb = np.where(np.isfinite(b), b, np.nan)
            ax.fill_between(x, -bb, bb, color=_BAND, zorder=0, linewidth=0)
            ax.plot(x, bb, color=_BOUNDARY_COLOR, linestyle="--", linewidth=1.2, zorder=2)
            ax.plot(x, -bb, color=_BOUNDARY_COLOR, linestyle="--", linewidth=1.2, zorder=2)
            ax.plot(x, z, color=_PATH_COLOR, marker="o", markersize=3.5, linewidth=1.6, zorder=3)
            if math.isnan(crossed) and not known:
                crossed = _first_true(x, np.abs(z) >= b)
            y_at = dict(zip(x, z, strict=True))
            # Early O'Brien-Fleming boundaries are huge (|z| ≥ 10): let them run off the top
            # so the path and the boundary where it matters stay readable.
            fin_b = bb[np.isfinite(bb)]
            fin_z = np.abs(z[np.isfinite(z)])
            cap = max(float(fin_z.max()) * 1.15 if fin_z.size else 0.0, float(fin_b.min()) * 1.6)
            finite = np.clip(np.concatenate([z[np.isfinite(z)], fin_b, -fin_b]), -cap, cap)
        elif np.isfinite(lo).any() or np.isfinite(hi).any():
            kind = "msprt"
            l2 = np.where(np.isfinite(lo), lo, np.nan)
            h2 = np.where(np.isfinite(hi), hi, np.nan)
            ax.fill_between(x, l2, h2, color=_PATH_COLOR, alpha=0.22, linewidth=0, zorder=2)
            ax.plot(x, l2, color=_PATH_COLOR, linewidth=1.1, zorder=3)
            ax.plot(x, h2, color=_PATH_COLOR, linewidth=1.1, zorder=3)
            if math.isnan(crossed) and not known:
                excl = (lo > 0) | (hi < 0) | (p < alpha)
                crossed = _first_true(x, excl)
            # ring the bound that left 0 behind (the lower one for a positive effect)
            y_at = {
                xx: (l2[i] if l2[i] > 0 else h2[i] if h2[i] < 0 else 0.0) for i, xx in enumerate(x)
            }
            finite = np.concatenate([l2[np.isfinite(l2)], h2[np.isfinite(h2)]])
            ax.yaxis.set_major_formatter(FuncFormatter(_axis_num))
        else:
            kind = "z"
            ax.plot(x, z, color=_PATH_COLOR, marker="o", markersize=3.5, linewidth=1.6, zorder=3)
            y_at = dict(zip(x, z, strict=True))
            finite = z[np.isfinite(z)]
    if finite.size:
        lo_y, hi_y = min(float(finite.min()), 0.0), max(float(finite.max()), 0.0)
        # An mSPRT sequence starts very wide; clip the first looks so the narrowing shows.
        if kind == "msprt" and finite.size > 4:
            cap = 4 * float(np.median(np.abs(finite)))
            lo_y, hi_y = max(lo_y, -cap), min(hi_y, cap)
        pad = (hi_y - lo_y) * 0.12 or 1.0
        ax.set_ylim(lo_y - pad, hi_y + pad)
    else:
        ax.text(
            0.5,
            0.5,
            "no defined looks",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color=MUTED_COLOR,
            style="italic",
        )
    if x.size:
        ax.set_xlim(x.min() - 0.4, x.max() + 0.4)
    if np.isfinite(crossed):
        y = y_at.get(crossed, 0.0)
        y = 0.0 if y is None or not np.isfinite(y) else float(np.clip(y, *ax.get_ylim()))
        ax.plot(
            [crossed],
            [y],
            marker="o",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor=TEXT_COLOR,
            markeredgewidth=1.6,
            zorder=5,
        )
        ax.axvline(crossed, color=TEXT_COLOR, linewidth=0.8, linestyle=":", zorder=1)
        # the label goes in the half of the panel away from the ring, so it never hides it
        y0, y1 = ax.get_ylim()
        upper = (y - y0) / (y1 - y0) > 0.5 if y1 > y0 else True
        ax.text(
            0.98,
            0.05 if upper else 0.95,
            f"stopped at look {crossed:g}",
            transform=ax.transAxes,
            ha="right",
            va="bottom" if upper else "top",
            fontsize=7.5,
            color=TEXT_COLOR,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
        )
    return kind


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
        return empty_figure("No funnel data in this run.")
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
    fig = Figure(figsize=(FIG_WIDTH_IN, panel_h * nrows + 0.2))
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
        palette = iter(VARIANT_COLORS * 4)
        for j, v in enumerate(variants):
            color = CONTROL_COLOR if v == control else next(palette)
            lookup = dict(rates[v])
            vals = np.array([lookup.get(c, np.nan) for c in cats], dtype=float)
            offs = x - 0.4 + width * (j + 0.5)
            label = f"{v} (control)" if v == control else v
            bars = ax.bar(
                offs, np.nan_to_num(vals), width * 0.92, color=color, label=plain(label), zorder=2
            )
            # Narrower bars with more variants: smaller labels, then whole percents, so
            # neighbouring labels never run into each other.
            crowded = len(variants) >= 4
            texts = [short_pct(val, whole=crowded) if np.isfinite(val) else "" for val in vals]
            size = 7 if len(variants) <= 2 else 6
            ax.bar_label(bars, labels=texts, fontsize=size, color=TEXT_COLOR, padding=1.5)
            if np.isfinite(vals).any():
                ymax_all = max(ymax_all, float(np.nanmax(vals)))
        ax.set_xticks(x, [plain(c) for c in cats])
        style_axis(ax)
        ax.grid(axis="x", visible=False)
        ax.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
        ax.tick_params(axis="x", labelsize=7.5, labelcolor=TEXT_COLOR)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{round(v * 100, 6):g}%"))
        ax.set_title(
            plain(exp), loc="left", fontsize=10, fontweight="bold", color=TEXT_COLOR, pad=16
        )
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
