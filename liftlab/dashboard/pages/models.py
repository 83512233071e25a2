"""Models: the conversion model's champion/challenger history from the MLflow registry, the
last run's candidates with their holdout metrics, and a summary of the latest predictions."""

from __future__ import annotations

from dash import html

from liftlab.dashboard import style
from liftlab.dashboard.components import not_run, page_header, panel, table
from liftlab.dashboard.data import DashboardData
from liftlab.reports.format import truncate

PATH = "/models"
TITLE = "Models"
HOLDOUT = ("r2", "rmse", "mae", "poisson_deviance")


def registry_rows(data: DashboardData, model_name: str) -> list[dict[str, str]]:
    history = data.registry_history(model_name)
    if history is None:
        return []
    rows = []
    for r in history.sort_values("version", ascending=False).to_dict("records"):
        rows.append(
            {
                "Version": str(r["version"]),
                "Registered": _utc(r["created"]),
                "Aliases": r.get("aliases") or "",
                "Candidate": str(r.get("liftlab.candidate") or ""),
                "Promotion": str(r.get("liftlab.promotion") or ""),
                **{
                    f"Holdout {style.metric_label(m)}": style.fmt_score(r.get(f"holdout_{m}"), m)
                    for m in ("poisson_deviance", "r2")
                },
                "Why": truncate(str(r.get("liftlab.promotion_summary") or ""), 140),
            }
        )
    return rows


def _utc(value) -> str:
    from liftlab.reports.format import fmt_instant

    return fmt_instant(value)


def candidate_rows(data: DashboardData) -> list[dict[str, str]]:
    """The last run's candidates in rank order. The rank comes from cross-validation on the
    training rows (``rank_by``), so that CV score (mean ± sd over folds) stands first; the
    holdout scores beside it may order the candidates differently."""
    frame = data.file("training", "model_comparison.csv")
    if frame is None:
        return []
    rows = []
    for r in frame.to_dict("records"):
        metric = str(r.get("rank_by") or "")
        mean, sd = r.get(f"cv_{metric}_mean"), r.get(f"cv_{metric}_std")
        spread = f" ± {float(sd):.3f}" if isinstance(sd, int | float) and sd == sd else ""
        ranked_by = (
            {f"CV {style.metric_label(metric)} (ranks)": style.fmt_score(mean, metric) + spread}
            if f"cv_{metric}_mean" in frame.columns
            else {}
        )
        rows.append(
            {
                "Rank": str(r["rank"]),
                "Candidate": str(r["candidate"]),
                **ranked_by,
                **{
                    f"Holdout {style.metric_label(m)}": style.fmt_score(r.get(f"holdout_{m}"), m)
                    for m in HOLDOUT
                    if f"holdout_{m}" in frame.columns
                },
                "Best": "yes" if str(r.get("is_best")).lower() == "true" else "",
            }
        )
    return rows


def predictions_summary(data: DashboardData) -> list[dict[str, str]]:
    """Rows scored per model version in the predictions gold table (one aggregate query)."""
    table_name = str(data.config_value("inference", "duckdb_table", "gold_conversion_predictions"))
    column = str(data.config_value("inference", "prediction_column", "predicted_conversions"))
    frame = data.query(
        f"predictions:{table_name}:{column}",
        f'SELECT model_version, count(*) AS n, avg("{column}") AS mean, '
        f'min("{column}") AS low, max("{column}") AS high, max(scored_at) AS scored_at '
        f'FROM "{table_name}" GROUP BY model_version ORDER BY model_version',
    )
    if frame is None:
        return []
    return [
        {
            "Model version": str(r["model_version"]),
            "Rows scored": style.fmt_int(r["n"]),
            f"Mean {column.replace('_', ' ')}": style.fmt_num(r["mean"]),
            "Min": style.fmt_num(r["low"]),
            "Max": style.fmt_num(r["high"]),
            "Last scored": _utc(r["scored_at"]),
        }
        for r in frame.to_dict("records")
    ]


def layout(data: DashboardData) -> html.Div:
    summary = data.json("training")
    if not summary:
        return html.Div([*page_header(TITLE), not_run("training")])
    decision = data.json("training", "promotion_decision.json") or {}
    name = str(summary.get("model_name", ""))
    predictions = predictions_summary(data)
    return html.Div(
        [
            *page_header(
                TITLE,
                f"Registered model {name}: versions and aliases from the MLflow registry, "
                "the last training run's candidates scored on its holdout.",
                source=data.source_note("training"),
            ),
            panel(
                html.H3("Champion / challenger history"),
                table(registry_rows(data, name), "models-registry"),
            ),
            panel(
                html.H3("Last training run"),
                html.P(
                    str(decision.get("summary", summary.get("promotion_summary", ""))),
                    **{"data-testid": "models-decision"},
                ),
                table(candidate_rows(data), "models-candidates"),
            ),
            panel(
                html.H3("Predictions (batch scoring)"),
                table(predictions, "models-predictions") if predictions else not_run("inference"),
            ),
        ]  # fmt: skip
    )
