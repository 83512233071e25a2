"""Cleaning strategies: small, configurable data fixes that each leave an audit record.

Every fix applied to experiment data changes what the analysis sees, so none of them may be
silent: each strategy returns a new frame together with a :class:`CleaningAudit` that says what
was done, why, and how many rows and values it touched. The audits go into the run report and
MLflow so a reviewer can see, for example, that 41 users were dropped for seeing both arms.

Strategies are plain frozen dataclasses registered by name, so a YAML config can list them as
``[{"name": "cap_outliers", "column": "revenue", "upper_quantile": 0.99}, ...]`` and
:func:`build_cleaning_strategies` can reject a typo before any data is touched.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.registry import registrar, resolve_spec

__all__ = [
    "CLEANING_STRATEGIES",
    "CleaningAudit",
    "CleaningStrategy",
    "ColumnRoles",
    "DropDuplicateRows",
    "DropMultiVariantUnits",
    "ImputeMissingCounts",
    "NormalizeLabels",
    "WinsorizeOutliers",
    "MAX_EXAMPLES",
    "audit_value",
    "build_cleaning_strategies",
    "cap_description",
    "declared_lookup",
    "drop_duplicates_description",
    "impute_description",
    "multi_variant_description",
    "names_text",
    "nested_columns",
    "normalize_labels_description",
    "run_cleaning",
]

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class ColumnRoles:
    """Which columns play which part in an experiment table.

    ``variants`` lists the declared variant labels with the control first; it may be empty when
    the labels are not known in advance, in which case label normalisation only strips spaces.
    """

    unit_column: str
    variant_column: str
    experiment_column: str | None = None
    variants: tuple[str, ...] = ()


@dataclass
class CleaningAudit:
    """What one strategy did to the data, for the report and for MLflow.

    ``values_changed`` counts cells whose value was rewritten; rows removed are visible as
    ``rows_in - rows_out``. ``details`` holds JSON-serialisable specifics (caps, columns, counts).
    """

    strategy: str
    description: str
    rows_in: int
    rows_out: int
    values_changed: int
    details: dict = field(default_factory=dict)

    @property
    def rows_dropped(self) -> int:
        return self.rows_in - self.rows_out

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict (numpy scalars converted to Python values)."""
        return {
            "strategy": self.strategy,
            "description": self.description,
            "rows_in": int(self.rows_in),
            "rows_out": int(self.rows_out),
            "rows_dropped": int(self.rows_dropped),
            "values_changed": int(self.values_changed),
            "details": _jsonable(self.details),
        }


class CleaningStrategy(ABC):
    """One cleaning step. Implementations must not mutate the input frame.

    Subclasses are frozen dataclasses whose fields are the config parameters; ``name`` is the
    key used in configs and in :data:`CLEANING_STRATEGIES`.
    """

    name: ClassVar[str]

    @abstractmethod
    def apply(self, df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, CleaningAudit]:
        """Return the cleaned copy of ``df`` and the audit record of what changed."""


CLEANING_STRATEGIES: dict[str, type[CleaningStrategy]] = {}


_register = registrar(CLEANING_STRATEGIES, "cleaning strategy")


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


@_register
@dataclass(frozen=True)
class NormalizeLabels(CleaningStrategy):
    """Strip whitespace from variant/experiment labels and match variants case-insensitively.

    Exports often carry ``"A "`` or ``"treatment"`` where the config says ``"A"`` /
    ``"Treatment"``; without this, those rows would be rejected by validation or, worse, counted
    as a third arm. Labels matching no declared variant are left untouched (so validation rejects
    them loudly) and listed in the audit.
    """

    name: ClassVar[str] = "normalize_variant_labels"

    def apply(self, df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, CleaningAudit]:
        columns = [roles.variant_column]
        if roles.experiment_column is not None:
            columns.append(roles.experiment_column)
        _require_columns(df, columns, self.name)

        lookup = declared_lookup(roles.variants)
        out = df.copy()
        changes: list[dict[str, Any]] = []
        changed_per_column: dict[str, int] = {}
        unmatched: list[Any] = []

        for column in columns:
            is_variant = column == roles.variant_column
            new_values, column_changes, column_unmatched = _normalise_labels(
                df[column], lookup if is_variant else None
            )
            n_changed = sum(c["rows"] for c in column_changes)
            changed_per_column[column] = n_changed
            if n_changed:
                out[column] = new_values
                changes.extend({"column": column, **c} for c in column_changes)
            if is_variant:
                unmatched = column_unmatched

        total = sum(changed_per_column.values())
        audit = CleaningAudit(
            strategy=self.name,
            description=normalize_labels_description(
                columns, bool(roles.variants), total, len(unmatched)
            ),
            rows_in=len(df),
            rows_out=len(out),
            values_changed=total,
            details={
                "columns": columns,
                "declared_variants": list(roles.variants),
                "values_changed_per_column": changed_per_column,
                "changes": changes,
                "unmatched_labels": unmatched,
            },
        )
        return out, audit


