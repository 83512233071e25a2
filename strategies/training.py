"""One training round for conversion prediction: split plan, candidate comparison on it, and each
candidate's holdout diagnostics (:func:`run_training_round`).

The protocol (see :mod:`strategies.evaluation`): a holdout is set aside first with the configured
split strategy; cross-validation folds are built *inside* the holdout's training rows with the
same strategy (so grouped splits stay grouped); candidates are ranked on the folds and checked on
the holdout. The split plan is plain data (positional indices), so a pipeline can store it and
score the current champion on exactly the same holdout rows as the challenger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from strategies.errors import InputDataError
from strategies.evaluation import CandidateComparison, compare_candidates, metric_scorer
from strategies.splits import make_split

__all__ = [
    "MIN_HOLDOUT_ROWS",
    "MIN_TRAINING_ROWS",
    "SplitPlan",
    "check_target",
    "TrainingRound",
    "feature_frame",
    "holdout_predictions",
    "permutation_importance_table",
    "plan_split",
    "run_training_round",
    "train_candidates",
]


@dataclass(frozen=True)
class SplitPlan:
    """Positional row indices: the holdout's train/test rows and CV folds within train."""

    strategy: str
    train: np.ndarray
    test: np.ndarray
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists of ints) so a pipeline can keep the plan as an artifact."""
        return {
            "strategy": self.strategy,
            "train": self.train.tolist(),
            "test": self.test.tolist(),
            "folds": [[tr.tolist(), te.tolist()] for tr, te in self.folds],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SplitPlan:
        return cls(
            strategy=str(data["strategy"]),
            train=np.asarray(data["train"], dtype=np.int64),
            test=np.asarray(data["test"], dtype=np.int64),
            folds=tuple(
                (np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64))
                for tr, te in data["folds"]
            ),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "n_train": int(len(self.train)),
            "n_test": int(len(self.test)),
            "n_folds": len(self.folds),
        }


def plan_split(df: pd.DataFrame, split_spec: Mapping[str, Any], n_folds: int) -> SplitPlan:
    """Holdout with the configured strategy, then ``n_folds`` CV folds of the same strategy on
    the holdout's training rows only (indices are positions in ``df``)."""
    if len(df) == 0:
        raise InputDataError("cannot train on an empty table (0 rows after cleaning)")
    strategy = make_split(split_spec)
    train, test = (np.asarray(a, dtype=np.int64) for a in strategy.holdout(df))
    inner = df.iloc[train].reset_index(drop=True)
    folds = tuple(
        (train[np.asarray(tr)], train[np.asarray(te)])
        for tr, te in strategy.cv_folds(inner, n_splits=n_folds)
    )
    return SplitPlan(strategy=strategy.name, train=train, test=test, folds=folds)


def feature_frame(df: pd.DataFrame, input_columns: Sequence[str], target: str | None = None):
    """``X`` (only the model's input columns, in the signature's order) and ``y`` (float).

    Missing columns and a non-numeric target are input errors that name the column.
    """
    missing = [c for c in input_columns if c not in df.columns]
    if missing:
        raise InputDataError(f"the table lacks the model input column(s): {', '.join(missing)}")
    X = df[list(input_columns)].reset_index(drop=True)
    if target is None:
        return X, None
    if target not in df.columns:
        raise InputDataError(f"the table has no target column {target!r}")
    y = pd.to_numeric(df[target], errors="coerce")
    if y.isna().any():
        raise InputDataError(
            f"target {target!r} has {int(y.isna().sum())} missing or non-numeric value(s)"
        )
    return X, y.astype(np.float64).reset_index(drop=True)


MIN_TRAINING_ROWS = 20
"""Fewest training rows (the holdout's train part) a regressor is fitted on."""
MIN_HOLDOUT_ROWS = 5
"""Fewest holdout rows the candidates (and the champion) are judged on."""


