"""One uplift-modelling round, as the pipeline runs it: randomised holdout, learner comparison
per outcome, Qini curves of the best learner, targeting policy evaluated on the holdout, and the
"whom to contact" table for every customer.

Pure domain code (no ZenML, no MLflow): the pipeline step calls :func:`run_uplift_modelling` and
only logs what comes back.
"""

from __future__ import annotations

import math
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
    "check_arms_present",
    "check_outcome_varies",
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


def _groups(values: pd.Series) -> tuple[np.ndarray, list[tuple[Any, str]]]:
    """Group key per row and the ``(key, label)`` pairs in display order.

    * 0/1 flags: ``no`` / ``yes``;
    * numbers with more than 6 values: quartiles, labelled ``low–high`` with the smallest and
      largest value of the customers in the bin (``30–65``: rounded to the feature's scale,
      never the bin edges pandas invents such as ``(29.988999999999997, 64.66]``), in bin order;
    * other numbers: the number, in numeric order; anything else: the text, alphabetically.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        distinct = np.unique(numbers[np.isfinite(numbers)])
        if len(distinct) and np.isin(distinct, (0.0, 1.0)).all():
            keys = numbers
            return keys, [(k, "yes" if k == 1.0 else "no") for k in distinct]
        if len(distinct) > 6:
            bins = pd.qcut(values, 4, labels=False, duplicates="drop").to_numpy(dtype=np.float64)
            integers = bool(np.all(distinct == np.round(distinct)))
            span = float(distinct[-1] - distinct[0])
            digits = 0 if integers else int(np.clip(2 - math.floor(math.log10(span)), 0, 4))
            order = []
            for b in np.unique(bins[np.isfinite(bins)]):
                inside = numbers[bins == b]
                lo, hi = f"{inside.min():.{digits}f}", f"{inside.max():.{digits}f}"
                order.append((b, lo if lo == hi else f"{lo}–{hi}"))
            return bins, order
        return numbers, [(k, f"{k:g}") for k in distinct]
    text = values.astype(str).to_numpy()
    return text, [(k, str(k)) for k in sorted(pd.unique(text), key=str)]


def targeting_summary(
    targeting: pd.DataFrame, features: pd.DataFrame, columns: Sequence[str], arms: Sequence[str]
) -> pd.DataFrame:
    """Whom to contact, readable: per value of each descriptive column, the share of customers
    the policy contacts, the share sent each arm and the mean expected incremental profit (the
    model's own expectation). Rows are grouped by column (in ``columns`` order) and ordered
    within it; values are display labels (see :func:`_groups`: quartiles as ``30–65``, flags as
    ``no``/``yes``)."""
    rows = []
    contacted = targeting["best_arm"].notna().to_numpy()
    best_arm = targeting["best_arm"].to_numpy()
    profit = targeting["expected_incremental_profit"].to_numpy(dtype=np.float64)
    for column in columns:
        keys, order = _groups(features[column])
        for key, label in order:
            mask = keys == key
            if not mask.any():
                continue
            row: dict[str, Any] = {
                "feature": column,
                "value": label,
                "customers": int(mask.sum()),
                "share_to_email": float(contacted[mask].mean()),
            }
            for arm in arms:
                row[f"share_{arm}"] = float((best_arm[mask] == arm).mean())
            row["mean_expected_profit"] = float(profit[mask].mean())
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


def check_arms_present(
    treatment: pd.Series, *, treatment_column: str, control: str, arms: Sequence[str]
) -> None:
    """Refuse data in which the control or a declared arm has no row at all: a learner for an
    arm nobody received cannot be fitted honestly, and silently leaving the arm out would
    register a model for an experiment that did not happen. The message names the missing
    label(s) and every label found in ``treatment_column``."""
    found = sorted({str(v) for v in pd.unique(treatment.dropna())})
    problems = []
    if str(control) not in found:
        problems.append(f"control {control!r}")
    absent = [a for a in arms if str(a) not in found]
    if absent:
        problems.append(
            f"declared arm{'s' if len(absent) > 1 else ''} {', '.join(repr(a) for a in absent)}"
        )
    if problems:
        raise InputDataError(
            f"{' and '.join(problems)} not found in column {treatment_column!r} "
            f"(found: {', '.join(repr(v) for v in found) or 'no values'}); "
            "fix 'arms'/'control' in the config or the data"
        )


def check_outcome_varies(y: np.ndarray, column: str, where: str = "") -> None:
    """Refuse an outcome with a single value over every arm and the control (``where``: on
    which rows, e.g. ``" on the holdout"``): there is no uplift to learn or to judge, yet each
    learner would "fit" it perfectly and be registered."""
    distinct = np.unique(y[np.isfinite(y)])
    if len(distinct) < 2:
        value = f"every value is {distinct[0]:g}" if len(distinct) else "no values"
        raise InputDataError(
            f"outcome {column!r} is constant in the control and every arm{where} ({value}); "
            "an uplift model cannot be trained or judged on it"
        )


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
    check_arms_present(
        data[treatment_column], treatment_column=treatment_column, control=control, arms=arms
    )
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
        check_outcome_varies(y, outcome.column)
        check_outcome_varies(y[test_idx], outcome.column, " on the holdout")
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
