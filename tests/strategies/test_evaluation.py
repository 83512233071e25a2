"""Metrics, cross-validation, candidate comparison and the promotion rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.metrics import (
    mean_absolute_error,
    mean_poisson_deviance,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from strategies.errors import ConfigError, InputDataError
from strategies.evaluation import (
    POISSON_PREDICTION_FLOOR,
    compare_candidates,
    cross_validate,
    metric_scorer,
    regression_metrics,
)
from strategies.promotion import beats
from strategies.regressors import make_pipeline
from tests.conftest import shared_file


def _poisson_data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Counts from a log-linear model: a Poisson GLM is the right model, the mean is not."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = rng.poisson(np.exp(0.3 + 1.0 * X["a"] - 0.6 * X["b"])).astype(float)
    return X, y


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(3.0, size=100).astype(float)
    pred = rng.gamma(2.0, 1.5, size=100) + 0.01
    m = regression_metrics(y, pred)
    assert m["r2"] == pytest.approx(r2_score(y, pred), abs=1e-12)
    assert m["rmse"] == pytest.approx(math.sqrt(mean_squared_error(y, pred)), abs=1e-12)
    assert m["mae"] == pytest.approx(mean_absolute_error(y, pred), abs=1e-12)
    assert m["poisson_deviance"] == pytest.approx(mean_poisson_deviance(y, pred), abs=1e-12)
    assert m["n"] == 100 and m["n_negative_predictions"] == 0


def test_negative_predictions_are_clipped_for_deviance_and_counted() -> None:
    y = np.array([0.0, 1.0, 4.0, 2.0])
    pred = np.array([-0.5, 1.5, 3.0, -1.0])
    m = regression_metrics(y, pred)
    clipped = np.maximum(pred, POISSON_PREDICTION_FLOOR)
    assert m["poisson_deviance"] == pytest.approx(mean_poisson_deviance(y, clipped), abs=1e-12)
    assert m["n_negative_predictions"] == 2
    assert m["mae"] == pytest.approx(mean_absolute_error(y, pred), abs=1e-12)  # raw predictions


def test_metrics_reject_bad_input_and_nan_deviance_for_negative_targets() -> None:
    with pytest.raises(InputDataError, match="must match"):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(InputDataError, match="finite"):
        regression_metrics([1.0, 2.0], [1.0, np.nan])
    assert math.isnan(regression_metrics([-1.0, 2.0], [1.0, 1.0])["poisson_deviance"])


def test_metric_scorer_sign_follows_direction() -> None:
    X, y = _poisson_data(100)
    model = make_pipeline(None, {"name": "poisson"}, seed=0).fit(X, y)
    dev = regression_metrics(y, model.predict(X))["poisson_deviance"]
    assert metric_scorer("poisson_deviance")(model, X, y) == pytest.approx(-dev)
    with pytest.raises(ConfigError, match="unknown metric"):
        metric_scorer("mape")


# --- cross-validation ---------------------------------------------------------------------------


def test_cross_validate_per_fold_and_summary_rows() -> None:
    X, y = _poisson_data(120)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    table = cross_validate(make_pipeline(None, {"name": "poisson"}, seed=0), X, y, folds)
    assert list(table["fold"]) == ["0", "1", "2", "3", "mean", "std"]
    per_fold = table.iloc[:4]
    assert table.loc[4, "r2"] == pytest.approx(per_fold["r2"].mean())
    assert table.loc[5, "rmse"] == pytest.approx(per_fold["rmse"].std(ddof=1))
    train, test = folds[0]
    model = make_pipeline(None, {"name": "poisson"}, seed=0).fit(X.iloc[train], y[train])
    expected = regression_metrics(y[test], model.predict(X.iloc[test]))
    assert table.loc[0, "poisson_deviance"] == pytest.approx(expected["poisson_deviance"])
    assert per_fold["n_test"].sum() == len(y)


# --- comparison ---------------------------------------------------------------------------------


def _holdout_and_folds(n: int) -> tuple[tuple[np.ndarray, np.ndarray], list]:
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    train, test = np.sort(order[: int(0.75 * n)]), np.sort(order[int(0.75 * n) :])
    folds = [(train[a], train[b]) for a, b in KFold(3, shuffle=True, random_state=1).split(train)]
    return (train, test), folds


def test_compare_candidates_ranks_poisson_glm_far_above_baseline() -> None:
    X, y = _poisson_data()
    holdout, folds = _holdout_and_folds(len(y))
    specs = [
        {"name": "poisson"},
        {"name": "ridge", "search": {"alpha": [0.1, 1.0, 10.0]}, "n_iter": 2},
    ]
    result = compare_candidates(specs, StandardScaler, X, y, folds=folds, holdout=holdout, seed=0)
    table = result.table
    assert list(table["candidate"]) == ["poisson", "ridge", "baseline_mean"]
    assert result.best == "poisson" and table["is_best"].sum() == 1
    glm, base = table.iloc[0], table.iloc[2]
    assert glm["cv_poisson_deviance_mean"] < 0.5 * base["cv_poisson_deviance_mean"]
    assert glm["holdout_poisson_deviance"] < 0.5 * base["holdout_poisson_deviance"]
    assert glm["holdout_r2"] > 0.5 and abs(base["holdout_r2"]) < 0.1
    assert table.loc[1, "search_settings_tried"] == 2
    assert set(result.fitted) == {"poisson", "ridge", "baseline_mean"}
    pred = result.fitted["poisson"].predict(X.iloc[holdout[1]])
    assert regression_metrics(y[holdout[1]], pred) == result.holdout["poisson"]
    wins, reason = beats(
        result.holdout["poisson"], result.holdout["baseline_mean"], metric="r2", margin=0.1
    )
    assert wins, reason

    by_r2 = compare_candidates(
        [{"name": "poisson"}],
        StandardScaler,
        X,
        y,
        folds=folds,
        holdout=holdout,
        seed=0,
        rank_by="r2",
    )
    assert by_r2.best == "poisson" and by_r2.table["rank_by"].iloc[0] == "r2"


def test_compare_candidates_rejects_leaky_folds_duplicates_and_unknown_metric() -> None:
    X, y = _poisson_data(60)
    holdout, folds = _holdout_and_folds(60)
    leaky = list(KFold(3).split(X))
    with pytest.raises(ConfigError, match="holdout test set"):
        compare_candidates([], StandardScaler, X, y, folds=leaky, holdout=holdout, seed=0)
    with pytest.raises(ConfigError, match="more than once"):
        compare_candidates(
            [{"name": "ridge"}, {"name": "ridge"}],
            StandardScaler,
            X,
            y,
            folds=folds,
            holdout=holdout,
            seed=0,
        )
    with pytest.raises(ConfigError, match="unknown metric"):
        compare_candidates(
            [], StandardScaler, X, y, folds=folds, holdout=holdout, seed=0, rank_by="auc"
        )


# --- promotion rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("challenger", "champion", "metric", "margin", "expected"),
    [
        (0.80, 1.00, "poisson_deviance", 0.10, True),  # 20% lower deviance
        (0.95, 1.00, "poisson_deviance", 0.10, False),  # only 5% better
        (0.90, 1.00, "poisson_deviance", 0.10, True),  # exactly at the margin counts
        (1.10, 1.00, "poisson_deviance", 0.0, False),  # worse
        (1.00, 1.00, "poisson_deviance", 0.0, False),  # a tie never promotes
        (0.55, 0.50, "r2", 0.05, True),  # 10% higher R²
        (0.52, 0.50, "r2", 0.05, False),
        (0.45, 0.50, "r2", 0.0, False),  # lower R² is worse
        (0.10, 0.00, "r2", 0.5, True),  # champion at 0: any strict gain counts
        (0.90, 1.00, "rmse", 0.05, True),
    ],
)
def test_beats_hand_cases(
    challenger: float, champion: float, metric: str, margin: float, expected: bool
) -> None:
    wins, reason = beats({metric: challenger}, {metric: champion}, metric=metric, margin=margin)
    assert wins is expected
    assert ("does not beat" in reason) is (not expected) and metric in reason


def test_beats_rejects_bad_arguments_and_never_promotes_on_nan() -> None:
    with pytest.raises(ConfigError, match="unknown metric"):
        beats({"x": 1.0}, {"x": 2.0}, metric="x", margin=0.0)
    with pytest.raises(ConfigError, match="margin"):
        beats({"r2": 1.0}, {"r2": 0.0}, metric="r2", margin=-0.1)
    with pytest.raises(ConfigError, match="champion scores have no 'r2'"):
        beats({"r2": 1.0}, {"mae": 0.0}, metric="r2", margin=0.0)
    assert beats({"r2": math.nan}, {"r2": 0.1}, metric="r2", margin=0.0)[0] is False


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_kag_best_model_beats_baseline_on_grouped_cv() -> None:
    df = pd.read_csv(shared_file("KAG_conversion_data.csv"))
    X = df[["age", "gender", "interest", "Impressions", "Clicks", "Spent"]].astype(
        {"interest": str}
    )
    y = df["Approved_Conversion"].to_numpy(dtype=float)
    groups = df["fb_campaign_id"].to_numpy()

    def preprocessor() -> ColumnTransformer:
        return ColumnTransformer(
            [
                (
                    "categories",
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
                    ["age", "gender", "interest"],
                ),
                (
                    "volumes",
                    sk_make_pipeline(FunctionTransformer(np.log1p), StandardScaler()),
                    ["Impressions", "Clicks", "Spent"],
                ),
            ]
        )

    train, test = next(GroupShuffleSplit(1, test_size=0.2, random_state=0).split(X, y, groups))
    folds = [(train[a], train[b]) for a, b in GroupKFold(5).split(train, groups=groups[train])]
    specs = [
        {"name": "poisson"},
        {"name": "hist_gradient_boosting_poisson", "params": {"max_iter": 100}},
        {"name": "ridge"},
    ]
    result = compare_candidates(
        specs, preprocessor, X, y, folds=folds, holdout=(train, test), seed=0
    )
    table = result.table.set_index("candidate")
    best = result.best
    assert best != "baseline_mean"
    assert table.loc[best, "cv_r2_mean"] > table.loc["baseline_mean", "cv_r2_mean"] + 0.1
    assert (
        table.loc[best, "cv_poisson_deviance_mean"]
        < table.loc["baseline_mean", "cv_poisson_deviance_mean"]
    )