@_register
@dataclass(frozen=True)
class DropDuplicateRows(CleaningStrategy):
    """Drop rows that are exact copies of an earlier row (all columns equal).

    Exact duplicates come from re-sent events or double exports; keeping them would count the
    same exposure twice. The first occurrence is kept and the index is renumbered.

    List/struct columns (Parquet ``LIST``/``STRUCT``/``MAP``, arriving as arrays, lists or dicts)
    cannot be hashed by pandas; they are compared by their content instead (a canonical JSON
    text of each value), so two rows are still duplicates only when every column is equal. The
    audit names those columns.
    """

    name: ClassVar[str] = "drop_duplicate_rows"

    def apply(self, df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, CleaningAudit]:
        nested = nested_columns(df)
        keys = df
        if nested:
            keys = df.copy()
            for column in nested:
                keys[column] = [_content_key(v) for v in df[column]]
        duplicated = keys.duplicated(keep="first").to_numpy(dtype=bool)
        n_dropped = int(duplicated.sum())
        out = df.loc[~duplicated].reset_index(drop=True)
        audit = CleaningAudit(
            strategy=self.name,
            description=drop_duplicates_description(n_dropped, nested),
            rows_in=len(df),
            rows_out=len(out),
            values_changed=0,
            details={"duplicate_rows_dropped": n_dropped, "nested_columns": nested},
        )
        return out, audit


@_register
@dataclass(frozen=True)
class DropMultiVariantUnits(CleaningStrategy):
    """Drop every row of units that appear in more than one variant of the same experiment.

    Such units were exposed to both arms, so their outcome cannot be attributed to either; keeping
    them dilutes the measured difference. Rows with a missing unit id are not judged here (they
    are not one unit) and are left for validation to reject; missing variant labels do not count
    as a variant.
    """

    name: ClassVar[str] = "drop_multi_variant_units"

    def apply(self, df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, CleaningAudit]:
        keys = [roles.unit_column]
        if roles.experiment_column is not None:
            keys.insert(0, roles.experiment_column)
        _require_columns(df, [*keys, roles.variant_column], self.name)

        work = df[[*keys, roles.variant_column]].reset_index(drop=True)
        work.columns = [f"k{i}" for i in range(len(keys))] + ["variant"]
        key_names = list(work.columns[:-1])
        n_variants = work.groupby(key_names, dropna=False, sort=False)["variant"].transform(
            "nunique"
        )
        has_unit = work[key_names[-1]].notna().to_numpy(dtype=bool)
        contaminated = (n_variants.to_numpy() > 1) & has_unit

        bad_keys = work.loc[contaminated, key_names].drop_duplicates()
        n_units = len(bad_keys)
        n_rows = int(contaminated.sum())
        # The smallest units, not the first rows: the same examples whatever the row order, and
        # the same as the engines' ORDER BY (strategies/warehouse/cleaning_sql.py).
        smallest = bad_keys.sort_values(list(reversed(key_names)), kind="stable")
        examples = [audit_value(v) for v in smallest[key_names[-1]].head(MAX_EXAMPLES)]

        out = df.loc[~contaminated].reset_index(drop=True)
        audit = CleaningAudit(
            strategy=self.name,
            description=multi_variant_description(
                n_rows, n_units, roles.experiment_column is not None
            ),
            rows_in=len(df),
            rows_out=len(out),
            values_changed=0,
            details={
                "unit_column": roles.unit_column,
                "units_dropped": n_units,
                "rows_dropped": n_rows,
                "example_units": examples,
            },
        )
        return out, audit


