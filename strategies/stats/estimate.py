"""Vectorised point estimates and standard errors from sufficient statistics (DESIGN.md §2.3).

Every function takes whole numpy arrays (one element per arm or per comparison) and does no
Python-level looping, so a run with 10 comparisons and one with 100,000 cost the same code path.
Everything downstream (CUPED in :mod:`.cuped`, the frequentist tests and Fieller intervals in
:mod:`.frequentist`, and the sequential and Bayesian layers) consumes :class:`ArmEstimates` and
:class:`Difference` and never looks at raw rows.

One formula for all metric types
--------------------------------
Every metric is ``R = Σy / Σx`` over units (x ≡ 1 for means and proportions). Its variance by
the delta method, with the unit as the randomisation unit, is the variance of the linearised
unit values ``(y_i − R x_i) / x̄`` divided by n::

    Var(R) ≈ Σ(y_i − R x_i)² / ((n − ddof) · x̄² · n),
    Σ(y_i − R x_i)² = Σy² − 2RΣxy + R²Σx²

* mean (x ≡ 1, ddof = 1): reduces exactly to s²/n with the usual sample variance — Welch;
* proportion (x ≡ 1, ddof = 0): reduces to p(1 − p)/n — the Wald / z-test variance;
* ratio (ddof = 1): the delta-method variance of Deng et al. (2018), "Applying the Delta
  Method in Metric Analytics". ddof = 1 makes a ratio with x ≡ 1 agree with the mean exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A sum of squared deviations below this fraction of the sum of squares it was computed from
#: is rounding noise, i.e. the arm is constant. Only data with |mean|/sd > ~1e5 are affected.
ZERO_VARIANCE_RTOL = 1e-10


@dataclass(frozen=True)
class ArmEstimates:
    """Per-arm estimate of ``Σy/Σx`` and its sampling variance (arrays of equal length).

    ``unit_var`` is the variance of one unit's linearised contribution (the sample variance for
    a mean, p(1 − p) for a proportion); ``se2 = unit_var / n`` is the squared standard error of
    ``estimate``. Both are NaN where they are undefined (n ≤ ddof, or Σx = 0) and exactly 0 where
    the arm is constant.
    """

    n: np.ndarray
    sum_y: np.ndarray
    sum_x: np.ndarray
    estimate: np.ndarray
    unit_var: np.ndarray
    se2: np.ndarray


@dataclass(frozen=True)
class Difference:
    """Variant − control on the absolute and the relative scale.

    ``abs_se2`` is the unpooled variance of the difference (independent arms). ``rel_lift`` is
    ``estimate_variant / estimate_control − 1``; ``rel_se2`` its delta-method variance, NaN when
    the control estimate is 0 (the relative lift is undefined there).
    """

    abs_diff: np.ndarray
    abs_se2: np.ndarray
    rel_lift: np.ndarray
    rel_se2: np.ndarray


def arm_estimates(
    n: np.ndarray,
    sum_y: np.ndarray,
    sum_y2: np.ndarray,
    sum_x: np.ndarray,
    sum_x2: np.ndarray,
    sum_xy: np.ndarray,
    *,
    ddof: np.ndarray | int,
) -> ArmEstimates:
    """Estimate and delta-method variance of ``Σy/Σx`` for every arm at once."""
    n, sum_y, sum_y2, sum_x, sum_x2, sum_xy = (
        np.asarray(a, dtype=np.float64) for a in (n, sum_y, sum_y2, sum_x, sum_x2, sum_xy)
    )
    ddof = np.broadcast_to(np.asarray(ddof, dtype=np.float64), n.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sum_x != 0, sum_y / sum_x, np.nan)
        # Σ(y − R x)²: each term is large when |mean| ≫ sd, so compare the result to their scale
        # to tell a constant arm (rounding noise) from a genuinely small variance.
        sq_dev = sum_y2 - 2.0 * ratio * sum_xy + ratio**2 * sum_x2
        scale = sum_y2 + ratio**2 * sum_x2
        sq_dev = np.where(sq_dev <= ZERO_VARIANCE_RTOL * scale, 0.0, sq_dev)
        x_bar = sum_x / n
        dof = n - ddof
        unit_var = np.where((dof > 0) & (sum_x != 0), sq_dev / (dof * x_bar**2), np.nan)
        se2 = np.where(n > 0, unit_var / n, np.nan)
    return ArmEstimates(n=n, sum_y=sum_y, sum_x=sum_x, estimate=ratio, unit_var=unit_var, se2=se2)


def difference(control: ArmEstimates, variant: ArmEstimates) -> Difference:
    """Absolute and relative difference with delta-method variances (independent arms).

    Relative lift ``r = m_v/m_c − 1`` has ``Var(r) ≈ se²_v/m_c² + m_v²·se²_c/m_c⁴`` (first-order
    Taylor expansion of the ratio of two independent estimates).
    """
    m_c, m_v = control.estimate, variant.estimate
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_ok = m_c != 0
        rel_lift = np.where(rel_ok, m_v / m_c - 1.0, np.nan)
        rel_se2 = np.where(rel_ok, variant.se2 / m_c**2 + m_v**2 * control.se2 / m_c**4, np.nan)
    return Difference(
        abs_diff=m_v - m_c,
        abs_se2=control.se2 + variant.se2,
        rel_lift=rel_lift,
        rel_se2=rel_se2,
    )


def pooled_proportion_se2(control: ArmEstimates, variant: ArmEstimates) -> np.ndarray:
    """Variance of p_v − p_c under H0: p_v = p_c, from the pooled proportion.

    This is the classic two-proportion z-test variance (and the one a 2×2 χ² test implies);
    it is only meaningful for the test statistic, not for a confidence interval.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        n_total = control.n + variant.n
        p = (control.sum_y + variant.sum_y) / n_total
        return p * (1.0 - p) * (1.0 / control.n + 1.0 / variant.n)


def welch_df(control: ArmEstimates, variant: ArmEstimates) -> np.ndarray:
    """Welch–Satterthwaite degrees of freedom for the difference of two means."""
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (control.se2 + variant.se2) ** 2
        den = control.se2**2 / (control.n - 1.0) + variant.se2**2 / (variant.n - 1.0)
        return np.where(den > 0, num / den, np.nan)
