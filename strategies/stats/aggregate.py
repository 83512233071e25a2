"""One aggregation pass: raw unit rows → sufficient statistics (DESIGN.md §2.2).

Every metric declares the column products it needs (:meth:`MetricSpec.products`). We build one
numeric matrix holding each distinct product once and run **one grouped sum per grouping
level** (overall, then one per segment column) over it. Raw rows never travel further: the
estimate, inference and post-processing layers only see the long frame returned here, so the
same downstream code works whether the sums come from pandas, DuckDB or a warehouse.

Conventions
-----------
* A unit is a row of ``df`` (the user is the randomisation unit); ``n`` counts rows.
* Labels (experiment, variant, segment) are returned as strings, so a control given as ``"0"``
  matches a variant column holding the integer 0, and the CSV reads the same in any BI tool.
* ``segment`` is ``"all"`` for the overall rows and ``"<column>=<value>"`` per segment value;
  a missing segment value becomes ``"<column>=<NA>"`` (units are never dropped silently).
* Sums are float64; pandas' grouped sum uses compensated (Kahan) summation, which keeps
  ``Σy² − (Σy)²/n`` accurate unless |mean|/sd exceeds ~1e6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from strategies.errors import InputDataError
from strategies.stats.metrics import (
    SUFFICIENT_STATISTICS,
    MetricSpec,
    check_metric_specs,
    metric_columns,
)

DEFAULT_EXPERIMENT = "experiment"
OVERALL_SEGMENT = "all"
LABEL_COLUMNS: tuple[str, ...] = ("experiment", "segment", "variant", "metric")
STATS_COLUMNS: tuple[str, ...] = LABEL_COLUMNS + SUFFICIENT_STATISTICS
FUNNEL_COLUMNS: tuple[str, ...] = (
    "experiment",
    "variant",
    "n_units",
    "stage",
    "stage_order",
    "total",
)


def aggregate(
    df: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    *,
    variant_column: str,
    experiment_column: str | None = None,
    segment_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Sufficient statistics for every experiment × segment × variant × metric.

    Returns a long frame with columns ``experiment, segment, variant, metric, n, sum_y,
    sum_y2, sum_x, sum_x2, sum_xy`` (x is the ratio denominator; x ≡ 1 for mean/proportion, so
    there ``sum_x = sum_x2 = n`` and ``sum_xy = sum_y``). Rows are ordered by experiment, then
    the overall segment, then each segment column in the given order, then variant, then
    metric in declaration order. Segment × variant cells with no units are absent (the
    analysis fills them in as empty arms).

    Raises InputDataError (naming the column or experiment) when a column is missing, a metric
    column is non-numeric or has NaN/inf values, a proportion column is not 0/1, or an
    experiment has a single variant — before anything is summed.
    """
    specs = check_metric_specs(metrics)
    segment_columns = _as_column_list(segment_columns)
    _validate_input(df, specs, variant_column, experiment_column, segment_columns)

    exp_codes, exp_labels = _encode_labels(df, experiment_column)
    var_codes, var_labels = _encode_labels(df, variant_column)
    _check_variants_per_experiment(exp_codes, var_codes, exp_labels, var_labels)

    matrix, product_index = _product_matrix(df, specs)
    n_var = len(var_labels)

    # Each level contributes (experiment code, segment label, variant code, sums).
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    # Overall level: groups are (experiment, variant).
    sums = _grouped_sums(matrix, exp_codes * n_var + var_codes)
    g = sums.index.to_numpy()
    overall = np.full(len(g), OVERALL_SEGMENT, dtype=object)
    parts.append((g // n_var, overall, g % n_var, sums.to_numpy()))
    # One grouped sum per segment column: groups are (experiment, segment value, variant).
    for column in segment_columns:
        seg_codes, seg_values = _encode_labels(df, column)
        seg_labels = np.array([f"{column}={v}" for v in seg_values], dtype=object)
        n_seg = len(seg_labels)
        sums = _grouped_sums(matrix, (exp_codes * n_seg + seg_codes) * n_var + var_codes)
        g = sums.index.to_numpy()
        parts.append(
            (
                g // (n_seg * n_var),
                seg_labels[(g // n_var) % n_seg],
                g % n_var,
                sums.to_numpy(),
            )
        )

    exp_code, segment, var_code, group_sums = (np.concatenate(a) for a in zip(*parts, strict=True))
    # Levels were appended in order and each is sorted by (experiment, segment, variant), so a
    # stable sort on the experiment code yields experiment → level → segment → variant.
    order = np.argsort(exp_code, kind="stable")
    return _expand_metrics(
        exp_labels[exp_code[order]],
        segment[order],
        var_labels[var_code[order]],
        group_sums[order],
        specs,
        product_index,
    )


def funnel_totals(
    df: pd.DataFrame,
    stages: Sequence[str],
    *,
    variant_column: str,
    experiment_column: str | None = None,
) -> pd.DataFrame:
    """Stage totals per experiment × variant for the report's funnel chart.

    Returns a long frame ``experiment, variant, n_units, stage, stage_order, total`` with only
    the stages present in ``df``, in the given order; ``stage_order`` is 1 for the first
    present stage. When none of the stages is present the frame is empty (the report then has
    no funnel to draw — not an error, since funnels are optional).
    """
    stages = _as_column_list(stages)
    roles = {"variant_column": variant_column}
    if experiment_column is not None:
        roles["experiment_column"] = experiment_column
    _check_frame(df)
    _check_columns_present(df, list(roles.values()), roles_hint=roles)
    present = [s for s in stages if s in df.columns]
    if not present:
        return pd.DataFrame({c: pd.Series(dtype=_funnel_dtype(c)) for c in FUNNEL_COLUMNS})
    _check_label_column(df, variant_column)
    if experiment_column is not None:
        _check_label_column(df, experiment_column)
    _check_numeric_columns(df, present, purpose="funnel stage")

    exp_codes, exp_labels = _encode_labels(df, experiment_column)
    var_codes, var_labels = _encode_labels(df, variant_column)
    n_var = len(var_labels)
    matrix = np.column_stack(
        [np.ones(len(df))] + [df[s].to_numpy(dtype=np.float64) for s in present]
    )
    sums = _grouped_sums(matrix, exp_codes * n_var + var_codes)
    g = sums.index.to_numpy()
    values = sums.to_numpy()
    n_groups, n_stages = len(g), len(present)
    return pd.DataFrame(
        {
            "experiment": np.repeat(exp_labels[g // n_var], n_stages),
            "variant": np.repeat(var_labels[g % n_var], n_stages),
            "n_units": np.repeat(values[:, 0].astype(np.int64), n_stages),
            "stage": np.tile(np.array(present, dtype=object), n_groups),
            "stage_order": np.tile(np.arange(1, n_stages + 1), n_groups),
            "total": values[:, 1:].reshape(-1),
        }
    )


# --------------------------------------------------------------------------------------------
# validation


def _as_column_list(columns: Sequence[str]) -> list[str]:
    # A bare string is a sequence of characters; treating "country" as c, o, u, ... would fail
    # later with a confusing message.
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def _check_frame(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputDataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise InputDataError("the input table has no rows")


def _check_columns_present(df: pd.DataFrame, columns: list[str], roles_hint: dict) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        where = {c: [r for r, cols in roles_hint.items() if c in _listify(cols)] for c in missing}
        detail = ", ".join(f"{c!r} (needed by {', '.join(where[c])})" for c in missing)
        raise InputDataError(
            f"missing column(s): {detail}; available columns: {', '.join(map(str, df.columns))}"
        )


def _listify(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _check_label_column(df: pd.DataFrame, column: str) -> None:
    n_missing = int(df[column].isna().sum())
    if n_missing:
        raise InputDataError(
            f"column {column!r} has {n_missing} missing value(s); every unit needs a label"
        )


def _check_numeric_columns(df: pd.DataFrame, columns: Sequence[str], *, purpose: str) -> None:
    non_numeric = [
        f"{c!r} ({df[c].dtype})" for c in columns if not pd.api.types.is_numeric_dtype(df[c])
    ]
    if non_numeric:
        raise InputDataError(f"{purpose} column(s) must be numeric: {', '.join(non_numeric)}")
    problems = []
    for c in columns:
        values = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        n_nan = int(np.isnan(values).sum())
        n_inf = int(np.isinf(values).sum())
        if n_nan or n_inf:
            kinds = [f"{n_nan} missing"] * bool(n_nan) + [f"{n_inf} infinite"] * bool(n_inf)
            problems.append(f"{c!r} ({', '.join(kinds)})")
    if problems:
        raise InputDataError(
            f"{purpose} column(s) with missing or infinite values: {', '.join(problems)}; "
            "clean or impute them before the analysis"
        )


def _validate_input(
    df: pd.DataFrame,
    specs: Sequence[MetricSpec],
    variant_column: str,
    experiment_column: str | None,
    segment_columns: list[str],
) -> None:
    _check_frame(df)
    roles: dict[str, str | list[str]] = {"variant_column": variant_column}
    if experiment_column is not None:
        roles["experiment_column"] = experiment_column
    if segment_columns:
        roles["segment_columns"] = segment_columns
    for m in specs:
        roles[f"metric {m.name!r}"] = list(m.columns())
    needed = [c for cols in roles.values() for c in _listify(cols)]
    _check_columns_present(df, needed, roles_hint=roles)

    _check_label_column(df, variant_column)
    if experiment_column is not None:
        _check_label_column(df, experiment_column)
    _check_numeric_columns(df, metric_columns(specs), purpose="metric")

    for col in dict.fromkeys(m.y_column for m in specs if m.type == "proportion"):
        values = df[col].to_numpy(dtype=np.float64)
        bad = ~((values == 0) | (values == 1))
        if bad.any():
            examples = ", ".join(map(repr, pd.unique(values[bad])[:3].tolist()))
            raise InputDataError(
                f"proportion column {col!r} must hold only 0/1 values; "
                f"{int(bad.sum())} row(s) do not (e.g. {examples})"
            )


def _check_variants_per_experiment(
    exp_codes: np.ndarray, var_codes: np.ndarray, exp_labels: np.ndarray, var_labels: np.ndarray
) -> None:
    pairs = np.unique(exp_codes * len(var_labels) + var_codes)
    n_variants = np.bincount(pairs // len(var_labels), minlength=len(exp_labels))
    single = np.flatnonzero(n_variants < 2)
    if single.size:
        detail = "; ".join(
            f"{exp_labels[e]!r} has only variant "
            f"{var_labels[pairs[pairs // len(var_labels) == e][0] % len(var_labels)]!r}"
            for e in single[:5]
        )
        raise InputDataError(
            f"{single.size} experiment(s) with a single variant, nothing to compare: {detail}"
        )


# --------------------------------------------------------------------------------------------
# the aggregation pass


def _encode_labels(df: pd.DataFrame, column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and string labels, sorted by the original values (so 2 < 10)."""
    if column is None:
        return np.zeros(len(df), dtype=np.int64), np.array([DEFAULT_EXPERIMENT], dtype=object)
    values = df[column]
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    except TypeError:  # mixed types cannot be sorted: sort their string forms instead
        codes, uniques = pd.factorize(values.astype(str), sort=True, use_na_sentinel=False)
    labels = np.array(["<NA>" if pd.isna(u) else str(u) for u in uniques], dtype=object)
    return codes.astype(np.int64), labels


def _product_matrix(
    df: pd.DataFrame, specs: Sequence[MetricSpec]
) -> tuple[np.ndarray, dict[tuple[str, ...], int]]:
    """Column 0 counts units; every other column is one distinct product some metric needs."""
    products = list(dict.fromkeys(p for m in specs for p in m.products()))
    base = {c: df[c].to_numpy(dtype=np.float64) for c in metric_columns(specs)}
    matrix = np.empty((len(df), len(products) + 1), dtype=np.float64)
    matrix[:, 0] = 1.0
    for j, product in enumerate(products, start=1):
        col = base[product[0]]
        matrix[:, j] = col if len(product) == 1 else col * base[product[1]]
    return matrix, {p: j for j, p in enumerate(products, start=1)}


def _grouped_sums(matrix: np.ndarray, group_id: np.ndarray) -> pd.DataFrame:
    # pandas' grouped sum is a single compiled pass with Kahan summation; the index is the
    # (sorted) observed group ids.
    return pd.DataFrame(matrix).groupby(group_id, sort=True).sum()


def _expand_metrics(
    experiment: np.ndarray,
    segment: np.ndarray,
    variant: np.ndarray,
    sums: np.ndarray,
    specs: Sequence[MetricSpec],
    product_index: dict[tuple[str, ...], int],
) -> pd.DataFrame:
    """Groups × metrics → the long frame, by fancy indexing (no per-row Python)."""
    n_groups, n_metrics = len(experiment), len(specs)
    is_ratio = np.array([m.type == "ratio" for m in specs])

    def column_index(product_of: Callable[[MetricSpec], tuple]) -> np.ndarray:
        # A product the metric does not have (x ≡ 1) maps to column 0, the unit count n.
        return np.array([product_index.get(product_of(m), 0) for m in specs])

    idx_y = column_index(lambda m: (m.y_column,))
    idx_y2 = column_index(lambda m: (m.y_column, m.y_column))
    idx_x = column_index(lambda m: (m.x_column,))
    idx_x2 = column_index(lambda m: (m.x_column, m.x_column))
    idx_xy = np.where(is_ratio, column_index(lambda m: (m.y_column, m.x_column)), idx_y)

    return pd.DataFrame(
        {
            "experiment": np.repeat(experiment, n_metrics),
            "segment": np.repeat(segment, n_metrics),
            "variant": np.repeat(variant, n_metrics),
            "metric": np.tile(np.array([m.name for m in specs], dtype=object), n_groups),
            "n": np.repeat(np.rint(sums[:, 0]).astype(np.int64), n_metrics),
            "sum_y": sums[:, idx_y].reshape(-1),
            "sum_y2": sums[:, idx_y2].reshape(-1),
            "sum_x": sums[:, idx_x].reshape(-1),
            "sum_x2": sums[:, idx_x2].reshape(-1),
            "sum_xy": sums[:, idx_xy].reshape(-1),
        }
    )


def _funnel_dtype(column: str) -> str:
    return {"n_units": "int64", "stage_order": "int64", "total": "float64"}.get(column, "object")
