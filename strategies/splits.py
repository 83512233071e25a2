"""Split strategies: how rows are divided into train and test, for a holdout and for CV folds.

Why a strategy and not always ``train_test_split``: in ad data, several ads share an ad set
(``fb_campaign_id``) with the same audience and near-identical outcomes, so a random split puts
near-duplicates on both sides and reports optimistic scores. The honest choice depends on the
question asked ("new ads in known ad sets" → random, "new ad sets" → grouped, "next month" →
time), so the config names it::

    split: {name: grouped, column: fb_campaign_id, test_size: 0.2, seed: 42}

Every strategy returns **positional** row indices (``numpy`` int arrays usable with
``df.iloc``), sorted ascending, and is deterministic for a given seed and input.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold

from strategies.errors import ConfigError, InputDataError
from strategies.registry import registrar, resolve_spec

__all__ = [
    "SPLIT_STRATEGIES",
    "GroupedSplit",
    "RandomSplit",
    "SplitStrategy",
    "TimeSplit",
    "make_split",
]

Indices = tuple[np.ndarray, np.ndarray]


class SplitStrategy(ABC):
    """One way of dividing rows. Subclasses are frozen dataclasses whose fields are the config
    parameters; ``name`` is the config key in :data:`SPLIT_STRATEGIES`."""

    name: ClassVar[str]
    test_size: float

    @abstractmethod
    def holdout(self, df: pd.DataFrame) -> Indices:
        """Return ``(train_idx, test_idx)``: disjoint positional indices covering every row."""

    @abstractmethod
    def cv_folds(self, df: pd.DataFrame, n_splits: int = 5) -> Iterator[Indices]:
        """Yield ``n_splits`` pairs ``(train_idx, test_idx)`` of positional indices."""


SPLIT_STRATEGIES: dict[str, type[SplitStrategy]] = {}

_register = registrar(SPLIT_STRATEGIES, "split strategy")


def _check_common(strategy: SplitStrategy) -> None:
    size = strategy.test_size
    if isinstance(size, bool) or not isinstance(size, int | float) or not 0.0 < size < 1.0:
        raise ConfigError(
            f"split strategy {strategy.name!r}: test_size must be a number strictly between 0 "
            f"and 1, got {size!r}"
        )
    seed = getattr(strategy, "seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(
            f"split strategy {strategy.name!r}: seed must be a non-negative integer, got {seed!r}"
        )
    column = getattr(strategy, "column", "x")
    if not isinstance(column, str) or not column:
        raise ConfigError(
            f"split strategy {strategy.name!r}: column must be a column name, got {column!r}"
        )


def _check_n_splits(strategy: str, n_splits: Any, n_units: int, unit: str) -> None:
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise ConfigError(
            f"split strategy {strategy!r}: n_splits must be an integer >= 2, got {n_splits!r}"
        )
    if n_units < n_splits:
        raise InputDataError(
            f"split strategy {strategy!r}: {n_splits} folds need at least {n_splits} {unit}, "
            f"the data has {n_units}"
        )


def _column(df: pd.DataFrame, column: str, strategy: str) -> pd.Series:
    if column not in df.columns:
        raise InputDataError(
            f"split strategy {strategy!r} needs column '{column}' which the data does not have "
            f"(columns present: {', '.join(map(str, df.columns))})"
        )
    series = df[column]
    if series.isna().any():
        raise InputDataError(
            f"split strategy {strategy!r}: column '{column}' has {int(series.isna().sum())} "
            "missing value(s); rows without a group/time cannot be placed on either side"
        )
    return series


def _pair(train: np.ndarray, test: np.ndarray) -> Indices:
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)


@_register
@dataclass(frozen=True)
class RandomSplit(SplitStrategy):
    """Rows shuffled with a seed. Honest only when rows are independent (not ads in ad sets)."""

    name: ClassVar[str] = "random"
    test_size: float = 0.2
    seed: int = 42

    def __post_init__(self) -> None:
        _check_common(self)

    def holdout(self, df: pd.DataFrame) -> Indices:
        n = len(df)
        if n < 2:
            raise InputDataError(f"split strategy {self.name!r} needs at least 2 rows, got {n}")
        n_test = min(n - 1, max(1, round(self.test_size * n)))
        order = np.random.default_rng(self.seed).permutation(n)
        return _pair(order[n_test:], order[:n_test])

    def cv_folds(self, df: pd.DataFrame, n_splits: int = 5) -> Iterator[Indices]:
        _check_n_splits(self.name, n_splits, len(df), "rows")
        folds = KFold(n_splits=n_splits, shuffle=True, random_state=self.seed)
        for train, test in folds.split(np.zeros(len(df))):
            yield _pair(train, test)


@_register
@dataclass(frozen=True)
class GroupedSplit(SplitStrategy):
    """Whole groups (default: ad sets, ``fb_campaign_id``) go to one side, so near-duplicate
    ads never straddle train and test. ``test_size`` is the share of *groups* in the holdout."""

    name: ClassVar[str] = "grouped"
    column: str = "fb_campaign_id"
    test_size: float = 0.2
    seed: int = 42

    def __post_init__(self) -> None:
        _check_common(self)

    def holdout(self, df: pd.DataFrame) -> Indices:
        groups = _column(df, self.column, self.name)
        n_groups = groups.nunique()
        if n_groups < 2:
            raise InputDataError(
                f"split strategy {self.name!r}: a grouped holdout needs at least 2 distinct "
                f"'{self.column}' values, the data has {n_groups}"
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.test_size, random_state=self.seed)
        train, test = next(splitter.split(np.zeros(len(df)), groups=groups.to_numpy()))
        return _pair(train, test)

    def cv_folds(self, df: pd.DataFrame, n_splits: int = 5) -> Iterator[Indices]:
        groups = _column(df, self.column, self.name)
        _check_n_splits(self.name, n_splits, groups.nunique(), f"distinct '{self.column}' values")
        folds = GroupKFold(n_splits=n_splits, shuffle=True, random_state=self.seed)
        for train, test in folds.split(np.zeros(len(df)), groups=groups.to_numpy()):
            yield _pair(train, test)


@_register
@dataclass(frozen=True)
class TimeSplit(SplitStrategy):
    """Train on earlier rows, test on later ones, as a model is used in production.

    Rows sharing a timestamp always land on the same side (no same-day leakage), so the test
    share is about ``test_size``. CV folds are expanding windows: the distinct times are cut
    into ``n_splits + 1`` consecutive blocks and fold ``k`` trains on blocks ``0..k`` and tests
    on block ``k + 1``.
    """

    name: ClassVar[str] = "time"
    column: str = "date"
    test_size: float = 0.2

    def __post_init__(self) -> None:
        _check_common(self)

    def _times(self, df: pd.DataFrame) -> np.ndarray:
        series = _column(df, self.column, self.name)
        if not (
            pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_numeric_dtype(series)
        ):
            try:
                series = pd.to_datetime(series)
            except (ValueError, TypeError) as exc:
                raise InputDataError(
                    f"split strategy {self.name!r}: column '{self.column}' must hold dates, "
                    f"could not parse it ({exc})"
                ) from None
        return series.to_numpy()

    def holdout(self, df: pd.DataFrame) -> Indices:
        times = self._times(df)
        distinct, codes = np.unique(times, return_inverse=True)
        if len(distinct) < 2:
            raise InputDataError(
                f"split strategy {self.name!r}: column '{self.column}' has a single distinct "
                "value, so there is no 'later' to test on"
            )
        counts = np.bincount(codes, minlength=len(distinct))
        # First time whose rows-from-here-on share is at most test_size (at least one time).
        share_from = np.cumsum(counts[::-1])[::-1] / len(times)
        cut = int(np.argmax(share_from <= self.test_size + 1e-12))
        if share_from[cut] > self.test_size + 1e-12:
            cut = len(distinct) - 1
        cut = max(cut, 1)
        test_mask = codes >= cut
        positions = np.arange(len(times))
        return _pair(positions[~test_mask], positions[test_mask])

    def cv_folds(self, df: pd.DataFrame, n_splits: int = 5) -> Iterator[Indices]:
        times = self._times(df)
        distinct, codes = np.unique(times, return_inverse=True)
        _check_n_splits(self.name, n_splits, len(distinct) - 1, f"distinct '{self.column}' values")
        edges = np.linspace(0, len(distinct), n_splits + 2).round().astype(int)
        positions = np.arange(len(times))
        for k in range(1, n_splits + 1):
            train = positions[codes < edges[k]]
            test = positions[(codes >= edges[k]) & (codes < edges[k + 1])]
            yield _pair(train, test)


def make_split(spec: Mapping[str, Any]) -> SplitStrategy:
    """Build a split strategy from ``{"name": ..., **params}``; unknown names or parameters are
    a :class:`ConfigError` so a typo fails before any data is read."""
    cls, params = resolve_spec(SPLIT_STRATEGIES, spec, kind="split strategy")
    return cls(**params)
