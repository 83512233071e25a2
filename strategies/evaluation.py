"""Evaluation of conversion-prediction regressors: metrics, cross-validation and comparison.

The protocol is the one a reviewer can trust: candidates are *selected* on cross-validation
folds (which the caller builds, e.g. grouped by ad set so near-duplicate ads do not leak), and
the winner is *checked* on a holdout the folds never touch. Promotion of a new model over the
current champion compares :func:`holdout_scores` on that same holdout with an explicit margin
(:mod:`strategies.promotion`), so a model is not replaced because of noise.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin, clone
from sklearn.metrics import (
    make_scorer,
    mean_absolute_error,
    mean_poisson_deviance,
    mean_squared_error,
    r2_score,
)
from sklearn.pipeline import Pipeline

from strategies.errors import ConfigError, InputDataError
from strategies.regressors import make_pipeline, parse_regressor_spec, search_params

__all__ = [
    "METRIC_DIRECTIONS",
    "POISSON_PREDICTION_FLOOR",
    "CandidateComparison",
    "compare_candidates",
    "cross_validate",
    "holdout_scores",
    "metric_scorer",
    "regression_metrics",
]

POISSON_PREDICTION_FLOOR = 1e-6
"""Predictions below this are raised to it for the Poisson deviance only.

The deviance is undefined for a prediction <= 0, yet linear models and trees on squared error
can predict negative conversion counts. Clipping keeps them comparable with Poisson models
while still punishing them: predicting ~0 for an ad that converted costs a large deviance.
The other metrics use the raw predictions, and how many were negative is reported."""

METRIC_DIRECTIONS: dict[str, Literal["higher", "lower"]] = {
    "r2": "higher",
    "rmse": "lower",
    "mae": "lower",
    "poisson_deviance": "lower",
}
"""Which direction is better for each metric :func:`regression_metrics` reports."""

_METRICS = tuple(METRIC_DIRECTIONS)


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """R², RMSE, MAE and mean Poisson deviance of one set of predictions.

    Also returns ``n`` and ``n_negative_predictions`` (how many predictions were below zero,
    i.e. impossible counts). The deviance uses predictions clipped at
    :data:`POISSON_PREDICTION_FLOOR` and is NaN when a true value is negative (not a count).
    """
    true = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if true.shape != pred.shape:
        raise InputDataError(
            f"y_true has {true.size} values but y_pred has {pred.size}; they must match"
        )
    if true.size == 0:
        raise InputDataError("cannot compute regression metrics on zero rows")
    if not (np.isfinite(true).all() and np.isfinite(pred).all()):
        raise InputDataError("y_true and y_pred must be finite (no NaN or infinity)")
    deviance = (
        float(mean_poisson_deviance(true, np.maximum(pred, POISSON_PREDICTION_FLOOR)))
        if (true >= 0).all()
        else math.nan
    )
    return {
        "r2": float(r2_score(true, pred)) if true.size > 1 else math.nan,
        "rmse": float(math.sqrt(mean_squared_error(true, pred))),
        "mae": float(mean_absolute_error(true, pred)),
        "poisson_deviance": deviance,
        "n": int(true.size),
        "n_negative_predictions": int((pred < 0).sum()),
    }


def holdout_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Only the metrics a challenger and a champion are compared on (no row counts): what a
    scored champion records in the promotion decision."""
    metrics = regression_metrics(y_true, y_pred)
    return {k: float(metrics[k]) for k in METRIC_DIRECTIONS}


def metric_scorer(metric: str) -> Callable[..., float]:
    """An sklearn scorer for one of our metrics (same clipping rule), for hyper-parameter search."""
    _check_metric(metric)

    def score(y_true: Any, y_pred: Any) -> float:
        return regression_metrics(y_true, y_pred)[metric]

    return make_scorer(score, greater_is_better=METRIC_DIRECTIONS[metric] == "higher")


