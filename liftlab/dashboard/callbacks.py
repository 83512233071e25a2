"""What the dashboard's interactive parts compute, as plain functions of published tables and
control values (no Dash import): filters, figures and tables for the experiments and campaigns
pages, and the marketing-mix budget scenario. ``app.py`` wires them to Dash callbacks; the unit
tests call them directly.

Nothing here estimates anything: every lift, interval, p-value, decision and ROAS comes from a
pipeline's gold table, as published. The budget scenario is the one place that computes: it
runs the pipeline's own optimiser (:mod:`strategies.mmm.optimise`) on the model and bootstrap
draws the marketing-mix run saved, exactly as the run planned its own budget.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from liftlab.dashboard import style
from strategies.errors import LiftlabError

ALL = "__all__"
"""The value of a filter's "every value" option."""

MAX_FOREST_ROWS = 40
"""A forest plot stays readable up to about this many rows; more are left out and counted."""


# ---- experiments ---------------------------------------------------------------------------------
def options(values: Sequence[Any] | pd.Series, all_label: str) -> list[dict[str, str]]:
    """Dropdown options: "every value" first, then the distinct values in sorted order."""
    distinct = sorted({str(v) for v in values if pd.notna(v) and str(v) != ""})
    return [{"label": all_label, "value": ALL}] + [{"label": v, "value": v} for v in distinct]


def filter_results(
    results: pd.DataFrame,
    *,
    experiment: str = ALL,
    metric: str = ALL,
    segment: str = "all",
    decision: str = ALL,
    run_date: str = ALL,
) -> pd.DataFrame:
    """The result rows matching every filter (``ALL`` or None = no filter on that column)."""
    if results.empty:
        return results
    mask = pd.Series(True, index=results.index)
    for column, value in (
        ("experiment", experiment),
        ("metric", metric),
        ("segment", segment),
        ("decision", decision),
        ("run_date", run_date),
    ):
        if value not in (None, ALL) and column in results.columns:
            mask &= results[column].astype(str) == str(value)
    return results[mask]


