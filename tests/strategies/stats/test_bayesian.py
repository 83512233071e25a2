"""Bayesian layer vs independent references.

* P(θ_v > θ_c): Evan Miller's exact sum for integer Beta parameters
  (https://www.evanmiller.org/bayesian-ab-testing.html). In double precision that sum loses
  ~1e-8 at n = 10⁷, so there, and for non-integer (Jeffreys) parameters, the reference is
  adaptive ``scipy.integrate.quad`` of scipy's (Boost) Beta pdf and CDF.
* Expected loss: Chris Stucchio's closed form, ``E[(A − B)⁺] = m_A·P(A⁺ > B) − m_B·P(A > B⁺)``
  with ``A⁺ ~ Beta(α_A + 1, β_A)`` (each P again by Evan Miller's sum); quad at n = 10⁷.
* Credible intervals: the exact CDF of the difference / ratio by ``quad`` at the returned
  ends, a seeded 10⁶-draw Monte Carlo, and the normal approximation for large n.
* Calibration: simulated A/B tests with true rates drawn from the prior.
* Normal model: ``scipy.stats.norm`` closed forms, the frequentist delta method, an independent
  conjugate (matrix) posterior, and Monte Carlo draws from it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from strategies.errors import ConfigError
from strategies.stats.bayesian import BayesResult, bayes_decision, beta_binomial, gaussian
from strategies.stats.estimate import ArmEstimates, difference

FIELDS = list(BayesResult.__dataclass_fields__)


# ------------------------------------------------------------------------------------------
# Independent references
# ------------------------------------------------------------------------------------------


def _evan_miller(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """P(B > A) for A ~ Beta(a_a, b_a), B ~ Beta(a_b, b_b), a_b a positive integer."""
    i = np.arange(int(a_b), dtype=np.float64)
    log_terms = (
        special.betaln(a_a + i, b_a + b_b)
        - np.log(b_b + i)
        - special.betaln(1.0 + i, b_b)
        - special.betaln(a_a, b_a)
    )
    return float(np.exp(log_terms).sum())


def _p_b_beats_a(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """Evan Miller's sum over whichever α is smaller (the sum has α terms)."""
    if a_b <= a_a:
        return _evan_miller(a_a, b_a, a_b, b_b)
    return 1.0 - _evan_miller(a_b, b_b, a_a, b_a)


def _stucchio_loss(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """E[max(A − B, 0)]: E[A·1{A>B}] − E[B·1{A>B}] with size-biased Betas."""
    m_a, m_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
    return m_a * _p_b_beats_a(a_b, b_b, a_a + 1, b_a) - m_b * _p_b_beats_a(a_b + 1, b_b, a_a, b_a)


def _quad(f, lo: float, hi: float, points=None) -> float:
    return integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=500, points=points)[0]


def _support(a: float, b: float) -> tuple[float, float]:
    return tuple(stats.beta.ppf([1e-15, 1.0 - 1e-15], a, b))


def _variant_is_narrower(a_c, b_c, a_v, b_v, *, log: bool = False) -> bool:
    """Adaptive quad, too, needs the step-like factor outside: integrate over the narrow arm."""
    if log:
        spread = lambda a, b: special.polygamma(1, a) - special.polygamma(1, a + b)  # noqa: E731
    else:
        spread = stats.beta.var
    return spread(a_v, b_v) <= spread(a_c, b_c)


def _cdf_diff(d: float, a_c: float, b_c: float, a_v: float, b_v: float) -> float:
    """P(θ_v − θ_c ≤ d), split where the inner argument leaves [0, 1]."""
    if _variant_is_narrower(a_c, b_c, a_v, b_v):  # ∫ f_v(y)·S_c(y − d) dy
        lo, hi = _support(a_v, b_v)
        kinks = [k for k in (d, 1.0 + d) if lo < k < hi]
        f = lambda y: stats.beta.pdf(y, a_v, b_v) * stats.beta.sf(np.clip(y - d, 0, 1), a_c, b_c)  # noqa: E731
    else:  # ∫ f_c(x)·F_v(x + d) dx
        lo, hi = _support(a_c, b_c)
        kinks = [k for k in (-d, 1.0 - d) if lo < k < hi]
        f = lambda x: stats.beta.pdf(x, a_c, b_c) * stats.beta.cdf(np.clip(x + d, 0, 1), a_v, b_v)  # noqa: E731
    return _quad(f, lo, hi, points=kinks or None)


def _cdf_ratio(r: float, a_c: float, b_c: float, a_v: float, b_v: float) -> float:
    """P(θ_v/θ_c − 1 ≤ r), split where the inner argument reaches 1."""
    if _variant_is_narrower(a_c, b_c, a_v, b_v, log=True):  # ∫ f_v(y)·S_c(y/(1 + r)) dy
        lo, hi = _support(a_v, b_v)
        kink = 1.0 + r
        f = lambda y: stats.beta.pdf(y, a_v, b_v) * stats.beta.sf(min(y / kink, 1.0), a_c, b_c)  # noqa: E731
    else:  # ∫ f_c(x)·F_v((1 + r)·x) dx
        lo, hi = _support(a_c, b_c)
        kink = 1.0 / (1.0 + r)
        f = lambda x: stats.beta.pdf(x, a_c, b_c) * stats.beta.cdf(min(x / kink, 1.0), a_v, b_v)  # noqa: E731
    return _quad(f, lo, hi, points=[kink] if lo < kink < hi else None)


