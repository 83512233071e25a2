"""Regressor strategies for conversion prediction, chosen by name from YAML.

A config lists candidates as ``{name, params, search, n_iter}`` entries;
:func:`parse_regressor_spec` checks every name and parameter against the registry before any data
is touched, so a typo in a config fails fast with the list of valid choices instead of after
minutes of training.

``baseline_mean`` (always predict the training mean) exists so every score has a reference: a model
that cannot beat it has learned nothing. Hyper-parameter search is deliberately bounded
(:data:`DEFAULT_N_ITER`, :data:`MAX_N_ITER`) and seeded so a pipeline run has a predictable runtime
and is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (
    AdaBoostRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, PoissonRegressor, Ridge
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import Pipeline

from strategies.errors import ConfigError

__all__ = [
    "DEFAULT_N_ITER",
    "MAX_N_ITER",
    "REGRESSORS",
    "RegressorSpec",
    "build_regressor",
    "make_pipeline",
    "parse_regressor_spec",
    "search_params",
]

DEFAULT_N_ITER = 10
"""Default number of sampled parameter settings per search: keeps a run's cost predictable."""

MAX_N_ITER = 50
"""Hard cap on ``n_iter`` so a config cannot silently turn a run into an hours-long search."""

_SPEC_KEYS = ("name", "label", "params", "search", "n_iter")


@dataclass(frozen=True)
class _Entry:
    """How to build one registered regressor: the class and the defaults we choose for it."""

    factory: Callable[..., RegressorMixin]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


REGRESSORS: dict[str, _Entry] = {
    "baseline_mean": _Entry(
        DummyRegressor, {"strategy": "mean"}, "training mean; the reference every model must beat"
    ),
    "linear": _Entry(LinearRegression, {}, "ordinary least squares"),
    "ridge": _Entry(Ridge, {}, "L2-penalised least squares"),
    "gradient_boosting": _Entry(GradientBoostingRegressor, {}, "boosted trees (squared error)"),
    "hist_gradient_boosting": _Entry(HistGradientBoostingRegressor, {}, "histogram boosting"),
    "hist_gradient_boosting_poisson": _Entry(
        HistGradientBoostingRegressor,
        {"loss": "poisson"},
        "histogram boosting with Poisson loss; positive predictions for count targets",
    ),
    "random_forest": _Entry(RandomForestRegressor, {"n_estimators": 200}, "random forest"),
    "adaboost": _Entry(AdaBoostRegressor, {}, "AdaBoost on shallow trees"),
    "poisson": _Entry(
        PoissonRegressor,
        {"alpha": 1e-4, "solver": "newton-cholesky", "max_iter": 1000},
        "Poisson GLM (log link); natural model for conversion counts",
    ),
}
"""Registered regressors by config name. Defaults differ from sklearn's only where noted: the
Poisson GLM uses the Newton-Cholesky solver (converges in a few iterations on a handful of
features, where lbfgs needs hundreds) and a light ``alpha``; the forest uses 200 trees."""


@dataclass(frozen=True)
class RegressorSpec:
    """A validated candidate: registry ``name``, a display ``label`` (unique within a
    comparison; defaults to the name), fixed ``params``, an optional ``search`` space
    (parameter → list of values) and the ``n_iter`` cap for that search."""

    name: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)
    search: Mapping[str, list[Any]] = field(default_factory=dict)
    n_iter: int = DEFAULT_N_ITER


def parse_regressor_spec(spec: Mapping[str, Any] | RegressorSpec) -> RegressorSpec:
    """Validate a config entry and return a :class:`RegressorSpec`.

    Parameter names (fixed and searched) are checked against the estimator's own
    ``get_params()`` so that unknown names are rejected here, with the valid names listed.
    """
    if isinstance(spec, RegressorSpec):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(f"a regressor spec must be a mapping with a 'name', got {spec!r}")
    unknown_keys = sorted(set(spec) - set(_SPEC_KEYS))
    if unknown_keys:
        raise ConfigError(
            f"regressor spec has unknown key(s) {', '.join(map(repr, unknown_keys))} "
            f"(valid keys: {', '.join(_SPEC_KEYS)})"
        )
    valid_names = ", ".join(sorted(REGRESSORS))
    name = spec.get("name")
    if name is None:
        raise ConfigError(f"regressor spec has no 'name' (valid names: {valid_names})")
    if name not in REGRESSORS:
        raise ConfigError(f"unknown regressor {name!r} (valid names: {valid_names})")
    label = spec.get("label", name)
    if not isinstance(label, str) or not label:
        raise ConfigError(f"regressor {name!r}: 'label' must be a non-empty string, got {label!r}")

    params = spec.get("params") or {}
    search = spec.get("search") or {}
    for key, value in (("params", params), ("search", search)):
        if not isinstance(value, Mapping):
            raise ConfigError(f"regressor {name!r}: {key!r} must be a mapping, got {value!r}")
    valid_params = set(REGRESSORS[name].factory().get_params(deep=False))
    for key, value in (("params", params), ("search", search)):
        unknown = sorted(set(value) - valid_params)
        if unknown:
            raise ConfigError(
                f"regressor {name!r} got unknown {key[:-1] if key == 'params' else key} "
                f"parameter(s) {', '.join(map(repr, unknown))} "
                f"(valid parameters: {', '.join(sorted(valid_params))})"
            )
    both = sorted(set(params) & set(search))
    if both:
        raise ConfigError(
            f"regressor {name!r}: parameter(s) {', '.join(map(repr, both))} are both fixed in "
            "'params' and searched in 'search'; keep one"
        )
    for param, values in search.items():
        if isinstance(values, str | bytes) or not isinstance(values, list | tuple) or not values:
            raise ConfigError(
                f"regressor {name!r}: search values for {param!r} must be a non-empty list, "
                f"got {values!r}"
            )

    n_iter = spec.get("n_iter", DEFAULT_N_ITER)
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or not 1 <= n_iter <= MAX_N_ITER:
        raise ConfigError(
            f"regressor {name!r}: n_iter must be an integer from 1 to {MAX_N_ITER}, got {n_iter!r}"
        )
    return RegressorSpec(
        name=name,
        label=label,
        params=dict(params),
        search={k: list(v) for k, v in search.items()},
        n_iter=n_iter,
    )