def decision_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Comparisons per decision (win, loss, neutral, inconclusive) among ``rows``."""
    if rows.empty or "decision" not in rows.columns:
        return {}
    counts = rows["decision"].fillna("").astype(str).value_counts()
    return {k: int(v) for k, v in counts.items() if k}


def corrected_away(
    rows: pd.DataFrame, low_column: str = "rel_ci_low", high_column: str = "rel_ci_high"
) -> int:
    """Rows whose printed interval (``low_column`` … ``high_column``) excludes 0 while the
    decision is neither win nor loss (the correction removed their significance)."""
    low = pd.to_numeric(rows[low_column], errors="coerce")
    high = pd.to_numeric(rows[high_column], errors="coerce")
    called = rows["decision"].astype(str).isin(["win", "loss"])
    return int((((low > 0) | (high < 0)) & ~called).sum())


def forest_figure(rows: pd.DataFrame) -> go.Figure:
    """Relative lift with its published interval, one row per comparison, coloured by the
    published decision. The A/B pipeline publishes unadjusted (1 − α) intervals beside
    decisions corrected for multiple testing, so an interval may exclude 0 under an
    inconclusive decision: the title counts those rows, so the chart never seems to contradict
    itself without saying why."""
    if rows.empty:
        return style.message_figure("No comparison matches these filters.")
    shown = rows.head(MAX_FOREST_ROWS)
    # label each row by what differs between rows (one experiment and metric: the segment)
    parts = [c for c in ("experiment", "metric", "segment") if shown[c].nunique() > 1]
    parts = parts or ["experiment", "metric"]
    labels = [
        " · ".join(str(getattr(r, c)) for c in parts if c != "segment" or r.segment != "all")
        or str(r.experiment)
        for r in shown.itertuples()
    ][::-1]
    shown = shown.iloc[::-1]
    lift = shown["rel_lift"].astype(float)
    low = shown["rel_ci_low"].astype(float)
    high = shown["rel_ci_high"].astype(float)
    title = "Relative lift with its interval"
    if len(rows) > len(shown):
        title += f" (first {len(shown)} of {len(rows)}: narrow the filters to see the rest)"
    uncalled = corrected_away(shown)
    if uncalled:
        title += (
            f"<br><sub>{uncalled} interval(s) exclude 0 but are not significant after the "
            "multiple-testing correction: not a result</sub>"
        )
    fig = style.figure(title, height=max(260, 60 + 26 * len(shown)))
    for decision in shown["decision"].fillna("").astype(str).unique():
        pick = (shown["decision"].fillna("").astype(str) == decision).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=lift[pick],
                y=np.array(labels)[pick],
                mode="markers",
                name=decision or "no decision",
                marker={"color": style.decision_color(decision), "size": 9},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (high - lift)[pick],
                    "arrayminus": (lift - low)[pick],
                    "color": style.decision_color(decision),
                    "thickness": 2,
                    "width": 0,
                },
                customdata=np.column_stack(
                    [
                        [style.fmt_pct(v) for v in lift[pick]],
                        [style.fmt_ci(a, b) for a, b in zip(low[pick], high[pick], strict=True)],
                    ]
                ),
                hovertemplate="%{y}<br>lift %{customdata[0]}<br>CI %{customdata[1]}<extra></extra>",
            )
        )
    fig.add_vline(x=0, line={"color": style.MUTED_COLOR, "width": 1})
    fig.update_xaxes(tickformat="+.0%", title="relative lift (variant vs control)")
    return fig


def results_table_rows(rows: pd.DataFrame) -> list[dict[str, str]]:
    """The comparisons as the report prints them: estimates in the metric's unit, lift and
    interval in percent, p-values as in the report."""
    out = []
    for r in rows.head(200).to_dict("records"):
        kind = r.get("metric_type")
        out.append(
            {
                "Experiment": str(r.get("experiment", "")),
                "Metric": str(r.get("metric", "")),
                "Segment": str(r.get("segment", "")),
                "Variant": str(r.get("variant", "")),
                "Control": style.fmt_estimate(r.get("estimate_control"), kind),
                "Variant value": style.fmt_estimate(r.get("estimate_variant"), kind),
                "Lift": style.fmt_pct(r.get("rel_lift")),
                "CI": style.fmt_ci(r.get("rel_ci_low"), r.get("rel_ci_high")),
                "p (adj.)": style.fmt_pval(r.get("p_value_adjusted")),
                "Decision": str(r.get("decision", "") or ""),
                "Source": str(r.get("source", "")),
            }
        )
    return out


def _heatmap_grid(
    rows: pd.DataFrame, index: str, columns: str, fields: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Published rows as one ``index`` × ``columns`` frame per field, all aligned (the first
    row of each cell; a cell no row fills is NaN), both axes sorted."""
    keyed = rows.drop_duplicates([index, columns]).set_index([index, columns])
    return {f: keyed[f].unstack(columns) for f in fields}