def _arm(mean: float, se2: float) -> ArmEstimates:
    """A one-row arm for the estimate layer's delta method (only estimate and se2 matter)."""
    one = np.ones(1)
    return ArmEstimates(
        n=one, sum_y=one, sum_x=one, estimate=np.array([mean]), unit_var=one, se2=np.array([se2])
    )


def _one(result: BayesResult, i: int = 0) -> dict[str, float]:
    return {f: float(np.ravel(getattr(result, f))[i]) for f in FIELDS}


# ------------------------------------------------------------------------------------------
# Beta-binomial: P(better) and expected losses against closed forms
# ------------------------------------------------------------------------------------------

# (successes_c, n_c, successes_v, n_v): n = 1, small counts, zero successes, unequal arms.
EXACT_CASES = [
    (0, 1, 1, 1),
    (1, 1, 0, 1),
    (0, 1, 0, 1),
    (1, 3, 2, 3),
    (3, 10, 9, 10),
    (10, 100, 14, 100),
    (0, 1000, 0, 50),
    (45, 800, 31, 1200),
    (100, 1000, 130, 1000),
    (5120, 50_000, 5350, 49_800),
    (12, 100, 40_000, 300_000),
    (3, 30, 500, 5000),  # narrow arm with large shapes, wide arm with a small one
]
# n = 10⁷: very narrow posteriors (rates 0.1 %, 10 %, 50 %, and 2 successes against 0).
# Evan Miller's sum loses ~1e-8 here in double precision (its log-Beta terms are ~1e8 and
# cancel), so these are checked against adaptive quadrature of Boost's Beta pdf and CDF.
HUGE_CASES = [
    (10_000, 10_000_000, 10_150, 10_000_000),
    (1_000_000, 10_000_000, 1_001_500, 10_000_000),
    (5_000_000, 10_000_000, 4_999_000, 10_000_000),
    (2, 10_000_000, 0, 10_000_000),
]


def _batch(cases, **kwargs) -> BayesResult:
    s_c, n_c, s_v, n_v = (np.array(c, dtype=float) for c in zip(*cases, strict=True))
    return beta_binomial(s_c, n_c, s_v, n_v, **kwargs)


def _quad_references(a_c, b_c, a_v, b_v) -> tuple[float, float, float]:
    """P(θ_v > θ_c), E[(θ_v − θ_c)⁺], E[(θ_c − θ_v)⁺] by quad over the narrower posterior.

    The inner expectations are closed forms in the other arm's CDF with size-biasing,
    ``E[(X − y)⁺] = m_X·S_{X⁺}(y) − y·S_X(y)`` and ``E[(y − X)⁺] = y·F_X(y) − m_X·F_{X⁺}(y)``
    with ``X⁺ ~ Beta(a + 1, b)``, evaluated with scipy's Beta CDF.
    """
    flip = not _variant_is_narrower(a_c, b_c, a_v, b_v)
    (a_n, b_n), (a_w, b_w) = ((a_c, b_c), (a_v, b_v)) if flip else ((a_v, b_v), (a_c, b_c))
    m_w = a_w / (a_w + b_w)
    lo, hi = _support(a_n, b_n)
    mid = [a_n / (a_n + b_n)]
    f_n = lambda y: stats.beta.pdf(y, a_n, b_n)  # noqa: E731
    cdf, sf = stats.beta.cdf, stats.beta.sf
    p = _quad(lambda y: f_n(y) * cdf(y, a_w, b_w), lo, hi, mid)  # P(N > W)
    n_above = _quad(  # E[(N − W)⁺]
        lambda y: f_n(y) * (y * cdf(y, a_w, b_w) - m_w * cdf(y, a_w + 1, b_w)), lo, hi, mid
    )
    w_above = _quad(  # E[(W − N)⁺]
        lambda y: f_n(y) * (m_w * sf(y, a_w + 1, b_w) - y * sf(y, a_w, b_w)), lo, hi, mid
    )
    return (1.0 - p, w_above, n_above) if flip else (p, n_above, w_above)


def test_prob_better_matches_evan_miller_in_one_batch():
    result = _batch(EXACT_CASES)
    for i, (sc, nc, sv, nv) in enumerate(EXACT_CASES):
        ref = _p_b_beats_a(1 + sc, 1 + nc - sc, 1 + sv, 1 + nv - sv)
        # 1e-9: the sum's own rounding (log-Beta terms of size ~1e6 at n = 3·10⁵).
        assert result.prob_variant_better[i] == pytest.approx(ref, abs=1e-9), EXACT_CASES[i]


def test_n_of_ten_million_matches_quadrature():
    result = _batch(HUGE_CASES)
    for i, (sc, nc, sv, nv) in enumerate(HUGE_CASES):
        p, gain, risk = _quad_references(1 + sc, 1 + nc - sc, 1 + sv, 1 + nv - sv)
        assert result.prob_variant_better[i] == pytest.approx(p, abs=1e-10), HUGE_CASES[i]
        assert result.expected_loss_control[i] == pytest.approx(gain, abs=1e-13)
        assert result.expected_loss_variant[i] == pytest.approx(risk, abs=1e-13)


