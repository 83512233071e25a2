"""Does the effect differ between segments? Cochran's Q test per segment column, vectorised.

A segment breakdown invites over-reading: with 6 countries one of them will look different by
chance. The honest question is whether the *absolute* effects across a segment column's values
are more spread out than their standard errors explain. For each experiment × variant × metric
× segment column, with the segment values' effects d_i and standard errors s_i::

    w_i = 1/s_i²,  d̄ = Σ w_i d_i / Σ w_i   (inverse-variance, fixed-effect pooled effect)
    Q   = Σ w_i (d_i − d̄)²  ~  χ²(k − 1) under homogeneity
    I²  = max(0, (Q − (k − 1))/Q)          (Higgins & Thompson 2002: the share of the spread
                                             that is real heterogeneity rather than noise)

Only segment rows whose comparison could be tested (status "ok" or "srm") with a positive,
finite SE take part; ``n_segments`` counts them, and fewer than 2 gives NaN statistics.

The Q tests of a run are a family of their own (DESIGN.md §2.7): 8 experiments × 4 metrics ×
1 segment column are 32 tests, and flagging each at p < α would flag at least one in ~80 % of
runs where no effect differs at all. ``p_value_adjusted`` is the p-value corrected within that
family (the run's ``correction``, Holm by default, via
:func:`strategies.stats.corrections.adjust_by_family`; ``correction_scope`` splits the family
per experiment or per experiment × metric as it does for the comparisons; groups with NaN Q
are not tests and do not count), and ``heterogeneous`` is ``p_value_adjusted < alpha`` (the
run's α, from the results' ``alpha`` column).
Segment values of one column are disjoint groups of units, so their estimates are independent
— the assumption of the test. The test has low power with few segments; "not heterogeneous"
is not proof of a uniform effect. Columns are named in
:data:`strategies.stats.schema.HETEROGENEITY_COLUMNS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from strategies.stats.corrections import (
    Correction,
    CorrectionScope,
    adjust_by_family,
    correction_families,
)
from strategies.stats.schema import HETEROGENEITY_COLUMNS, OVERALL_SEGMENT

_KEYS = ["experiment", "variant", "metric", "segment_column"]


def empty_heterogeneity() -> pd.DataFrame:
    """The heterogeneity frame with no rows (its columns and dtypes)."""
    dtypes = {"n_segments": "int64", "heterogeneous": "bool"}
    return pd.DataFrame(
        {
            c: pd.Series(
                dtype=dtypes.get(
                    c,
                    "float64" if c in ("q", "df", "p_value", "p_value_adjusted", "i2") else object,
                )
            )
            for c in HETEROGENEITY_COLUMNS
        }
    )


def heterogeneity(
    results: pd.DataFrame,
    alpha: float | None = None,
    *,
    correction: Correction = "holm",
    correction_scope: CorrectionScope = "run",
) -> pd.DataFrame:
    """Cochran's Q and I² per experiment × variant × metric × segment column.

    ``results`` is the results frame of :func:`strategies.stats.analysis.analyse` (columns
    ``experiment, segment, metric, variant, abs_diff, abs_se, status`` and ``alpha``).
    ``alpha`` overrides the α in the results; ``correction`` and ``correction_scope`` (the
    run's) set the multiple-testing correction of the flag (module docstring). Segment labels
    are ``"<column>=<value>"``; the column is the part before the first "=". Returns an empty
    frame when there are no segment rows.
    """
    segment = results["segment"].to_numpy(dtype=object).astype(str)
    rows = np.flatnonzero(segment != OVERALL_SEGMENT)
    if rows.size == 0:
        return empty_heterogeneity()
    segment_column = np.char.partition(segment[rows].astype(np.str_), "=")[:, 0].astype(object)
    d = results["abs_diff"].to_numpy(dtype=np.float64)[rows]
    se = results["abs_se"].to_numpy(dtype=np.float64)[rows]
    status = results["status"].to_numpy(dtype=object)[rows]
    testable = ((status == "ok") | (status == "srm")) & np.isfinite(d) & np.isfinite(se) & (se > 0)

    labels = {
        "experiment": results["experiment"].to_numpy(dtype=object)[rows],
        "variant": results["variant"].to_numpy(dtype=object)[rows],
        "metric": results["metric"].to_numpy(dtype=object)[rows],
        "segment_column": segment_column,
    }
    group_id, group_keys = pd.factorize(_combined(labels))  # order of first appearance
    n_groups = len(group_keys)

    w = np.where(testable, 1.0 / np.where(testable, se, 1.0) ** 2, 0.0)
    dw = np.where(testable, d, 0.0)
    sum_w = np.bincount(group_id, weights=w, minlength=n_groups)
    sum_wd = np.bincount(group_id, weights=w * dw, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(sum_w > 0, sum_wd / sum_w, 0.0)
    # Σ w (d − d̄)², with d̄ broadcast back to each row: no (Σwd)²/Σw cancellation.
    q = np.bincount(group_id, weights=w * (dw - pooled[group_id]) ** 2, minlength=n_groups)
    k = np.bincount(group_id, weights=testable, minlength=n_groups).astype(np.int64)
    df = (k - 1).astype(np.float64)
    enough = k >= 2
    q = np.where(enough, q, np.nan)
    p_value = np.where(enough, stats.chi2.sf(q, np.maximum(df, 1.0)), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, (q - df) / q), 0.0)
    if alpha is None:
        alpha = float(results["alpha"].iloc[0]) if "alpha" in results.columns else 0.05
    first_row = np.zeros(n_groups, dtype=np.int64)
    first_row[group_id[::-1]] = np.arange(rows.size)[::-1]  # first row of each group
    keys = {key: labels[key][first_row] for key in _KEYS}
    family = correction_families(
        keys["experiment"], keys["metric"], np.zeros(n_groups, dtype=bool), correction_scope
    )
    p_adjusted = adjust_by_family(p_value, family, correction)
    with np.errstate(invalid="ignore"):  # NaN (untestable) compares False
        flagged = p_adjusted < alpha
    return pd.DataFrame(
        {
            **keys,
            "n_segments": k,
            "q": q,
            "df": np.where(enough, df, np.nan),
            "p_value": p_value,
            "p_value_adjusted": p_adjusted,
            "i2": np.where(enough, i2, np.nan),
            "heterogeneous": flagged,
        }
    )


def _combined(labels: dict[str, np.ndarray]) -> np.ndarray:
    """One integer per distinct label combination (mixed-radix of the factorized labels)."""
    group = np.zeros(len(labels[_KEYS[0]]), dtype=np.int64)
    for key in _KEYS:
        codes, uniques = pd.factorize(labels[key])
        group = group * len(uniques) + codes
    return group