def _text(value: object) -> str:
    """A published label ('' when missing)."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _decision_heatmap(
    title: str,
    values: pd.DataFrame,
    text: Sequence[Sequence[str]],
    *,
    x: Sequence[str],
    y: Sequence[str],
    colorbar: Mapping[str, Any],
    height: int,
) -> go.Figure:
    """Published estimates (``values``, rows × columns) on the decisions' palette: loss red
    below 0, win green above, symmetric so 0 is neutral; first row on top. A cell without a
    value stays blank whatever its ``text``."""
    z = values.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    finite = np.isfinite(z)
    limit = float(np.abs(z[finite]).max()) if finite.any() else 0.0
    limit = limit or 1.0
    cells = [
        [t if ok else "" for t, ok in zip(row, oks, strict=True)]
        for row, oks in zip(text, finite, strict=True)
    ]
    fig = style.figure(title, height=height)
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=list(x),
            y=list(y),
            text=cells,
            texttemplate="%{text}",
            colorscale=[
                [0, style.DECISION_COLORS["loss"]],
                [0.5, "#f5f7f9"],
                [1, style.DECISION_COLORS["win"]],
            ],
            zmin=-limit,
            zmax=limit,
            colorbar=dict(colorbar),
            xgap=2,
            ygap=2,
            hoverinfo="skip",
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False)
    return fig


def segment_heatmap(results: pd.DataFrame, experiment: str, metric: str) -> go.Figure:
    """Relative lift per segment × variant of one experiment and metric (the published
    segment rows), the text showing lift and decision."""
    if experiment in (None, ALL) or metric in (None, ALL):
        return style.message_figure("Pick one experiment and one metric to see its segments.")
    rows = filter_results(results, experiment=experiment, metric=metric, segment=ALL)
    rows = rows[rows["segment"] != "all"] if not rows.empty else rows
    if rows.empty:
        return style.message_figure(f"{experiment}: no segment breakdown of {metric} published.")
    wide = _heatmap_grid(rows, "segment", "variant", ("rel_lift", "decision"))
    grid = wide["rel_lift"]
    text = [
        [f"{style.fmt_pct(v)}<br>{_text(d)}" for v, d in zip(row, drow, strict=True)]
        for row, drow in zip(grid.to_numpy(), wide["decision"].to_numpy(), strict=True)
    ]
    return _decision_heatmap(
        f"{experiment} · {metric}: lift per segment",
        grid,
        text,
        x=[f"variant {c}" for c in grid.columns],
        y=[str(i) for i in grid.index],
        colorbar={"tickformat": "+.0%", "title": "lift"},
        height=120 + 40 * len(grid),
    )


def funnel_figure(funnel: pd.DataFrame | None, experiment: str) -> go.Figure:
    """Units reaching each funnel stage per arm (published stage totals), as a share of the
    first stage so arms of different sizes compare."""
    if funnel is None or funnel.empty:
        return style.message_figure("No funnel published for this job.")
    if experiment in (None, ALL):
        return style.message_figure("Pick one experiment to see its funnel.")
    rows = funnel[funnel["experiment"].astype(str) == str(experiment)]
    if rows.empty:
        return style.message_figure(f"No funnel published for {experiment}.")
    fig = style.figure(f"{experiment}: funnel per variant (share of the first stage)")
    for i, (variant, arm) in enumerate(rows.sort_values("stage_order").groupby("variant")):
        base = float(arm["total"].iloc[0]) or 1.0
        color = style.CONTROL_COLOR if i == 0 else style.VARIANT_COLORS[(i - 1) % 6]
        fig.add_trace(
            go.Bar(
                x=arm["stage"],
                y=arm["total"] / base,
                name=f"variant {variant}",
                marker_color=color,
                text=[style.fmt_pct(v, signed=False) for v in arm["total"] / base],
                textposition="outside",
                customdata=[style.fmt_int(v) for v in arm["total"]],
                hovertemplate="%{x}: %{customdata} (%{text})<extra></extra>",
            )
        )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_layout(barmode="group")
    return fig


MAX_HEALTH_ROWS = 50
"""Experiments listed in the SRM / guardrail table before it asks for a narrower filter."""


def health_rows(
    results: pd.DataFrame, srm: pd.DataFrame | None, experiment: str
) -> list[dict[str, str]]:
    """SRM check and guardrail status per experiment (as published), one row each, the first
    :data:`MAX_HEALTH_ROWS` experiments and a last row counting the rest."""
    rows = filter_results(results, experiment=experiment)
    if rows.empty:
        return []
    names = sorted(rows["experiment"].astype(str).unique())
    shown = names[:MAX_HEALTH_ROWS]
    rows = rows[rows["experiment"].astype(str).isin(shown)]
    checks: dict[str, tuple[bool, float]] = {}
    if srm is not None and not srm.empty:
        picked = srm[srm["experiment"].astype(str).isin(shown)]
        grouped = picked.groupby(picked["experiment"].astype(str))
        detected = grouped["srm_detected"].agg(lambda v: bool(v.astype(bool).any()))
        p_min = grouped["p_value"].min()
        checks = {name: (bool(detected[name]), p_min[name]) for name in detected.index}
    p_rows = (
        rows.groupby(rows["experiment"].astype(str))["srm_p_value"].min()
        if "srm_p_value" in rows.columns
        else pd.Series(dtype=float)
    )
    guards: dict[str, list[str]] = {}
    if "role" in rows.columns and "guardrail_status" in rows.columns:
        guard = rows[rows["role"].astype(str) == "guardrail"]
        for g in guard.itertuples():
            status = g.guardrail_status if isinstance(g.guardrail_status, str) else g.decision
            guards.setdefault(str(g.experiment), []).append(f"{g.metric} {g.variant}: {status}")
    out = []
    for name in shown:
        if name in checks:
            detected, p_value = checks[name]
            srm_text = f"{'SRM ALERT' if detected else 'ok'} (p = {style.fmt_pval(p_value)})"
        elif pd.notna(p_rows.get(name, np.nan)):
            srm_text = f"p = {style.fmt_pval(p_rows[name])}"
        else:
            srm_text = style.DASH
        out.append(
            {
                "Experiment": name,
                "Sample ratio (SRM)": srm_text,
                "Guardrails": ", ".join(guards.get(name, [])) or "no guardrail metric",
            }
        )
    if len(names) > len(shown):
        out.append(
            {
                "Experiment": f"… and {len(names) - len(shown)} more",
                "Sample ratio (SRM)": "pick one experiment to see it",
                "Guardrails": "",
            }
        )
    return out


def sequential_figure(looks: pd.DataFrame | None, experiment: str, metric: str) -> go.Figure:
    """The always-valid interval at each published look of a sequential test."""
    if looks is None or looks.empty:
        return style.message_figure(
            "No sequential monitoring in this run (a sequential A/B config publishes "
            "sequential_looks.csv: see configs/ab_test_sequential.yaml)."
        )
    rows = looks
    if experiment not in (None, ALL):
        rows = rows[rows["experiment"].astype(str) == str(experiment)]
    if metric not in (None, ALL) and "metric" in rows.columns:
        rows = rows[rows["metric"].astype(str) == str(metric)]
    if rows.empty:
        return style.message_figure("No sequential looks for this selection.")
    x = "look" if "look" in rows.columns else rows.columns[0]
    fig = style.figure("Sequential monitoring: estimate and always-valid interval per look")
    for i, (key, part) in enumerate(rows.groupby(["experiment", "metric"], sort=True)):
        color = style.VARIANT_COLORS[i % 6]
        est = next((c for c in ("abs_diff", "estimate") if c in part.columns), None)
        low = next((c for c in ("ci_low", "abs_ci_low") if c in part.columns), None)
        high = next((c for c in ("ci_high", "abs_ci_high") if c in part.columns), None)
        if est is None:
            continue
        err = {}
        if low and high:
            err = {
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": part[high] - part[est],
                    "arrayminus": part[est] - part[low],
                }
            }
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=part[est],
                name=" · ".join(map(str, key)),
                mode="lines+markers",
                line={"color": color},
                **err,
            )  # fmt: skip
        )
    fig.add_hline(y=0, line={"color": style.MUTED_COLOR, "width": 1})
    return fig


# ---- campaigns -----------------------------------------------------------------------------------
def campaign_rows(summary: pd.DataFrame, category: str = "all") -> pd.DataFrame:
    """The campaign summary rows of one product category ("all" = the whole basket)."""
    if summary is None or summary.empty:
        return pd.DataFrame()
    return summary[summary["category"].astype(str) == str(category)]


def campaign_label(name: object) -> str:
    """A campaign name wrapped for an axis (lines of at most 16 characters)."""
    return "<br>".join(textwrap.wrap(str(name), 16)) or str(name)


def campaign_spend_figure(rows: pd.DataFrame, currency: str = "$") -> go.Figure:
    """Spend per customer, target vs control, per campaign."""
    if rows.empty:
        return style.message_figure("No campaign in this category.")
    fig = style.figure("Spend per customer: target vs control")
    names = [campaign_label(n) for n in rows["campaign_name"]]
    fig.add_trace(
        go.Bar(
            x=names,
            y=rows["spend_per_customer_control"],
            name="control",
            marker_color=style.CONTROL_COLOR,
        )  # fmt: skip
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=rows["spend_per_customer_target"],
            name="target",
            marker_color=style.VARIANT_COLORS[0],
        )  # fmt: skip
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(**style.money_ticks(currency))
    return fig


def campaign_interval_figure(
    rows: pd.DataFrame, column: str, title: str, currency: str = "$"
) -> go.Figure:
    """A published estimate with its interval per campaign (incremental revenue or ROI),
    coloured by the published decision."""
    if rows.empty:
        return style.message_figure("No campaign in this category.")
    decision = "roi_decision" if column == "roi" else "decision"
    colors = [
        style.decision_color({"profitable": "win", "unprofitable": "loss"}.get(str(d), str(d)))
        for d in rows[decision]
    ]
    value = rows[column].astype(float)
    fig = style.figure(title, height=100 + 40 * len(rows))
    fig.add_trace(
        go.Scatter(
            x=value,
            y=rows["campaign_name"].astype(str),
            mode="markers",
            marker={"color": colors, "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": rows[f"{column}_ci_high"] - value,
                "arrayminus": value - rows[f"{column}_ci_low"],
                "thickness": 2,
                "width": 0,
            },
            text=[str(d) for d in rows[decision]],
            hovertemplate="%{y}: %{x:,.2f} (%{text})<extra></extra>",
        )
    )
    fig.add_vline(x=0, line={"color": style.MUTED_COLOR, "width": 1})
    if column == "incremental_revenue":
        fig.update_xaxes(**style.money_ticks(currency))
    return fig


def _revenue_cell(
    value: object, low: object, high: object, decision: object, currency: str = "$"
) -> str:
    """'+$4.75', its interval '+$3.91 … +$5.60' and the decision, one per line."""
    shown, lo, hi = (style.fmt_money(x, currency, signed=True) for x in (value, low, high))
    return f"<b>{shown}</b><br>{lo} … {hi}<br>{_text(decision)}"


CATEGORY_VALUE = "incremental_spend_per_customer"
"""What the category heatmap shows: the spend (= revenue) uplift per customer, target − control,
published with its interval (``incremental_spend_ci_low`` / ``_high``) and its decision."""


def campaign_category_heatmap(
    summary: pd.DataFrame | None, ci_label: str = "CI", currency: str = "$"
) -> go.Figure:
    """Incremental revenue per customer (target − control) per campaign × product category,
    every category at once (the whole-basket rows, category "all", left out), as published:
    each cell shows the estimate, its interval (``ci_label``, e.g. "95 % CI") and the published
    decision, coloured like the segment heatmap. A category a campaign has no row for is a
    blank cell. The decision is corrected for multiple testing and the interval is not, so the
    title counts the cells whose interval excludes 0 under a decision that is not a result."""
    if summary is None or summary.empty:
        return style.message_figure("No campaign summary published.")
    rows = summary[summary["category"].astype(str) != "all"]
    if rows.empty:
        return style.message_figure(
            "No breakdown by product category published (only the whole basket)."
        )
    low, high = "incremental_spend_ci_low", "incremental_spend_ci_high"
    fields = (CATEGORY_VALUE, low, high, "decision")
    wide = _heatmap_grid(rows, "campaign_id", "category", fields)
    grid = wide[CATEGORY_VALUE]
    cells = np.dstack([wide[f].to_numpy(object) for f in fields])  # campaign × category × field
    text = [[_revenue_cell(*cell, currency) for cell in row] for row in cells]
    names = rows.drop_duplicates("campaign_id").set_index("campaign_id")["campaign_name"]
    names = names.reindex(grid.index)
    unique = names.notna().all() and names.astype(str).is_unique
    labels = [
        campaign_label(name if unique else f"{cid} {_text(name)}".strip())
        for cid, name in names.items()
    ]
    title = "Incremental revenue per customer by product category (target − control)"
    sub = (
        f"Each cell: the estimate, its {ci_label} and the decision (corrected for multiple "
        "testing). Every category at once: the Category filter does not apply."
    )
    uncalled = corrected_away(rows, low, high)
    if uncalled:
        sub += (
            f"<br>{uncalled} interval(s) exclude 0 but are not significant after the "
            "multiple-testing correction: not a result."
        )
    fig = _decision_heatmap(
        f"{title}<br><span style='font-size:12px;color:{style.MUTED_COLOR}'>{sub}</span>",
        grid,
        text,
        x=[str(c) for c in grid.columns],
        y=labels,
        colorbar={
            "tickformat": ",.2~f",
            **style.money_ticks(currency),
            "title": "per<br>customer",
            "len": 0.85,
            "y": 0.45,
        },
        height=150 + 66 * len(grid) + (16 if uncalled else 0),
    )
    fig.update_layout(margin_t=92 if uncalled else 76)  # room for the title's second line
    return fig


def campaign_funnel_figure(funnel: pd.DataFrame | None, campaign_id: str) -> go.Figure:
    """Sent → opened → clicked → purchased, share of the assigned customers, target vs control."""
    if funnel is None or funnel.empty:
        return style.message_figure("No campaign funnel published.")
    rows = funnel[funnel["campaign_id"].astype(str) == str(campaign_id)]
    if rows.empty:
        return style.message_figure(f"No funnel for campaign {campaign_id}.")
    fig = style.figure(f"Funnel of {campaign_id} (share of the customers assigned)")
    order = rows.sort_values("stage_order")["stage"].drop_duplicates().tolist()
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    for group, part in rows.sort_values("stage_order").groupby("group", sort=False):
        color = style.CONTROL_COLOR if group == "control" else style.VARIANT_COLORS[0]
        fig.add_trace(
            go.Bar(
                x=part["stage"],
                y=part["rate"],
                name=str(group),
                marker_color=color,
                text=[style.fmt_pct(v, signed=False) for v in part["rate"]],
                textposition="outside",
            )  # fmt: skip
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


# ---- marketing mix: the budget scenario ----------------------------------------------------------
MAX_SCENARIO_DRAWS = 60
"""Bootstrap draws the scenario optimises over (evenly spaced among the saved ones): enough for
a 90 % interval of the gain, few enough for an answer in well under a second."""
SCENARIO_GRID_STEPS = 100


@dataclass(frozen=True)
class ScenarioModel:
    """What a budget scenario needs from a marketing-mix run: the fitted model, its bootstrap
    draws and the run's plan (current spend per channel, horizon, interval level)."""

    model: Any  # FittedMMM
    draws: list[Any]  # FittedMMM of the bootstrap draws used
    channels: tuple[str, ...]
    current: np.ndarray
    horizon: int
    level: float
    n_draws_saved: int = 0  # draws the run saved (``draws`` is an evenly spaced subset)

    @classmethod
    def from_payloads(
        cls,
        model: Mapping[str, Any],
        draws: Sequence[Mapping[str, Any]],
        plan: pd.DataFrame,
        *,
        horizon: int,
        level: float = 0.9,
        max_draws: int = MAX_SCENARIO_DRAWS,
    ) -> ScenarioModel:
        from strategies.mmm.fit import FittedMMM

        fitted = FittedMMM.from_dict(model)
        channels = tuple(fitted.channels)
        missing = [c for c in channels if c not in set(plan["channel"].astype(str))]
        if missing:
            raise ValueError(f"budget_plan has no row for channel(s) {missing}")
        current = plan.set_index("channel").loc[list(channels), "current_spend"].to_numpy(float)
        picked = list(draws)
        if len(picked) > max_draws:
            idx = np.linspace(0, len(picked) - 1, max_draws).round().astype(int)
            picked = [picked[i] for i in idx]
        return cls(
            model=fitted,
            draws=[FittedMMM.from_dict(d) for d in picked],
            channels=channels,
            current=current,
            horizon=int(horizon),
            level=float(level),
            n_draws_saved=len(draws),
        )


