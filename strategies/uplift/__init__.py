"""Uplift modelling: meta-learners, ranking metrics and profit-based targeting.

``learners`` (S/T/X-learners chosen by name from YAML), ``metrics`` (Qini/uplift curves, AUUC,
Qini coefficient, uplift@k for one arm vs control) and ``policy`` (who gets which arm, and what
that is worth on a randomised holdout). Plain numpy/pandas/sklearn: no zenml, no mlflow.
"""

from strategies.uplift.learners import (
    CLASSIFIERS,
    UPLIFT_LEARNERS,
    SLearner,
    TLearner,
    UpliftLearner,
    XLearner,
    build_base_model,
    build_classifier,
    build_uplift_learner,
    make_uplift_preprocessor,
)
from strategies.uplift.metrics import (
    auuc,
    perfect_qini_curve,
    perfect_uplift_curve,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_curve,
)
from strategies.uplift.policy import (
    expected_profit,
    policy_comparison,
    policy_value,
    profit_curve,
    targeting_policy,
    unit_value,
)

__all__ = [
    "CLASSIFIERS",
    "UPLIFT_LEARNERS",
    "SLearner",
    "TLearner",
    "UpliftLearner",
    "XLearner",
    "auuc",
    "build_base_model",
    "build_classifier",
    "build_uplift_learner",
    "expected_profit",
    "make_uplift_preprocessor",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "policy_comparison",
    "policy_value",
    "profit_curve",
    "qini_coefficient",
    "qini_curve",
    "targeting_policy",
    "unit_value",
    "uplift_at_k",
    "uplift_curve",
]
