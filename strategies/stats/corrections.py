"""Multiple-testing corrections, vectorised, with an explicit family.

Adjusted p-values (compare them with α directly):

* ``bonferroni`` — ``min(1, m·p)``; controls the family-wise error rate (FWER).
* ``holm``       — step-down Bonferroni, uniformly more powerful, still FWER under any
  dependence: ``p̃_(i) = max_{j≤i} min(1, (m − j + 1)·p_(j))``.
* ``hochberg``   — step-up, ``p̃_(i) = min_{j≥i} min(1, (m − j + 1)·p_(j))``; FWER under
  independence / positive dependence, at least as powerful as Holm.
* ``bh``         — Benjamini–Hochberg, ``p̃_(i) = min_{j≥i} min(1, m·p_(j)/j)``; controls the
  false discovery rate (FDR), not FWER.
* ``none``       — unadjusted.

NaN p-values (comparisons that could not be tested) are not hypotheses: they are left out of
the family (they do not increase m) and stay NaN.

Scope used by :func:`strategies.stats.analysis.analyse`: all overall (segment "all") comparisons
of a run — every experiment, treatment and metric — are one family; all segment-breakdown
comparisons are a second, separate family. :func:`adjust_by_family` takes any family labels,
so a later, configurable scope (per experiment, per metric) needs no new correction code.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from strategies.errors import ConfigError

Correction = Literal["holm", "hochberg", "bh", "bonferroni", "none"]
CORRECTIONS: tuple[str, ...] = get_args(Correction)


def check_correction(method: str) -> None:
    """Raise ConfigError for an unknown correction name (listing the valid ones)."""
    if method not in CORRECTIONS:
        raise ConfigError(
            f"unknown multiple-testing correction {method!r}; "
            f"valid corrections are {', '.join(CORRECTIONS)}"
        )


def adjust_pvalues(p_values: np.ndarray, method: Correction) -> np.ndarray:
    """Adjusted p-values for one family; NaNs are excluded from the family and stay NaN."""
    check_correction(method)
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    out[valid] = _adjust_finite(p[valid], method)
    return out


def adjust_by_family(p_values: np.ndarray, family: np.ndarray, method: Correction) -> np.ndarray:
    """Adjust p-values separately within each family label.

    Each family is adjusted as if the others did not exist; the loop runs over the (few)
    distinct family labels, never over comparisons.
    """
    check_correction(method)
    p = np.asarray(p_values, dtype=np.float64)
    family = np.asarray(family)
    out = np.full(p.shape, np.nan)
    for label in np.unique(family):
        members = family == label
        out[members] = adjust_pvalues(p[members], method)
    return out


def _adjust_finite(p: np.ndarray, method: str) -> np.ndarray:
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    rank = np.arange(1, m + 1, dtype=np.float64)
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1.0) * sorted_p))
    elif method == "hochberg":
        scaled = (m - rank + 1.0) * sorted_p
        adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    else:  # bh
        scaled = m * sorted_p / rank
        adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adjusted
    return out
