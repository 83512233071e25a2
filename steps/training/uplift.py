"""Uplift training step: S/T/X learners compared on a randomised holdout, nested MLflow runs."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from liftlab.config.uplift import load_uplift_config
from liftlab.mlops.model_tracking import log_best_model
from liftlab.mlops.tracking import flatten_params, git_commit, metric_key
from strategies.uplift.workflow import OutcomeSpec, run_uplift_modelling


@step(experiment_tracker=True, enable_cache=False)
def train_uplift_models(
    raw_data: pd.DataFrame, validation: dict, data_info: dict, config: dict[str, Any]
) -> tuple[
    Annotated[pd.DataFrame, "learner_comparison"],
    Annotated[pd.DataFrame, "qini_curves"],
    Annotated[pd.DataFrame, "policy_comparison"],
    Annotated[pd.DataFrame, "profit_curves"],
    Annotated[pd.DataFrame, "uplift_targeting"],
    Annotated[pd.DataFrame, "targeting_summary"],
    Annotated[dict, "uplift_info"],
]:
    """Uncached, so every run appears in MLflow: one nested run per outcome × learner with its
    holdout metrics per arm; the best learner per outcome logged as an MLflow model (registered
    by the last step)."""
    import mlflow

    cfg = load_uplift_config(config)
    run = run_uplift_modelling(
        raw_data,
        treatment_column=cfg.treatment_column,
        control=cfg.control,
        arms=cfg.arms,
        features=cfg.feature_columns,
        outcomes=[
            OutcomeSpec(o.name, o.column, o.value_per_unit, cfg.learner_specs(o))
            for o in cfg.modelled_outcomes()
        ],
        policy_outcome=cfg.policy().name,
        cost_per_contact=cfg.cost_per_contact,
        test_size=cfg.test_size,
        seed=cfg.seed,
        rank_by=cfg.rank_by,
        top_fraction=cfg.top_fraction,
        n_bootstrap=cfg.n_bootstrap,
        id_column=cfg.id_column,
    )
    parent = mlflow.active_run() or mlflow.start_run()
    mlflow.log_params(flatten_params(config))
    for (outcome, learner), rows in run.comparison.groupby(["outcome", "learner"], sort=False):
        with mlflow.start_run(run_name=f"{outcome}:{learner}", nested=True):
            mlflow.set_tags({"liftlab.outcome": outcome, "liftlab.learner": learner})
            mlflow.log_params(
                {"outcome": outcome, "learner": learner, "model": rows["model"].iloc[0]}
            )
            metrics = {}
            for row in rows.itertuples(index=False):
                for stat in (
                    "qini_coefficient",
                    "qini_normalized",
                    "auuc",
                    "uplift_at_10",
                    "uplift_at_30",
                ):
                    value = getattr(row, stat)
                    if pd.notna(value):
                        metrics[metric_key(row.arm, stat)] = float(value)
            mlflow.log_metrics(metrics)
    X = raw_data[cfg.feature_columns].reset_index(drop=True)
    logged: dict[str, dict] = {}
    for outcome, model in run.models.items():
        info = log_best_model(
            model=model,
            input_example=X.head(5),
            metadata={
                "liftlab": {
                    "outcome": outcome,
                    "learner": run.best[outcome],
                    "control": cfg.control,
                    "arms": cfg.arms,
                }
            },
            metrics={f"holdout_{cfg.rank_by}": run.holdout_scores[outcome]},
            name=f"uplift_{outcome}",
        )
        logged[outcome] = {**info, "learner": run.best[outcome]}
    mlflow.log_metrics({f"{o}.best.{cfg.rank_by}": v for o, v in run.holdout_scores.items()})
    mlflow.set_tags(
        {
            "liftlab.pipeline": "uplift_model",
            "liftlab.git_commit": git_commit(),
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
        }
    )
    info = {
        "mlflow_run_id": parent.info.run_id,
        "models": logged,
        "holdout_scores": run.holdout_scores,
        "test_idx": run.test_idx.tolist(),
    }
    return (
        run.comparison,
        run.qini_curves,
        run.policy,
        run.profit_curves,
        run.targeting,
        run.targeting_summary,
        info,
    )