def cross_validate(
    pipeline: Pipeline,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    folds: Iterable[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Fit a fresh clone of ``pipeline`` per fold and score it on the fold's test rows.

    Returns one row per fold (``fold`` = 0, 1, …) with every metric, row counts and fit time,
    followed by a ``mean`` and a ``std`` row (sample standard deviation across folds, NaN with
    one fold). The ``fold`` column is text so the table stays one simple type for BI tools.
    """
    rows: list[dict[str, Any]] = []
    for i, (train_idx, test_idx) in enumerate(folds):
        model = clone(pipeline)
        started = time.perf_counter()
        model.fit(_take(X, train_idx), _take(y, train_idx))
        fit_seconds = time.perf_counter() - started
        metrics = regression_metrics(_take(y, test_idx), model.predict(_take(X, test_idx)))
        rows.append(
            {
                "fold": str(i),
                **{m: metrics[m] for m in _METRICS},
                "n_negative_predictions": metrics["n_negative_predictions"],
                "n_train": len(train_idx),
                "n_test": len(test_idx),
                "fit_seconds": fit_seconds,
            }
        )
    if not rows:
        raise ConfigError("cross_validate needs at least one (train_idx, test_idx) fold")
    table = pd.DataFrame(rows)
    numeric = table.drop(columns="fold")
    summary = pd.DataFrame(
        [
            {"fold": "mean", **numeric.mean().to_dict()},
            {"fold": "std", **numeric.std(ddof=1).to_dict()},
        ]
    )
    return pd.concat([table, summary], ignore_index=True)


@dataclass
class CandidateComparison:
    """Result of :func:`compare_candidates`.

    ``table`` has one row per candidate ordered best first; ``fitted`` maps each label to its
    pipeline refitted on the holdout's training rows; ``holdout`` maps each label to its
    :func:`regression_metrics` on the holdout test rows (what :func:`beats` compares).
    """

    table: pd.DataFrame
    fitted: dict[str, Pipeline]
    holdout: dict[str, dict[str, float]] = field(default_factory=dict)
    rank_by: str = "poisson_deviance"

    @property
    def best(self) -> str:
        """Label of the best candidate by ``rank_by`` on cross-validation."""
        return str(self.table.loc[self.table["is_best"], "candidate"].iloc[0])


def compare_candidates(
    specs: Sequence[Mapping[str, Any]],
    preprocessor_factory: Callable[[], TransformerMixin | None],
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    folds: Iterable[tuple[np.ndarray, np.ndarray]],
    holdout: tuple[np.ndarray, np.ndarray],
    seed: int,
    rank_by: str = "poisson_deviance",
) -> CandidateComparison:
    """Tune (if the spec has a search space), cross-validate and holdout-test every candidate.

    ``baseline_mean`` is added when the specs lack it, so every table has its reference row.
    Folds and holdout are positional indices into ``X``; the folds must not contain any holdout
    test row (that would let the search peek at the holdout), which is checked. Candidates are
    ranked by the cross-validated mean of ``rank_by``; the holdout columns are the independent
    check used for promotion. CV scores of a tuned candidate reuse the search folds and are
    therefore slightly optimistic — nested CV would multiply the runtime, and the holdout
    stays honest.
    """
    _check_metric(rank_by)
    parsed = [parse_regressor_spec(s) for s in specs]
    if not any(p.name == "baseline_mean" for p in parsed):
        parsed.insert(0, parse_regressor_spec({"name": "baseline_mean"}))
    labels = [p.label for p in parsed]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(
            f"candidate label(s) {', '.join(map(repr, duplicates))} appear more than once; "
            "give each spec a distinct 'label'"
        )
    fold_list = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
    if not fold_list:
        raise ConfigError("compare_candidates needs at least one (train_idx, test_idx) fold")
    train_idx, test_idx = (np.asarray(a) for a in holdout)
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ConfigError("the holdout needs non-empty train and test indices")
    holdout_test = set(test_idx.tolist())
    for i, (fold_train, fold_test) in enumerate(fold_list):
        if holdout_test.intersection(fold_train.tolist()) or holdout_test.intersection(
            fold_test.tolist()
        ):
            raise ConfigError(
                f"fold {i} uses rows of the holdout test set; build the folds on the holdout "
                "training rows only"
            )

    rows: list[dict[str, Any]] = []
    fitted: dict[str, Pipeline] = {}
    holdout_metrics: dict[str, dict[str, float]] = {}
    X_train, y_train = _take(X, train_idx), _take(y, train_idx)
    for spec in parsed:
        pipeline = make_pipeline(preprocessor_factory(), spec, seed=seed)
        best_params: dict[str, Any] = {}
        n_tried = 0
        if spec.search:
            pipeline, best_params, cv_table = search_params(
                pipeline,
                spec,
                X,
                y,
                fold_list,
                seed=seed,
                scoring=metric_scorer(rank_by),
                refit=False,
            )
            n_tried = len(cv_table)
        cv = cross_validate(pipeline, X, y, fold_list).set_index("fold")

        started = time.perf_counter()
        final = clone(pipeline).fit(X_train, y_train)
        fit_seconds = time.perf_counter() - started
        scores = regression_metrics(_take(y, test_idx), final.predict(_take(X, test_idx)))
        fitted[spec.label] = final
        holdout_metrics[spec.label] = scores

        row: dict[str, Any] = {"candidate": spec.label, "model": spec.name}
        for m in _METRICS:
            row[f"cv_{m}_mean"] = float(cv.loc["mean", m])
            row[f"cv_{m}_std"] = float(cv.loc["std", m])
        for m in _METRICS:
            row[f"holdout_{m}"] = scores[m]
        row["holdout_negative_predictions"] = scores["n_negative_predictions"]
        row["fit_seconds"] = fit_seconds
        row["search_settings_tried"] = n_tried
        row["params"] = json.dumps({**spec.params, **best_params}, sort_keys=True, default=str)
        rows.append(row)

    table = pd.DataFrame(rows)
    key = f"cv_{rank_by}_mean"
    ascending = METRIC_DIRECTIONS[rank_by] == "lower"
    table = table.sort_values(key, ascending=ascending, na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["is_best"] = table["rank"] == 1
    table["rank_by"] = rank_by
    return CandidateComparison(table=table, fitted=fitted, holdout=holdout_metrics, rank_by=rank_by)


def _check_metric(metric: str) -> None:
    if metric not in METRIC_DIRECTIONS:
        raise ConfigError(
            f"unknown metric {metric!r} (valid metrics: {', '.join(sorted(METRIC_DIRECTIONS))})"
        )


def _take(data: Any, idx: np.ndarray) -> Any:
    """Rows by position for pandas objects and arrays alike."""
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.iloc[idx]
    return np.asarray(data)[idx]
