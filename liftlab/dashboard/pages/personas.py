"""Personas: who they are (size, profile) and each experiment's lift per persona, with the
pipeline's family-wise corrected intervals and its recommended action."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import html

from liftlab.dashboard import callbacks as cb
from liftlab.dashboard import style
from liftlab.dashboard.components import dropdown, graph, not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData
from liftlab.reports.growth_analytics import feature_label, feature_value, persona_features

PATH = "/personas"
TITLE = "Personas"


def persona_rows(personas) -> list[dict[str, str]]:
    """The persona table with the report's feature names and formats, for whichever features
    the run clustered on (the shop's or Hillstrom's)."""
    features = persona_features(personas)
    return [
        {
            "Persona": str(r["persona"]),
            "Customers": style.fmt_int(r["size"]),
            "Share": style.fmt_pct(r["share"], signed=False),
            **{feature_label(f): feature_value(f, r.get(f)) for f in features},
        }
        for r in personas.to_dict("records")
    ]


def lift_figure(lift, experiment: str, metric: str) -> go.Figure:
    """Lift per persona with the published (corrected) interval, for one experiment."""
    if lift is None or lift.empty:
        return style.message_figure("No persona lift published.")
    rows = cb.filter_results(lift, experiment=experiment, metric=metric, segment=cb.ALL)
    if rows.empty:
        return style.message_figure("No persona lift for this selection.")
    rows = rows.assign(segment=rows["segment"].str.replace("persona=", "", regex=False))
    fig = cb.forest_figure(rows)
    fig.update_layout(title={"text": f"{experiment} · {metric}: lift per persona"})
    return fig


def recommendation_rows(recs, experiment: str) -> list[dict[str, str]]:
    if recs is None:
        return []
    rows = recs if experiment in (None, cb.ALL) else recs[recs["experiment_id"] == experiment]
    return [
        {"Experiment": f"{r['experiment_id']} {r['experiment_name']}", "Metric": r["metric"],
         "Action": r["action"], "Personas": "" if str(r["personas"]) == "nan" else r["personas"],
         "Why": r["text"]}
        for r in rows.to_dict("records")
    ]  # fmt: skip


def update(data: DashboardData, experiment: str, metric: str) -> dict:
    return {
        "lift": lift_figure(data.table("gold_persona_lift"), experiment, metric),
        "recs": table(
            recommendation_rows(data.file("growth_analytics", "growth_recommendations.csv"),
                                experiment), "persona-recs"),
    }  # fmt: skip


def layout(data: DashboardData) -> html.Div:
    personas = data.table("gold_personas")
    lift = data.table("gold_persona_lift")
    if personas is None or lift is None:
        return html.Div([*page_header(TITLE), not_run("growth_analytics")])
    experiments = sorted(lift["experiment"].astype(str).unique())
    metrics = sorted(lift["metric"].astype(str).unique())
    first = update(data, experiments[0], metrics[0])
    return html.Div(
        [
            *page_header(
                TITLE,
                "Customer personas found by the growth-analytics job, and how each website "
                "experiment moved each persona (intervals corrected over every persona × "
                "experiment × metric).",
                source=data.source_note("growth_analytics"),
            ),
            panel(table(persona_rows(personas), "persona-table")),
            html.Div(
                [
                    dropdown(
                        "Experiment",
                        "persona-experiment",
                        [{"label": e, "value": e} for e in experiments],
                        experiments[0],
                    ),
                    dropdown(
                        "Metric",
                        "persona-metric",
                        [{"label": m, "value": m} for m in metrics],
                        metrics[0],
                    ),
                ],  # fmt: skip
                className="ll-filters",
            ),
            panel(graph(first["lift"], "persona-lift")),
            panel(html.H3("What to do"), html.Div(first["recs"], id="persona-recs-box")),
        ]
    )
