"""Uplift-modelling steps: validate, average effects, learners + policy, registration."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from zenml import get_step_context, save_artifact, step

from liftlab.model_registry import CHAMPION, alias_version, load_sklearn, register_and_alias
from liftlab.model_tracking import log_best_model
from liftlab.tracking import flatten_params, git_commit, metric_key
from liftlab.uplift_config import load_uplift_config
from strategies.ab_test import ABDesign, run_ab_analysis
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.metrics import MetricSpec
from strategies.uplift.evaluation import score_uplift
from strategies.uplift.workflow import OutcomeSpec, run_uplift_modelling
from strategies.validation import ValidationRules, validate


@step
def validate_uplift_data(
    raw_data: pd.DataFrame, config: dict[str, Any]
) -> Annotated[dict, "validation"]:
    """Features, treatment and outcomes present and not null; treatment labels declared;
    outcomes non-negative numbers, binary ones 0/1."""
    cfg = load_uplift_config(config)
    outcome_columns = [o.column for o in cfg.outcomes]
    required = [cfg.treatment_column, *cfg.feature_columns, *outcome_columns]
    allowed: dict[str, tuple] = {cfg.treatment_column: (cfg.control, *cfg.arms)}
    for outcome in cfg.outcomes:
        if outcome.type == "binary":
            allowed[outcome.column] = (0, 1)
    rules = ValidationRules(
        required_columns=tuple(dict.fromkeys(required)),
        numeric_columns=tuple(dict.fromkeys([*outcome_columns, *cfg.numeric])),
        non_negative_columns=tuple(dict.fromkeys(outcome_columns)),
        allowed_values=allowed,
        not_null_columns=tuple(dict.fromkeys(required)),
        unique_columns=(cfg.id_column,) if cfg.id_column else (),
    )
    report = validate(raw_data, rules)
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()


@step
def estimate_average_effects(
    raw_data: pd.DataFrame, validation: dict, config: dict[str, Any]
) -> Annotated[pd.DataFrame, "average_effects"]:
    """Each arm vs control on every outcome, with CIs and corrected p-values (the A/B engine)."""
    cfg = load_uplift_config(config)
    frame = raw_data.reset_index(drop=True)
    unit = cfg.id_column or "_row"
    if cfg.id_column is None:
        frame = frame.assign(_row=np.arange(len(frame)))
    metrics = [
        MetricSpec(
            name=o.name,
            type="proportion" if o.type == "binary" else "mean",
            column=o.column,
        )
        for o in cfg.outcomes
    ]
    design = ABDesign(
        unit_column=unit,
        variant_column=cfg.treatment_column,
        control=cfg.control,
        variants=tuple(cfg.arms),
        experiment_name="uplift",
    )
    options = AnalysisOptions(control=cfg.control, alpha=cfg.alpha, correction=cfg.correction)
    return run_ab_analysis(frame, design, metrics, options).results


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


@step(experiment_tracker=True, enable_cache=False)
def decide_uplift_registration(
    raw_data: pd.DataFrame, uplift_info: dict, config: dict[str, Any]
) -> Annotated[dict, "uplift_decisions"]:
    """Per outcome: score the current champion on this run's holdout with the same metric; the
    new best learner replaces it only if it ranks customers better (higher mean over arms)."""
    cfg = load_uplift_config(config)
    frame = raw_data.reset_index(drop=True)
    frame = frame[frame[cfg.treatment_column].isin([cfg.control, *cfg.arms])].reset_index(drop=True)
    holdout = frame.iloc[np.asarray(uplift_info["test_idx"], dtype=np.int64)]
    decisions: dict[str, dict] = {}
    for outcome in cfg.modelled_outcomes():
        name = f"{cfg.model_name}-{outcome.name}"
        challenger = float(uplift_info["holdout_scores"][outcome.name])
        champion = alias_version(name, CHAMPION)
        decision = {
            "model_name": name,
            "best_learner": uplift_info["models"][outcome.name]["learner"],
            "challenger_qini": challenger,
            "champion": None,
            "promote": True,
        }
        if champion is None:
            decision["summary"] = f"Promoted: first champion of {name!r}."
        else:
            try:
                model = load_sklearn(f"models:/{name}@{CHAMPION}")
                uplift = model.predict_uplift(holdout[cfg.feature_columns])
                scores = score_uplift(
                    uplift,
                    holdout[cfg.treatment_column].astype(str).to_numpy(),
                    pd.to_numeric(holdout[outcome.column]).to_numpy(float),
                    control=cfg.control,
                )
                old = float(scores[cfg.rank_by].mean())
                decision["champion"] = {"version": champion["version"], "qini": old}
                decision["promote"] = challenger > old
                verb = "beats" if challenger > old else "does not beat"
                decision["summary"] = (
                    f"{'Promoted' if challenger > old else 'Not promoted'}: the new "
                    f"{decision['best_learner']} {verb} champion version {champion['version']} "
                    f"on the holdout {cfg.rank_by} ({challenger:.4g} vs {old:.4g})."
                )
            except Exception as exc:  # noqa: BLE001 - cannot compare: keep the champion
                decision["champion"] = {"version": champion["version"], "qini": None}
                decision["promote"] = False
                decision["summary"] = (
                    f"Not promoted: champion version {champion['version']} could not be scored "
                    f"on this holdout ({type(exc).__name__}: {exc})."
                )
        decisions[outcome.name] = decision
    return decisions


@step(experiment_tracker=True, enable_cache=False)
def register_uplift_models(
    uplift_info: dict, uplift_decisions: dict, run_summary: dict, config: dict[str, Any]
) -> Annotated[dict, "registration"]:
    """The last step: register each outcome's best learner (alias ``challenger``) and move
    ``champion`` when the decision says so."""
    registered = {}
    for outcome, decision in uplift_decisions.items():
        model = uplift_info["models"][outcome]
        registered[outcome] = register_and_alias(
            model_id=model["model_id"],
            name=decision["model_name"],
            tags={
                "liftlab.outcome": outcome,
                "liftlab.learner": model["learner"],
                "liftlab.pipeline_run": get_step_context().pipeline_run.name,
                "liftlab.promotion": "promoted" if decision["promote"] else "not promoted",
            },
            promote=bool(decision["promote"]),
        )
    return {**run_summary, "registered": registered}
