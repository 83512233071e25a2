"""CUPED variance reduction from sufficient statistics, vectorised (Deng et al. 2013, 2018).

A pre-period covariate z (e.g. last month's revenue) is measured before assignment, so the
treatment cannot move it, yet it predicts the outcome. Subtracting the predictable part
``θ·(z − z̄)`` leaves an unbiased estimate with variance reduced by the factor ``1 − ρ²``
(ρ = correlation of the metric's unit values with z). The same sufficient statistics as the
plain analysis plus ``Σz, Σz², Σyz, Σxz`` per arm are all it needs.

Linearisation — one formula for every metric type
-------------------------------------------------
Every metric is ``R = Σy/Σx`` (x ≡ 1 for means and proportions); its first-order unit values are
``L_i = (y_i − R·x_i)/x̄`` within each arm (Deng et al. 2018), so ``R − E[R] ≈ mean(L)``. For a
mean L_i = y_i − ȳ, the unit value y centred in its arm. Per arm, with ``S`` for centred sums::

    S_LL = Σ(y − R x)² / x̄²                (the plain variance numerator)
    S_Lz = (Σyz − R·Σxz) / x̄               (Σ(y − R x) = 0, so z needs no centring here)
    S_zz = Σz² − (Σz)²/n

θ (convention)
--------------
θ is estimated on the pooled sample of the comparison (control + that variant, per experiment ×
segment × metric), with the unit values centred within their arm::

    θ = (S_Lz,c + S_Lz,v) / (S_zz,c + S_zz,v)

For a mean this is exactly the coefficient of z in the OLS regression ``y ~ 1 + treatment + z``
(Frisch–Waugh: the slope within arms), so the adjusted difference below *equals* the OLS
treatment coefficient — the ANCOVA / Lin (2013) estimator. A θ from the marginal pooled
regression of y on z (ignoring arms) differs by O(effect·imbalance) and absorbs part of the
treatment effect into the slope; the within-arm version does not, so it is the one used. One θ
for both arms (not one per arm) keeps the estimator a pure difference of adjusted means; θ's own
sampling noise is ignored in the variance, as in the CUPED paper (its effect is O(1/n)).

A constant covariate (S_zz = 0 in both arms) gives θ = 0, i.e. the plain analysis.

Adjusted estimates and variances
--------------------------------
Each arm's estimate is moved to the pooled covariate mean z̄ (so both arms are compared at the
same z̄, and estimate_variant − estimate_control is the adjusted difference)::

    R_adj = R − θ·(z̄_arm − z̄)
    se²_adj = (S_LL − 2θ·S_Lz + θ²·S_zz) / ((n − ddof)·n)

``ddof`` is the metric type's (0 for proportions, 1 otherwise), so θ = 0 reproduces the plain
variance exactly. Both adjusted arm estimates contain ``θ·z̄``, hence share the covariance
``θ²·Var(z̄)`` (Var(z̄) from the pooled sample); it cancels in the difference but enters the
relative lift ``R_adj,v/R_adj,c − 1`` (delta method or Fieller).

``variance_reduction = 1 − Var_cuped(Δ)/Var_plain(Δ)`` (both unpooled variances of the
absolute difference); ``1 − ρ²`` in the limit. It is negative only when the covariate is
useless and noise makes the adjusted variance slightly larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strategies.stats.estimate import ZERO_VARIANCE_RTOL, ArmEstimates, Difference


@dataclass(frozen=True)
class CovariateSums:
    """Per-arm covariate sums ``Σz, Σz², Σyz, Σxz`` (arrays of equal length)."""

    sum_z: np.ndarray
    sum_z2: np.ndarray
    sum_yz: np.ndarray
    sum_xz: np.ndarray


@dataclass(frozen=True)
class CupedResult:
    """Adjusted arms (plain where ``applied`` is False), θ and the diagnostics.

    ``shared_var`` is the covariance of the two adjusted arm estimates (``θ²·Var(z̄)``);
    ``theta`` and ``variance_reduction`` are NaN where no covariate applies;
    ``constant_covariate`` flags comparisons whose covariate has no variance within the arms
    (θ = 0: nothing to adjust).
    """

    control: ArmEstimates
    variant: ArmEstimates
    theta: np.ndarray
    shared_var: np.ndarray
    variance_reduction: np.ndarray
    applied: np.ndarray
    constant_covariate: np.ndarray


def cuped_adjust(
    control: ArmEstimates,
    variant: ArmEstimates,
    control_z: CovariateSums,
    variant_z: CovariateSums,
    *,
    ddof: np.ndarray | int,
    applied: np.ndarray,
) -> CupedResult:
    """CUPED-adjust every comparison where ``applied`` is True (see the module docstring)."""
    applied = np.asarray(applied, dtype=bool)
    ddof = np.broadcast_to(np.asarray(ddof, dtype=np.float64), control.n.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_ll_c, s_lz_c, s_zz_c = _centred_sums(control, control_z, ddof)
        s_ll_v, s_lz_v, s_zz_v = _centred_sums(variant, variant_z, ddof)
        s_zz = s_zz_c + s_zz_v
        theta = np.where(s_zz > 0, (s_lz_c + s_lz_v) / s_zz, 0.0)
        theta = np.where(np.isfinite(theta), theta, 0.0)

        n_total = control.n + variant.n
        z_total = control_z.sum_z + variant_z.sum_z
        z_bar = z_total / n_total
        adj_c = _adjusted_arm(control, control_z, theta, z_bar, s_ll_c, s_lz_c, s_zz_c, ddof)
        adj_v = _adjusted_arm(variant, variant_z, theta, z_bar, s_ll_v, s_lz_v, s_zz_v, ddof)
        # Var(z̄) of the pooled covariate mean, from the pooled (marginal) sample variance.
        ss_pooled = control_z.sum_z2 + variant_z.sum_z2 - z_total**2 / n_total
        var_z_bar = np.maximum(ss_pooled, 0.0) / ((n_total - 1.0) * n_total)
        shared_var = np.where(n_total > 1, theta**2 * var_z_bar, 0.0)
        plain = control.se2 + variant.se2
        reduction = 1.0 - (adj_c.se2 + adj_v.se2) / plain

    def pick(adjusted: ArmEstimates, plain_arm: ArmEstimates) -> ArmEstimates:
        return ArmEstimates(
            **{
                k: np.where(applied, getattr(adjusted, k), getattr(plain_arm, k))
                for k in vars(plain_arm)
            }
        )

    return CupedResult(
        control=pick(adj_c, control),
        variant=pick(adj_v, variant),
        theta=np.where(applied, theta, np.nan),
        shared_var=np.where(applied, shared_var, 0.0),
        variance_reduction=np.where(applied, reduction, np.nan),
        applied=applied,
        constant_covariate=applied & (s_zz == 0),
    )


def difference_with_covariance(
    control: ArmEstimates, variant: ArmEstimates, shared_var: np.ndarray
) -> Difference:
    """Variant − control when the two arm estimates share the covariance ``shared_var``.

    The shared part cancels in the absolute difference; the relative lift ``r = m_v/m_c − 1``
    has ``Var(r) ≈ V_v/m_c² + m_v²·V_c/m_c⁴ − 2·m_v·C/m_c³`` with ``V = se² + C`` and
    ``C = shared_var`` (first-order Taylor expansion). With C = 0 this is
    :func:`strategies.stats.estimate.difference`.
    """
    m_c, m_v = control.estimate, variant.estimate
    var_c, var_v = control.se2 + shared_var, variant.se2 + shared_var
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_ok = m_c != 0
        rel_lift = np.where(rel_ok, m_v / m_c - 1.0, np.nan)
        rel_se2 = var_v / m_c**2 + m_v**2 * var_c / m_c**4 - 2.0 * m_v * shared_var / m_c**3
        rel_se2 = np.where(rel_ok, np.maximum(rel_se2, 0.0), np.nan)
    return Difference(
        abs_diff=m_v - m_c,
        abs_se2=control.se2 + variant.se2,
        rel_lift=rel_lift,
        rel_se2=rel_se2,
    )


def _centred_sums(
    arm: ArmEstimates, z: CovariateSums, ddof: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S_LL, S_Lz, S_zz of one arm (see the module docstring)."""
    x_bar = arm.sum_x / arm.n
    s_ll = arm.unit_var * (arm.n - ddof)
    s_lz = (z.sum_yz - arm.estimate * z.sum_xz) / x_bar
    s_zz = z.sum_z2 - z.sum_z**2 / arm.n
    # a constant covariate leaves only rounding noise here (same rule as for the metric)
    s_zz = np.where(s_zz <= ZERO_VARIANCE_RTOL * z.sum_z2, 0.0, s_zz)
    s_zz = np.where(arm.n > 0, s_zz, 0.0)
    s_lz = np.where((arm.n > 0) & np.isfinite(s_lz), s_lz, 0.0)
    return s_ll, s_lz, s_zz


def _adjusted_arm(
    arm: ArmEstimates,
    z: CovariateSums,
    theta: np.ndarray,
    z_bar: np.ndarray,
    s_ll: np.ndarray,
    s_lz: np.ndarray,
    s_zz: np.ndarray,
    ddof: np.ndarray,
) -> ArmEstimates:
    """One arm moved to the pooled covariate mean, with its residual variance."""
    s_adj = s_ll - 2.0 * theta * s_lz + theta**2 * s_zz
    scale = s_ll + theta**2 * s_zz
    s_adj = np.where(s_adj <= ZERO_VARIANCE_RTOL * scale, 0.0, s_adj)
    dof = arm.n - ddof
    unit_var = np.where(dof > 0, s_adj / dof, np.nan)
    unit_var = np.where(np.isnan(arm.unit_var), np.nan, unit_var)
    estimate = arm.estimate - theta * (z.sum_z / arm.n - z_bar)
    return ArmEstimates(
        n=arm.n,
        sum_y=arm.sum_y,
        sum_x=arm.sum_x,
        estimate=estimate,
        unit_var=unit_var,
        se2=np.where(arm.n > 0, unit_var / arm.n, np.nan),
    )