@_register
@dataclass(frozen=True)
class ImputeMissingCounts(CleaningStrategy):
    """Fill missing values in count columns with 0.

    In event exports a missing count means no event was logged for that unit, i.e. zero; leaving
    NaN would drop those units from means and bias rates upward. Columns become int64 again when
    every value is whole (NaN had forced them to float).
    """

    name: ClassVar[str] = "impute_missing_counts"
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        columns = self.columns
        if isinstance(columns, str) or not isinstance(columns, Sequence):
            raise ConfigError(
                f"cleaning strategy {self.name!r}: parameter 'columns' must be a list of column "
                f"names, got {columns!r}"
            )
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise ConfigError(
                f"cleaning strategy {self.name!r}: parameter 'columns' must be a non-empty list "
                f"of column names, got {list(columns)!r}"
            )
        object.__setattr__(self, "columns", tuple(dict.fromkeys(columns)))

    def apply(self, df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, CleaningAudit]:
        _require_columns(df, self.columns, self.name)
        for column in self.columns:
            _require_numeric(df, column, self.name)

        out = df.copy()
        filled: dict[str, int] = {}
        cast: list[str] = []
        for column in self.columns:
            series = df[column]
            n_missing = int(series.isna().sum())
            filled[column] = n_missing
            if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
                continue  # numpy integer columns cannot hold NaN: nothing to fill or cast
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            values = np.where(np.isnan(values), 0.0, values)
            whole = bool(np.isfinite(values).all() and (np.mod(values, 1) == 0).all())
            if whole and (len(values) == 0 or np.abs(values).max() < 2.0**63):
                out[column] = values.astype(np.int64)
                cast.append(column)
            elif n_missing or not isinstance(series.dtype, np.dtype):
                out[column] = values

        total = sum(filled.values())
        audit = CleaningAudit(
            strategy=self.name,
            description=impute_description(self.columns, total, cast),
            rows_in=len(df),
            rows_out=len(out),
            values_changed=total,
            details={"columns": list(self.columns), "filled": filled, "cast_to_int64": cast},
        )
        return out, audit


@_register
@dataclass(frozen=True)
class WinsorizeOutliers(CleaningStrategy):
    """Cap a metric at a quantile (winsorising) to limit the pull of extreme values.

    The quantile is computed over **all rows, pooled across variants** (missing values ignored),
    not per variant: one common cap treats every arm identically, whereas per-arm caps would
    clip the arms differently and could create or hide a difference. Values beyond the cap are
    replaced by the cap; nothing is dropped. An integer column whose cap is fractional becomes
    float64.
    """

    name: ClassVar[str] = "cap_outliers"
    column: str
    upper_quantile: float = 0.99
    lower_quantile: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise ConfigError(
                f"cleaning strategy {self.name!r}: parameter 'column' must be a column name, "
                f"got {self.column!r}"
            )
        _check_quantile(self.name, "upper_quantile", self.upper_quantile)
        if self.lower_quantile is not None:
            _check_quantile(self.name, "lower_quantile", self.lower_quantile)
            if self.lower_quantile >= self.upper_quantile:
                raise ConfigError(
                    f"cleaning strategy {self.name!r}: lower_quantile ({self.lower_quantile}) "
                    f"must be below upper_quantile ({self.upper_quantile})"
                )

    def apply(self, df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, CleaningAudit]:
        _require_columns(df, [self.column], self.name)
        _require_numeric(df, self.column, self.name)

        series = df[self.column]
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        present = values[~np.isnan(values)]
        upper_cap = float(np.quantile(present, self.upper_quantile)) if len(present) else None
        lower_cap = (
            float(np.quantile(present, self.lower_quantile))
            if len(present) and self.lower_quantile is not None
            else None
        )
        with np.errstate(invalid="ignore"):
            above = (values > upper_cap) if upper_cap is not None else np.zeros(len(values), bool)
            below = (values < lower_cap) if lower_cap is not None else np.zeros(len(values), bool)
        n_above, n_below = int(above.sum()), int(below.sum())

        out = df.copy()
        if n_above or n_below:
            capped = values.copy()
            if n_above:
                capped[above] = upper_cap
            if n_below:
                capped[below] = lower_cap
            if pd.api.types.is_integer_dtype(series.dtype) and np.all(np.mod(capped, 1) == 0):
                out[self.column] = capped.astype(np.int64)
            else:
                out[self.column] = capped

        audit = CleaningAudit(
            strategy=self.name,
            description=cap_description(self, upper_cap, lower_cap, n_above + n_below),
            rows_in=len(df),
            rows_out=len(out),
            values_changed=n_above + n_below,
            details={
                "column": self.column,
                "upper_quantile": float(self.upper_quantile),
                "cap": upper_cap,
                "capped_above": n_above,
                "lower_quantile": (
                    float(self.lower_quantile) if self.lower_quantile is not None else None
                ),
                "lower_cap": lower_cap,
                "capped_below": n_below,
            },
        )
        return out, audit


# --------------------------------------------------------------------------------------------
# Audit texts, shared with the SQL strategies (strategies/warehouse/cleaning_sql.py) so an audit
# reads the same whichever path cleaned the data
# --------------------------------------------------------------------------------------------


