"""One uplift-modelling round, as the pipeline runs it: randomised holdout, learner comparison
per outcome, Qini curves of the best learner, targeting policy evaluated on the holdout, and the
"whom to contact" table for every customer.

Pure domain code (no ZenML, no MLflow): the pipeline step calls :func:`run_uplift_modelling` and
only logs what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from strategies.errors import InputDataError
from strategies.uplift.evaluation import compare_uplift_learners, stratified_split
from strategies.uplift.learners import UpliftLearner
from strategies.uplift.metrics import qini_curve
from strategies.uplift.policy import policy_comparison, profit_curve, targeting_policy

__all__ = [
    "OutcomeSpec",
    "UpliftRun",
    "holdout_rows",
    "run_uplift_modelling",
    "targeting_summary",
]


@dataclass(frozen=True)
class OutcomeSpec:
    name: str
    column: str
    value_per_unit: float
    learners: Sequence[Mapping[str, Any]]


@dataclass
class UpliftRun:
    comparison: pd.DataFrame
    qini_curves: pd.DataFrame
    policy: pd.DataFrame
    profit_curves: pd.DataFrame
    targeting: pd.DataFrame
    targeting_summary: pd.DataFrame
    best: dict[str, str]
    models: dict[str, UpliftLearner]
    train_idx: np.ndarray
    test_idx: np.ndarray
    holdout_scores: dict[str, float] = field(default_factory=dict)


def targeting_summary(
    targeting: pd.DataFrame, features: pd.DataFrame, columns: Sequence[str], arms: Sequence[str]
) -> pd.DataFrame:
    """Whom to contact, readable: per value of each descriptive column, the share of customers
    the policy contacts, the share sent each arm and the mean expected incremental profit.
    Numeric columns with many values are cut into quartiles."""
    rows = []
    contacted = targeting["best_arm"].notna().to_numpy()
    for column in columns:
        values = features[column]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 6:
            values = pd.qcut(values, 4, duplicates="drop").astype(str)
        values = values.astype(str).to_numpy()
        for value in pd.unique(values):
            mask = values == value
            row: dict[str, Any] = {
                "feature": column,
                "value": value,
                "customers": int(mask.sum()),
                "share_to_email": float(contacted[mask].mean()),
            }
            for arm in arms:
                row[f"share_{arm}"] = float((targeting["best_arm"].to_numpy()[mask] == arm).mean())
            row["mean_expected_profit"] = float(
                targeting["expected_incremental_profit"].to_numpy()[mask].mean()
            )
            rows.append(row)
    return pd.DataFrame(rows)


def holdout_rows(
    frame: pd.DataFrame, treatment_column: str, groups: Sequence[str], test_idx: Sequence[int]
) -> pd.DataFrame:
    """The holdout rows of a run, from the same input table: rows of other arms are dropped
    first, exactly as :func:`run_uplift_modelling` did before splitting, so ``test_idx`` (its
    :attr:`UpliftRun.test_idx`) points at the same customers."""
    data = frame.reset_index(drop=True)
    data = data[data[treatment_column].isin(list(groups))].reset_index(drop=True)
    return data.iloc[np.asarray(test_idx, dtype=np.int64)]


def run_uplift_modelling(
    frame: pd.DataFrame,
    *,
    treatment_column: str,
    control: str,
    arms: Sequence[str],
    features: Sequence[str],
    outcomes: Sequence[OutcomeSpec],
    policy_outcome: str,
    cost_per_contact: float,
    test_size: float,
    seed: int,
    rank_by: str = "qini_coefficient",
    top_fraction: float | None = None,
    n_bootstrap: int = 200,
    id_column: str | None = None,
) -> UpliftRun:
    """See the module docstring. ``frame`` holds the features, the treatment and the outcomes;
    every outcome shares one stratified holdout so results are comparable."""
    missing = [c for c in [treatment_column, *features] if c not in frame.columns]
    missing += [o.column for o in outcomes if o.column not in frame.columns]
    if missing:
        raise InputDataError(f"the table lacks column(s): {', '.join(dict.fromkeys(missing))}")
    data = frame.reset_index(drop=True)
    keep = data[treatment_column].isin([control, *arms]).to_numpy()
    if not keep.all():
        data = data[keep].reset_index(drop=True)
    treatment = data[treatment_column].astype(str).to_numpy()
    X = data[list(features)]
    train_idx, test_idx = stratified_split(treatment, test_size=test_size, seed=seed)

    comparisons, curves, policies, profits = [], [], [], []
    best: dict[str, str] = {}
    models: dict[str, UpliftLearner] = {}
    holdout_scores: dict[str, float] = {}
    targeting = pd.DataFrame()
    for outcome in outcomes:
        y = pd.to_numeric(data[outcome.column], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(y).any():
            raise InputDataError(f"outcome {outcome.column!r} has missing or non-numeric values")
        result = compare_uplift_learners(
            outcome.learners,
            X,
            treatment,
            y,
            control=control,
            train_idx=train_idx,
            test_idx=test_idx,
            seed=seed,
            rank_by=rank_by,
        )
        table = result.table.copy()
        table.insert(0, "outcome", outcome.name)
        comparisons.append(table)
        best[outcome.name] = result.best
        models[outcome.name] = result.fitted[result.best]
        best_rows = table[table["is_best"]]
        holdout_scores[outcome.name] = float(best_rows[rank_by].mean())
        uplift = result.holdout_uplift[result.best]
        t_test, y_test = treatment[test_idx], y[test_idx]
        for arm in uplift.columns:
            rows = (t_test == arm) | (t_test == control)
            curve = qini_curve(y_test[rows], t_test[rows] == arm, uplift[arm].to_numpy()[rows])
            curve = curve[["fraction", "qini", "random"]].copy()
            curve.insert(0, "arm", str(arm))
            curve.insert(0, "learner", result.best)
            curve.insert(0, "outcome", outcome.name)
            curves.append(curve)
        value = float(outcome.value_per_unit)
        comparison = policy_comparison(
            uplift,
            t_test,
            y_test,
            control=control,
            value_per_unit=value,
            cost_per_contact=cost_per_contact,
            top_fraction=top_fraction,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
        comparison.insert(0, "outcome", outcome.name)
        policies.append(comparison)
        curve = profit_curve(
            uplift,
            t_test,
            y_test,
            control=control,
            value_per_unit=value,
            cost_per_contact=cost_per_contact,
        )
        curve.insert(0, "outcome", outcome.name)
        profits.append(curve)
        if outcome.name == policy_outcome:
            everyone = models[outcome.name].predict_uplift(X)
            decided = targeting_policy(
                everyone,
                value_per_unit=value,
                cost_per_contact=cost_per_contact,
                top_fraction=top_fraction,
            )
            ids = data[id_column] if id_column else pd.Series(np.arange(len(data)))
            targeting = pd.concat(
                [
                    pd.DataFrame({"customer_id": ids.to_numpy()}),
                    everyone.reset_index(drop=True).add_prefix("uplift_"),
                    decided.reset_index(drop=True),
                ],
                axis=1,
            )
            targeting["in_holdout"] = False
            targeting.loc[test_idx, "in_holdout"] = True
            targeting["policy_outcome"] = outcome.name
    if targeting.empty:
        raise InputDataError(f"policy_outcome {policy_outcome!r} is not among the outcomes")
    summary = targeting_summary(
        targeting, X, [c for c in features if c in X.columns], [str(a) for a in arms]
    )
    return UpliftRun(
        comparison=pd.concat(comparisons, ignore_index=True),
        qini_curves=pd.concat(curves, ignore_index=True),
        policy=pd.concat(policies, ignore_index=True),
        profit_curves=pd.concat(profits, ignore_index=True),
        targeting=targeting,
        targeting_summary=summary,
        best=best,
        models=models,
        train_idx=train_idx,
        test_idx=test_idx,
        holdout_scores=holdout_scores,
    )
