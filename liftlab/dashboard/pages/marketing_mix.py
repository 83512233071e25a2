"""Marketing mix: contributions over time, ROAS and marginal ROAS, response curves, the
published budget plan, and a budget scenario that runs the pipeline's optimiser on the saved
model and bootstrap draws (no refit)."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import dcc, html

from liftlab.dashboard import callbacks as cb
from liftlab.dashboard import style
from liftlab.dashboard.components import graph, not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData

PATH = "/marketing-mix"
TITLE = "Marketing mix"


def contributions_figure(contrib, currency: str = "$") -> go.Figure:
    if contrib is None or contrib.empty:
        return style.message_figure("No contributions published.")
    fig = style.figure("Contribution to the outcome per week", height=380)
    channels = contrib[contrib["kind"] == "channel"]
    for i, (name, part) in enumerate(channels.groupby("component", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=part["date"],
                y=part["contribution"],
                name=str(name),
                stackgroup="one",
                mode="lines",
                line={"width": 0.5, "color": style.VARIANT_COLORS[i % 6]},
            )  # fmt: skip
        )
    fig.update_yaxes(**style.money_ticks(currency))
    return fig


def roas_figure(roi) -> go.Figure:
    if roi is None or roi.empty:
        return style.message_figure("No ROAS published.")
    fig = style.figure("ROAS and marginal ROAS per channel (with intervals)")
    for column, name, color in (
        ("roas", "ROAS", style.VARIANT_COLORS[0]),
        ("mroas", "marginal ROAS", style.VARIANT_COLORS[2]),
    ):
        fig.add_trace(
            go.Bar(
                x=roi["channel"],
                y=roi[column],
                name=name,
                marker_color=color,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": roi[f"{column}_ci_high"] - roi[column],
                    "arrayminus": roi[column] - roi[f"{column}_ci_low"],
                },
                hovertemplate="%{x}: %{y:.2f}<extra></extra>",
            )  # fmt: skip
        )
    fig.add_hline(y=1, line={"color": style.MUTED_COLOR, "dash": "dot", "width": 1})
    fig.update_layout(barmode="group")
    return fig


def response_figure(curves, currency: str = "$") -> go.Figure:
    if curves is None or curves.empty:
        return style.message_figure("No response curves published.")
    fig = style.figure("Response curves: outcome per period vs spend per period")
    for i, (name, part) in enumerate(curves.groupby("channel", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=part["spend_per_period"],
                y=part["response"],
                name=str(name),
                mode="lines",
                line={"color": style.VARIANT_COLORS[i % 6]},
            )  # fmt: skip
        )
    fig.update_xaxes(**style.money_ticks(currency), title="spend per period")
    fig.update_yaxes(**style.money_ticks(currency), title="incremental outcome per period")
    return fig


def plan_rows(plan, currency: str = "$") -> list[dict[str, str]]:
    return [
        {
            "Channel": r["channel"],
            "Today per period": style.fmt_money(r["current_spend"], currency),
            "Plan per period": style.fmt_money(r["optimal_spend"], currency),
            "Change": style.fmt_pct(r["change_pct"]),
            "Held by bound": r["bound_active"] if isinstance(r["bound_active"], str) else "",
            "Marginal ROAS at plan": style.fmt_num(r["mroas_at_optimum"]),
        }
        for r in plan.to_dict("records")
    ]


def scenario_controls(plan, summary: dict) -> html.Div:
    """Total budget per period and per-channel bounds (percent of today's spend), defaulting
    to the run's own plan (its total and its bounds)."""
    total = float(plan["optimal_spend"].sum())
    rows = []
    for r in plan.to_dict("records"):
        current = float(r["current_spend"]) or 1.0
        lo = round(100 * float(r["lower_bound"]) / current, 2)
        hi = round(100 * float(r["upper_bound"]) / current, 2)
        rows.append(
            html.Tr(
                [
                    html.Td(r["channel"]),
                    html.Td(
                        dcc.Input(
                            id={"type": "mmm-min", "channel": r["channel"]},
                            type="number",
                            value=lo,
                            min=0,
                            step="any",
                            debounce=True,
                        )
                    ),
                    html.Td(
                        dcc.Input(
                            id={"type": "mmm-max", "channel": r["channel"]},
                            type="number",
                            value=hi,
                            min=0,
                            step="any",
                            debounce=True,
                        )
                    ),
                ]  # fmt: skip
            )
        )
    return html.Div(
        [
            html.H3("Budget scenario"),
            html.Label("Total budget per period ($)", htmlFor="mmm-total"),
            dcc.Input(
                id="mmm-total",
                type="number",
                value=round(total, 2),
                min=0,
                step="any",
                debounce=True,
            ),  # fmt: skip
            html.P("Bounds per channel, % of today's spend", className="ll-sub"),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th("Channel"), html.Th("min %"), html.Th("max %")])),
                    html.Tbody(rows),
                ],
                className="ll-table",
            ),  # fmt: skip
            html.Br(),
            html.Button("Run scenario", id="mmm-run", className="ll-button", n_clicks=0),
        ]
    )