def normalize_labels_description(
    columns: Sequence[str], has_declared: bool, total: int, n_unmatched: int
) -> str:
    """The :class:`NormalizeLabels` audit text."""
    matched = (
        "and matched variant labels case-insensitively to the declared spelling"
        if has_declared
        else "(no declared variants to match against)"
    )
    description = (
        f"Stripped whitespace from labels in {names_text(columns)} {matched}, "
        f"rewriting {total} value(s) so that one arm is not split across spellings."
    )
    if n_unmatched:
        description += (
            f" {n_unmatched} label(s) match no declared variant and were left as they are "
            "for validation to reject."
        )
    return description


def drop_duplicates_description(n_dropped: int, nested: Sequence[str]) -> str:
    """The :class:`DropDuplicateRows` audit text."""
    description = (
        f"Dropped {n_dropped} exact duplicate row(s), keeping the first copy, so a "
        "re-sent record is not counted twice."
    )
    if nested:
        description += f" List/struct column(s) {names_text(nested)} were compared by content."
    return description


def multi_variant_description(n_rows: int, n_units: int, per_experiment: bool) -> str:
    """The :class:`DropMultiVariantUnits` audit text."""
    scope = " of the same experiment" if per_experiment else ""
    return (
        f"Dropped all {n_rows} row(s) of {n_units} unit(s) seen in more than one "
        f"variant{scope}: they were exposed to both arms, so their outcomes belong to "
        "neither."
    )


def impute_description(columns: Sequence[str], total: int, cast: Sequence[str]) -> str:
    """The :class:`ImputeMissingCounts` audit text."""
    description = (
        f"Filled {total} missing value(s) with 0 in count column(s) {names_text(columns)}, "
        "because a missing count means no event was recorded."
    )
    if cast:
        description += f" Cast {names_text(cast)} to int64 as every value is whole."
    return description


def cap_description(
    strategy: WinsorizeOutliers, upper_cap: float | None, lower_cap: float | None, n_capped: int
) -> str:
    """The :class:`WinsorizeOutliers` audit text."""
    bounds = f"the {strategy.upper_quantile:g} quantile ({_fmt(upper_cap)})"
    if strategy.lower_quantile is not None:
        bounds = f"the {strategy.lower_quantile:g} quantile ({_fmt(lower_cap)}) and " + bounds
    return (
        f"Capped {n_capped} value(s) of '{strategy.column}' at {bounds}, computed "
        "over all rows pooled across variants, so a few extreme values do not dominate "
        "the mean while every arm is capped the same way."
    )


# --------------------------------------------------------------------------------------------
# Building and running
# --------------------------------------------------------------------------------------------


def build_cleaning_strategies(specs: Sequence[Mapping[str, Any]]) -> list[CleaningStrategy]:
    """Turn config entries ``{"name": ..., **params}`` into strategy instances, in order.

    Everything is checked up front (names, parameter names, required parameters and values) so
    a config typo fails before any data is loaded.
    """
    if isinstance(specs, Mapping | str) or not isinstance(specs, Sequence):
        raise ConfigError(
            "cleaning strategies must be a list of {name: ..., <params>} entries, "
            f"got {type(specs).__name__}"
        )
    strategies: list[CleaningStrategy] = []
    for position, spec in enumerate(specs):
        cls, params = resolve_spec(
            CLEANING_STRATEGIES, spec, kind="cleaning strategy", position=position
        )
        strategies.append(cls(**params))
    return strategies


def run_cleaning(
    df: pd.DataFrame, strategies: Sequence[CleaningStrategy], roles: ColumnRoles
) -> tuple[pd.DataFrame, list[CleaningAudit]]:
    """Apply strategies in order, each to the previous one's output; return frame and audits.

    The input frame is never modified; with no strategies a copy is returned.
    """
    current = df
    audits: list[CleaningAudit] = []
    for strategy in strategies:
        current, audit = strategy.apply(current, roles)
        audits.append(audit)
    if current is df:
        current = df.copy()
    return current, audits


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def nested_columns(df: pd.DataFrame) -> list[str]:
    """Object columns holding unhashable values (lists, arrays, dicts: Parquet list/struct/map
    columns), in frame order."""
    found = []
    for column in df.columns:
        series = df[column]
        if series.dtype != object:
            continue
        kinds = {type(v) for v in series.to_numpy() if v is not None}
        if any(getattr(kind, "__hash__", None) is None for kind in kinds):
            found.append(str(column))
    return found