def build_regressor(spec: Mapping[str, Any] | RegressorSpec, *, seed: int) -> BaseEstimator:
    """Build the (unfitted) estimator of a spec, seeded wherever it has a ``random_state``.

    The seed is applied unless the config fixes ``random_state`` itself, so two runs with the
    same seed train the same model.
    """
    parsed = parse_regressor_spec(spec)
    entry = REGRESSORS[parsed.name]
    params = {**entry.defaults, **parsed.params}
    estimator = entry.factory(**params)
    if "random_state" in estimator.get_params(deep=False) and "random_state" not in params:
        estimator.set_params(random_state=seed)
    return estimator


def make_pipeline(
    preprocessor: TransformerMixin | None,
    spec: Mapping[str, Any] | RegressorSpec,
    *,
    seed: int,
) -> Pipeline:
    """Return ``Pipeline([("preprocess", preprocessor), ("model", regressor)])``.

    The preprocessor is cloned so one instance can be shared between candidates without one fit
    leaking into another; ``None`` means the features go to the model unchanged.
    """
    step = "passthrough" if preprocessor is None else clone(preprocessor)
    return Pipeline([("preprocess", step), ("model", build_regressor(spec, seed=seed))])


def search_params(
    pipeline: Pipeline,
    spec: Mapping[str, Any] | RegressorSpec,
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray,
    folds: Iterable[tuple[np.ndarray, np.ndarray]],
    *,
    seed: int,
    scoring: str | Callable[..., float] | None = None,
    refit: bool = True,
) -> tuple[Pipeline, dict[str, Any], pd.DataFrame]:
    """Bounded, seeded random search over the spec's ``search`` space on the given folds.

    Returns the best pipeline refitted on all of ``X``/``y``, the best parameters (model
    parameter names, without the ``model__`` prefix) and a table with one row per tried setting,
    best first. At most ``min(spec.n_iter, grid size)`` settings are tried, so runtime is
    predictable. ``scoring`` is any sklearn scorer (``None``: the model's R²). With
    ``refit=False`` the returned pipeline carries the best parameters but is not fitted (for
    callers that fit on other rows, e.g. a holdout's training part). With an empty search space no
    search runs and the table is empty.
    """
    parsed = parse_regressor_spec(spec)
    fold_list = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
    if not fold_list:
        raise ConfigError("search_params needs at least one (train_idx, test_idx) fold")
    if not parsed.search:
        unchanged = clone(pipeline).fit(X, y) if refit else clone(pipeline)
        empty = pd.DataFrame(
            columns=["params", "mean_score", "std_score", "rank", "mean_fit_seconds"]
        )
        return unchanged, {}, empty

    grid_size = math.prod(len(v) for v in parsed.search.values())
    n_iter = min(parsed.n_iter, grid_size)
    distributions = {f"model__{k}": list(v) for k, v in parsed.search.items()}
    search = RandomizedSearchCV(
        clone(pipeline),
        distributions,
        n_iter=n_iter,
        scoring=scoring,
        cv=fold_list,
        random_state=seed,
        refit=False,
        error_score=np.nan,
    )
    search.fit(X, y)
    results = search.cv_results_
    table = pd.DataFrame(
        {
            "params": [
                {k.removeprefix("model__"): v for k, v in p.items()} for p in results["params"]
            ],
            "mean_score": results["mean_test_score"],
            "std_score": results["std_test_score"],
            "rank": results["rank_test_score"],
            "mean_fit_seconds": results["mean_fit_time"],
        }
    ).sort_values("rank", kind="stable", ignore_index=True)
    if np.isnan(results["mean_test_score"]).all():
        raise ConfigError(
            f"every searched setting of regressor {parsed.label!r} failed to fit or score; "
            "check the search space"
        )
    best = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
    tuned = clone(pipeline).set_params(**search.best_params_)
    if refit:
        tuned.fit(X, y)
    return tuned, best, table