def _constant(values: np.ndarray) -> str | None:
    """``"every value is <v>"`` when ``values`` hold fewer than 2 distinct numbers, else None."""
    distinct = np.unique(values)
    if len(distinct) >= 2:
        return None
    return f"every value is {distinct[0]:g}" if len(distinct) else "no values"


def check_target(y: pd.Series | np.ndarray, plan: SplitPlan, target: str) -> None:
    """Refuse a degenerate target before anything is fitted, naming the column.

    Rules: at least :data:`MIN_TRAINING_ROWS` training rows and :data:`MIN_HOLDOUT_ROWS`
    holdout rows; at least 2 distinct target values on the training rows (a constant target
    leaves nothing to learn, yet every model "fits" it perfectly: R² 1.000) and on the holdout
    rows (R², relative improvements and the champion comparison are undefined there)."""
    values = np.asarray(y, dtype=np.float64)
    n_train, n_test = len(plan.train), len(plan.test)
    if n_train < MIN_TRAINING_ROWS or n_test < MIN_HOLDOUT_ROWS:
        raise InputDataError(
            f"too few rows to train a model of target {target!r}: {n_train} training rows and "
            f"{n_test} holdout rows; need at least {MIN_TRAINING_ROWS} and {MIN_HOLDOUT_ROWS}"
        )
    if (why := _constant(values)) is not None:
        raise InputDataError(
            f"target {target!r} is constant ({why} on all {len(values)} rows): there is nothing "
            "to learn, and every model would score a perfect R²; refusing to train"
        )
    if (why := _constant(values[plan.train])) is not None:
        raise InputDataError(
            f"target {target!r} is constant on the {n_train} training rows ({why}); "
            "refusing to train (use more data or another split)"
        )
    if (why := _constant(values[plan.test])) is not None:
        raise InputDataError(
            f"target {target!r} is constant on the {n_test} holdout rows ({why}): holdout R² "
            "and the champion comparison would be meaningless; use more data or another split"
        )


def train_candidates(
    df: pd.DataFrame,
    *,
    target: str,
    input_columns: Sequence[str],
    candidates: Sequence[Mapping[str, Any]],
    preprocessor_factory: Callable[[], TransformerMixin | None],
    plan: SplitPlan,
    seed: int,
    rank_by: str,
) -> CandidateComparison:
    """Compare every candidate on the plan's folds and holdout (see ``compare_candidates``),
    after refusing a degenerate target (:func:`check_target`)."""
    X, y = feature_frame(df, input_columns, target)
    check_target(y, plan, target)
    return compare_candidates(
        candidates,
        preprocessor_factory,
        X,
        y,
        folds=plan.folds,
        holdout=(plan.train, plan.test),
        seed=seed,
        rank_by=rank_by,
    )


def holdout_predictions(
    model: Any,
    df: pd.DataFrame,
    plan: SplitPlan,
    *,
    input_columns: Sequence[str],
    target: str,
    id_column: str | None = None,
) -> pd.DataFrame:
    """The model's predictions on the holdout rows: ``<id>``, ``actual``, ``predicted``,
    ``residual`` (actual − predicted)."""
    rows = df.iloc[plan.test].reset_index(drop=True)
    X, y = feature_frame(rows, input_columns, target)
    predicted = np.asarray(model.predict(X), dtype=np.float64)
    out = pd.DataFrame({"actual": y.to_numpy(), "predicted": predicted})
    out["residual"] = out["actual"] - out["predicted"]
    if id_column and id_column in rows.columns:
        out.insert(0, id_column, rows[id_column].to_numpy())
    return out


