"""Campaigns: spend per customer target vs control, incremental revenue and ROI with their
intervals, the funnel sent → opened → clicked → purchased, per product category; and every
category at once: incremental revenue per customer per campaign × category (a heatmap)."""

from __future__ import annotations

from dash import html

from liftlab.dashboard import callbacks as cb
from liftlab.dashboard import style
from liftlab.dashboard.components import dropdown, graph, not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData

PATH = "/campaigns"
TITLE = "Campaigns"


def summary_table(data: DashboardData):
    return data.table("gold_campaign_summary")


def category_heatmap(data: DashboardData, summary):
    """Every product category at once (not filtered by the Category dropdown), the interval
    labelled with the run's confidence level."""
    alpha = data.config_value("campaign_uplift", "alpha", 0.05)
    currency = data.currency("campaign_uplift")
    return cb.campaign_category_heatmap(summary, style.fmt_conf_label(alpha), currency)


def update(data: DashboardData, category: str, campaign_id: str) -> dict:
    rows = cb.campaign_rows(summary_table(data), category)
    currency = data.currency("campaign_uplift")

    def money(value: object) -> str:
        return style.fmt_money(value, currency, signed=True)

    table_rows = [
        {
            "Campaign": f"{r['campaign_id']} {r['campaign_name']}",
            "Channel": r["channel"],
            "Target / control": f"{style.fmt_int(r['n_target'])} / {style.fmt_int(r['n_control'])}",
            "Incremental revenue per customer": money(r["incremental_spend_per_customer"]),
            "Incremental revenue": money(r["incremental_revenue"]),
            "Revenue CI": f"{money(r['incremental_revenue_ci_low'])} … "
            f"{money(r['incremental_revenue_ci_high'])}",
            "ROI": style.fmt_num(r["roi"]),
            "Decision": f"{r['decision']} / {r['roi_decision']}",
        }
        for r in rows.to_dict("records")
    ]  # fmt: skip
    return {
        "spend": cb.campaign_spend_figure(rows, currency),
        "revenue": cb.campaign_interval_figure(
            rows, "incremental_revenue", "Incremental revenue with its interval", currency
        ),
        "roi": cb.campaign_interval_figure(rows, "roi", "ROI (revenue per unit of cost)"),
        "funnel": cb.campaign_funnel_figure(data.table("gold_campaign_funnel"), campaign_id),
        "table": table(table_rows, "camp-table"),
    }


def layout(data: DashboardData) -> html.Div:
    summary = summary_table(data)
    if summary is None or summary.empty:
        return html.Div([*page_header(TITLE), not_run("campaign_uplift")])
    categories = sorted(summary["category"].astype(str).unique(), key=lambda c: (c != "all", c))
    campaigns = summary.drop_duplicates("campaign_id")
    first_campaign = str(campaigns["campaign_id"].iloc[0])
    first = update(data, "all", first_campaign)
    return html.Div(
        [
            *page_header(
                TITLE,
                "Target vs control per campaign, from gold_campaign_summary and "
                "gold_campaign_funnel (intervals and decisions as the pipeline published them).",
                source=data.source_note("campaign_uplift"),
            ),
            html.Div(
                [
                    dropdown(
                        "Category",
                        "camp-category",
                        [{"label": c, "value": c} for c in categories],
                        "all",
                    ),
                    dropdown(
                        "Campaign (funnel)",
                        "camp-campaign",
                        [
                            {
                                "label": f"{r.campaign_id} {r.campaign_name}",
                                "value": str(r.campaign_id),
                            }
                            for r in campaigns.itertuples()
                        ],
                        first_campaign,
                    ),
                ],  # fmt: skip
                className="ll-filters",
            ),
            html.Div(
                [
                    panel(graph(first["spend"], "camp-spend")),
                    panel(graph(first["funnel"], "camp-funnel")),
                    panel(graph(first["revenue"], "camp-revenue")),
                    panel(graph(first["roi"], "camp-roi")),
                ],
                className="ll-grid2",
            ),
            panel(graph(category_heatmap(data, summary), "camp-categories")),
            panel(html.Div(first["table"], id="camp-table-box")),
        ]
    )
