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

Scope (``AnalysisOptions.correction_scope``, used by :func:`strategies.stats.analysis.analyse`)
decides which comparisons form one family:

* ``run`` (default) — every overall comparison of the run (all experiments, treatments and
  metrics) is one family: the strictest scope, right when one report drives one decision.
* ``experiment`` — one family per experiment (its treatments × metrics): each experiment is
  its own decision, so experiments analysed together do not dilute each other.
* ``metric`` — one family per experiment × metric (its treatments only): corrects only for
  the A/B/n multiplicity, for teams that pre-register one hypothesis per metric.

In every scope the segment-breakdown comparisons are kept **separate** from the overall ones
(``<scope key> | segments`` vs ``<scope key> | overall``): exploring segments must never dilute
the headline results, and the many segment tests are corrected among themselves.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd

from strategies.errors import ConfigError

Correction = Literal["holm", "hochberg", "bh", "bonferroni", "none"]
CORRECTIONS: tuple[str, ...] = get_args(Correction)
CorrectionScope = Literal["run", "experiment", "metric"]
CORRECTION_SCOPES: tuple[str, ...] = get_args(CorrectionScope)


def check_correction(method: str) -> None:
    """Raise ConfigError for an unknown correction name (listing the valid ones)."""
    if method not in CORRECTIONS:
        raise ConfigError(
            f"unknown multiple-testing correction {method!r}; "
            f"valid corrections are {', '.join(CORRECTIONS)}"
        )


def check_correction_scope(scope: str) -> None:
    """Raise ConfigError for an unknown correction scope (listing the valid ones)."""
    if scope not in CORRECTION_SCOPES:
        raise ConfigError(
            f"unknown correction_scope {scope!r}; valid scopes are {', '.join(CORRECTION_SCOPES)}"
        )


def correction_families(
    experiment: np.ndarray,
    metric: np.ndarray,
    is_overall: np.ndarray,
    scope: CorrectionScope,
) -> np.ndarray:
    """Family codes (one integer per comparison) for :func:`adjust_by_family`.

    See the module docstring for the scopes; overall and segment rows never share a family.
    """
    check_correction_scope(scope)
    part = np.asarray(is_overall, dtype=bool).astype(np.int64)
    if scope == "run":
        return part
    keys = [np.asarray(experiment)]
    if scope == "metric":
        keys.append(np.asarray(metric))
    codes = np.zeros(len(part), dtype=np.int64)
    for key in keys:  # mixed-radix combination of the (few) key levels
        key_codes, uniques = pd.factorize(key)
        codes = codes * len(uniques) + key_codes
    return codes * 2 + part


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

    Each family is adjusted as if the others did not exist. A few families are adjusted one
    by one; many (e.g. per experiment × metric over hundreds of experiments) in one grouped
    sort — never a Python loop over comparisons.
    """
    check_correction(method)
    p = np.asarray(p_values, dtype=np.float64)
    codes, uniques = pd.factorize(np.asarray(family))
    out = np.full(p.shape, np.nan)
    if method == "none":
        return p.copy()
    if len(uniques) <= 8:
        for label in range(len(uniques)):
            members = codes == label
            out[members] = adjust_pvalues(p[members], method)
        return out
    # Many families (per experiment × metric over hundreds of experiments): one sort instead of
    # a Python loop over families.
    valid = ~np.isnan(p)
    out[valid] = _adjust_grouped(p[valid], codes[valid], method)
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


def _adjust_grouped(p: np.ndarray, group: np.ndarray, method: str) -> np.ndarray:
    """:func:`_adjust_finite` within every group at once (sorted by group, then p)."""
    if p.size == 0:
        return p.copy()
    order = np.lexsort((p, group))
    g, sp = group[order], p[order]
    start = np.r_[True, g[1:] != g[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(g)), 0))
    size = np.bincount(g, minlength=g.max() + 1)[g].astype(np.float64)
    rank = (np.arange(len(g)) - first + 1).astype(np.float64)
    if method == "bonferroni":
        adjusted = np.minimum(1.0, size * sp)
    elif method == "holm":
        scaled = np.minimum(1.0, (size - rank + 1.0) * sp)
        adjusted = _group_cummax(scaled, g)
    else:
        scaled = (size - rank + 1.0) * sp if method == "hochberg" else size * sp / rank
        adjusted = np.minimum(1.0, -_group_cummax(-scaled[::-1], g[::-1])[::-1])
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def _group_cummax(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum that restarts at every change of ``group`` (one compiled pass)."""
    return pd.Series(values).groupby(group, sort=False).cummax().to_numpy()
