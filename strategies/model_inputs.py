"""Check new data against a model's input schema before scoring it.

A model trained on ``Impressions`` as integers and ``age`` as text must not silently score a file
where ``age`` became a number or a column is missing: MLflow's own enforcement would either fail
with a generic message or coerce. This check names every missing column and every column whose
type cannot be the expected one, and otherwise returns the input columns cast to exactly the
trained types (integers may widen to floats; floats holding whole numbers may become integers).

Types use MLflow's column-spec names (``long``, ``integer``, ``double``, ``float``, ``string``,
``boolean``, ``datetime``) but nothing here imports MLflow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from strategies.errors import InputDataError
from strategies.features import unknown_category_mask

__all__ = [
    "UNKNOWN_CATEGORIES_COLUMN",
    "check_input_schema",
    "describe_unknown_categories",
    "unknown_category_counts",
    "score_table",
]

UNKNOWN_CATEGORIES_COLUMN = "unknown_categories"
"""Predictions column naming, per row, the categories the model never saw in training
(``age=70-74; interest=999``; empty when none). Present when the model one-hot encodes."""

logger = logging.getLogger(__name__)

_INTEGER = {"long", "integer"}
_FLOAT = {"double", "float"}


def _found(series: pd.Series) -> str:
    return str(series.dtype)


def check_input_schema(df: pd.DataFrame, expected: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Return ``df``'s expected columns, cast to the expected types, or raise InputDataError
    listing every missing column and every column of the wrong type."""
    missing = [name for name, _ in expected if name not in df.columns]
    problems: list[str] = []
    out: dict[str, pd.Series] = {}
    for name, kind in expected:
        if name in missing:
            continue
        col = df[name]
        if kind in _INTEGER:
            if ptypes.is_bool_dtype(col) or not ptypes.is_numeric_dtype(col):
                problems.append(f"{name}: expected integers, found {_found(col)}")
            elif ptypes.is_integer_dtype(col):
                out[name] = col.astype(np.int64 if kind == "long" else np.int32)
            else:
                values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                if np.isnan(values).any() or not np.all(np.mod(values, 1) == 0):
                    problems.append(
                        f"{name}: expected integers, found {_found(col)} with fractional or "
                        "missing values"
                    )
                else:
                    out[name] = col.astype(np.int64 if kind == "long" else np.int32)
        elif kind in _FLOAT:
            if ptypes.is_bool_dtype(col) or not ptypes.is_numeric_dtype(col):
                problems.append(f"{name}: expected numbers, found {_found(col)}")
            else:
                out[name] = col.astype(np.float64 if kind == "double" else np.float32)
        elif kind == "string":
            if (
                not (
                    ptypes.is_string_dtype(col)
                    or isinstance(col.dtype, pd.CategoricalDtype)
                    or col.dtype == object
                )
                or col.map(lambda v: v is not None and not isinstance(v, str)).any()
            ):
                problems.append(f"{name}: expected text, found {_found(col)}")
            else:
                out[name] = col.astype(object)
        elif kind == "boolean":
            if not ptypes.is_bool_dtype(col):
                problems.append(f"{name}: expected booleans, found {_found(col)}")
            else:
                out[name] = col
        elif kind == "datetime":
            if not ptypes.is_datetime64_any_dtype(col):
                problems.append(f"{name}: expected timestamps, found {_found(col)}")
            else:
                out[name] = col
        else:
            out[name] = col
    messages: list[str] = []
    if missing:
        messages.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        messages.append("wrong type: " + "; ".join(problems))
    if messages:
        raise InputDataError(
            "the data does not match the model's input schema — " + " | ".join(messages)
        )
    return pd.DataFrame(out, index=df.index)


def describe_unknown_categories(mask: pd.DataFrame, X: pd.DataFrame, examples: int = 5) -> str:
    """``age: 2 row(s) ('70-74'); interest: 1 row(s) ('999')``: per column with unseen values,
    how many rows and the first few distinct values."""
    parts = []
    for column in mask.columns:
        rows = mask[column].to_numpy(dtype=bool)
        if rows.any():
            values = list(dict.fromkeys(str(v) for v in X.loc[rows, column]))
            shown = ", ".join(repr(v) for v in values[:examples])
            more = f", … {len(values) - examples} more" if len(values) > examples else ""
            parts.append(f"{column}: {int(rows.sum())} row(s) ({shown}{more})")
    return "; ".join(parts)


def unknown_category_counts(predictions: pd.DataFrame) -> dict[str, int]:
    """Rows with a category never seen in training, per input column, read back from the
    :data:`UNKNOWN_CATEGORIES_COLUMN` of scored rows (``{}`` when there is none): what the
    run summary reports."""
    if UNKNOWN_CATEGORIES_COLUMN not in predictions.columns:
        return {}
    counts: dict[str, int] = {}
    for label in predictions[UNKNOWN_CATEGORIES_COLUMN].fillna("").astype(str):
        for column in dict.fromkeys(p.split("=", 1)[0] for p in label.split("; ") if p):
            counts[column] = counts.get(column, 0) + 1
    return counts


def _row_labels(mask: pd.DataFrame, X: pd.DataFrame) -> list[str]:
    labels = [[] for _ in range(len(mask))]
    for column in mask.columns:
        for i in np.flatnonzero(mask[column].to_numpy(dtype=bool)):
            labels[i].append(f"{column}={X[column].iloc[i]}")
    return ["; ".join(parts) for parts in labels]


def score_table(
    model: Any,
    df: pd.DataFrame,
    *,
    inputs: Sequence[tuple[str, str]],
    keep_columns: Sequence[str],
    prediction_column: str,
    unknown_categories: Literal["warn", "error"] = "warn",
) -> pd.DataFrame:
    """``keep_columns`` of ``df`` (identifiers for joins) plus ``prediction_column``: the model's
    predictions on the inputs checked and cast by :func:`check_input_schema`. Missing keep
    columns are named first, then every schema problem.

    Categories the model never saw in training (the one-hot encoder scores them as all-zero
    rows) are counted per column: with ``unknown_categories="error"`` any of them is an
    InputDataError naming the columns, counts and values; with ``"warn"`` a warning is logged
    and the :data:`UNKNOWN_CATEGORIES_COLUMN` column flags each row (present whenever the model
    one-hot encodes; empty text for rows with none)."""
    missing = [c for c in keep_columns if c not in df.columns]
    if missing:
        raise InputDataError(
            f"keep_columns {missing} are not in the data (columns: {', '.join(df.columns)})"
        )
    if unknown_categories not in ("warn", "error"):
        raise InputDataError(
            f"unknown_categories must be 'warn' or 'error', got {unknown_categories!r}"
        )
    X = check_input_schema(df, inputs)
    mask = unknown_category_mask(model, X)
    flagged = int(mask.any(axis=1).sum()) if not mask.empty else 0
    if flagged:
        detail = describe_unknown_categories(mask, X)
        message = (
            f"{flagged} row(s) have categories never seen in training, scored as if the "
            f"category were absent — {detail}"
        )
        if unknown_categories == "error":
            raise InputDataError(message + " (unknown_categories: error)")
        logger.warning("%s (set unknown_categories: error to refuse them)", message)
    predicted = np.asarray(model.predict(X), dtype=np.float64)
    out = df[list(keep_columns)].reset_index(drop=True).copy()
    out[prediction_column] = predicted
    if len(mask.columns):
        out[UNKNOWN_CATEGORIES_COLUMN] = _row_labels(mask.reset_index(drop=True), X)
    return out
