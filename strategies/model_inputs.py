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

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from strategies.errors import InputDataError

__all__ = ["check_input_schema", "score_table"]

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


def score_table(
    model: Any,
    df: pd.DataFrame,
    *,
    inputs: Sequence[tuple[str, str]],
    keep_columns: Sequence[str],
    prediction_column: str,
) -> pd.DataFrame:
    """``keep_columns`` of ``df`` (identifiers for joins) plus ``prediction_column``: the model's
    predictions on the inputs checked and cast by :func:`check_input_schema`. Missing keep
    columns are named first, then every schema problem."""
    missing = [c for c in keep_columns if c not in df.columns]
    if missing:
        raise InputDataError(
            f"keep_columns {missing} are not in the data (columns: {', '.join(df.columns)})"
        )
    X = check_input_schema(df, inputs)
    predicted = np.asarray(model.predict(X), dtype=np.float64)
    out = df[list(keep_columns)].reset_index(drop=True).copy()
    out[prediction_column] = predicted
    return out
