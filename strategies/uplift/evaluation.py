"""Comparing uplift learners on a randomised holdout.

Uplift cannot be observed per customer, so learners are judged on held-out rows of the
randomised experiment: customers ranked by predicted uplift should show a larger treated-minus-
control difference at the top (Qini curve above the random line). Each treatment arm is scored
against control on the rows of those two groups only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from strategies.errors import InputDataError
from strategies.uplift.learners import UpliftLearner, build_uplift_learner
from strategies.uplift.metrics import auuc, qini_coefficient, uplift_at_k

__all__ = [
    "UpliftComparison",
    "compare_uplift_learners",
    "holdout_score",
    "score_uplift",
    "stratified_split",
]

RANK_METRICS = ("qini_coefficient", "auuc", "uplift_at_30")


def stratified_split(
    treatment: Sequence[Any], *, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random holdout with the same share of every arm on both sides (positions)."""
    if not 0.0 < test_size < 1.0:
        raise InputDataError(f"test_size must be in (0, 1), got {test_size!r}")
    labels = pd.Series(np.asarray(treatment)).astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    test: list[np.ndarray] = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        rng.shuffle(rows)
        n_test = int(round(len(rows) * test_size))
        if n_test < 1 or n_test >= len(rows):
            raise InputDataError(f"arm {label!r} has too few rows ({len(rows)}) for a holdout")
        test.append(rows[:n_test])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def score_uplift(
    uplift: pd.DataFrame, treatment: Sequence[Any], y: Sequence[float], *, control: Any
) -> pd.DataFrame:
    """Per arm: Qini coefficient and AUUC minus random (both totals on the holdout rows, see
    :func:`~strategies.uplift.metrics.qini_coefficient`), their normalised versions for 0/1
    outcomes (``qini_normalized``, ``auuc_normalized``: 1 = perfect ranking, 0 = random, as
    scikit-uplift's ``qini_auc_score`` / ``uplift_auc_score``; NaN for other outcomes),
    uplift@10 % and @30 %, the mean predicted uplift and the holdout's observed average
    effect."""
    labels = np.asarray(treatment)
    yv = np.asarray(y, dtype=np.float64)
    binary = bool(np.isin(yv, (0.0, 1.0)).all())
    rows = []
    for arm in uplift.columns:
        keep = (labels == arm) | (labels == control)
        treated = labels[keep] == arm
        score = uplift[arm].to_numpy(dtype=np.float64)[keep]
        ys = yv[keep]
        rows.append(
            {
                "arm": str(arm),
                "qini_coefficient": qini_coefficient(ys, treated, score),
                "qini_normalized": (
                    qini_coefficient(ys, treated, score, normalize=True) if binary else np.nan
                ),
                "auuc": auuc(ys, treated, score, subtract_random=True),
                "auuc_normalized": (auuc(ys, treated, score, normalize=True) if binary else np.nan),
                "uplift_at_10": uplift_at_k(ys, treated, score, 0.1),
                "uplift_at_30": uplift_at_k(ys, treated, score, 0.3),
                "mean_predicted_uplift": float(np.mean(score)),
                "observed_ate": float(ys[treated].mean() - ys[~treated].mean()),
                "n_holdout": int(keep.sum()),
            }
        )
    return pd.DataFrame(rows)


def holdout_score(
    model: Any,
    holdout: pd.DataFrame,
    *,
    features: Sequence[str],
    treatment_column: str,
    outcome_column: str,
    control: Any,
    metric: str,
) -> float:
    """One fitted learner's ``metric`` on holdout rows, averaged over arms: the number the
    best learner was picked by, so a registered champion can be scored on a new run's holdout
    exactly as the challenger was. ``model`` needs only ``predict_uplift``."""
    if metric not in RANK_METRICS:
        raise InputDataError(f"metric must be one of {RANK_METRICS}, got {metric!r}")
    uplift = model.predict_uplift(holdout[list(features)])
    scores = score_uplift(
        uplift,
        holdout[treatment_column].astype(str).to_numpy(),
        pd.to_numeric(holdout[outcome_column]).to_numpy(float),
        control=control,
    )
    return float(scores[metric].mean())


@dataclass
class UpliftComparison:
    """``table``: one row per learner × arm (best learner first); ``fitted``: learner per label;
    ``holdout_uplift``: each learner's predicted uplift on the holdout rows."""

    table: pd.DataFrame
    fitted: dict[str, UpliftLearner]
    holdout_uplift: dict[str, pd.DataFrame] = field(default_factory=dict)
    best: str = ""


def compare_uplift_learners(
    specs: Sequence[Mapping[str, Any]],
    X: pd.DataFrame,
    treatment: Sequence[Any],
    y: Sequence[float],
    *,
    control: Any,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    seed: int,
    rank_by: str = "qini_coefficient",
) -> UpliftComparison:
    """Fit every learner on the training rows, score it on the holdout, rank by the mean of
    ``rank_by`` over arms (higher is better for every uplift metric)."""
    if rank_by not in RANK_METRICS:
        raise InputDataError(f"rank_by must be one of {RANK_METRICS}, got {rank_by!r}")
    labels = np.asarray(treatment)
    yv = np.asarray(y, dtype=np.float64)
    fitted: dict[str, UpliftLearner] = {}
    holdout: dict[str, pd.DataFrame] = {}
    tables = []
    for position, spec in enumerate(specs):
        label = str(spec.get("label") or spec.get("name"))
        if label in fitted:
            raise InputDataError(f"learner label {label!r} appears twice; set distinct 'label's")
        clean = {k: v for k, v in spec.items() if k != "label"}
        learner = build_uplift_learner(clean, seed=seed, control=control)
        learner.fit(X.iloc[train_idx], labels[train_idx], yv[train_idx])
        predicted = learner.predict_uplift(X.iloc[test_idx])
        scores = score_uplift(predicted, labels[test_idx], yv[test_idx], control=control)
        scores.insert(0, "learner", label)
        scores.insert(1, "model", str(spec.get("name")))
        scores["position"] = position
        tables.append(scores)
        fitted[label] = learner
        holdout[label] = predicted
    table = pd.concat(tables, ignore_index=True)
    ranking = table.groupby("learner", sort=False)[rank_by].mean().sort_values(ascending=False)
    best = str(ranking.index[0])
    table["rank"] = table["learner"].map({k: i + 1 for i, k in enumerate(ranking.index)})
    table["is_best"] = table["learner"] == best
    table["rank_by"] = rank_by
    table = table.sort_values(["rank", "arm"], kind="stable").drop(columns="position")
    return UpliftComparison(
        table=table.reset_index(drop=True), fitted=fitted, holdout_uplift=holdout, best=best
    )
