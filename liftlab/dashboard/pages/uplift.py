"""Uplift: whom to contact and with which e-mail, from the uplift job's published files — the
policy's verdict in the report's own words (worded from its intervals), the average effect of
each e-mail, how the learners ranked customers, whom the policy e-mails by customer group, and
the profit curve with the chosen share marked."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from dash import html

from liftlab.dashboard import style
from liftlab.dashboard.callbacks import results_table_rows
from liftlab.dashboard.components import graph, kpi, not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData
from liftlab.reports.format import fmt_pct, fmt_text, num_or_nan

PATH = "/uplift"
TITLE = "Uplift"
CURVE_LINE = "rgba(0,0,0,0.55)"


def profit_figure(
    curves: pd.DataFrame | None, chosen: float | None = None, outcome: str = ""
) -> go.Figure:
    """Incremental profit per customer (holdout estimate, vs e-mailing nobody) against the share
    contacted, best customers first, for the policy's ``outcome`` (every outcome when not
    given or not published); the policy's share is marked."""
    if curves is None or curves.empty or "fraction" not in curves.columns:
        return style.message_figure("No profit curve published.")
    if outcome and "outcome" in curves.columns and (curves["outcome"] == outcome).any():
        curves = curves[curves["outcome"] == outcome]
    value = "incremental_profit_per_customer"
    if value not in curves.columns:
        return style.message_figure("The profit curve has no incremental profit column.")
    title = "Profit curve: incremental profit per customer vs share contacted"
    fig = style.figure(f"{title} ({outcome})" if outcome else title)
    keys = [c for c in ("outcome",) if c in curves.columns]
    groups = curves.groupby(keys, sort=True) if keys else [(("policy",), curves)]
    for key, part in groups:
        label = " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        part = part.sort_values("fraction")
        fig.add_trace(
            go.Scatter(
                x=part["fraction"],
                y=part[value],
                name=f"{label} (holdout estimate)",
                mode="lines",
                line={"color": style.ACCENT, "width": 2},
                hovertemplate="contact %{x:.0%}: %{y:+.3f} per customer<extra></extra>",
            )
        )
    if chosen is not None and math.isfinite(chosen):
        fig.add_vline(
            x=chosen,
            line={"color": CURVE_LINE, "width": 1, "dash": "dot"},
            annotation_text=f"policy: {fmt_pct(chosen, signed=False)}",
            annotation_position="top left",
        )
    fig.add_hline(y=0, line={"color": style.MUTED_COLOR, "width": 1})
    fig.update_xaxes(tickformat=".0%", title="share of customers contacted (best first)")
    fig.update_yaxes(title="incremental profit per customer")
    fig.update_layout(showlegend=False)
    return fig


EFFECT_COLUMNS = {
    "Metric": "Outcome",
    "Variant": "E-mail",
    "Control": "Control",
    "Variant value": "E-mailed",
    "Lift": "Lift",
    "CI": "CI",
    "p (adj.)": "p (adj.)",
    "Decision": "Decision",
}
"""The experiments table's columns (:func:`callbacks.results_table_rows`) this page shows,
named in the e-mail test's words."""


def effect_rows(effects: pd.DataFrame | None) -> list[dict[str, str]]:
    """The average effect of each e-mail on every outcome, as the A/B tables print it."""
    if effects is None or effects.empty:
        return []
    overall = effects[effects["segment"].astype(str) == "all"] if "segment" in effects else effects
    return [
        {shown: row[column] for column, shown in EFFECT_COLUMNS.items()}
        for row in results_table_rows(overall)
    ]


def learner_rows(comparison: pd.DataFrame | None) -> list[dict[str, str]]:
    """How well each learner ranked customers on the holdout (Qini, normalised where defined)."""
    if comparison is None or comparison.empty:
        return []
    rows = []
    for r in comparison.to_dict("records"):
        normalised = num_or_nan(r.get("qini_normalized"))
        rows.append(
            {
                "Outcome": str(r.get("outcome", "")),
                "E-mail": str(r.get("arm", "")),
                "Learner": str(r.get("learner", "")),
                "Qini": style.fmt_num(r.get("qini_coefficient")),
                "Qini (normalised)": "—" if math.isnan(normalised) else f"{normalised:.3f}",
                "Uplift, top 30 %": _uplift(
                    r.get("uplift_at_30"), binary=not math.isnan(normalised)
                ),
                "Rank": str(r.get("rank", "")),
                "Best": "yes" if str(r.get("is_best")).lower() == "true" else "",
            }
        )
    return rows


