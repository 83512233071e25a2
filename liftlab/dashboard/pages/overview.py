"""Overview: one KPI card per job, each linking to its page and its MLflow run."""

from __future__ import annotations

from dash import html

from liftlab.dashboard import style
from liftlab.dashboard.components import card, kpi, not_run, page_header
from liftlab.dashboard.data import DashboardData

PATH = "/"
TITLE = "Overview"


def _source(data: DashboardData, *jobs: str) -> str:
    """Which configs' runs a card shows (a job can have several configs; the experiments
    card counts the A/B and the website experiments)."""
    ran = [data.active_config(j) for j in jobs if data.published_at(j) is not None]
    return f"from {' and '.join(ran or [data.active_config(jobs[0])])}"


def _links(data: DashboardData, run_id: str | None) -> list[tuple[str, str]]:
    url = data.mlflow_run_url(run_id)
    return [("MLflow run ↗", url)] if url else []


def experiments_card(data: DashboardData) -> html.Div:
    results = data.experiment_results()
    if results.empty:
        return card("Experiments", "/experiments", [not_run("ab_testing")])
    overall = results[results["segment"] == "all"]
    decisions = overall["decision"].value_counts()
    srm = data.file("ab_testing", "srm.csv")
    alerts = 0 if srm is None else srm.loc[srm["srm_detected"].astype(bool), "experiment"].nunique()
    summary = data.json("ab_testing") or {}
    return card(
        "Experiments",
        "/experiments",
        [
            kpi(
                "Experiments run", style.fmt_int(overall["experiment"].nunique()), "kpi-experiments"
            ),
            kpi("Comparisons", style.fmt_int(len(overall))),
            kpi("Wins", style.fmt_int(decisions.get("win", 0)), "kpi-wins"),
            kpi("Losses", style.fmt_int(decisions.get("loss", 0)), "kpi-losses"),
            kpi("SRM alerts", style.fmt_int(alerts), "kpi-srm"),
        ],
        links=_links(data, summary.get("mlflow_run_id")),
        testid="card-experiments",
        source=_source(data, "ab_testing", "growth_analytics"),
    )


def campaigns_card(data: DashboardData) -> html.Div:
    summary = data.json("campaign_uplift")
    if not summary:
        return card("Campaigns", "/campaigns", [not_run("campaign_uplift")])
    roi = summary.get("roi_decisions", {})
    currency = data.currency("campaign_uplift")
    return card(
        "Campaigns",
        "/campaigns",
        [
            kpi("Campaigns", style.fmt_int(summary.get("campaigns")), "kpi-campaigns"),
            kpi(
                "Incremental revenue",
                style.fmt_money(summary.get("incremental_revenue"), currency),
                "kpi-incremental-revenue",
            ),
            kpi("Campaign cost", style.fmt_money(summary.get("campaign_cost"), currency)),
            kpi("Profitable", style.fmt_int(roi.get("profitable", 0))),
        ],
        links=_links(data, summary.get("mlflow_run_id")),
        testid="card-campaigns",
        source=_source(data, "campaign_uplift"),
    )


def models_card(data: DashboardData) -> html.Div:
    summary = data.json("training")
    if not summary:
        return card("Models", "/models", [not_run("training")])
    scores = summary.get("holdout_scores", {})
    decision = data.json("training", "promotion_decision.json") or {}
    metric = decision.get("metric", "r2")
    history = data.registry_history(summary.get("model_name", ""))
    champion = ""
    if history is not None:
        held = history[history["aliases"].str.contains("champion")]
        champion = f"version {held['version'].iloc[0]}" if not held.empty else "none"
    return card(
        "Models",
        "/models",
        [
            kpi("Registered model", str(summary.get("model_name", ""))),
            kpi("Champion", champion or style.DASH, "kpi-champion"),
            kpi("Last run's best", str(summary.get("best_candidate", ""))),
            kpi(
                f"Holdout {style.metric_label(metric)}",
                style.fmt_score(scores.get(metric), metric),
                "kpi-score",
            ),
            kpi("Promoted", "yes" if summary.get("promote") else "no"),
        ],
        links=_links(data, summary.get("mlflow_run_id")),
        testid="card-models",
        source=_source(data, "training"),
    )


