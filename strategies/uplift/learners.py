"""Meta-learners for uplift (conditional average treatment effect) with any sklearn base model.

Three strategies, chosen by name from YAML exactly like the other strategy families::

    uplift_learner:
      name: x_learner                 # s_learner | t_learner | x_learner
      base: {name: gradient_boosting, params: {n_estimators: 200, max_depth: 3}}
      outcome: binary                 # binary | continuous | auto (binary when y ⊆ {0, 1})
      propensity: constant            # x_learner only: constant | model
      preprocessor: {categorical: [channel, zip_code], numeric: [recency, history]}

``control`` (the arm label meaning "not contacted", e.g. Hillstrom's ``"No E-Mail"``) and
``seed`` come from the run config, so :func:`build_uplift_learner` takes them as arguments.

Base models. ``base`` names any regressor of :data:`strategies.regressors.REGRESSORS`, or, for a
binary outcome, a classifier of :data:`CLASSIFIERS` whose ``predict_proba[:, 1]`` is the outcome
model (a regressor on a 0/1 outcome is a linear-probability-style model and is allowed too).
Default: histogram gradient boosting (the classifier for binary outcomes), which scales to
millions of rows. In Python, ``base`` (and the X-learner's ``effect_base``/``propensity_base``)
may also be an unfitted sklearn estimator; the learners are sklearn estimators themselves, so
``clone``, nested ``set_params(base__max_depth=...)`` and search tools work on them.

Several arms. ``treatment`` holds arm labels; every label except ``control`` is a treatment
arm and :meth:`UpliftLearner.predict_uplift` returns one column per arm (uplift vs control, in
outcome units: a probability difference for binary outcomes).

* **S-learner**: one outcome model on ``[features, one-hot arm indicators]``; the uplift of arm
  ``a`` is ``μ(x, a) − μ(x, control)``. Interactions between arm and features must be learned
  by the base model (a linear base gives a constant uplift per arm); tree models are biased
  towards 0 when the effect is small next to the noise.
* **T-learner**: one outcome model per arm, ``μ_a(x) − μ_control(x)``.
* **X-learner** (Künzel et al. 2019, PNAS 116(10)): per arm ``a``, with the T-learner's ``μ_a``
  and ``μ_0``, imputed effects ``D1 = y − μ_0(x)`` on the arm's rows and ``D0 = μ_a(x) − y`` on
  control rows, second-stage regressors ``τ1`` (on ``D1``) and ``τ0`` (on ``D0``), combined as
  ``g(x)·τ0(x) + (1 − g(x))·τ1(x)`` with ``g`` the propensity of arm ``a`` vs control:
  the arm's share of the two groups (``propensity: constant``, right for a randomised test) or
  a classifier (``propensity: model``, clipped to ``[clip, 1 − clip]``).

Features: a pandas DataFrame. Without a preprocessor every column must be numeric; with one
(an sklearn transformer, or a spec ``{categorical, numeric, features}`` built by
:func:`strategies.features.build_preprocessor`) it is fitted once on all training rows (it sees
no outcome, so no leakage) and shared by every model of the learner.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier, is_regressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from strategies.errors import ConfigError, InputDataError
from strategies.features import build_preprocessor
from strategies.registry import registrar, resolve_spec
from strategies.regressors import REGRESSORS, build_regressor

__all__ = [
    "CLASSIFIERS",
    "OUTCOMES",
    "UPLIFT_LEARNERS",
    "SLearner",
    "TLearner",
    "UpliftLearner",
    "XLearner",
    "build_base_model",
    "build_classifier",
    "build_uplift_learner",
    "make_uplift_preprocessor",
]

OUTCOMES = ("auto", "binary", "continuous")
"""Allowed values of ``outcome``; ``auto`` means binary when every ``y`` is 0 or 1."""

DEFAULT_BASE = {
    "binary": "hist_gradient_boosting_classifier",
    "continuous": "hist_gradient_boosting",
}
"""Base model used when a spec gives no ``base``."""

_BASE_KEYS = ("name", "params")
_PREPROCESSOR_KEYS = ("categorical", "numeric", "features")


# --------------------------------------------------------------------------------------------
# classifier registry (binary outcomes and propensity models)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ClassifierEntry:
    factory: Callable[..., ClassifierMixin]
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    effect_regressor: str = "hist_gradient_boosting"
    description: str = ""


CLASSIFIERS: dict[str, _ClassifierEntry] = {
    "logistic": _ClassifierEntry(
        LogisticRegression, {"max_iter": 1000}, "ridge", "L2-penalised logistic regression"
    ),
    "gradient_boosting_classifier": _ClassifierEntry(
        GradientBoostingClassifier, {}, "gradient_boosting", "boosted trees (log loss)"
    ),
    "random_forest_classifier": _ClassifierEntry(
        RandomForestClassifier, {"n_estimators": 200}, "random_forest", "random forest"
    ),
    "hist_gradient_boosting_classifier": _ClassifierEntry(
        HistGradientBoostingClassifier, {}, "hist_gradient_boosting", "histogram boosting"
    ),
}
"""Classifiers for binary outcomes (``predict_proba[:, 1]`` is the outcome model) and for the
X-learner's propensity. ``effect_regressor`` is the regressor (default parameters) the X-learner
uses for its second stage when ``base`` is this classifier and no ``effect_base`` is given."""


def _check_base_spec(spec: Any, role: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{role} must be a mapping {{name, params}}, got {spec!r}")
    unknown = sorted(set(spec) - set(_BASE_KEYS))
    if unknown:
        raise ConfigError(
            f"{role} has unknown key(s) {', '.join(map(repr, unknown))} "
            f"(valid keys: {', '.join(_BASE_KEYS)})"
        )
    name = spec.get("name")
    params = spec.get("params") or {}
    valid = ", ".join(sorted({*REGRESSORS, *CLASSIFIERS}))
    if name not in REGRESSORS and name not in CLASSIFIERS:
        raise ConfigError(f"{role}: unknown model {name!r} (valid names: {valid})")
    if not isinstance(params, Mapping):
        raise ConfigError(f"{role} {name!r}: 'params' must be a mapping, got {params!r}")
    return name, dict(params)


def build_classifier(spec: Mapping[str, Any], *, seed: int) -> BaseEstimator:
    """Build an unfitted classifier of :data:`CLASSIFIERS` from ``{name, params}``, seeded
    wherever it has a ``random_state`` the spec does not fix."""
    name, params = _check_base_spec(spec, "classifier spec")
    if name not in CLASSIFIERS:
        raise ConfigError(
            f"classifier spec: {name!r} is not a classifier "
            f"(valid names: {', '.join(sorted(CLASSIFIERS))})"
        )
    entry = CLASSIFIERS[name]
    valid = set(entry.factory().get_params(deep=False))
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"classifier {name!r} got unknown parameter(s) {', '.join(map(repr, unknown))} "
            f"(valid parameters: {', '.join(sorted(valid))})"
        )
    merged = {**entry.defaults, **params}
    estimator = entry.factory(**merged)
    if "random_state" in valid and "random_state" not in merged:
        estimator.set_params(random_state=seed)
    return estimator


def build_base_model(spec: Mapping[str, Any], *, outcome: str, seed: int) -> BaseEstimator:
    """The unfitted outcome model of a ``{name, params}`` spec: a registered regressor (any
    outcome) or a registered classifier (binary outcome only)."""
    name, params = _check_base_spec(spec, "base model")
    if name in CLASSIFIERS:
        if outcome == "continuous":
            raise ConfigError(
                f"base model {name!r} is a classifier and needs a binary outcome; use a "
                f"regressor for a continuous outcome (e.g. {DEFAULT_BASE['continuous']!r})"
            )
        return build_classifier(spec, seed=seed)
    return build_regressor({"name": name, "params": params}, seed=seed)


def _is_estimator(value: Any) -> bool:
    """An estimator instance given in place of a ``{name, params}`` spec (not a class)."""
    return hasattr(value, "fit") and hasattr(value, "get_params") and not isinstance(value, type)


def _check_model_value(value: Any, role: str) -> None:
    if not _is_estimator(value) and not isinstance(value, Mapping):
        raise ConfigError(
            f"{role} must be a mapping {{name, params}} or an unfitted sklearn estimator, "
            f"got {value!r}"
        )


def _seeded(estimator: BaseEstimator, seed: int) -> BaseEstimator:
    """An unfitted copy of an estimator given as a parameter, with the run ``seed`` as its
    ``random_state`` when it leaves that at ``None`` (a fixed one is the user's choice), so an
    estimator is as reproducible as the spec naming it; the parameter itself is never changed."""
    model = clone(estimator)
    params = model.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=seed)
    return model


def _outcome_model(base: Any, *, outcome: str, seed: int, role: str) -> BaseEstimator:
    """The unfitted outcome model of ``base`` (spec, estimator or ``None`` for
    :data:`DEFAULT_BASE`); with ``outcome="auto"`` (not yet resolved) it only checks ``base``."""
    if base is None:
        return build_base_model({"name": DEFAULT_BASE[outcome]}, outcome=outcome, seed=seed)
    _check_model_value(base, role)
    if not _is_estimator(base):
        return build_base_model(base, outcome=outcome, seed=seed)
    if outcome == "continuous" and is_classifier(base):
        raise ConfigError(
            f"{role} {type(base).__name__} is a classifier and needs a binary outcome; use a "
            "regressor for a continuous outcome"
        )
    return _seeded(base, seed)


def _effect_regressor(value: Any, *, seed: int, role: str) -> BaseEstimator:
    """The X-learner's second-stage model: a regressor, as the imputed effects are continuous."""
    _check_model_value(value, role)
    if _is_estimator(value):
        if not is_regressor(value):
            raise ConfigError(
                f"{role} {type(value).__name__} must be a regressor (the imputed effects are "
                "continuous)"
            )
        return _seeded(value, seed)
    name, _ = _check_base_spec(value, role)
    if name not in REGRESSORS:
        raise ConfigError(
            f"{role} {name!r} must be a regressor (the imputed effects are "
            f"continuous); valid names: {', '.join(sorted(REGRESSORS))}"
        )
    return build_regressor(value, seed=seed)


def _classifier(value: Any, *, seed: int, role: str) -> BaseEstimator:
    """A propensity model: a classifier spec of :data:`CLASSIFIERS` or a classifier instance."""
    _check_model_value(value, role)
    if not _is_estimator(value):
        return build_classifier(value, seed=seed)
    if not is_classifier(value):
        raise ConfigError(f"{role} {type(value).__name__} is not a classifier")
    return _seeded(value, seed)


def make_uplift_preprocessor(
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    features: Sequence[Mapping[str, Any]] = (),
) -> Any:
    """An unfitted ``ColumnTransformer``: ``categorical`` columns one-hot encoded (as text;
    unseen levels become all-zero rows), ``numeric`` passed through (missing → 0), plus any
    engineered ``features`` specs of :mod:`strategies.features`. Other columns are dropped."""
    return build_preprocessor(list(features), categorical=tuple(categorical), numeric=numeric)


def _preprocessor_from_spec(spec: Any) -> Any:
    if spec is None or hasattr(spec, "fit_transform"):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(
            "preprocessor must be an sklearn transformer or a mapping "
            f"{{categorical, numeric, features}}, got {spec!r}"
        )
    unknown = sorted(set(spec) - set(_PREPROCESSOR_KEYS))
    if unknown:
        raise ConfigError(
            f"preprocessor has unknown key(s) {', '.join(map(repr, unknown))} "
            f"(valid keys: {', '.join(_PREPROCESSOR_KEYS)})"
        )
    return make_uplift_preprocessor(
        categorical=spec.get("categorical") or (),
        numeric=spec.get("numeric") or (),
        features=spec.get("features") or (),
    )


# --------------------------------------------------------------------------------------------
# fitting helpers
# --------------------------------------------------------------------------------------------


class _ConstantProbability:
    """Outcome model for an arm whose binary outcome has a single value (a classifier cannot
    be fitted on one class): predicts that value."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return np.full(len(Z), self.value)


def _fit_outcome(model: BaseEstimator, Z: np.ndarray, y: np.ndarray) -> Any:
    if is_classifier(model):
        if np.unique(y).size < 2:
            return _ConstantProbability(y[0])
        return clone(model).fit(Z, y.astype(np.int64))
    return clone(model).fit(Z, y)


def _predict_outcome(model: Any, Z: np.ndarray) -> np.ndarray:
    if isinstance(model, _ConstantProbability):
        return model.predict(Z)
    if is_classifier(model):
        proba = model.predict_proba(Z)
        classes = list(model.classes_)
        return proba[:, classes.index(1)] if 1 in classes else np.zeros(len(Z))
    return np.asarray(model.predict(Z), dtype=np.float64)


def _ordered_labels(labels: np.ndarray) -> list[Any]:
    unique = list(pd.unique(labels))
    try:
        return sorted(unique)
    except TypeError:
        return unique


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------


class UpliftLearner(BaseEstimator, ABC):
    """A meta-learner: :meth:`fit` on ``(X, treatment, y)``, then :meth:`predict_uplift`.

    Parameters (the YAML keys): ``control`` (the control arm label), ``base`` (the outcome
    model: a ``{name, params}`` spec or an unfitted sklearn estimator; default
    :data:`DEFAULT_BASE`), ``outcome`` (``auto``, ``binary`` or ``continuous``),
    ``preprocessor`` (transformer or ``{categorical, numeric, features}`` mapping; ``None``:
    numeric features as they are) and ``seed`` (applied to every model whose ``random_state``
    the spec does not fix, or that an estimator leaves at ``None``).

    An sklearn estimator: the constructor only stores its arguments, so :func:`sklearn.base.clone`,
    ``get_params``/``set_params`` (nested ``base__max_depth`` when ``base`` is an estimator) and
    skops serialisation work; parameters are checked by :meth:`fit` (and eagerly by
    :func:`build_uplift_learner`). After fitting: ``arms_`` (treatment arms, one output column
    each, sorted), ``outcome_`` (the resolved outcome type), ``preprocessor_``,
    ``feature_names_in_`` and ``n_features_in_``, plus each learner's fitted models.
    """

    name: ClassVar[str]
    _fitted_models: ClassVar[tuple[str, ...]] = ()
    """Attributes :meth:`_fit` sets last: present only after a fit that went through."""

    def __init__(
        self,
        control: Any = None,
        base: Mapping[str, Any] | BaseEstimator | None = None,
        outcome: str = "auto",
        preprocessor: Any = None,
        seed: int = 0,
    ) -> None:
        # sklearn contract: store verbatim, nothing else; checks and derived state are in fit.
        self.control = control
        self.base = base
        self.outcome = outcome
        self.preprocessor = preprocessor
        self.seed = seed

    # ---- public API ----------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, treatment: Any, y: Any) -> UpliftLearner:
        """Fit on features ``X`` (DataFrame), arm labels ``treatment`` and outcome ``y``.

        A refit starts from scratch: the previous fit's attributes are dropped first, so a
        failed refit leaves an unfitted learner rather than a mix of old and new models.
        """
        for attribute in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attribute)
        self._check_params()
        frame = self._as_frame(X)
        labels, outcome = self._check_training(frame, treatment, y)
        with self._about("base"):
            base = _outcome_model(self.base, outcome=outcome, seed=int(self.seed), role="base")
        template = _preprocessor_from_spec(self.preprocessor)
        preprocessor = None if template is None else clone(template).fit(frame)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.outcome_ = outcome
        self.arms_ = [a for a in _ordered_labels(labels) if a != self.control]
        self.preprocessor_ = preprocessor
        Z = self._transform(frame)
        self._fit(Z, labels, np.asarray(y, dtype=np.float64), base)
        return self

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        """Predicted uplift vs control, one column per arm (``arms_``), indexed like ``X``."""
        self._check_fitted()
        frame, Z = self._features(X)
        effects = self._predict(Z)
        return pd.DataFrame({arm: effects[arm] for arm in self.arms_}, index=frame.index)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Same as :meth:`predict_uplift`: what MLflow's pyfunc and ``mlflow models serve`` call,
        so a registered learner answers with one uplift column per arm."""
        return self.predict_uplift(X)

    # ---- to implement ----------------------------------------------------------------------

    @abstractmethod
    def _fit(self, Z: np.ndarray, labels: np.ndarray, y: np.ndarray, base: BaseEstimator) -> None:
        """Fit on the preprocessed feature matrix; ``base`` is the unfitted outcome model."""

    @abstractmethod
    def _predict(self, Z: np.ndarray) -> dict[Any, np.ndarray]:
        """Uplift per arm for the preprocessed feature matrix."""

    # ---- parameter checks ------------------------------------------------------------------

    def _check_params(self) -> None:
        """Every check of the constructor parameters, each error naming the parameter and its
        value. :meth:`fit` runs it (so ``set_params`` and ``clone`` meet the same rules) and
        :func:`build_uplift_learner` runs it at once, so a config typo fails before any data is
        loaded."""
        if self.control is None:
            raise ConfigError(f"uplift learner {self.name!r} needs a 'control' arm label")
        if self.outcome not in OUTCOMES:
            raise ConfigError(
                f"uplift learner {self.name!r}: outcome must be one of {', '.join(OUTCOMES)}, "
                f"got {self.outcome!r}"
            )
        seed = self.seed
        if (
            isinstance(seed, bool)
            or not isinstance(seed, int | np.integer)
            or not 0 <= seed < 2**32  # numpy's RandomState range, where every seed ends up
        ):
            raise ConfigError(
                f"uplift learner {self.name!r}: seed must be an integer in [0, 2**32 - 1], "
                f"got {seed!r}"
            )
        if self.base is not None:
            with self._about("base"):
                _outcome_model(self.base, outcome=self.outcome, seed=int(seed), role="base")
        with self._about("preprocessor"):
            _preprocessor_from_spec(self.preprocessor)

    @contextmanager
    def _about(self, parameter: str) -> Iterator[None]:
        """Prefix a :class:`ConfigError` raised inside with the learner and the parameter."""
        try:
            yield
        except ConfigError as exc:
            raise ConfigError(
                f"uplift learner {self.name!r}, parameter {parameter!r}: {exc}"
            ) from exc

    # ---- helpers ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        check_is_fitted(self, ["arms_", *self._fitted_models])

    @staticmethod
    def _as_frame(X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        array = np.asarray(X)
        if array.ndim != 2:
            raise InputDataError(f"X must be a DataFrame or a 2-D array, got shape {array.shape}")
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])

    def _features(self, X: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The prediction frame and its preprocessed matrix, checked against the fit."""
        frame = self._as_frame(X)
        if self.preprocessor_ is None:
            missing = [c for c in self.feature_names_in_ if c not in frame.columns]
            if missing:
                raise InputDataError(
                    f"X lacks feature column(s) {', '.join(map(repr, missing))} seen in fit"
                )
            frame = frame[list(self.feature_names_in_)]
        return frame, self._transform(frame)

    def _transform(self, frame: pd.DataFrame) -> np.ndarray:
        if self.preprocessor_ is not None:
            Z = self.preprocessor_.transform(frame)
            return np.asarray(Z.toarray() if hasattr(Z, "toarray") else Z, dtype=np.float64)
        bad = [
            str(c)
            for c in frame.columns
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
        ]
        if bad:
            raise InputDataError(
                f"feature column(s) {', '.join(map(repr, bad))} are not numeric; give a "
                "preprocessor, e.g. make_uplift_preprocessor(categorical=[...], numeric=[...]) "
                "or preprocessor: {categorical: [...], numeric: [...]} in the spec"
            )
        return frame.to_numpy(dtype=np.float64)

    def _check_training(
        self, frame: pd.DataFrame, treatment: Any, y: Any
    ) -> tuple[np.ndarray, str]:
        labels = np.asarray(treatment, dtype=object)
        yv_raw = np.asarray(y)
        if labels.ndim != 1 or yv_raw.ndim != 1:
            raise InputDataError("treatment and y must be one-dimensional")
        lengths = {"X": len(frame), "treatment": len(labels), "y": len(yv_raw)}
        if len(set(lengths.values())) != 1:
            raise InputDataError(f"X, treatment and y must have the same length, got {lengths}")
        if pd.isna(labels).any():
            raise InputDataError(f"treatment has {int(pd.isna(labels).sum())} missing label(s)")
        present = _ordered_labels(labels)
        if self.control not in present:
            raise InputDataError(
                f"control label {self.control!r} does not occur in treatment "
                f"(labels present: {', '.join(map(repr, present))})"
            )
        if len(present) < 2:
            raise InputDataError(
                f"treatment holds only the control label {self.control!r}; no arm to compare"
            )
        counts = pd.Series(labels).value_counts()
        small = {k: int(v) for k, v in counts.items() if v < 2}
        if small:
            raise InputDataError(
                f"every arm needs at least 2 rows to fit a model; too few rows in {small}"
            )
        try:
            yv = yv_raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InputDataError(f"y must be numeric, got dtype {yv_raw.dtype}") from exc
        n_nan = int(np.isnan(yv).sum())
        if n_nan:
            raise InputDataError(f"y has {n_nan} missing value(s); drop or impute them first")
        if not np.isfinite(yv).all():
            raise InputDataError("y has infinite value(s)")
        is_binary = bool(np.isin(yv, (0.0, 1.0)).all())
        if self.outcome == "binary" and not is_binary:
            bad = pd.unique(yv[~np.isin(yv, (0.0, 1.0))])[:5]
            raise InputDataError(
                f"outcome is declared binary but y has value(s) {list(bad)} outside {{0, 1}}"
            )
        if self.outcome == "auto":
            return labels, "binary" if is_binary else "continuous"
        return labels, self.outcome


UPLIFT_LEARNERS: dict[str, type[UpliftLearner]] = {}
"""Registered uplift learners by config name."""

_register = registrar(UPLIFT_LEARNERS, "uplift learner")


@_register
class SLearner(UpliftLearner):
    """One outcome model on features + one-hot arm indicators (see the module docstring).

    Fitted model: ``model_``."""

    name: ClassVar[str] = "s_learner"
    _fitted_models: ClassVar[tuple[str, ...]] = ("model_",)

    def _design(self, Z: np.ndarray, arm: Any) -> np.ndarray:
        indicators = np.zeros((len(Z), len(self.arms_)))
        if arm != self.control:
            indicators[:, self.arms_.index(arm)] = 1.0
        return np.hstack([Z, indicators])

    def _fit(self, Z: np.ndarray, labels: np.ndarray, y: np.ndarray, base: BaseEstimator) -> None:
        indicators = np.column_stack([(labels == arm).astype(np.float64) for arm in self.arms_])
        self.model_ = _fit_outcome(base, np.hstack([Z, indicators]), y)

    def _predict(self, Z: np.ndarray) -> dict[Any, np.ndarray]:
        baseline = _predict_outcome(self.model_, self._design(Z, self.control))
        return {
            arm: _predict_outcome(self.model_, self._design(Z, arm)) - baseline
            for arm in self.arms_
        }


@_register
class TLearner(UpliftLearner):
    """One outcome model per arm (control included); uplift = ``μ_a(x) − μ_control(x)``.

    Fitted models: ``models_`` (arm label → outcome model)."""

    name: ClassVar[str] = "t_learner"
    _fitted_models: ClassVar[tuple[str, ...]] = ("models_",)

    def _fit(self, Z: np.ndarray, labels: np.ndarray, y: np.ndarray, base: BaseEstimator) -> None:
        self.models_ = {
            arm: _fit_outcome(base, Z[labels == arm], y[labels == arm])
            for arm in [self.control, *self.arms_]
        }

    def _predict(self, Z: np.ndarray) -> dict[Any, np.ndarray]:
        baseline = _predict_outcome(self.models_[self.control], Z)
        return {arm: _predict_outcome(self.models_[arm], Z) - baseline for arm in self.arms_}


@_register
class XLearner(TLearner):
    """Künzel et al.'s X-learner (see the module docstring).

    Extra parameters: ``effect_base`` (regressor spec or estimator for ``τ0``/``τ1``; default
    ``base`` when it is a regressor, else the classifier's counterpart regressor with default
    parameters), ``propensity`` (``constant``: the arm's share of arm + control rows;
    ``model``: a classifier ``propensity_base``, spec or estimator, default logistic
    regression, fitted on arm vs control) and ``propensity_clip`` (model propensities are
    clipped to ``[clip, 1 − clip]``). Fitted models: ``models_`` (the T-learner's),
    ``effect_models_`` (arm → ``(τ0, τ1)``) and ``propensity_models_`` (arm → constant share
    or fitted classifier).
    """

    name: ClassVar[str] = "x_learner"
    _fitted_models: ClassVar[tuple[str, ...]] = (
        "models_",
        "effect_models_",
        "propensity_models_",
    )

    def __init__(
        self,
        control: Any = None,
        base: Mapping[str, Any] | BaseEstimator | None = None,
        outcome: str = "auto",
        preprocessor: Any = None,
        seed: int = 0,
        effect_base: Mapping[str, Any] | BaseEstimator | None = None,
        propensity: str = "constant",
        propensity_base: Mapping[str, Any] | BaseEstimator | None = None,
        propensity_clip: float = 0.01,
    ) -> None:
        super().__init__(
            control=control, base=base, outcome=outcome, preprocessor=preprocessor, seed=seed
        )
        self.effect_base = effect_base
        self.propensity = propensity
        self.propensity_base = propensity_base
        self.propensity_clip = propensity_clip

    def _check_params(self) -> None:
        super()._check_params()
        if self.propensity not in ("constant", "model"):
            raise ConfigError(
                f"uplift learner 'x_learner': propensity must be 'constant' or 'model', "
                f"got {self.propensity!r}"
            )
        clip = self.propensity_clip
        if isinstance(clip, bool) or not isinstance(clip, int | float) or not 0 <= clip < 0.5:
            raise ConfigError(
                f"uplift learner 'x_learner': propensity_clip must be in [0, 0.5), got {clip!r}"
            )
        if self.effect_base is not None:
            with self._about("effect_base"):
                _effect_regressor(self.effect_base, seed=int(self.seed), role="effect_base")
        if self.propensity_base is not None:
            with self._about("propensity_base"):
                _classifier(self.propensity_base, seed=int(self.seed), role="propensity_base")

    def _effect_model(self) -> BaseEstimator:
        seed = int(self.seed)
        if self.effect_base is not None:
            return _effect_regressor(self.effect_base, seed=seed, role="effect_base")
        if self.base is None:
            return build_regressor({"name": DEFAULT_BASE["continuous"]}, seed=seed)
        if _is_estimator(self.base):
            if not is_classifier(self.base):
                return _seeded(self.base, seed)
            entry = next((e for e in CLASSIFIERS.values() if type(self.base) is e.factory), None)
            name = entry.effect_regressor if entry else DEFAULT_BASE["continuous"]
            return build_regressor({"name": name}, seed=seed)
        if self.base["name"] in REGRESSORS:
            return build_regressor(self.base, seed=seed)
        return build_regressor({"name": CLASSIFIERS[self.base["name"]].effect_regressor}, seed=seed)

    def _fit(self, Z: np.ndarray, labels: np.ndarray, y: np.ndarray, base: BaseEstimator) -> None:
        super()._fit(Z, labels, y, base)
        effect = self._effect_model()
        is_control = labels == self.control
        Z0, y0 = Z[is_control], y[is_control]
        mu0 = self.models_[self.control]
        effect_models: dict[Any, tuple[Any, Any]] = {}
        propensity_models: dict[Any, Any] = {}
        for arm in self.arms_:
            in_arm = labels == arm
            Z1, y1 = Z[in_arm], y[in_arm]
            d1 = y1 - _predict_outcome(mu0, Z1)
            d0 = _predict_outcome(self.models_[arm], Z0) - y0
            tau1 = clone(effect).fit(Z1, d1)
            tau0 = clone(effect).fit(Z0, d0)
            effect_models[arm] = (tau0, tau1)
            if self.propensity == "constant":
                propensity_models[arm] = len(y1) / (len(y1) + len(y0))
            else:
                spec = self.propensity_base or {"name": "logistic"}
                target = np.concatenate([np.ones(len(y1)), np.zeros(len(y0))]).astype(np.int64)
                model = _classifier(spec, seed=int(self.seed), role="propensity_base")
                propensity_models[arm] = model.fit(np.vstack([Z1, Z0]), target)
        self.effect_models_ = effect_models
        self.propensity_models_ = propensity_models

    def propensity_scores(self, X: pd.DataFrame) -> pd.DataFrame:
        """``g(x)`` per arm (probability of the arm vs control) as used in the combination."""
        self._check_fitted()
        frame, Z = self._features(X)
        return pd.DataFrame({a: self._g(a, Z) for a in self.arms_}, index=frame.index)

    def _g(self, arm: Any, Z: np.ndarray) -> np.ndarray:
        model = self.propensity_models_[arm]
        if isinstance(model, float):
            return np.full(len(Z), model)
        g = _predict_outcome(model, Z)
        return np.clip(g, self.propensity_clip, 1.0 - self.propensity_clip)

    def _predict(self, Z: np.ndarray) -> dict[Any, np.ndarray]:
        out = {}
        for arm in self.arms_:
            tau0, tau1 = self.effect_models_[arm]
            g = self._g(arm, Z)
            out[arm] = g * tau0.predict(Z) + (1.0 - g) * tau1.predict(Z)
        return out


# --------------------------------------------------------------------------------------------
# building from config
# --------------------------------------------------------------------------------------------


def build_uplift_learner(spec: Mapping[str, Any], *, seed: int, control: Any) -> UpliftLearner:
    """Build an unfitted learner from ``{name, base, outcome, preprocessor, ...}``.

    ``seed`` and ``control`` come from the run config (one seed, one control label for the whole
    run), so the spec must not set them. Unknown names and parameters fail here with the valid
    choices listed: the learner's own checks (normally run by ``fit``) run now, so a config
    error surfaces before a pipeline loads any data.
    """
    if isinstance(spec, Mapping):
        clash = sorted({"seed", "control"} & set(spec))
        if clash:
            raise ConfigError(
                f"uplift learner spec must not set {', '.join(map(repr, clash))}: they are "
                "given by the run config (build_uplift_learner(spec, seed=..., control=...))"
            )
    cls, params = resolve_spec(UPLIFT_LEARNERS, spec, kind="uplift learner")
    if control is None:
        raise ConfigError("build_uplift_learner needs a control arm label")
    learner = cls(**params, seed=seed, control=control)
    learner._check_params()
    return learner