def scenario_result(result: dict, currency: str = "$") -> list:
    """The scenario's outcome as text and chart (or the optimiser's reason it cannot run)."""
    if not result.get("ok"):
        return [html.P(f"This scenario cannot run: {result['error']}", className="ll-warn",
                       **{"data-testid": "mmm-scenario-error"})]  # fmt: skip
    low, high = result["gain_ci"]

    def money(value: object, signed: bool = False) -> str:
        return style.fmt_money(value, currency, signed=signed)

    return [
        html.P(
            [
                f"Spending {money(result['total'])} per period for "
                f"{result['horizon']} periods, split as below, is expected to bring ",
                html.B(
                    money(result["gain"], signed=True),
                    **{"data-testid": "mmm-scenario-gain"},
                ),
                f" over today's split ({result['level']:.0%} interval "
                f"{money(low, signed=True)} … {money(high, signed=True)}, "
                f"probability of a gain {style.fmt_pct(result['prob_gain_positive'], signed=False)}"
                f", over {result['n_draws']} of the run's {result['n_draws_saved']} "
                "bootstrap draws).",
            ],  # fmt: skip
            className="ll-result",
        ),
        html.P(
            f"Expected incremental outcome of the scenario: "
            f"{money(result['outcome'])} (today's split: "
            f"{money(result['outcome_current'])}).",
            className="ll-sub",
        ),
        graph(cb.scenario_figure(result["table"], currency)),
        *[html.P(m, className="ll-warn") for m in result["messages"]],
    ]


def layout(data: DashboardData) -> html.Div:
    summary = data.json("marketing_mix")
    plan = data.table("gold_mmm_budget_plan")
    if not summary or plan is None:
        return html.Div([*page_header(TITLE), not_run("marketing_mix")])
    roi = data.table("gold_mmm_roi")
    low, high = summary.get("gain_ci") or [None, None]
    currency = data.currency("marketing_mix")
    contributions = data.table("gold_mmm_contributions")
    curves = data.table("gold_mmm_response_curves")

    def money(value: object, signed: bool = False) -> str:
        return style.fmt_money(value, currency, signed=signed)

    has_draws = (data.output_dir("marketing_mix") / "model_draws.json").is_file()
    scenario = (
        html.Div(
            [
                html.Div(scenario_controls(plan, summary)),
                dcc.Loading(
                    html.Div(
                        id="mmm-scenario-result",
                        children=html.P("Set a total and bounds, then run.", className="ll-sub"),
                    )
                ),
            ],  # fmt: skip
            className="ll-scenario",
        )
        if has_draws
        else not_run("marketing_mix", "This run saved no bootstrap draws (model_draws.json).")
    )
    return html.Div(
        [
            *page_header(
                TITLE,
                f"Fit R² {style.fmt_score(summary.get('r2'), 'r2')}; the published plan moves "
                f"{money(summary.get('total_per_period'))} per period and is expected "
                f"to gain {money(summary.get('expected_gain'), signed=True)} over "
                f"{summary.get('horizon')} periods ({money(low, signed=True)} … "
                f"{money(high, signed=True)}).",
                source=data.source_note("marketing_mix"),
            ),
            panel(
                graph(
                    contributions_figure(contributions, currency),
                    "mmm-contrib",
                )
            ),
            html.Div(
                [
                    panel(graph(roas_figure(roi), "mmm-roas")),
                    panel(
                        graph(
                            response_figure(curves, currency),
                            "mmm-curves",
                        )
                    ),
                ],  # fmt: skip
                className="ll-grid2",
            ),
            panel(html.H3("Published budget plan"), table(plan_rows(plan, currency), "mmm-plan")),
            panel(scenario),
        ]
    )