def personas_card(data: DashboardData) -> html.Div:
    summary = data.json("growth_analytics")
    if not summary:
        return card("Personas", "/personas", [not_run("growth_analytics")])
    actions = summary.get("recommendations", {})
    return card(
        "Personas",
        "/personas",
        [
            kpi("Website experiments", style.fmt_int(summary.get("experiments"))),
            kpi("Personas", style.fmt_int(summary.get("personas")), "kpi-personas"),
            kpi("Ship to all", style.fmt_int(actions.get("ship to all", 0))),
            kpi("Ship to personas only", style.fmt_int(actions.get("ship to personas only", 0))),
        ],
        links=_links(data, summary.get("mlflow_run_id")),
        testid="card-personas",
        source=_source(data, "growth_analytics"),
    )


def mmm_card(data: DashboardData) -> html.Div:
    summary = data.json("marketing_mix")
    if not summary:
        return card("Marketing mix", "/marketing-mix", [not_run("marketing_mix")])
    level = summary.get("interval_level") or 0.9
    low, high = summary.get("gain_ci") or [None, None]
    currency = data.currency("marketing_mix")
    return card(
        "Marketing mix",
        "/marketing-mix",
        [
            kpi("Channels", style.fmt_int(summary.get("channels"))),
            kpi(
                f"Budget plan gain ({summary.get('horizon')} periods)",
                style.fmt_money(summary.get("expected_gain"), currency, signed=True),
                "kpi-mmm-gain",
            ),
            kpi(
                f"{level:.0%} interval",
                f"{style.fmt_money(low, currency, signed=True)} … "
                f"{style.fmt_money(high, currency, signed=True)}",
            ),
            kpi("Fit R²", style.fmt_score(summary.get("r2"), "r2")),
        ],
        links=_links(data, summary.get("mlflow_run_id")),
        testid="card-mmm",
        source=_source(data, "marketing_mix"),
    )


def uplift_card(data: DashboardData) -> html.Div:
    summary = data.json("uplift")
    if not summary:
        return card("Uplift targeting", "/uplift", [not_run("uplift")])
    low, high = (summary.get("policy_incremental_ci") or [None, None])[:2]
    learners = summary.get("best_learners") or {}
    return card(
        "Uplift targeting",
        "/uplift",
        [
            kpi("Policy outcome", str(summary.get("policy_outcome", ""))),
            kpi(
                "Customers to e-mail",
                style.fmt_pct(summary.get("share_to_email"), signed=False),
                "kpi-uplift-share",
            ),
            kpi(
                "Incremental profit per customer",
                style.fmt_num(summary.get("policy_incremental_profit_per_customer"), signed=True),
            ),
            kpi(
                "95 % CI",
                f"{style.fmt_num(low, signed=True)} … {style.fmt_num(high, signed=True)}",
            ),
            *[kpi(f"Best learner ({k})", str(v)) for k, v in learners.items()],
        ],
        links=_links(data, summary.get("mlflow_run_id")),
        testid="card-uplift",
        source=_source(data, "uplift"),
    )


def layout(data: DashboardData) -> html.Div:
    return html.Div(
        [
            *page_header(
                "Overview",
                f"Every job's last published results in project {data.root.name!r} "
                "(read-only; reload to see a new run).",
            ),
            html.Div(
                [
                    experiments_card(data),
                    campaigns_card(data),
                    models_card(data),
                    uplift_card(data),
                    personas_card(data),
                    mmm_card(data),
                ],
                className="ll-cards",
            ),
        ]
    )
