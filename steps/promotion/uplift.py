"""Promotion steps of the uplift models: the registration decision per outcome, then
registration and alias moves as the very last step."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from zenml import get_step_context, step

from liftlab.config.uplift import load_uplift_config
from liftlab.mlops.registry import CHAMPION, alias_version, load_sklearn, register_and_alias
from strategies.uplift.evaluation import score_uplift


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