def permutation_importance_table(
    model: Any,
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    *,
    metric: str,
    seed: int,
    n_repeats: int = 5,
) -> pd.DataFrame:
    """Permutation importance of each *model feature* (after preprocessing) on held-out rows.

    Model-agnostic (linear models and trees alike) and measured where it matters, on data the
    model did not see. Features are permuted after the preprocessing step (``ctr``,
    ``log1p_Impressions``, one-hot levels): permuting raw ``Clicks`` alone would create ads with
    more clicks than impressions, whose ratios no model has seen (a Poisson model can overflow
    on them). ``importance_mean`` is the average loss in ``metric`` when the feature is
    shuffled (positive = the model relies on it; about 0 = unused; negative = noise). A model
    that is not a ``Pipeline`` is permuted on its raw inputs. If scoring a permutation fails,
    the table is empty rather than the run failing: importance is a diagnostic.
    """
    empty = pd.DataFrame(columns=["feature", "importance_mean", "importance_std"])
    if len(X) < 2:
        return empty
    estimator, features = model, X
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        head = model[:-1]
        transformed = head.transform(X)
        try:
            names = [str(n) for n in head.get_feature_names_out()]
        except (AttributeError, ValueError):
            names = [f"x{i}" for i in range(np.asarray(transformed).shape[1])]
        features = pd.DataFrame(np.asarray(transformed, dtype=np.float64), columns=names)
        estimator = model[-1]
    try:
        result = permutation_importance(
            estimator,
            features.to_numpy() if estimator is not model else features,
            np.asarray(y, dtype=np.float64),
            scoring=metric_scorer(metric),
            n_repeats=n_repeats,
            random_state=seed,
        )
    except (InputDataError, ValueError, FloatingPointError):
        return empty
    table = pd.DataFrame(
        {
            "feature": [str(c) for c in features.columns],
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
        }
    )
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )


@dataclass
class TrainingRound:
    """Everything one training round produced, before anything is logged or registered.

    ``diagnostics`` maps each candidate label to its holdout predictions and permutation
    importance; ``input_example`` is the first training rows of the model's inputs (what the
    logged model's signature is inferred from).
    """

    comparison: CandidateComparison
    diagnostics: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    input_columns: list[str]
    input_example: pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        return self.comparison.table

    @property
    def best(self) -> str:
        return self.comparison.best

    @property
    def best_model(self) -> str:
        """The regressor name (not the label) of the best candidate."""
        return str(self.table.loc[self.table["candidate"] == self.best, "model"].iloc[0])

    @property
    def baseline(self) -> str:
        """Label of the predict-the-mean baseline (every comparison has one)."""
        return str(self.table.loc[self.table["model"] == "baseline_mean", "candidate"].iloc[0])


def run_training_round(
    df: pd.DataFrame,
    plan: SplitPlan,
    *,
    target: str,
    input_columns: Sequence[str],
    candidates: Sequence[Mapping[str, Any]],
    preprocessor_factory: Callable[[], TransformerMixin | None],
    seed: int,
    rank_by: str,
    importance_metric: str,
    importance_repeats: int,
    id_column: str | None = None,
) -> TrainingRound:
    """Compare the candidates on ``plan`` (:func:`train_candidates`), then compute every
    candidate's holdout predictions and permutation importance (``importance_metric``), in the
    comparison's order, so each candidate's MLflow run can show its own diagnostics."""
    inputs = list(input_columns)
    comparison = train_candidates(
        df,
        target=target,
        input_columns=inputs,
        candidates=candidates,
        preprocessor_factory=preprocessor_factory,
        plan=plan,
        seed=seed,
        rank_by=rank_by,
    )
    test_rows = df.iloc[plan.test].reset_index(drop=True)
    X_test, y_test = feature_frame(test_rows, inputs, target)
    diagnostics: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for label in comparison.table["candidate"]:
        model = comparison.fitted[label]
        predictions = holdout_predictions(
            model, df, plan, input_columns=inputs, target=target, id_column=id_column
        )
        importance = permutation_importance_table(
            model, X_test, y_test, metric=importance_metric, seed=seed, n_repeats=importance_repeats
        )
        diagnostics[str(label)] = (predictions, importance)
    X_train, _ = feature_frame(df.iloc[plan.train], inputs, target)
    return TrainingRound(
        comparison=comparison,
        diagnostics=diagnostics,
        input_columns=inputs,
        input_example=X_train.head(5),
    )
