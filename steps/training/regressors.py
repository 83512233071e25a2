"""Training step: every candidate regressor as a nested MLflow run, the best one logged."""

from __future__ import annotations

import html
from typing import Annotated, Any

import pandas as pd
from zenml import step
from zenml.types import HTMLString

from liftlab.config.training import load_training_config
from liftlab.mlops.model_tracking import log_best_model, log_candidate_run, log_training_parent
from liftlab.mlops.tracking import flatten_params
from strategies.training import (
    SplitPlan,
    feature_frame,
    holdout_predictions,
    permutation_importance_table,
    train_candidates,
)


def _comparison_html(comparison: pd.DataFrame, rank_by: str) -> str:
    """A plain table for the ZenML dashboard (the full report has charts)."""
    columns = ["rank", "candidate", "model"]
    for m in ("r2", "rmse", "mae", "poisson_deviance"):
        columns += [f"cv_{m}_mean", f"holdout_{m}"]
    table = comparison[[c for c in columns if c in comparison.columns]]
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
    return (
        "<html><body style='font-family:sans-serif'>"
        f"<h3>Model comparison (ranked by cross-validated {html.escape(rank_by)})</h3>"
        f"{body}</body></html>"
    )


@step(experiment_tracker=True, enable_cache=False)
def train_candidate_models(
    clean_ads: pd.DataFrame,
    split_plan: dict,
    data_info: dict,
    validation: dict,
    config: dict[str, Any],
) -> tuple[
    Annotated[pd.DataFrame, "model_comparison"],
    Annotated[pd.DataFrame, "holdout_predictions"],
    Annotated[pd.DataFrame, "feature_importance"],
    Annotated[dict, "training_info"],
    Annotated[HTMLString, "model_comparison_view"],
]:
    """Uncached so every retrain appears in MLflow: one nested run per candidate (parameters,
    CV and holdout metrics, diagnostic plots), the comparison on the parent run, and the best
    model logged with its signature and an input example (registered at the end of the run)."""
    cfg = load_training_config(config)
    plan = SplitPlan.from_dict(split_plan)
    inputs = cfg.input_columns()
    comparison = train_candidates(
        clean_ads,
        target=cfg.target,
        input_columns=inputs,
        candidates=cfg.candidates,
        preprocessor_factory=cfg.preprocessor,
        plan=plan,
        seed=cfg.seed,
        rank_by=cfg.rank_by,
    )
    table = comparison.table
    test_rows = clean_ads.iloc[plan.test].reset_index(drop=True)
    X_test, y_test = feature_frame(test_rows, inputs, cfg.target)
    params = flatten_params(config)
    diagnostics: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for row in table.to_dict("records"):
        model = comparison.fitted[row["candidate"]]
        preds = holdout_predictions(
            model, clean_ads, plan, input_columns=inputs, target=cfg.target, id_column=cfg.id_column
        )
        importance = permutation_importance_table(
            model,
            X_test,
            y_test,
            metric=cfg.promotion.metric,
            seed=cfg.seed,
            n_repeats=cfg.importance_repeats,
        )
        diagnostics[row["candidate"]] = (preds, importance)
        log_candidate_run(row=row, holdout=preds, importance=importance, config_params=params)

    info = dict(data_info)
    info["rows_clean"] = validation.get("n_rows")
    parent_run_id = log_training_parent(
        config=config, comparison=table, data_info=info, split_summary=plan.summary()
    )
    best = comparison.best
    best_row = table.loc[table["candidate"] == best].iloc[0]
    baseline_label = table.loc[table["model"] == "baseline_mean", "candidate"].iloc[0]
    X_train, _ = feature_frame(clean_ads.iloc[plan.train], inputs, cfg.target)
    holdout_scores = comparison.holdout[best]
    logged = log_best_model(
        model=comparison.fitted[best],
        input_example=X_train.head(5),
        metadata={
            "liftlab": {
                "target": cfg.target,
                "id_column": cfg.id_column,
                "input_columns": inputs,
                "candidate": best,
                "data_sha256": data_info.get("sha256"),
                "scoring_rules": cfg.scoring_rules().to_dict(),
                "holdout": {k: float(v) for k, v in holdout_scores.items()},
            }
        },
        metrics={f"holdout_{k}": v for k, v in holdout_scores.items()},
    )
    training_info = {
        "mlflow_run_id": parent_run_id,
        "best_candidate": best,
        "best_model": str(best_row["model"]),
        "baseline_candidate": str(baseline_label),
        "holdout_scores": {k: float(v) for k, v in holdout_scores.items()},
        "baseline_scores": {k: float(v) for k, v in comparison.holdout[baseline_label].items()},
        "input_columns": inputs,
        "split": plan.summary(),
        **logged,
    }
    preds, importance = diagnostics[best]
    return table, preds, importance, training_info, HTMLString(_comparison_html(table, cfg.rank_by))
