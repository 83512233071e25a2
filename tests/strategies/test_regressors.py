"""Regressor registry, pipeline building and bounded, seeded hyper-parameter search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from strategies.errors import ConfigError
from strategies.regressors import (
    MAX_N_ITER,
    REGRESSORS,
    RegressorSpec,
    build_regressor,
    make_pipeline,
    parse_regressor_spec,
    search_params,
)

# Fast settings per model so the whole registry fits in well under a second.
_FAST = {
    "random_forest": {"n_estimators": 10},
    "gradient_boosting": {"n_estimators": 20},
    "adaboost": {"n_estimators": 10},
    "hist_gradient_boosting": {"max_iter": 20},
    "hist_gradient_boosting_poisson": {"max_iter": 20},
}


def _poisson_data(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = rng.poisson(np.exp(0.5 + 0.8 * X["a"] - 0.4 * X["b"])).astype(float)
    return X, y


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_every_registered_regressor_builds_and_fits(name: str) -> None:
    X, y = _poisson_data()
    pipeline = make_pipeline(
        StandardScaler(), {"name": name, "params": _FAST.get(name, {})}, seed=1
    )
    assert isinstance(pipeline, Pipeline)
    assert [s for s, _ in pipeline.steps] == ["preprocess", "model"]
    pred = pipeline.fit(X, y).predict(X)
    assert pred.shape == (len(y),) and np.isfinite(pred).all()


def test_expected_names_are_registered() -> None:
    expected = {
        "baseline_mean",
        "linear",
        "ridge",
        "gradient_boosting",
        "hist_gradient_boosting",
        "hist_gradient_boosting_poisson",
        "random_forest",
        "adaboost",
        "poisson",
    }
    assert expected <= set(REGRESSORS)


def test_seed_is_applied_where_random_state_exists_unless_fixed() -> None:
    assert build_regressor({"name": "random_forest"}, seed=7).random_state == 7
    fixed = build_regressor({"name": "random_forest", "params": {"random_state": 3}}, seed=7)
    assert fixed.random_state == 3
    assert "random_state" not in build_regressor({"name": "linear"}, seed=7).get_params()


def test_poisson_variant_uses_poisson_loss_and_params_override_defaults() -> None:
    assert build_regressor({"name": "hist_gradient_boosting_poisson"}, seed=0).loss == "poisson"
    assert build_regressor({"name": "ridge", "params": {"alpha": 3.0}}, seed=0).alpha == 3.0


def test_make_pipeline_clones_preprocessor_and_accepts_none() -> None:
    scaler = StandardScaler()
    pipeline = make_pipeline(scaler, {"name": "linear"}, seed=0)
    assert pipeline.named_steps["preprocess"] is not scaler
    X, y = _poisson_data(50)
    assert make_pipeline(None, {"name": "linear"}, seed=0).fit(X, y).predict(X).shape == (50,)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="unknown regressor 'xgboost'.*baseline_mean.*ridge"):
        build_regressor({"name": "xgboost"}, seed=0)
    with pytest.raises(ConfigError, match="no 'name'"):
        parse_regressor_spec({"params": {}})


def test_unknown_params_and_keys_are_rejected() -> None:
    with pytest.raises(ConfigError, match="'alpah'.*valid parameters: .*alpha"):
        build_regressor({"name": "ridge", "params": {"alpah": 1.0}}, seed=0)
    with pytest.raises(ConfigError, match="unknown search parameter.*'depth'"):
        parse_regressor_spec({"name": "random_forest", "search": {"depth": [1, 2]}})
    with pytest.raises(ConfigError, match="unknown key.*'parms'"):
        parse_regressor_spec({"name": "ridge", "parms": {}})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "ridge", "search": {"alpha": []}}, "non-empty list"),
        ({"name": "ridge", "search": {"alpha": 1.0}}, "non-empty list"),
        ({"name": "ridge", "n_iter": 0}, "n_iter"),
        ({"name": "ridge", "n_iter": MAX_N_ITER + 1}, "n_iter"),
        ({"name": "ridge", "params": {"alpha": 1}, "search": {"alpha": [1, 2]}}, "both fixed"),
    ],
)
def test_bad_search_config_is_rejected(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_regressor_spec(spec)


def test_spec_defaults() -> None:
    spec = parse_regressor_spec({"name": "ridge"})
    assert spec == RegressorSpec(name="ridge", label="ridge", params={}, search={}, n_iter=10)


def _search(seed: int, n_iter: int = 4):
    X, y = _poisson_data(150)
    spec = {
        "name": "random_forest",
        "params": {"n_estimators": 5},
        "search": {"max_depth": [2, 3, 4, 5, None], "min_samples_leaf": [1, 2, 5, 10]},
        "n_iter": n_iter,
    }
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    return search_params(make_pipeline(None, spec, seed=seed), spec, X, y, folds, seed=seed)


def test_search_is_deterministic_and_respects_n_iter() -> None:
    best_a, params_a, table_a = _search(seed=11)
    best_b, params_b, table_b = _search(seed=11)
    assert len(table_a) == 4
    assert params_a == params_b
    pd.testing.assert_frame_equal(
        table_a.drop(columns="mean_fit_seconds"), table_b.drop(columns="mean_fit_seconds")
    )
    assert set(params_a) == {"max_depth", "min_samples_leaf"}
    assert best_a.named_steps["model"].get_params()["max_depth"] == params_a["max_depth"]
    X, _ = _poisson_data(150)
    np.testing.assert_array_equal(best_a.predict(X), best_b.predict(X))


def test_search_n_iter_is_capped_by_grid_size() -> None:
    X, y = _poisson_data(80)
    spec = {"name": "ridge", "search": {"alpha": [0.1, 1.0]}, "n_iter": 10}
    folds = list(KFold(2).split(X))
    _, best, table = search_params(make_pipeline(None, spec, seed=0), spec, X, y, folds, seed=0)
    assert len(table) == 2 and best["alpha"] in {0.1, 1.0}


def test_search_without_space_just_fits_and_refit_false_leaves_unfitted() -> None:
    X, y = _poisson_data(60)
    folds = list(KFold(2).split(X))
    fitted, best, table = search_params(
        make_pipeline(None, {"name": "linear"}, seed=0), {"name": "linear"}, X, y, folds, seed=0
    )
    assert best == {} and table.empty and fitted.predict(X).shape == (60,)
    spec = {"name": "ridge", "search": {"alpha": [0.1, 1.0]}}
    tuned, best, _ = search_params(
        make_pipeline(None, spec, seed=0), spec, X, y, folds, seed=0, refit=False
    )
    assert tuned.named_steps["model"].alpha == best["alpha"]
    assert not hasattr(tuned.named_steps["model"], "coef_")
