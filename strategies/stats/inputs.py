"""The small tables an A/B analysis runs from (DESIGN.md §2.2, §5).

:class:`ABStatistics` is everything :func:`strategies.stats.run.analyse_statistics` needs:
sufficient statistics, funnel totals, per-period statistics (sequential layer) and, when the
non-parametric layer runs, its columns. It is a few hundred rows however many units there are,
so it is what travels between pipeline steps — never the raw rows. It is built from rows by
:func:`strategies.stats.run.statistics_from_rows` (pandas) or in an engine by
:func:`strategies.warehouse.ab_inputs.statistics_in_engine` (SQL).
:meth:`ABStatistics.to_dict`/:meth:`ABStatistics.from_dict` give a JSON-friendly form that
round-trips exactly (dtypes, NaN, ±inf, timestamps) for an artifact materializer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategies.errors import InputDataError

__all__ = ["FORMAT_VERSION", "ABStatistics"]

#: Version of the :meth:`ABStatistics.to_dict` layout; bumped when it changes.
FORMAT_VERSION = 1


@dataclass
class ABStatistics:
    """The small tables of one A/B run.

    ``stats`` — sufficient statistics (``STATS_COLUMNS``, the frame of ``aggregate``);
    ``funnel`` — stage totals (``FUNNEL_COLUMNS``; empty without funnel stages);
    ``period_stats`` — per-period statistics with ``_period`` (the sequential layer's input),
    None when the run is not monitored sequentially; ``nonparametric`` — Mann–Whitney and
    bootstrap columns keyed by ``RESULT_KEYS`` (``NONPARAMETRIC_COLUMNS``), None when that
    layer does not run (those need rows; another step computes them); ``n_rows`` — units read.
    """

    stats: pd.DataFrame
    funnel: pd.DataFrame
    period_stats: pd.DataFrame | None = None
    nonparametric: pd.DataFrame | None = None
    n_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (only str, int, float, bool, None, lists, dicts): NaN is
        None, ±inf are the strings ``"inf"``/``"-inf"``, timestamps ISO strings; every frame
        keeps its column order and dtypes so :meth:`from_dict` rebuilds it exactly."""
        return {
            "format_version": FORMAT_VERSION,
            "n_rows": int(self.n_rows),
            "stats": _frame_to_dict(self.stats),
            "funnel": _frame_to_dict(self.funnel),
            "period_stats": _frame_to_dict(self.period_stats),
            "nonparametric": _frame_to_dict(self.nonparametric),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ABStatistics:
        """Rebuild what :meth:`to_dict` wrote; InputDataError names what is wrong otherwise."""
        if not isinstance(data, dict):
            raise InputDataError(f"ABStatistics data must be a dict, got {type(data).__name__}")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise InputDataError(
                f"ABStatistics format_version {version!r} is not supported "
                f"(this liftlab reads version {FORMAT_VERSION})"
            )
        missing = [k for k in ("n_rows", "stats", "funnel") if k not in data]
        if missing:
            raise InputDataError(f"ABStatistics data is missing key(s): {', '.join(missing)}")
        stats = _frame_from_dict(data["stats"], "stats")
        funnel = _frame_from_dict(data["funnel"], "funnel")
        if stats is None or funnel is None:
            raise InputDataError("ABStatistics data needs the 'stats' and 'funnel' tables")
        return cls(
            stats=stats,
            funnel=funnel,
            period_stats=_frame_from_dict(data.get("period_stats"), "period_stats"),
            nonparametric=_frame_from_dict(data.get("nonparametric"), "nonparametric"),
            n_rows=int(data["n_rows"]),
        )


def _float_to_json(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)


def _frame_to_dict(frame: pd.DataFrame | None) -> dict[str, Any] | None:
    if frame is None:
        return None
    data: list[list[Any]] = []
    for name in frame.columns:
        values = frame[name]
        kind = getattr(values.dtype, "kind", "O")
        if kind == "M":
            data.append([None if pd.isna(v) else v.isoformat() for v in values])
        elif kind == "f":
            data.append([_float_to_json(v) for v in values.tolist()])
        elif kind in "iub":
            data.append(values.tolist())
        else:
            data.append([None if _is_missing(v) else _plain(v) for v in values.tolist()])
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(frame[c].dtype) for c in frame.columns],
        "data": data,
    }


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return _float_to_json(value)
    return value


def _frame_from_dict(data: Any, name: str) -> pd.DataFrame | None:
    if data is None:
        return None
    try:
        columns, dtypes, values = data["columns"], data["dtypes"], data["data"]
    except (KeyError, TypeError):
        raise InputDataError(
            f"ABStatistics table {name!r} must have 'columns', 'dtypes' and 'data'"
        ) from None
    if not (len(columns) == len(dtypes) == len(values)):
        raise InputDataError(
            f"ABStatistics table {name!r}: columns, dtypes and data differ in length"
        )
    series: dict[str, pd.Series] = {}
    for column, dtype, column_values in zip(columns, dtypes, values, strict=True):
        if dtype.startswith("datetime64"):
            series[column] = pd.Series(pd.to_datetime(column_values), dtype=dtype)
        elif dtype.startswith("float"):
            # float("inf") / float("-inf") read the strings _float_to_json wrote
            floats = [np.nan if v is None else float(v) for v in column_values]
            series[column] = pd.Series(floats, dtype=dtype)
        elif dtype == "object":
            series[column] = pd.Series(np.array(column_values, dtype=object), dtype=object)
        else:
            series[column] = pd.Series(column_values, dtype=dtype)
    lengths = {len(s) for s in series.values()}
    if len(lengths) > 1:
        raise InputDataError(f"ABStatistics table {name!r}: columns differ in length")
    return pd.DataFrame(series, columns=list(columns))