def run_budget_scenario(
    scenario: ScenarioModel,
    total_per_period: float,
    bounds_pct: Mapping[str, tuple[float, float]],
) -> dict[str, Any]:
    """The optimal split of ``total_per_period`` within per-channel bounds (percent of the
    current spend, ``{channel: (min %, max %)}``), with the expected gain over today's split and
    its bootstrap interval: the pipeline's optimiser on the saved model and draws.

    Returns ``{"ok": True, "table": DataFrame, "gain", "gain_ci", "prob_gain_positive",
    "outcome", "messages"}``, or ``{"ok": False, "error": message}`` for a scenario the bounds
    cannot meet (the optimiser's own message, naming the channel or the totals)."""
    from strategies.mmm.optimise import (
        budget_tables,
        optimise_budget,
        optimise_over_draws,
        resolve_bounds,
    )

    horizon = scenario.horizon
    try:
        total = float(total_per_period)
    except (TypeError, ValueError):
        return {
            "ok": False,
            "error": f"the total budget must be a number, got {total_per_period!r}",
        }
    try:
        bounds = {
            c: {"min_relative": float(lo) / 100, "max_relative": float(hi) / 100}
            for c, (lo, hi) in bounds_pct.items()
        }
        lower, upper = resolve_bounds(scenario.channels, scenario.current, bounds)
        options = dict(lower=lower, upper=upper, total=total, horizon=horizon)
        plan = optimise_budget(
            lambda levels: scenario.model.plan_response(levels, horizon),
            scenario.current,
            scenario.channels,
            grid_steps=SCENARIO_GRID_STEPS,
            **options,
        )
        over = optimise_over_draws(
            [_draw_response(d, horizon) for d in scenario.draws],
            scenario.current,
            scenario.channels,
            level=scenario.level,
            grid_steps=SCENARIO_GRID_STEPS,
            **options,
        )
    except (LiftlabError, ValueError) as exc:
        return {"ok": False, "error": str(exc)}
    table, summary = budget_tables(plan, over, scenario.channels, lower, upper)
    return {
        "ok": True,
        "table": table,
        "total": total,
        "horizon": horizon,
        "level": scenario.level,
        "gain": summary.expected_gain,
        "gain_ci": (summary.gain_ci_low, summary.gain_ci_high),
        "prob_gain_positive": summary.prob_gain_positive,
        "outcome": float(plan.outcome_optimal.sum()),
        "outcome_current": float(plan.outcome_current.sum()),
        "messages": list(summary.messages),
        "n_draws": len(scenario.draws),
        "n_draws_saved": max(scenario.n_draws_saved, len(scenario.draws)),
    }


def _draw_response(model: Any, horizon: int):
    return lambda levels: model.plan_response(levels, horizon)


def scenario_figure(table: pd.DataFrame, currency: str = "$") -> go.Figure:
    """Current vs scenario spend per period and channel, with the draws' interval."""
    fig = style.figure("Spend per period: today vs this scenario")
    fig.add_trace(
        go.Bar(
            x=table["channel"],
            y=table["current_spend"],
            name="today",
            marker_color=style.CONTROL_COLOR,
        )  # fmt: skip
    )
    fig.add_trace(
        go.Bar(
            x=table["channel"],
            y=table["optimal_spend"],
            name="scenario",
            marker_color=style.VARIANT_COLORS[0],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": table["optimal_spend_ci_high"] - table["optimal_spend"],
                "arrayminus": table["optimal_spend"] - table["optimal_spend_ci_low"],
            },
        )
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(**style.money_ticks(currency))
    return fig
