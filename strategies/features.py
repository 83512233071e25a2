"""Feature-engineering strategies for ad-level conversion models (KAG-shaped data).

Why strategies that *produce sklearn transformers* rather than functions that rewrite a frame:
the preprocessing must be fitted on the training rows only and travel with the model, so the
whole thing is one :class:`sklearn.pipeline.Pipeline` (preprocessor + regressor) that can be
cross-validated without leakage, pickled, logged and served. Each strategy is a small frozen
dataclass chosen by name from YAML, e.g.::

    [{"name": "ctr"}, {"name": "cpc"}, {"name": "log1p", "columns": ["Impressions", "Spent"]}]

and :func:`build_preprocessor` turns the list into one :class:`ColumnTransformer`.

Division by zero. 207 of the real ads have zero clicks and zero spend (and a few simulated ones
could have zero impressions), so CPC and friends are undefined there. A ratio with a zero (or
missing) denominator is set to **0** and a companion indicator column ``<name>_undefined`` is 1
on exactly those rows, so a model can learn a separate level for "no clicks" instead of
receiving NaN/inf or a fake huge value. The output never holds NaN or inf.

Categoricals (``age``, ``gender``, ``interest``) are one-hot encoded after casting to text, so
``interest`` codes are categories, not a scale; levels unseen at fit time become all-zero rows
(``handle_unknown="ignore"``) instead of an error at prediction time. That is never silent:
:func:`unknown_category_mask` finds them in new data, and batch scoring counts them per column,
flags each row and warns (or refuses, with ``unknown_categories: error``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from strategies.errors import ConfigError, InputDataError
from strategies.registry import registrar, resolve_spec

__all__ = [
    "FEATURE_STRATEGIES",
    "CPC",
    "CPM",
    "CTR",
    "FeatureStrategy",
    "Log1p",
    "OneHot",
    "Passthrough",
    "RatioTransformer",
    "SpendPerImpression",
    "build_feature_strategies",
    "build_preprocessor",
    "unknown_category_mask",
]

DEFAULT_CATEGORICAL: tuple[str, ...] = ("age", "gender", "interest")


# --------------------------------------------------------------------------------------------
# sklearn transformers (module-level so fitted pipelines pickle)
# --------------------------------------------------------------------------------------------


class RatioTransformer(TransformerMixin, BaseEstimator):
    """``scale * numerator / denominator`` plus an ``<name>_undefined`` 0/1 indicator.

    Rows whose denominator is 0 or missing (or whose numerator is missing) get ratio 0 and
    indicator 1 (see the module docstring for why). Stateless: ``fit`` only records the input.
    """

    def __init__(
        self,
        numerator: str = "Clicks",
        denominator: str = "Impressions",
        scale: float = 1.0,
        name: str = "ratio",
    ) -> None:
        self.numerator = numerator
        self.denominator = denominator
        self.scale = scale
        self.name = name

    def fit(self, X: pd.DataFrame, y: Any = None) -> RatioTransformer:
        self._check(X)
        self.n_features_in_ = 2
        self.feature_names_in_ = np.array([self.numerator, self.denominator], dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        self._check(X)
        num = pd.to_numeric(X[self.numerator], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        den = pd.to_numeric(X[self.denominator], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        undefined = ~np.isfinite(num) | ~np.isfinite(den) | (den == 0)
        safe_den = np.where(undefined, 1.0, den)
        ratio = np.where(undefined, 0.0, self.scale * np.where(undefined, 0.0, num) / safe_den)
        return np.column_stack([ratio, undefined.astype(np.float64)])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([self.name, f"{self.name}_undefined"], dtype=object)

    def _check(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise InputDataError(
                f"feature {self.name!r} needs a DataFrame with columns "
                f"'{self.numerator}' and '{self.denominator}', got {type(X).__name__}"
            )
        missing = [c for c in (self.numerator, self.denominator) if c not in X.columns]
        if missing:
            raise InputDataError(
                f"feature {self.name!r} needs column(s) {', '.join(map(repr, missing))} which "
                f"the data does not have (columns present: {', '.join(map(str, X.columns))})"
            )


def _safe_log1p(X: Any) -> np.ndarray:
    """log1p of non-negative values; negative/missing values become 0 (no NaN downstream)."""
    values = np.asarray(pd.DataFrame(X).apply(pd.to_numeric, errors="coerce"), dtype=np.float64)
    values = np.where(np.isfinite(values) & (values > 0), values, 0.0)
    return np.log1p(values)


def _to_float(X: Any) -> np.ndarray:
    values = np.asarray(pd.DataFrame(X).apply(pd.to_numeric, errors="coerce"), dtype=np.float64)
    return np.where(np.isfinite(values), values, 0.0)


def _as_text(X: Any) -> np.ndarray:
    """Cast categories to text so integer codes (``interest``) are labels, not magnitudes."""
    frame = pd.DataFrame(X).astype(object)
    return frame.where(frame.notna(), "missing").astype(str).to_numpy(dtype=object)


def _log1p_names(transformer: Any, input_features: Any) -> list[str]:
    return [f"log1p_{c}" for c in input_features]


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


class FeatureStrategy(ABC):
    """One named feature family; yields one ``ColumnTransformer`` entry.

    Subclasses are frozen dataclasses whose fields are the config parameters.
    """

    name: ClassVar[str]

    @abstractmethod
    def step(self) -> tuple[str, Any, list[str]]:
        """Return ``(step_name, unfitted sklearn transformer, input columns)``."""


FEATURE_STRATEGIES: dict[str, type[FeatureStrategy]] = {}

_register = registrar(FEATURE_STRATEGIES, "feature strategy")


@dataclass(frozen=True)
class _Ratio(FeatureStrategy):
    numerator: str
    denominator: str
    scale: float = 1.0

    def __post_init__(self) -> None:
        for param in ("numerator", "denominator"):
            if not isinstance(getattr(self, param), str) or not getattr(self, param):
                raise ConfigError(
                    f"feature strategy {self.name!r}: parameter {param!r} must be a column "
                    f"name, got {getattr(self, param)!r}"
                )
        if isinstance(self.scale, bool) or not isinstance(self.scale, int | float):
            raise ConfigError(
                f"feature strategy {self.name!r}: parameter 'scale' must be a number, "
                f"got {self.scale!r}"
            )

    def step(self) -> tuple[str, Any, list[str]]:
        transformer = RatioTransformer(self.numerator, self.denominator, self.scale, self.name)
        return self.name, transformer, [self.numerator, self.denominator]


@_register
@dataclass(frozen=True)
class CTR(_Ratio):
    """Click-through rate ``Clicks / Impressions``: how engaging the ad is for its audience."""

    name: ClassVar[str] = "ctr"
    numerator: str = "Clicks"
    denominator: str = "Impressions"


@_register
@dataclass(frozen=True)
class CPC(_Ratio):
    """Cost per click ``Spent / Clicks``: what the auction charges for this audience."""

    name: ClassVar[str] = "cpc"
    numerator: str = "Spent"
    denominator: str = "Clicks"


@_register
@dataclass(frozen=True)
class CPM(_Ratio):
    """Cost per thousand impressions ``1000 * Spent / Impressions``: the price of reach."""

    name: ClassVar[str] = "cpm"
    numerator: str = "Spent"
    denominator: str = "Impressions"
    scale: float = 1000.0


@_register
@dataclass(frozen=True)
class SpendPerImpression(_Ratio):
    """``Spent / Impressions`` (CPM without the 1000), for models that want raw units."""

    name: ClassVar[str] = "spend_per_impression"
    numerator: str = "Spent"
    denominator: str = "Impressions"


def _check_columns(strategy: str, columns: Any) -> tuple[str, ...]:
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise ConfigError(
            f"feature strategy {strategy!r}: parameter 'columns' must be a list of column "
            f"names, got {columns!r}"
        )
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise ConfigError(
            f"feature strategy {strategy!r}: parameter 'columns' must be a non-empty list of "
            f"column names, got {list(columns)!r}"
        )
    return tuple(dict.fromkeys(columns))


@_register
@dataclass(frozen=True)
class Log1p(FeatureStrategy):
    """``log1p`` of heavy-tailed counts/amounts (impressions span 4 orders of magnitude), so a
    linear model sees elasticities instead of being dominated by the largest ads. Negative or
    missing values become 0."""

    name: ClassVar[str] = "log1p"
    columns: tuple[str, ...] = ("Impressions", "Clicks", "Spent")

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _check_columns(self.name, self.columns))

    def step(self) -> tuple[str, Any, list[str]]:
        transformer = FunctionTransformer(_safe_log1p, feature_names_out=_log1p_names)
        return self.name, transformer, list(self.columns)


@_register
@dataclass(frozen=True)
class Passthrough(FeatureStrategy):
    """Raw numeric columns as they are (missing/inf become 0), e.g. for tree models."""

    name: ClassVar[str] = "passthrough"
    columns: tuple[str, ...] = ("Impressions", "Clicks", "Spent")

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _check_columns(self.name, self.columns))

    def step(self) -> tuple[str, Any, list[str]]:
        transformer = FunctionTransformer(_to_float, feature_names_out="one-to-one")
        return self.name, transformer, list(self.columns)


@_register
@dataclass(frozen=True)
class OneHot(FeatureStrategy):
    """One-hot encoding of categorical columns (as text); unseen levels become all zeros."""

    name: ClassVar[str] = "one_hot"
    columns: tuple[str, ...] = DEFAULT_CATEGORICAL
    min_frequency: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _check_columns(self.name, self.columns))
        if self.min_frequency is not None and (
            isinstance(self.min_frequency, bool)
            or not isinstance(self.min_frequency, int)
            or self.min_frequency < 1
        ):
            raise ConfigError(
                f"feature strategy {self.name!r}: min_frequency must be a positive integer or "
                f"null, got {self.min_frequency!r}"
            )

    def step(self) -> tuple[str, Any, list[str]]:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist" if self.min_frequency else "ignore",
            min_frequency=self.min_frequency,
            sparse_output=False,
            dtype=np.float64,
        )
        transformer = Pipeline(
            [
                ("as_text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
                ("encode", encoder),
            ]
        )
        return self.name, transformer, list(self.columns)


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_feature_strategies(specs: Sequence[Mapping[str, Any]]) -> list[FeatureStrategy]:
    """Turn config entries ``{"name": ..., **params}`` into strategies, checking every name and
    parameter up front so a typo fails before any data is read."""
    if isinstance(specs, Mapping | str) or not isinstance(specs, Sequence):
        raise ConfigError(
            "feature strategies must be a list of {name: ..., <params>} entries, "
            f"got {type(specs).__name__}"
        )
    out: list[FeatureStrategy] = []
    for position, spec in enumerate(specs):
        cls, params = resolve_spec(
            FEATURE_STRATEGIES, spec, kind="feature strategy", position=position
        )
        if "columns" in params and isinstance(params["columns"], list):
            params["columns"] = tuple(params["columns"])
        out.append(cls(**params))
    return out


def build_preprocessor(
    specs: Sequence[Mapping[str, Any]],
    *,
    categorical: Sequence[str] = DEFAULT_CATEGORICAL,
    numeric: Sequence[str] = (),
) -> ColumnTransformer:
    """One unfitted ``ColumnTransformer``: ``categorical`` one-hot encoded (pass ``()`` to skip),
    ``numeric`` passed through raw, plus every engineered feature in ``specs``.

    Columns not named anywhere are dropped, so identifiers (``ad_id``) and the target never
    reach the model by accident. Put the result first in a ``Pipeline`` with the regressor.
    """
    strategies = build_feature_strategies(specs)
    if categorical:
        strategies.insert(0, OneHot(columns=tuple(categorical)))
    if numeric:
        strategies.insert(0, Passthrough(columns=tuple(numeric)))
    if not strategies:
        raise ConfigError("the preprocessor would produce no features: give specs or columns")
    steps: list[tuple[str, Any, list[str]]] = []
    seen: dict[str, int] = {}
    for strategy in strategies:
        step_name, transformer, columns = strategy.step()
        seen[step_name] = seen.get(step_name, 0) + 1
        if seen[step_name] > 1:
            step_name = f"{step_name}_{seen[step_name]}"
        steps.append((step_name, transformer, columns))
    return ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)


def _encoders(model: Any) -> list[tuple[list[str], OneHotEncoder]]:
    """``(input columns, fitted OneHotEncoder)`` of every one-hot step inside ``model`` (a
    Pipeline, a ColumnTransformer or anything holding them), searched recursively."""
    found: list[tuple[list[str], OneHotEncoder]] = []
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            found += _encoders(step)
    elif isinstance(model, ColumnTransformer) and hasattr(model, "transformers_"):
        for _, transformer, columns in model.transformers_:
            encoder = transformer
            if isinstance(transformer, Pipeline):
                encoder = next(
                    (s for _, s in transformer.steps if isinstance(s, OneHotEncoder)), None
                )
            if isinstance(encoder, OneHotEncoder) and hasattr(encoder, "categories_"):
                if isinstance(columns, str):
                    columns = [columns]
                found.append(([str(c) for c in columns], encoder))
            else:
                found += _encoders(transformer)
    return found


def unknown_category_mask(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per one-hot encoded input column of the fitted ``model``: True where
    the row's value (as text, as the encoder sees it) was never seen when the model was fitted.
    Empty (no columns) when the model encodes no categories."""
    mask: dict[str, np.ndarray] = {}
    for columns, encoder in _encoders(model):
        present = [c for c in columns if c in X.columns]
        if len(present) != len(columns):
            continue  # the schema check names missing columns
        text = _as_text(X[columns])
        for position, column in enumerate(columns):
            seen = np.asarray(encoder.categories_[position], dtype=object).astype(str)
            unseen = ~np.isin(text[:, position].astype(str), seen)
            mask[column] = mask[column] | unseen if column in mask else unseen
    return pd.DataFrame(mask, index=X.index)