@pytest.mark.parametrize(("prior_alpha", "prior_beta"), [(2.0, 3.0), (1.0, 20.0)])
def test_prob_better_with_informative_prior(prior_alpha, prior_beta):
    cases = [(0, 1, 1, 1), (4, 60, 9, 55), (300, 4000, 350, 4100)]
    result = _batch(cases, prior_alpha=prior_alpha, prior_beta=prior_beta)
    for i, (sc, nc, sv, nv) in enumerate(cases):
        a_c, b_c = prior_alpha + sc, prior_beta + nc - sc
        a_v, b_v = prior_alpha + sv, prior_beta + nv - sv
        ref = _p_b_beats_a(a_c, b_c, a_v, b_v)
        assert result.prob_variant_better[i] == pytest.approx(ref, abs=1e-9)
        assert result.posterior_mean_diff[i] == pytest.approx(
            a_v / (a_v + b_v) - a_c / (a_c + b_c), rel=1e-12
        )


def test_expected_losses_match_stucchio_closed_form():
    result = _batch(EXACT_CASES)
    for i, (sc, nc, sv, nv) in enumerate(EXACT_CASES):
        a_c, b_c, a_v, b_v = 1 + sc, 1 + nc - sc, 1 + sv, 1 + nv - sv
        loss_control = _stucchio_loss(a_v, b_v, a_c, b_c)  # E[(θ_v − θ_c)⁺]
        loss_variant = _stucchio_loss(a_c, b_c, a_v, b_v)  # E[(θ_c − θ_v)⁺]
        assert result.expected_loss_control[i] == pytest.approx(loss_control, abs=1e-10)
        assert result.expected_loss_variant[i] == pytest.approx(loss_variant, abs=1e-10)
        # E[(V − C)⁺] − E[(C − V)⁺] = E[V − C]
        assert result.expected_loss_control[i] - result.expected_loss_variant[i] == (
            pytest.approx(result.posterior_mean_diff[i], abs=1e-12)
        )


@pytest.mark.parametrize(
    ("counts", "prior"),
    [
        ((0, 10_000_000, 3, 10_000_000), (0.5, 0.5)),  # singular density at 0, n = 10⁷
        ((0, 1, 1, 1), (0.5, 0.5)),
        ((7, 40, 2, 35), (0.5, 0.5)),
        ((20, 30, 25, 30), (1.5, 7.25)),
    ],
)
@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_non_integer_parameters_match_quadrature(counts, prior):
    """Jeffreys and other non-integer priors: no Evan Miller sum, so compare with quad.

    (quad reports roundoff at its 1e-14 target for the singular Jeffreys densities; the
    asserted tolerances are far looser.)"""
    sc, nc, sv, nv = counts
    a_c, b_c = prior[0] + sc, prior[1] + nc - sc
    a_v, b_v = prior[0] + sv, prior[1] + nv - sv
    res = _one(beta_binomial(sc, nc, sv, nv, prior_alpha=prior[0], prior_beta=prior[1]))
    # Integrate over the arm with the smaller variance, like the module (quad needs it too).
    if stats.beta.var(a_v, b_v) < stats.beta.var(a_c, b_c):
        lo, hi = _support(a_v, b_v)
        p_ref = _quad(lambda x: stats.beta.pdf(x, a_v, b_v) * stats.beta.cdf(x, a_c, b_c), lo, hi)
    else:
        lo, hi = _support(a_c, b_c)
        p_ref = _quad(lambda x: stats.beta.pdf(x, a_c, b_c) * stats.beta.sf(x, a_v, b_v), lo, hi)
    assert res["prob_variant_better"] == pytest.approx(p_ref, abs=1e-8)
    assert _cdf_diff(res["abs_cri_low"], a_c, b_c, a_v, b_v) == pytest.approx(0.025, abs=1e-6)
    assert _cdf_diff(res["abs_cri_high"], a_c, b_c, a_v, b_v) == pytest.approx(0.975, abs=1e-6)


# ------------------------------------------------------------------------------------------
# Beta-binomial: credible intervals
# ------------------------------------------------------------------------------------------

CRI_CASES = [
    (0, 1, 1, 1),
    (1, 2, 0, 2),
    (5, 5, 1, 5),
    (3, 10, 9, 10),
    (0, 1000, 0, 50),
    (10, 100, 14, 100),
    (100, 1000, 130, 1000),
    (1, 10_000_000, 9_999, 10_000_000),
    (4_399, 426_483, 4_535, 408_538),
    (2, 30, 500, 5000),
    (0, 30, 49, 49_999),  # the wide arm's support ends inside the narrow arm's range
]


def test_credible_intervals_invert_the_exact_cdf():
    """At the returned ends the exact CDFs (adaptive quad) are 2.5 % and 97.5 %."""
    result = _batch(CRI_CASES)
    for i, (sc, nc, sv, nv) in enumerate(CRI_CASES):
        params = (1 + sc, 1 + nc - sc, 1 + sv, 1 + nv - sv)
        res = _one(result, i)
        assert _cdf_diff(res["abs_cri_low"], *params) == pytest.approx(0.025, abs=1e-6)
        assert _cdf_diff(res["abs_cri_high"], *params) == pytest.approx(0.975, abs=1e-6)
        assert _cdf_ratio(res["rel_cri_low"], *params) == pytest.approx(0.025, abs=1e-6)
        assert _cdf_ratio(res["rel_cri_high"], *params) == pytest.approx(0.975, abs=1e-6)


