"""Promotion steps of the conversion model: champion vs challenger on the same holdout, then
registration and alias moves as the very last step."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, step

from liftlab.config.training import load_training_config
from liftlab.mlops.registry import (
    CHAMPION,
    DATA_HASH_TAG,
    alias_version,
    load_sklearn,
    model_info,
    register_and_alias,
)
from strategies.evaluation import regression_metrics
from strategies.model_inputs import check_input_schema
from strategies.promotion import decide_promotion
from strategies.training import SplitPlan


def _score_champion(name: str, rows: pd.DataFrame, target: str) -> dict[str, Any] | None:
    """The champion's identity and its metrics on ``rows`` (or why it could not be scored)."""
    champion = alias_version(name, CHAMPION)
    if champion is None:
        return None
    out = {k: champion[k] for k in ("version", "model_id", "run_id")}
    try:
        uri = f"models:/{name}@{CHAMPION}"
        expected = model_info(uri)["inputs"]
        X = check_input_schema(rows, expected)
        predictions = load_sklearn(uri).predict(X)
        out["scores"] = {
            k: float(v)
            for k, v in regression_metrics(rows[target].to_numpy(float), predictions).items()
            if k in ("r2", "rmse", "mae", "poisson_deviance")
        }
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot compare", not a crash
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


@step(experiment_tracker=True, enable_cache=False)
def decide_promotion_step(
    clean_ads: pd.DataFrame,
    split_plan: dict,
    training_info: dict,
    config: dict[str, Any],
) -> Annotated[dict, "promotion_decision"]:
    """Score the current champion on this run's holdout rows and apply the promotion rule.
    Nothing is moved here; :func:`register_and_promote` applies the decision at the very end."""
    import mlflow

    cfg = load_training_config(config)
    plan = SplitPlan.from_dict(split_plan)
    holdout_rows = clean_ads.iloc[plan.test].reset_index(drop=True)
    champion = _score_champion(cfg.model_name, holdout_rows, cfg.target)
    decision = decide_promotion(
        model_name=cfg.model_name,
        challenger_label=training_info["best_candidate"],
        challenger_model=training_info["best_model"],
        challenger_scores=training_info["holdout_scores"],
        baseline_scores=training_info["baseline_scores"],
        metric=cfg.promotion.metric,
        margin=cfg.promotion.margin,
        champion=champion,
    ).to_dict()

    metrics = {"promotion.promote": float(decision["promote"])}
    if champion and "scores" in champion:
        metrics.update({f"champion.holdout_{k}": v for k, v in champion["scores"].items()})
    mlflow.log_metrics(metrics)
    mlflow.set_tags(
        {
            "liftlab.promotion": "promote" if decision["promote"] else "keep",
            "liftlab.promotion_summary": decision["summary"][:5000],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "promotion_decision.json"
        path.write_text(json.dumps(decision, indent=2, default=str))
        mlflow.log_artifact(str(path))
    return decision


@step(experiment_tracker=True, enable_cache=False)
def register_and_promote(
    training_info: dict,
    promotion_decision: dict,
    data_info: dict,
    run_summary: dict,
    config: dict[str, Any],
) -> Annotated[dict, "registration"]:
    """The last step: only a run whose every earlier step succeeded registers a version
    (alias ``challenger``) and, when the decision says so, moves ``champion`` to it."""
    import mlflow

    cfg = load_training_config(config)
    scores = training_info["holdout_scores"]
    tags = {
        DATA_HASH_TAG: data_info.get("sha256") or "",
        "liftlab.data_source": data_info.get("source") or "",
        "liftlab.pipeline_run": get_step_context().pipeline_run.name,
        "liftlab.mlflow_run_id": training_info["mlflow_run_id"],
        "liftlab.candidate": training_info["best_candidate"],
        "liftlab.target": cfg.target,
        "liftlab.promotion": "promoted" if promotion_decision["promote"] else "not promoted",
        "liftlab.promotion_summary": promotion_decision["summary"][:5000],
        **{f"holdout_{k}": f"{v:.6g}" for k, v in scores.items()},
    }
    registration = register_and_alias(
        model_id=training_info["model_id"],
        name=cfg.model_name,
        tags=tags,
        promote=bool(promotion_decision["promote"]),
    )
    mlflow.set_tags(
        {
            "liftlab.registered_version": registration["version"],
            "liftlab.aliases_moved": ",".join(registration["aliases_moved"]),
        }
    )
    return {**registration, "promoted": bool(promotion_decision["promote"]), **run_summary}
