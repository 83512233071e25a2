"""Champion/challenger for the marketing-mix model: the challenger replaces the champion only
when its rolling-CV MAPE on **this run's data and folds** is lower.

Why refit the champion's specification instead of comparing stored scores: CV errors on
different data are not comparable. The champion's specification (transforms, lags, seasonality)
is refitted fold by fold on the same periods, exactly as the challenger was, so the comparison is
like for like. A re-run on unchanged data ties, and a tie never promotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from strategies.mmm.analysis import tests_within
from strategies.mmm.cv import rolling_cv
from strategies.mmm.data import MMMData
from strategies.mmm.fit import MMMSpec, fit_mmm
from strategies.promotion import PromotionDecision, PromotionRule, PromotionWording, decide

MMM_RULE = PromotionRule(metric="cv_mape", direction="lower", margin=0.0)

MMM_WORDING = PromotionWording(
    first_champion="Promoted: this run's model is the first champion of {model_name!r}.",
    beats_champion=(
        "Promoted: this run's model forecasts the held-out periods better than champion "
        "version {version} (rolling-CV MAPE {new:.2f} % vs {old:.2f} %, same data and folds)."
    ),
    keeps_champion=(
        "Not promoted: this run's model does not forecast the held-out periods better than "
        "champion version {version} (rolling-CV MAPE {new:.2f} % vs {old:.2f} %); version "
        "{version} stays champion."
    ),
    champion_unscorable=(
        "Not promoted: the current champion (version {version}) cannot be evaluated on this "
        "data ({error}), so the two cannot be compared."
    ),
)


def champion_cv_scores(
    payload: Mapping[str, Any],
    data: MMMData,
    *,
    lift_tests: pd.DataFrame | None,
    n_folds: int,
    test_periods: int,
) -> dict[str, float]:
    """The champion specification's rolling-CV errors on ``data`` (its channels and controls
    must be this data's; otherwise a ValueError says which differ)."""
    channels, controls = list(payload["channels"]), list(payload.get("control_names", []))
    if channels != list(data.channels) or controls != list(data.control_names):
        raise ValueError(
            f"it models channels {channels} and controls {controls}; this run has "
            f"{list(data.channels)} and {list(data.control_names)}"
        )
    spec = MMMSpec.from_dict(payload["spec"])
    cv = rolling_cv(
        data,
        lambda train: fit_mmm(train, spec, tests_within(lift_tests, train)),
        n_folds=n_folds,
        test_periods=test_periods,
    )
    return {"cv_mape": float(cv.summary["mape"]), "cv_nrmse": float(cv.summary["nrmse"])}


def decide_mmm_promotion(
    *,
    model_name: str,
    challenger_scores: Mapping[str, float],
    champion: Mapping[str, Any] | None,
) -> PromotionDecision:
    """``champion``: None (first model) or ``version`` with ``scores`` or ``error``."""
    return decide(
        MMM_RULE,
        model_name=model_name,
        challenger_label="this run's model",
        challenger_model="marketing_mix",
        challenger_scores=challenger_scores,
        champion=champion,
        wording=MMM_WORDING,
    )