def test_everything_matches_monte_carlo():
    """10⁶ seeded posterior draws per case: every summary within Monte Carlo error."""
    rng = np.random.default_rng(20240611)
    draws = 1_000_000
    band = 4.0 * np.sqrt(0.025 * 0.975 / draws)  # 4 SE of an empirical tail probability
    result = _batch(CRI_CASES, ci_level=0.95)
    for i, (sc, nc, sv, nv) in enumerate(CRI_CASES):
        res = _one(result, i)
        c = rng.beta(1 + sc, 1 + nc - sc, draws)
        v = rng.beta(1 + sv, 1 + nv - sv, draws)
        d, rel = v - c, v / c - 1.0
        assert np.mean(d <= res["abs_cri_low"]) == pytest.approx(0.025, abs=band)
        assert np.mean(d <= res["abs_cri_high"]) == pytest.approx(0.975, abs=band)
        assert np.mean(rel <= res["rel_cri_low"]) == pytest.approx(0.025, abs=band)
        assert np.mean(rel <= res["rel_cri_high"]) == pytest.approx(0.975, abs=band)
        assert res["prob_variant_better"] == pytest.approx(np.mean(d > 0), abs=2e-3)
        sd = d.std()
        assert res["expected_loss_control"] == pytest.approx(np.maximum(d, 0).mean(), abs=0.01 * sd)
        assert res["expected_loss_variant"] == pytest.approx(
            np.maximum(-d, 0).mean(), abs=0.01 * sd
        )


def test_other_credible_levels():
    res = _one(beta_binomial(40, 500, 55, 480, ci_level=0.8))
    params = (41, 461, 56, 426)
    assert _cdf_diff(res["abs_cri_low"], *params) == pytest.approx(0.1, abs=1e-7)
    assert _cdf_diff(res["abs_cri_high"], *params) == pytest.approx(0.9, abs=1e-7)
    assert _cdf_ratio(res["rel_cri_low"], *params) == pytest.approx(0.1, abs=1e-7)


def test_large_n_agrees_with_the_normal_approximation():
    """At n = 10⁶ per arm the posterior is normal to within a percent of a standard deviation:
    the interval matches the Wald/delta-method interval of the estimate layer."""
    s_c, n_c, s_v, n_v = 100_000.0, 1_000_000.0, 101_200.0, 1_000_000.0
    res = _one(beta_binomial(s_c, n_c, s_v, n_v))
    a_c, b_c, a_v, b_v = 1 + s_c, 1 + n_c - s_c, 1 + s_v, 1 + n_v - s_v
    m_c, m_v = a_c / (a_c + b_c), a_v / (a_v + b_v)
    var_c, var_v = stats.beta.var(a_c, b_c), stats.beta.var(a_v, b_v)
    sd = np.sqrt(var_c + var_v)
    z = stats.norm.ppf(0.975)
    assert res["abs_cri_low"] == pytest.approx(m_v - m_c - z * sd, abs=0.01 * sd)
    assert res["abs_cri_high"] == pytest.approx(m_v - m_c + z * sd, abs=0.01 * sd)
    assert res["prob_variant_better"] == pytest.approx(stats.norm.cdf((m_v - m_c) / sd), abs=1e-3)

    diff = difference(_arm(m_c, var_c), _arm(m_v, var_v))
    rel_sd = float(np.sqrt(diff.rel_se2[0]))
    assert res["rel_cri_low"] == pytest.approx(diff.rel_lift[0] - z * rel_sd, abs=0.02 * rel_sd)
    assert res["rel_cri_high"] == pytest.approx(diff.rel_lift[0] + z * rel_sd, abs=0.02 * rel_sd)


