"""The dashboard app: ``create_app(project_root)`` builds a Dash app over one project's
published outputs (read-only), one page per job, and wires the pages' controls to the plain
functions of :mod:`liftlab.dashboard.callbacks` and the pages' ``update`` functions."""

from __future__ import annotations

from pathlib import Path

from dash import ALL, Dash, Input, Output, State, dcc, html

from liftlab.dashboard import callbacks as cb
from liftlab.dashboard.data import DashboardData
from liftlab.dashboard.pages import (
    campaigns,
    experiments,
    marketing_mix,
    models,
    overview,
    personas,
    uplift,
)
from liftlab.dashboard.style import CSS

PAGES = (overview, experiments, campaigns, models, uplift, personas, marketing_mix)
"""Every page in navigation order; each has PATH, TITLE and layout(data)."""


def render_page(data: DashboardData, pathname: str | None) -> html.Div:
    """The layout of the page at ``pathname`` (an unknown path says so and lists the pages)."""
    for page in PAGES:
        if (pathname or "/") == page.PATH:
            return page.layout(data)
    return html.Div(
        [
            html.H2("Page not found"),
            html.P(f"There is no page {pathname!r}; pick one on the left."),
        ]
    )


def nav_links(pathname: str | None) -> list:
    return [
        dcc.Link(page.TITLE, href=page.PATH, className="active" if pathname == page.PATH else "")
        for page in PAGES
    ]


def create_app(project_root: str | Path = ".", *, mlflow_ui_url: str | None = None) -> Dash:
    """A Dash app over the project at ``project_root``; ``app.server`` is the WSGI app."""
    data = DashboardData(
        project_root, **({"mlflow_ui_url": mlflow_ui_url} if mlflow_ui_url else {})
    )
    app = Dash(
        __name__,
        title="liftlab dashboard",
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            html.Nav([html.H1("liftlab"), html.Div(id="nav")], className="ll-nav"),
            html.Main(id="page", className="ll-main"),
        ],
        className="ll-shell",
    )
    app.liftlab_data = data  # for tests and the benchmark

    @app.callback(Output("page", "children"), Output("nav", "children"), Input("url", "pathname"))
    def _page(pathname):
        return render_page(data, pathname), nav_links(pathname)

    @app.callback(
        Output("exp-summary", "children"),
        Output("exp-forest", "figure"),
        Output("exp-table", "children"),
        Output("exp-heatmap", "figure"),
        Output("exp-funnel", "figure"),
        Output("exp-health", "children"),
        Output("exp-sequential", "figure"),
        *(Input(experiments.FILTER_IDS[name], "value") for name in experiments.FILTERS),
        prevent_initial_call=True,
    )
    def _experiments(experiment, metric, segment, decision, run_date):
        out = experiments.update(data, experiment, metric, segment, decision, run_date)
        return tuple(
            out[k] for k in ("summary", "forest", "table", "heatmap", "funnel", "health",
                             "sequential")
        )  # fmt: skip

    @app.callback(
        Output("camp-spend", "figure"),
        Output("camp-revenue", "figure"),
        Output("camp-roi", "figure"),
        Output("camp-funnel", "figure"),
        Output("camp-table-box", "children"),
        Input("camp-category", "value"),
        Input("camp-campaign", "value"),
        prevent_initial_call=True,
    )
    def _campaigns(category, campaign_id):
        out = campaigns.update(data, category, campaign_id)
        return out["spend"], out["revenue"], out["roi"], out["funnel"], out["table"]

    @app.callback(
        Output("persona-lift", "figure"),
        Output("persona-recs-box", "children"),
        Input("persona-experiment", "value"),
        Input("persona-metric", "value"),
        prevent_initial_call=True,
    )
    def _personas(experiment, metric):
        out = personas.update(data, experiment, metric)
        return out["lift"], out["recs"]

    @app.callback(
        Output("mmm-scenario-result", "children"),
        Input("mmm-run", "n_clicks"),
        State("mmm-total", "value"),
        State({"type": "mmm-min", "channel": ALL}, "value"),
        State({"type": "mmm-max", "channel": ALL}, "value"),
        State({"type": "mmm-min", "channel": ALL}, "id"),
        prevent_initial_call=True,
    )
    def _scenario(_clicks, total, mins, maxs, ids):
        return budget_scenario(data, total, mins, maxs, [i["channel"] for i in ids])

    return app


def budget_scenario(data: DashboardData, total, mins, maxs, channels) -> list:
    """The scenario callback's body: bounds from the inputs (a blank input names its channel),
    the optimiser on the saved model, the result as text and chart."""
    scenario = data.scenario_model()
    if scenario is None:
        return [html.P("The marketing-mix run saved no bootstrap draws.", className="ll-warn")]
    bounds = {}
    for channel, low, high in zip(channels, mins, maxs, strict=True):
        if low is None or high is None:
            return marketing_mix.scenario_result(
                {"ok": False, "error": f"give both bounds of channel {channel!r}"}
            )
        bounds[channel] = (low, high)
    if total is None:
        return marketing_mix.scenario_result({"ok": False, "error": "give a total budget"})
    return marketing_mix.scenario_result(
        cb.run_budget_scenario(scenario, total, bounds), data.currency("marketing_mix")
    )
