"""Experiments: every A/B and website-experiment comparison, filterable; forest plot, funnel,
segment heatmap, SRM and guardrail status, sequential monitoring where the run has it."""

from __future__ import annotations

from dash import html

from liftlab.dashboard import callbacks as cb
from liftlab.dashboard.components import dropdown, graph, not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData

PATH = "/experiments"
TITLE = "Experiments"
FILTERS = ("experiment", "metric", "segment", "decision", "run_date")
FILTER_IDS = {name: f"exp-{name.replace('_', '-')}" for name in FILTERS}


def funnel_table(data: DashboardData):
    """Stage totals of both experiment jobs (``funnel.csv`` / ``growth_funnel.csv``)."""
    import pandas as pd

    frames = [
        f
        for f in (
            data.file("ab_testing", "funnel.csv"),
            data.file("growth_analytics", "growth_funnel.csv"),
        )
        if f is not None and not f.empty
    ]
    return pd.concat(frames, ignore_index=True) if frames else None


def srm_table(data: DashboardData):
    return data.file("ab_testing", "srm.csv")


def sequential_table(data: DashboardData):
    return data.file("ab_testing", "sequential_looks.csv")


def update(data: DashboardData, experiment, metric, segment, decision, run_date) -> dict:
    """Everything the filters change, from the published tables (the Dash callback's body)."""
    results = data.experiment_results()
    rows = cb.filter_results(
        results,
        experiment=experiment,
        metric=metric,
        segment=segment,
        decision=decision,
        run_date=run_date,
    )
    counts = cb.decision_counts(rows)
    summary = f"{len(rows)} comparison{'' if len(rows) == 1 else 's'}" + (
        ": " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) if counts else ""
    )
    return {
        "summary": summary,
        "forest": cb.forest_figure(rows),
        "table": table(cb.results_table_rows(rows), testid="exp-results-table"),
        "heatmap": cb.segment_heatmap(results, experiment, metric),
        "funnel": cb.funnel_figure(funnel_table(data), experiment),
        "health": table(cb.health_rows(results, srm_table(data), experiment), "exp-health-table"),
        "sequential": cb.sequential_figure(sequential_table(data), experiment, metric),
    }


def layout(data: DashboardData) -> html.Div:
    results = data.experiment_results()
    if results.empty:
        return html.Div(
            [*page_header(TITLE), not_run("ab_testing"), html.Br(), not_run("growth_analytics")]
        )
    defaults = {"experiment": cb.ALL, "metric": cb.ALL, "segment": "all", "decision": cb.ALL,
                "run_date": cb.ALL}  # fmt: skip
    first = update(data, *defaults.values())
    segments = cb.options(results["segment"], "every segment")
    segments = [o for o in segments if o["value"] != "all"]
    segments.insert(1, {"label": "whole experiment (all)", "value": "all"})
    return html.Div(
        [
            *page_header(
                TITLE,
                "A/B tests and website experiments as the pipelines published them: lifts, "
                "intervals and decisions are the pipelines' own (corrected for multiple testing).",
                source="; ".join(
                    n
                    for n in (data.source_note("ab_testing"), data.source_note("growth_analytics"))
                    if n
                ),
            ),
            html.Div(
                [
                    dropdown(
                        "Experiment",
                        FILTER_IDS["experiment"],
                        cb.options(results["experiment"], "every experiment"),
                        cb.ALL,
                    ),
                    dropdown(
                        "Metric",
                        FILTER_IDS["metric"],
                        cb.options(results["metric"], "every metric"),
                        cb.ALL,
                    ),
                    dropdown("Segment", FILTER_IDS["segment"], segments, "all"),
                    dropdown(
                        "Decision",
                        FILTER_IDS["decision"],
                        cb.options(results["decision"], "every decision"),
                        cb.ALL,
                    ),
                    dropdown(
                        "Date of run",
                        FILTER_IDS["run_date"],
                        cb.options(results["run_date"], "every run"),
                        cb.ALL,
                    ),
                ],  # fmt: skip
                className="ll-filters",
            ),
            html.P(first["summary"], id="exp-summary", className="ll-sub"),
            panel(graph(first["forest"], "exp-forest")),
            html.Div(
                [
                    panel(graph(first["funnel"], "exp-funnel")),
                    panel(graph(first["heatmap"], "exp-heatmap")),
                ],
                className="ll-grid2",
            ),
            panel(
                html.H3("Sample ratio and guardrails"), html.Div(first["health"], id="exp-health")
            ),
            panel(graph(first["sequential"], "exp-sequential")),
            panel(html.H3("Comparisons"), html.Div(first["table"], id="exp-table")),
        ]
    )