def test_swapping_arms_mirrors_every_summary():
    s_c = np.array([0, 3, 100, 12, 7_000])
    n_c = np.array([1, 10, 1000, 100, 1_000_000])
    s_v = np.array([1, 9, 130, 40_000, 7_300])
    n_v = np.array([1, 10, 1000, 300_000, 1_000_000])
    ab, ba = beta_binomial(s_c, n_c, s_v, n_v), beta_binomial(s_v, n_v, s_c, n_c)
    np.testing.assert_allclose(ab.prob_variant_better, 1 - ba.prob_variant_better, atol=1e-12)
    np.testing.assert_allclose(ab.expected_loss_control, ba.expected_loss_variant, atol=1e-15)
    np.testing.assert_allclose(ab.abs_cri_low, -ba.abs_cri_high, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(1 + ab.rel_cri_low, 1 / (1 + ba.rel_cri_high), rtol=1e-9)
    np.testing.assert_allclose(1 + ab.rel_cri_high, 1 / (1 + ba.rel_cri_low), rtol=1e-9)


# ------------------------------------------------------------------------------------------
# Beta-binomial: batch behaviour
# ------------------------------------------------------------------------------------------


def test_bad_rows_give_nan_and_leave_the_batch_alone():
    s_c = np.array([10, 0, np.nan, 5, 10, -1, 3])
    n_c = np.array([100, 0, 100, 4, 100, 10, 10])
    s_v = np.array([12, 3, 10, 2, np.nan, 2, 4])
    n_v = np.array([100, 10, 100, 10, 100, 10, 0])
    result = beta_binomial(s_c, n_c, s_v, n_v)
    for field in FIELDS:
        values = getattr(result, field)
        assert np.isfinite(values[0]), field
        assert np.isnan(values[1:]).all(), field
    single = _one(beta_binomial(10, 100, 12, 100))
    for field in FIELDS:
        assert getattr(result, field)[0] == pytest.approx(single[field], rel=1e-12, abs=1e-15)


def test_all_rows_invalid_is_fine():
    result = beta_binomial([0, 1], [0, 0], [0, 0], [5, 0])
    assert all(np.isnan(getattr(result, f)).all() for f in FIELDS)


def test_batch_equals_row_by_row_and_keeps_the_shape():
    rng = np.random.default_rng(7)
    n_c = rng.integers(1, 5000, size=(3, 4))
    n_v = rng.integers(1, 5000, size=(3, 4))
    s_c, s_v = rng.binomial(n_c, 0.1), rng.binomial(n_v, 0.11)
    batch = beta_binomial(s_c, n_c, s_v, n_v)
    assert batch.prob_variant_better.shape == (3, 4)
    for idx in np.ndindex(3, 4):
        row = _one(beta_binomial(s_c[idx], n_c[idx], s_v[idx], n_v[idx]))
        for field in FIELDS:
            assert getattr(batch, field)[idx] == pytest.approx(row[field], rel=1e-9, abs=1e-13)


def test_scalars_broadcast_against_arrays():
    result = beta_binomial(10, 100, np.array([5, 10, 20]), 100)
    assert result.prob_variant_better.shape == (3,)
    assert np.all(np.diff(result.prob_variant_better) > 0)
    assert result.prob_variant_better[1] == pytest.approx(0.5, abs=1e-12)


# ------------------------------------------------------------------------------------------
# Beta-binomial: calibration by simulation
# ------------------------------------------------------------------------------------------


def test_beta_binomial_is_calibrated_when_the_prior_is_true():
    """Rates drawn from the prior, data from the rates: 95 % intervals cover 95 % of the time,
    and among tests with P(better) in [0.8, 0.9] the variant is truly better that often."""
    rng = np.random.default_rng(11)
    tests, prior_alpha, prior_beta = 20_000, 2.0, 40.0
    # Independent Beta priors per arm, exactly what the model assumes.
    p_c, p_v = rng.beta(prior_alpha, prior_beta, (2, tests))
    n_c, n_v = rng.integers(20, 3000, tests), rng.integers(20, 3000, tests)
    s_c, s_v = rng.binomial(n_c, p_c), rng.binomial(n_v, p_v)
    res = beta_binomial(s_c, n_c, s_v, n_v, prior_alpha=prior_alpha, prior_beta=prior_beta)

    true_diff = p_v - p_c
    covered = (res.abs_cri_low <= true_diff) & (true_diff <= res.abs_cri_high)
    assert 0.94 <= covered.mean() <= 0.96
    true_rel = p_v / p_c - 1.0
    rel_covered = (res.rel_cri_low <= true_rel) & (true_rel <= res.rel_cri_high)
    assert 0.94 <= rel_covered.mean() <= 0.96

    prob = res.prob_variant_better
    in_bin = (prob >= 0.8) & (prob <= 0.9)
    assert in_bin.sum() >= 300
    truly_better = (p_v > p_c)[in_bin]
    se = np.sqrt(0.85 * 0.15 / in_bin.sum())
    assert truly_better.mean() == pytest.approx(prob[in_bin].mean(), abs=3 * se)
    assert 0.8 - 3 * se <= truly_better.mean() <= 0.9 + 3 * se


# ------------------------------------------------------------------------------------------
# Normal model
# ------------------------------------------------------------------------------------------


def _normal_expectations(mu: float, sigma: float) -> tuple[float, float]:
    post = stats.norm(mu, sigma)
    return post.expect(lambda x: x, lb=0.0), post.expect(lambda x: -x, ub=0.0)


@pytest.mark.parametrize(
    ("m_c", "se2_c", "m_v", "se2_v"),
    [(10.0, 0.04, 10.3, 0.09), (0.5, 1e-4, 0.49, 2e-4), (100.0, 4.0, 80.0, 1.0)],
)
def test_gaussian_flat_prior_matches_scipy_norm(m_c, se2_c, m_v, se2_v):
    res = _one(gaussian(m_c, se2_c, m_v, se2_v, ci_level=0.9))
    mu, sigma = m_v - m_c, np.sqrt(se2_c + se2_v)
    loss_control, loss_variant = _normal_expectations(mu, sigma)
    low, high = stats.norm.interval(0.9, mu, sigma)
    assert res["prob_variant_better"] == pytest.approx(stats.norm.sf(0.0, mu, sigma), rel=1e-12)
    assert res["expected_loss_control"] == pytest.approx(loss_control, rel=1e-8, abs=1e-14)
    assert res["expected_loss_variant"] == pytest.approx(loss_variant, rel=1e-8, abs=1e-14)
    assert (res["abs_cri_low"], res["abs_cri_high"]) == pytest.approx((low, high), rel=1e-12)
    assert res["posterior_mean_diff"] == pytest.approx(mu, rel=1e-12)

    # With a flat prior the relative interval is the estimate layer's delta-method interval.
    diff = difference(_arm(m_c, se2_c), _arm(m_v, se2_v))
    half = stats.norm.ppf(0.95) * np.sqrt(diff.rel_se2[0])
    assert res["rel_cri_low"] == pytest.approx(diff.rel_lift[0] - half, rel=1e-10)
    assert res["rel_cri_high"] == pytest.approx(diff.rel_lift[0] + half, rel=1e-10)


def _conjugate_posterior(m_c, se2_c, m_v, se2_v, prior_mean, prior_var):
    """Posterior of (θ_c, Δ) by linear-Gaussian algebra: y = X·(θ_c, Δ) + noise, with a flat
    prior on θ_c (zero precision) and N(prior_mean, prior_var) on Δ."""
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    noise_precision = np.diag([1 / se2_c, 1 / se2_v])
    prior_precision = np.diag([0.0, 1 / prior_var])
    cov = np.linalg.inv(x.T @ noise_precision @ x + prior_precision)
    mean = cov @ (x.T @ noise_precision @ np.array([m_c, m_v]) + prior_precision @ [0, prior_mean])
    return mean, cov


def test_gaussian_normal_prior_matches_conjugate_algebra_and_monte_carlo():
    m_c, se2_c, m_v, se2_v, prior_mean, prior_var = 20.0, 0.01, 20.3, 0.0144, 0.0, 0.02
    res = _one(gaussian(m_c, se2_c, m_v, se2_v, prior_mean=prior_mean, prior_var=prior_var))
    mean, cov = _conjugate_posterior(m_c, se2_c, m_v, se2_v, prior_mean, prior_var)
    mu, sigma = mean[1], np.sqrt(cov[1, 1])
    assert res["posterior_mean_diff"] == pytest.approx(mu, rel=1e-12)
    assert 0 < mu < m_v - m_c  # shrunk towards the prior mean
    assert res["prob_variant_better"] == pytest.approx(stats.norm.sf(0, mu, sigma), rel=1e-12)
    loss_control, loss_variant = _normal_expectations(mu, sigma)
    assert res["expected_loss_control"] == pytest.approx(loss_control, rel=1e-8)
    assert res["expected_loss_variant"] == pytest.approx(loss_variant, rel=1e-8)
    low, high = stats.norm.interval(0.95, mu, sigma)
    assert (res["abs_cri_low"], res["abs_cri_high"]) == pytest.approx((low, high), rel=1e-12)

    # Delta method from the independent joint posterior ...
    r = mean[1] / mean[0]
    grad = np.array([-mean[1] / mean[0] ** 2, 1 / mean[0]])
    half = stats.norm.ppf(0.975) * np.sqrt(grad @ cov @ grad)
    assert res["rel_cri_low"] == pytest.approx(r - half, rel=1e-10)
    assert res["rel_cri_high"] == pytest.approx(r + half, rel=1e-10)

    # ... and Monte Carlo draws from it. θ_c is 200 posterior SDs from 0, where the delta
    # method is accurate to about 1 % of the lift's SD (the error grows like SD(θ_c)/θ_c).
    draws = np.random.default_rng(3).multivariate_normal(mean, cov, 1_000_000)
    delta, rel = draws[:, 1], draws[:, 1] / draws[:, 0]
    assert res["prob_variant_better"] == pytest.approx(np.mean(delta > 0), abs=2e-3)
    assert res["expected_loss_variant"] == pytest.approx(np.maximum(-delta, 0).mean(), rel=0.02)
    assert res["abs_cri_low"] == pytest.approx(np.quantile(delta, 0.025), abs=0.01 * sigma)
    rel_sd = rel.std()
    assert res["rel_cri_low"] == pytest.approx(np.quantile(rel, 0.025), abs=0.02 * rel_sd)
    assert res["rel_cri_high"] == pytest.approx(np.quantile(rel, 0.975), abs=0.02 * rel_sd)


def test_gaussian_prior_limits():
    flat = _one(gaussian(5.0, 0.1, 5.4, 0.1))
    vague = _one(gaussian(5.0, 0.1, 5.4, 0.1, prior_var=1e12))
    for field in FIELDS:
        assert vague[field] == pytest.approx(flat[field], rel=1e-9)
    tight = _one(gaussian(5.0, 0.1, 5.4, 0.1, prior_mean=-0.2, prior_var=1e-10))
    assert tight["posterior_mean_diff"] == pytest.approx(-0.2, abs=1e-8)
    assert tight["prob_variant_better"] < 1e-100


def test_gaussian_bad_rows_give_nan():
    m_c = np.array([1.0, np.nan, 1.0, 1.0, 0.0, 2.0])
    se2_c = np.array([0.1, 0.1, -0.1, 0.0, 0.1, 0.0])
    m_v = np.array([1.2, 1.0, 1.0, 1.0, 0.3, 2.5])
    se2_v = np.array([0.1, 0.1, 0.1, 0.0, 0.1, 0.2])
    res = gaussian(m_c, se2_c, m_v, se2_v)
    for field in FIELDS:
        values = getattr(res, field)
        assert np.isfinite(values[[0, 5]]).all(), field
        assert np.isnan(values[1:4]).all(), field
    # A control level of 0: everything but the relative interval is defined.
    assert np.isfinite(res.prob_variant_better[4]) and np.isfinite(res.abs_cri_low[4])
    assert np.isnan(res.rel_cri_low[4]) and np.isnan(res.rel_cri_high[4])
    # One constant arm is fine: the uncertainty is all in the other arm.
    assert res.abs_cri_high[5] - res.abs_cri_low[5] == pytest.approx(2 * 1.959964 * np.sqrt(0.2))


# ------------------------------------------------------------------------------------------
# Decisions and argument errors
# ------------------------------------------------------------------------------------------


def _result(prob, loss_control, loss_variant, cri=None) -> BayesResult:
    """A BayesResult with the given P(better) and losses; ``cri`` (low, high) per row sets both
    credible intervals (default: one that excludes 0 on the side P(better) points to)."""
    arrays = {f: np.full(len(prob), np.nan) for f in FIELDS}
    if cri is None:
        cri = [(0.01, 0.02) if p > 0.5 else (-0.02, -0.01) for p in prob]
    low, high = (np.array(c, dtype=float) for c in zip(*cri, strict=True))
    arrays.update(
        prob_variant_better=np.array(prob, dtype=float),
        expected_loss_control=np.array(loss_control, dtype=float),
        expected_loss_variant=np.array(loss_variant, dtype=float),
        abs_cri_low=low,
        abs_cri_high=high,
        rel_cri_low=low,
        rel_cri_high=high,
    )
    return BayesResult(**arrays)


def test_bayes_decision_rule():
    result = _result(
        prob=[0.97, 0.97, 0.02, 0.02, 0.5, np.nan, 0.95, 0.05],
        loss_control=[0.1, 0.1, 1e-4, 0.01, 1e-5, 1e-5, 0.1, 1e-4],
        loss_variant=[1e-4, 0.01, 0.1, 0.1, 1e-5, 1e-5, 1e-4, 0.1],
    )
    decisions = bayes_decision(result, loss_threshold=1e-3)
    assert decisions.dtype == object
    assert list(decisions) == [
        "win",  # probably better and cheap if wrong
        "inconclusive",  # probably better, but too costly if wrong
        "loss",
        "inconclusive",
        "inconclusive",  # losses tiny but no direction
        "inconclusive",  # NaN row
        "win",  # the thresholds are inclusive
        "loss",
    ]
    looser = bayes_decision(result, prob_threshold=0.96, loss_threshold=0.05)
    assert list(looser) == ["win", "win", "loss", "loss"] + ["inconclusive"] * 4


def test_bayes_decision_needs_the_interval_to_exclude_zero():
    """DESIGN.md §2.7: a Bayesian call agrees with its own credible interval. P(better) and
    the losses pass the thresholds in every row; only the printed intervals differ."""
    prob, small, big = [0.96] * 5 + [0.03] * 2, [1e-5] * 7, [0.1] * 7
    result = _result(
        prob,
        loss_control=[big[0]] * 5 + small[:2],
        loss_variant=small[:5] + big[:2],
        cri=[(-0.001, 0.02), (0.001, 0.02), (0.0, 0.02), (0.001, 0.02), (0.001, 0.02)]
        + [(-0.02, 0.001), (-0.02, -0.001)],
    )
    # rows 3 and 4: the absolute interval excludes 0 but the relative one does not / is NaN
    rel_lo = result.rel_cri_low.copy()
    rel_hi = result.rel_cri_high.copy()
    rel_lo[3], rel_lo[4], rel_hi[4] = -0.001, np.nan, np.nan
    result = BayesResult(**{**result.__dict__, "rel_cri_low": rel_lo, "rel_cri_high": rel_hi})
    decisions = list(bayes_decision(result, loss_threshold=1e-3))
    assert decisions == [
        "inconclusive",  # the interval straddles 0
        "win",
        "inconclusive",  # an interval ending at 0 does not exclude it
        "inconclusive",  # the relative interval straddles 0
        "win",  # no relative interval (control at 0): the absolute one decides
        "inconclusive",
        "loss",
    ]


def test_bayes_decision_follows_the_metric_direction():
    # the variant is clearly higher; lower is better for a "decrease" metric
    res = beta_binomial([1000, 1000], [10_000] * 2, [1200, 800], [10_000] * 2)
    both = bayes_decision(res, loss_threshold=1e-3, direction=np.array(["increase", "decrease"]))
    assert list(both) == ["win", "win"]
    assert list(bayes_decision(res, loss_threshold=1e-3, direction="decrease")) == [
        "loss",
        "win",
    ]
    with pytest.raises(ConfigError, match="direction"):
        bayes_decision(res, loss_threshold=1e-3, direction="up")


def _grid_results(ci_level: float) -> list[BayesResult]:
    """Beta-binomial and normal posteriors over a grid of sufficient statistics dense around
    the decision boundary (P(better) between 0.9 and 0.999 on either side)."""
    grid = np.meshgrid(
        [200.0, 3_000.0, 50_000.0],  # control units
        [150.0, 3_000.0, 80_000.0],  # variant units
        [0.02, 0.3, 0.9],  # control rate
        np.linspace(-3.6, 3.6, 73),  # standardised effect of the variant
        indexing="ij",
    )
    nc, nv, p_c, zz = (a.ravel() for a in grid)
    se = np.sqrt(p_c * (1 - p_c) * (1 / nc + 1 / nv))
    p_v = np.clip(p_c + zz * se, 0.0, 1.0)
    s_c, s_v = np.round(p_c * nc), np.round(p_v * nv)
    out = [beta_binomial(s_c, nc, s_v, nv, ci_level=ci_level)]
    mean_c = np.where(p_c > 0.5, 10.0, -3.0 + p_c)  # includes a control level near 0
    out.append(
        gaussian(mean_c, (se * 0.6) ** 2, mean_c + zz * se, (se * 0.8) ** 2, ci_level=ci_level)
    )
    return out


@pytest.mark.parametrize("ci_level", [0.95, 0.99, 1 - 0.05 / 32])
@pytest.mark.parametrize("direction", ["increase", "decrease"])
def test_no_call_contradicts_its_interval_over_a_grid(ci_level, direction):
    """Over many sufficient statistics: every win/loss has its interval on one side of 0,
    and a row is inconclusive only when an interval touches 0 or a threshold fails. P(better)
    is checked against the interval with scipy's Beta CDFs (equal tails: the interval excludes
    0 exactly when P(better) ≥ 1 − (1 − level)/2)."""
    n_calls = 0
    for res in _grid_results(ci_level):
        loss_threshold = 1e-3
        decision = bayes_decision(res, loss_threshold=loss_threshold, direction=direction)
        up = direction == "increase"
        # the relative interval must exclude 0 too (its sign flips with a negative control)
        rel_excludes = (res.rel_cri_low > 0) | (res.rel_cri_high < 0)
        above = (res.abs_cri_low > 0) & rel_excludes
        below = (res.abs_cri_high < 0) & rel_excludes
        good, bad = (above, below) if up else (below, above)
        p_good = res.prob_variant_better if up else 1 - res.prob_variant_better
        ship = res.expected_loss_variant if up else res.expected_loss_control
        keep = res.expected_loss_control if up else res.expected_loss_variant
        win, lose = decision == "win", decision == "loss"
        assert good[win].all() and bad[lose].all()
        assert not (win & ~good).any() and not (lose & ~bad).any()
        expected_win = good & (p_good >= 0.95) & (ship < loss_threshold)
        expected_loss = bad & (1 - p_good >= 0.95) & (keep < loss_threshold)
        np.testing.assert_array_equal(win, expected_win)
        np.testing.assert_array_equal(lose, expected_loss)
        # the printed interval and P(better) tell the same story (away from the boundary)
        tail = (1 - ci_level) / 2
        p = res.prob_variant_better
        clear = np.abs(p - (1 - tail)) > 1e-5
        np.testing.assert_array_equal((res.abs_cri_low > 0)[clear], (p >= 1 - tail)[clear])
        n_calls += int(win.sum() + lose.sum())
    assert n_calls > 100  # the grid does reach the calls


def test_interval_excludes_zero_exactly_when_p_better_passes_the_tail():
    """The equivalence behind the rule, near the boundary, against scipy: for rows with
    P(better) between 0.96 and 0.99, the lower end of the 95 % interval is above 0 exactly when
    P(θ_v > θ_c) ≥ 0.975, P by adaptive quadrature of scipy's Beta pdf and CDF."""
    n, s_c = 3_000.0, 300.0
    s_v = np.linspace(338.0, 352.0, 29)  # weighted counts need not be integers
    res = beta_binomial(s_c, n, s_v, n)
    near = (res.prob_variant_better > 0.96) & (res.prob_variant_better < 0.99)
    assert near.sum() >= 4
    for i in np.flatnonzero(near):
        c = stats.beta(1 + s_c, 1 + n - s_c)
        v = stats.beta(1 + s_v[i], 1 + n - s_v[i])
        ref = _quad(lambda x, c=c, v=v: v.pdf(x) * c.cdf(x), 0.0, 0.3)
        assert res.prob_variant_better[i] == pytest.approx(ref, abs=1e-8)
        assert (res.abs_cri_low[i] > 0) == (ref >= 0.975)
        assert (res.rel_cri_low[i] > 0) == (ref >= 0.975)
        decision = bayes_decision(
            BayesResult(**{k: np.atleast_1d(v[i]) for k, v in res.__dict__.items()}),
            loss_threshold=1.0,
        )[0]
        assert decision == ("win" if ref >= 0.975 else "inconclusive")


def test_decisions_on_real_results():
    res = beta_binomial([1000, 1000, 1000], [10_000] * 3, [1200, 1000, 800], [10_000] * 3)
    assert list(bayes_decision(res, loss_threshold=1e-3)) == ["win", "inconclusive", "loss"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prior_alpha": 0.0}, "prior_alpha"),
        ({"prior_beta": -1.0}, "prior_beta"),
        ({"prior_alpha": float("nan")}, "prior_alpha"),
        ({"prior_beta": True}, "prior_beta"),
        ({"prior_alpha": 0.01}, "prior_alpha"),  # mass below the smallest double
        ({"ci_level": 1.0}, "ci_level"),
        ({"ci_level": 0.0}, "ci_level"),
        ({"ci_level": "0.95"}, "ci_level"),
    ],
)
def test_beta_binomial_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        beta_binomial(1, 10, 2, 10, **kwargs)


def test_inputs_must_broadcast_and_be_numeric():
    with pytest.raises(ConfigError, match="incompatible shapes"):
        beta_binomial([1, 2], [10, 10, 10], 1, 10)
    with pytest.raises(ConfigError, match="n_variant"):
        beta_binomial(1, 10, 2, "ten")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prior_var": 0.0}, "prior_var"),
        ({"prior_var": float("inf")}, "prior_var"),
        ({"prior_mean": float("nan")}, "prior_mean"),
        ({"ci_level": 1.5}, "ci_level"),
    ],
)
def test_gaussian_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        gaussian(1.0, 0.1, 1.1, 0.1, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prob_threshold": 0.5, "loss_threshold": 1e-3}, "prob_threshold"),
        ({"prob_threshold": 1.2, "loss_threshold": 1e-3}, "prob_threshold"),
        ({"loss_threshold": 0.0}, "loss_threshold"),
        ({"loss_threshold": float("nan")}, "loss_threshold"),
    ],
)
def test_bayes_decision_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        bayes_decision(_result([0.9], [0.0], [0.0]), **kwargs)
    with pytest.raises(ConfigError, match="BayesResult"):
        bayes_decision({"prob_variant_better": [0.9]}, loss_threshold=1e-3)