def _uplift(value: object, *, binary: bool) -> str:
    """An uplift in outcome units: percentage points for a 0/1 outcome (the normalised Qini
    exists only for those), a signed number otherwise."""
    x = num_or_nan(value)
    if math.isnan(x):
        return "—"
    return f"{x * 100:+.1f} pp".replace("-", "−") if binary else style.fmt_num(x, signed=True)


def calibration_warning(calibration: dict[str, str]) -> str:
    """The report's calibration warning, minus its pointers to the report's own charts: its
    first sentence, and what to plan with."""
    first = calibration["text"].split(". ")[0].rstrip(".") + "."
    if calibration.get("flag") == "overstated":
        return first + " Plan with the holdout estimate, not the expected profit per group below."
    return first


def targeting_rows(view_rows: list[dict], arms: list[str]) -> list[dict[str, str]]:
    """Whom the policy e-mails per customer group: the report's rows and sentences."""
    rows = []
    for r in view_rows:
        shares = {s["arm"]: s["value"] for s in r.get("shares", [])}
        rows.append(
            {
                "Feature": r["feature"],
                "Group": r["value"],
                "Customers": r["customers"],
                "E-mailed": r["total"],
                **{arm: shares.get(arm, "—") for arm in arms},
                "Expected profit per customer": r["profit"],
                "In words": r["sentence"],
            }
        )
    return rows


def layout(data: DashboardData) -> html.Div:
    summary = data.json("uplift")
    if not summary:
        return html.Div([*page_header(TITLE), not_run("uplift")])
    # the report module words the policy (imported here, not at start-up: it loads matplotlib)
    from liftlab.reports.uplift import policy_summary

    arms = [str(a) for a in (data.config_value("uplift", "arms") or [])]
    policy_outcome = fmt_text(summary.get("policy_outcome"))
    policy = data.file("uplift", "policy_comparison.csv")
    targeting = data.file("uplift", "targeting_summary.csv")
    view = policy_summary(
        pd.DataFrame() if policy is None else policy,
        pd.DataFrame() if targeting is None else targeting,
        arms=arms,
        policy_outcome=policy_outcome,
    )
    arms = [name for _, name in view["share_columns"]] or arms
    headline = view["headline"]
    share = num_or_nan(summary.get("share_to_email"))
    ci = summary.get("policy_incremental_ci") or [None, None]
    decisions = summary.get("decisions") or {}
    curves = data.file("uplift", "profit_curves.csv")
    learners = data.file("uplift", "learner_comparison.csv")
    low, high = (style.fmt_num(v, signed=True) for v in ci)
    kpis = [
        kpi("E-mailed", style.fmt_pct(share, signed=False), "uplift-share"),
        *[kpi(f"… with {arm}", style.fmt_pct(v, signed=False)) for arm, v in view["mix"].items()],
        kpi(
            f"Incremental profit per customer ({policy_outcome})",
            style.fmt_num(summary.get("policy_incremental_profit_per_customer"), signed=True),
            "uplift-profit-value",
        ),
        kpi(
            "95 % CI", f"{style.fmt_num(ci[0], signed=True)} … {style.fmt_num(ci[1], signed=True)}"
        ),
        *[
            kpi(f"Best learner ({outcome})", str(learner))
            for outcome, learner in (summary.get("best_learners") or {}).items()
        ],
    ]
    return html.Div(
        [
            *page_header(
                TITLE,
                "Whom to e-mail next and with which e-mail, as the uplift job published it "
                "(profits are holdout estimates per customer, e-mailed or not).",
                source=data.source_note("uplift"),
            ),
            panel(
                html.P(
                    [html.B(f"{headline['label']}: "), headline["text"]],
                    className="ll-result",
                    **{"data-testid": "uplift-headline"},
                ),
                *(
                    [html.P(calibration_warning(view["calibration"]), className="ll-warn")]
                    if view["calibration"]
                    else []
                ),
                html.Div(kpis, className="ll-kpis"),
                *[
                    html.P(f"Registry ({outcome}): {text}", className="ll-sub")
                    for outcome, text in decisions.items()
                ],
            ),
            panel(
                html.H4("Average effect of each e-mail"),
                table(effect_rows(data.file("uplift", "average_effects.csv")), "uplift-effects"),
            ),
            panel(graph(profit_figure(curves, share, policy_outcome), "uplift-profit")),
            panel(
                html.H4("How well each learner ranks customers (holdout)"),
                table(learner_rows(learners), "uplift-learners"),
            ),
            panel(
                html.H4("Whom to e-mail, by customer group"),
                table(targeting_rows(view["targeting"], arms), "uplift-targeting"),
            ),
        ]
    )