def _content_key(value: Any) -> Any:
    """A hashable stand-in for a nested value: canonical JSON (arrays as lists, sorted keys)."""
    if value is None or (not isinstance(value, (list, dict, np.ndarray)) and _is_missing(value)):
        return None
    return json.dumps(_plain(value), sort_keys=True, default=str)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _require_columns(df: pd.DataFrame, columns: Sequence[str], strategy: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputDataError(
            f"cleaning strategy {strategy!r} needs column(s) {names_text(missing)} which the data "
            f"does not have (columns present: {', '.join(map(str, df.columns))})"
        )


def _require_numeric(df: pd.DataFrame, column: str, strategy: str) -> None:
    dtype = df[column].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        found = _found_type(df[column])
        raise InputDataError(
            f"cleaning strategy {strategy!r}: column '{column}' must be numeric, found type {found}"
        )


def _found_type(series: pd.Series) -> str:
    """Name the offending type: the Python type of a text value, else the dtype."""
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        for value in series.dropna():
            if not isinstance(value, int | float) or isinstance(value, bool):
                return type(value).__name__
    return str(series.dtype)


def _check_quantile(strategy: str, param: str, value: Any) -> None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not (0.0 < float(value) < 1.0) or math.isnan(float(value)):
        raise ConfigError(
            f"cleaning strategy {strategy!r}: {param} must be a number strictly between 0 and 1, "
            f"got {value!r}"
        )


def declared_lookup(variants: Sequence[str]) -> dict[str, str]:
    """Declared variant labels by their stripped, case-folded key, the key labels are matched
    on (by pandas and SQL cleaning alike); two declared labels with one key are a ConfigError,
    as a label could not be matched unambiguously."""
    lookup: dict[str, str] = {}
    for label in variants:
        key = str(label).strip().casefold()
        if key in lookup and lookup[key] != label:
            raise ConfigError(
                f"declared variants {lookup[key]!r} and {label!r} differ only in case or spaces, "
                "so labels cannot be matched to them unambiguously"
            )
        lookup[key] = label
    return lookup


def _normalise_labels(
    series: pd.Series, lookup: dict[str, str] | None
) -> tuple[pd.Series, list[dict[str, Any]], list[Any]]:
    """Map each distinct label once; return new column, change summary and unmatched labels.

    With ``lookup`` None (experiment ids, or no declared variants) only whitespace is stripped.
    Non-string labels (e.g. integer arm ids) are compared by their text so ``1`` matches a
    declared ``"1"``; they are otherwise left as they are.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    new_uniques = np.empty(len(uniques), dtype=object)
    changed = np.zeros(len(uniques), dtype=bool)
    unmatched: list[Any] = []
    for i, label in enumerate(uniques):
        text = label.strip() if isinstance(label, str) else str(label).strip()
        new: Any = text if isinstance(label, str) else label
        if lookup:
            match = lookup.get(text.casefold())
            if match is None:
                unmatched.append(audit_value(label))
            else:
                new = match
        new_uniques[i] = new
        changed[i] = new != label or type(new) is not type(label)

    if not changed.any():
        return series, [], sorted(unmatched, key=_label_key)

    per_label = np.bincount(codes[codes >= 0], minlength=len(uniques))
    values = series.to_numpy(dtype=object, na_value=np.nan).copy()
    rewrite = (codes >= 0) & changed[np.maximum(codes, 0)]
    values[rewrite] = new_uniques[codes[rewrite]]
    new_series = pd.Series(values, index=series.index, dtype=object, name=series.name)
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        # Keep pandas' own string dtype when the input had it; every new value is a str here.
        new_series = new_series.astype(series.dtype)
    # Ordered by label, not by first appearance: the same audit whatever the row order, and the
    # same as the engines' (strategies/warehouse/cleaning_sql.py).
    changes = sorted(
        (
            {
                "from": audit_value(uniques[i]),
                "to": audit_value(new_uniques[i]),
                "rows": int(per_label[i]),
            }
            for i in np.flatnonzero(changed)
        ),
        key=lambda change: _label_key(change["from"]),
    )
    return new_series, changes, sorted(unmatched, key=_label_key)


def _label_key(value: Any) -> tuple[str, Any]:
    """Sort key for labels of one column (one type in practice; the type name keeps mixed
    columns sortable)."""
    return (type(value).__name__, value)


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def names_text(columns: Sequence[str]) -> str:
    """Column names as audits and errors list them (``'a', 'b'``)."""
    return ", ".join(f"'{c}'" for c in columns)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def audit_value(value: Any) -> Any:
    """Convert a numpy/pandas scalar to a plain JSON-friendly Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if obj is pd.NA or obj is pd.NaT:
        return None
    return audit_value(obj)
