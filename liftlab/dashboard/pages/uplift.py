"""Uplift: whom to contact (the targeting summary) and the profit curve of the published
policy, from the uplift job's gold files."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import html

from liftlab.dashboard import style
from liftlab.dashboard.components import graph, not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData

PATH = "/uplift"
TITLE = "Uplift"


def profit_figure(curves) -> go.Figure:
    """Incremental profit per customer against the share contacted, one line per outcome."""
    if curves is None or curves.empty or "fraction" not in curves.columns:
        return style.message_figure("No profit curve published.")
    value = next(
        (c for c in ("incremental_profit_per_customer", "profit_per_customer") if c in curves),
        None,
    )
    if value is None:
        return style.message_figure("The profit curve has no profit column.")
    fig = style.figure("Profit curve: incremental profit per customer vs share contacted")
    keys = [c for c in ("outcome", "learner") if c in curves.columns]
    groups = curves.groupby(keys, sort=True) if keys else [("policy", curves)]
    for key, part in groups:
        label = " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        part = part.sort_values("fraction")
        fig.add_trace(go.Scatter(x=part["fraction"], y=part[value], name=label, mode="lines"))
    fig.update_xaxes(tickformat=".0%", title="share of customers contacted")
    fig.update_yaxes(title="incremental profit per customer")
    return fig


def layout(data: DashboardData) -> html.Div:
    summary = data.json("uplift")
    if not summary:
        return html.Div([*page_header(TITLE), not_run("uplift")])
    targeting = data.file("uplift", "targeting_summary.csv")
    rows = [] if targeting is None else [
        {k: (style.fmt_num(v) if isinstance(v, float) else str(v)) for k, v in r.items()}
        for r in targeting.to_dict("records")
    ]  # fmt: skip
    ci = summary.get("policy_incremental_ci") or [None, None]
    return html.Div(
        [
            *page_header(TITLE, "Whom to contact, from the uplift job's published policy."),
            panel(
                html.P(
                    "The policy contacts "
                    f"{style.fmt_pct(summary.get('share_to_email'), signed=False)} of customers; "
                    "incremental profit per customer "
                    f"{style.fmt_num(summary.get('policy_incremental_profit_per_customer'))} "
                    f"(95 % CI {style.fmt_num(ci[0])} … {style.fmt_num(ci[1])})."
                ),
                table(rows, "uplift-targeting"),
            ),
            panel(graph(profit_figure(data.file("uplift", "profit_curves.csv")), "uplift-profit")),
        ]
    )
