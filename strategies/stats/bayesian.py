"""Bayesian inference layer: posterior probabilities, expected losses and credible intervals.

Like the frequentist layer it works on the per-arm numbers of the estimate layer (counts for
proportions, ``estimate``/``se2`` for anything else), one array element per comparison. Every
function is deterministic — closed forms or fixed-size quadrature, never Monte Carlo — so two
runs on the same data report the same numbers, and the only Python loops are over quadrature
rules, groups of rows and root-finding iterations, never over comparisons.

Beta-binomial model (:func:`beta_binomial`)
-------------------------------------------
Each arm's rate has a ``Beta(prior_alpha, prior_beta)`` prior, so its posterior is
``Beta(α + s, β + n − s)``. Nothing about two Betas is closed form for arbitrary parameters, so
everything is a one-dimensional integral over one arm's posterior N of a closed-form function
of the other arm W (``P(N > W) = E[F_W(N)]`` and friends):

* **Which arm to integrate over.** Always the *narrower* posterior. W then enters through its
  CDF, which is smooth on N's scale; integrating over the wide arm instead would put a
  near-step function under the rule (n = 10⁷ against n = 100), which no fixed rule integrates
  accurately. "Narrower" means smaller variance of θ for P(better), the losses and the
  difference, and smaller variance of log θ for the ratio (an arm with a larger variance can
  still be the narrower one relative to its mean).
* **Coordinate.** N is integrated in logit space, ``z = log(θ/(1 − θ))``, where its density
  ``∝ e^{az}/(1 + e^z)^{a+b}`` is smooth and unimodal on the whole line, free of the endpoint
  singularities it has on (0, 1) when a shape parameter is below 1.
* **Rules.** If both shapes of N are ≥ ``_SMALL_SHAPE`` its logit density is close to normal:
  Gauss–Hermite nodes placed by the Laplace approximation (mode, curvature) are very
  efficient, 32 nodes giving P(better) to ~1e-11 from n ≈ 10 to n = 10⁷. Smaller shapes (a
  handful of successes or failures) have long exponential tails in logit space; those rows use
  Gauss–Legendre in ``u``, ``z = mode + s·sinh(u)``, over the range where the density exceeds
  1e-16 of its peak, which spaces the nodes geometrically in the tails (64 nodes: ~1e-13).
  Weights are normalised to sum to one, so the Beta constant (whose rounding error is ~1e-9 at
  n = 10⁷) is never used; the log density is evaluated relative to the mode as
  ``a·δ − (a + b)·log1p(p̂·expm1(δ))`` so that it stays accurate for very narrow posteriors.
* **W's CDF.** ``scipy.special.betainc`` costs microseconds per call for large shapes, so when
  both shapes of W are ≥ ``_SMALL_SHAPE`` its CDF at the (sorted) nodes comes from one
  ``betainc`` at the middle node plus the integrals of W's density between neighbouring nodes
  (6-point Gauss–Legendre per gap; the gaps are at most about one standard deviation of W,
  where the density is a low-degree polynomial to 1e-13). That density is evaluated from
  Stirling's series, ``log f(x) = ½log(s/(2πpq)) + δ(s) − δ(a) − δ(b) + (a−1)·log(x/p) +
  (b−1)·log((1−x)/q)`` (``s = a + b``, ``p = a/s``, ``q = b/s``, δ the Stirling remainder), which
  avoids subtracting numbers of size n.
* **Expected losses** use ``E[(W − x)⁺] = (m_W − x)·S_W(x) + x(1 − x)·f_W(x)/(a + b)`` for
  W ~ Beta(a, b) with mean m_W (from ``I_x(a+1, b) = I_x(a, b) − x^a(1−x)^b/(a·B(a, b))``),
  so P(better) and both losses share one CDF evaluation per node.
* **Credible intervals** are equal-tailed. The CDFs of ``N − W`` and of ``log N − log W`` are
  integrals of W's survival function at shifted / scaled nodes, inverted by a safeguarded
  Newton iteration vectorised over rows: it starts from a Cornish–Fisher quantile built from
  the *exact* first four cumulants (Beta moments; polygamma functions for log-Beta), is
  bracketed by Cantelli's inequality (``P(X − μ ≥ kσ) ≤ 1/(1 + k²)`` for any distribution, so
  the bracket is guaranteed), steps on the log of the tail probability (concave for
  log-concave posteriors, so it does not overshoot in a convex tail) and falls back to
  bisection when a step leaves the bracket. Where W's support ends (θ = 0 or 1) inside N's
  range, W's survival function has a kink there; such rows are integrated piecewise, with the
  kink at the end of the rule and the mass beyond it from N's exact CDF. The relative interval
  is ``exp(log-ratio quantile) − 1``. These inversions use 16 (Hermite) or 48 (Legendre)
  nodes: the CDF at the returned ends is then good to ~1e-7 (~1e-6 for posteriors with a
  shape below 1), i.e. the ends are good to ~1e-5 posterior standard deviations, far below
  any decision-relevant precision.
* **Floating point at the ends.** Doubles resolve θ near 0 down to 1e-308 but near 1 only to
  1e-16, so when the narrow posterior's mean is above ½ both arms are reflected (θ → 1 − θ)
  before P(better), the losses and the difference interval are computed. The log ratio is
  not symmetric under reflection and is computed as is; for a posterior piled up within
  1e-16 of 1 (no failures *and* a prior β well below 1) its interval is good to ~1e-5 only.
  Prior shapes below 0.05 are rejected: a posterior with no successes would have more than
  1e-15 of its mass below the smallest double.

An empty arm (n = 0), a NaN count or an impossible count (s < 0, s > n) gives NaN outputs for
that comparison and never an exception for the batch: with no data the "posterior" is the
prior, and a decision drawn from it would be a decision about the prior.

Normal model (:func:`gaussian`)
-------------------------------
For means, ratios and anything else with an estimate and a squared standard error, the
likelihood of each arm is ``N(θ, se²)``. The control level θ_c has a flat prior; the absolute
difference ``Δ = θ_v − θ_c`` has a flat prior (``prior_var=None``, the default) or a normal
prior ``N(prior_mean, prior_var)``. With ``v = se²_c + se²_v`` the posterior of Δ is
``N(μ, σ²)``, ``1/σ² = 1/v + 1/prior_var``, ``μ = σ²·(d̂/v + prior_mean/prior_var)``; then
``P(better) = Φ(μ/σ)``, ``E[Δ⁺] = σφ(μ/σ) + μΦ(μ/σ)``, ``E[(−Δ)⁺] = σφ(μ/σ) − μΦ(−μ/σ)`` and the
interval is ``μ ± z·σ``. With the flat prior these are the frequentist z quantities.

The relative lift ``Δ/θ_c`` is not normal; its interval is the **delta method on the joint
posterior** of (θ_c, Δ): given Δ, θ_c is measured twice (``m_c`` and ``m_v − Δ``), so
``θ_c | Δ ~ N(A − kΔ, se²_c·se²_v/v)`` with ``k = se²_c/v`` and ``A = (se²_v·m_c + se²_c·m_v)/v``,
giving ``E θ_c = A − kμ``, ``Var θ_c = se²_c·se²_v/v + k²σ²`` and ``Cov(θ_c, Δ) = −kσ²``. The
interval is ``r ± z·√Var(r)`` around ``r = μ/E θ_c`` with the first-order (delta-method)
variance of a ratio of correlated normals. With the flat prior it is exactly the frequentist
delta-method interval of the estimate layer; like that interval it is only trustworthy when
θ_c is many standard errors away from 0. A zero total standard error (both arms constant)
has no posterior spread and gives NaN, as do NaN or negative inputs; a posterior control
level of 0 gives a NaN relative interval.

Decisions (:func:`bayes_decision`)
----------------------------------
A Bayesian call agrees with the credible intervals it is printed beside (DESIGN.md §2.7).
"Good" is up for ``direction="increase"`` and down for ``"decrease"``. Ship the variant
("win") only if

* its credible interval of the absolute difference lies entirely on the good side of 0 — for
  an equal-tailed interval at level ``1 − a`` this is ``P(variant better) ≥ 1 − a/2`` —, checked
  on the printed ends themselves, and the interval of the relative lift (when defined) excludes
  0 as well (for a positive control level: on the same side; the normal model's relative
  interval is a delta-method one and can be wider);
* it is probably better: ``P(variant better) ≥ prob_threshold``;
* shipping it costs little if it is not: its expected loss ``< loss_threshold``.

"loss" is the mirror (intervals on the bad side, ``P(variant worse) ≥ prob_threshold``
and the expected loss of keeping the control ``< loss_threshold``); anything else, including
NaN rows, is "inconclusive". An interval that straddles 0 is therefore always "inconclusive",
whatever the thresholds. The loss threshold is in the metric's own units (e.g. 0.001 = 0.1
percentage points of conversion), which is why it has no default. The level of the intervals
is the caller's choice (``ci_level``); :mod:`strategies.stats.layers.bayesian` sets it per
comparison so that the call is corrected for the number of comparisons in its family.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from scipy import special

from strategies.errors import ConfigError

__all__ = ["BayesResult", "bayes_decision", "beta_binomial", "gaussian"]

#: Below this shape parameter a logit-Beta density has long exponential tails (Gauss–Hermite
#: loses accuracy: use sinh-mapped Gauss–Legendre) and Stirling's series for the density is
#: no longer accurate to 1e-13 (use betainc for the CDF).
_SMALL_SHAPE = 10.0
#: Node counts (Gauss–Hermite, Gauss–Legendre) for P(better) and the losses (~1e-11) ...
_SUMMARY_NODES = (32, 64)
#: ... and for the CDFs inverted for the credible intervals (~1e-7).
_INTERVAL_NODES = (16, 48)
#: Gauss–Legendre points per gap between nodes when W's CDF is built from its density.
_GAP_NODES = 6
#: The Gauss–Legendre range ends where the logit density is this fraction of its peak.
_TAIL_DENSITY = 1e-16
#: Smallest prior shape. Below it a posterior with no successes has more than ~1e-15 of its
#: mass below the smallest positive double, which no floating-point quadrature can resolve
#: (with 0.01, about 1e-3 of it).
_MIN_PRIOR = 0.05
_NEWTON_MAX_ITER = 100
#: Root-finding tolerance in posterior standard deviations. Newton stops once a step is this
#: small and takes it, leaving an error of order step²/σ ≈ 1e-12 σ; bisection stops when the
#: bracket is this narrow.
_NEWTON_TOL = 1e-6


@dataclass(frozen=True)
class BayesResult:
    """Per-comparison posterior summaries (arrays, one element per comparison).

    ``expected_loss_control`` is ``E[max(θ_v − θ_c, 0)]``, what shipping the control forgoes if
    the variant is in fact better; ``expected_loss_variant`` is ``E[max(θ_c − θ_v, 0)]``. The
    credible intervals are equal-tailed, for ``θ_v − θ_c`` (``abs_*``) and ``θ_v/θ_c − 1``
    (``rel_*``).
    """

    prob_variant_better: np.ndarray
    expected_loss_control: np.ndarray
    expected_loss_variant: np.ndarray
    abs_cri_low: np.ndarray
    abs_cri_high: np.ndarray
    rel_cri_low: np.ndarray
    rel_cri_high: np.ndarray
    posterior_mean_diff: np.ndarray


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _is_real(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_level(ci_level: float) -> None:
    if not _is_real(ci_level) or not 0.0 < ci_level < 1.0:
        raise ConfigError(f"ci_level must be a number strictly between 0 and 1, got {ci_level!r}")


def _as_arrays(names: tuple[str, ...], values: tuple) -> list[np.ndarray]:
    """Broadcast the per-comparison inputs to one float shape, or name the offending one."""
    arrays = []
    for name, value in zip(names, values, strict=True):
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be numeric (array-like), got {value!r}") from exc
    try:
        return [np.array(a, dtype=np.float64) for a in np.broadcast_arrays(*arrays)]
    except ValueError as exc:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays, strict=True))
        raise ConfigError(f"inputs have incompatible shapes: {shapes}") from exc


def _nan_result(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {name: np.full(shape, np.nan) for name in BayesResult.__dataclass_fields__}


# --------------------------------------------------------------------------------------------
# Beta-binomial
# --------------------------------------------------------------------------------------------


def beta_binomial(
    successes_control: np.ndarray,
    n_control: np.ndarray,
    successes_variant: np.ndarray,
    n_variant: np.ndarray,
    *,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    ci_level: float = 0.95,
) -> BayesResult:
    """Posterior comparison of two binomial rates with independent Beta priors.

    See the module docstring for the quadrature and why it integrates over the narrower arm.
    Counts need not be integers (weighted counts are fine); a row with n = 0, a NaN or an
    impossible count gives NaN outputs. Inputs broadcast; outputs have the broadcast shape.
    """
    for name, value in (("prior_alpha", prior_alpha), ("prior_beta", prior_beta)):
        if not _is_real(value) or value < _MIN_PRIOR:
            raise ConfigError(f"{name} must be a finite number ≥ {_MIN_PRIOR}, got {value!r}")
    _check_level(ci_level)
    s_c, n_c, s_v, n_v = _as_arrays(
        ("successes_control", "n_control", "successes_variant", "n_variant"),
        (successes_control, n_control, successes_variant, n_variant),
    )
    shape = s_c.shape
    s_c, n_c, s_v, n_v = (x.ravel() for x in (s_c, n_c, s_v, n_v))
    with np.errstate(invalid="ignore"):
        ok = (n_c > 0) & (n_v > 0) & (s_c >= 0) & (s_v >= 0) & (s_c <= n_c) & (s_v <= n_v)
        ok &= np.isfinite(n_c) & np.isfinite(n_v)
    out = _nan_result(s_c.shape)
    if ok.any():
        a_c, b_c = prior_alpha + s_c[ok], prior_beta + (n_c - s_c)[ok]
        a_v, b_v = prior_alpha + s_v[ok], prior_beta + (n_v - s_v)[ok]
        for key, value in _beta_summaries(a_c, b_c, a_v, b_v, (1.0 - ci_level) / 2.0).items():
            out[key][ok] = value
    return BayesResult(**{k: v.reshape(shape) for k, v in out.items()})


def _beta_summaries(
    a_c: np.ndarray, b_c: np.ndarray, a_v: np.ndarray, b_v: np.ndarray, p_lo: float
) -> dict[str, np.ndarray]:
    """All BayesResult fields for valid rows with posteriors Beta(a_c, b_c), Beta(a_v, b_v).

    The difference is computed as ``N − W`` for the narrow arm N and the wide arm W. Where N's
    mean is above ½ both arms are first reflected, θ → 1 − θ (Beta(a, b) → Beta(b, a)):
    doubles resolve θ near 0 down to 1e-308 but near 1 only to 1e-16, which matters for
    posteriors piled up against 1 (no failures and a prior β below 1). Reflection negates the
    difference, so ``θ_v − θ_c = ±(N − W)`` with the sign ``vn`` below. The ratio is computed
    without reflection as ``log θ_v − log θ_c = ±(log N − log W)`` for the log-narrow arm N.
    """
    v_narrow = _beta_var(a_v, b_v) <= _beta_var(a_c, b_c)
    flip = np.where(v_narrow, a_v / (a_v + b_v), a_c / (a_c + b_c)) > 0.5
    ref_c = np.where(flip, b_c, a_c), np.where(flip, a_c, b_c)
    ref_v = np.where(flip, b_v, a_v), np.where(flip, a_v, b_v)
    res = _by_group(_summaries, _Pairs.build(*ref_c, *ref_v, v_narrow), p_lo)
    v_narrow_log = _log_beta_var(a_v, b_v) <= _log_beta_var(a_c, b_c)
    rel = _by_group(_log_ratio_quantiles, _Pairs.build(a_c, b_c, a_v, b_v, v_narrow_log), p_lo)
    vn, vl = v_narrow != flip, v_narrow_log
    return {
        "prob_variant_better": np.where(vn, res["q"], 1.0 - res["q"]),
        "expected_loss_control": np.where(vn, res["l_nw"], res["l_wn"]),
        "expected_loss_variant": np.where(vn, res["l_wn"], res["l_nw"]),
        "abs_cri_low": np.where(vn, res["e_lo"], -res["e_hi"]),
        "abs_cri_high": np.where(vn, res["e_hi"], -res["e_lo"]),
        "rel_cri_low": np.expm1(np.where(vl, rel["g_lo"], -rel["g_hi"])),
        "rel_cri_high": np.expm1(np.where(vl, rel["g_hi"], -rel["g_lo"])),
        "posterior_mean_diff": a_v / (a_v + b_v) - a_c / (a_c + b_c),
    }


def _beta_var(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = a + b
    return a * b / (ab * ab * (ab + 1.0))


def _log_beta_var(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return special.polygamma(1, a) - special.polygamma(1, a + b)


@dataclass(frozen=True)
class _Pairs:
    """Rows comparing a narrow posterior N ~ Beta(an, bn) with a wide one W ~ Beta(aw, bw).

    ``mode`` is the mode of N's logit density and ``[z_lo, z_hi]`` the logit range where that
    density is above ``_TAIL_DENSITY`` of its peak (N's effective support).
    """

    an: np.ndarray
    bn: np.ndarray
    aw: np.ndarray
    bw: np.ndarray
    log_b_w: np.ndarray
    mode: np.ndarray
    z_lo: np.ndarray
    z_hi: np.ndarray

    @classmethod
    def build(
        cls,
        a_c: np.ndarray,
        b_c: np.ndarray,
        a_v: np.ndarray,
        b_v: np.ndarray,
        v_narrow: np.ndarray,
    ) -> _Pairs:
        an, bn = np.where(v_narrow, a_v, a_c), np.where(v_narrow, b_v, b_c)
        aw, bw = np.where(v_narrow, a_c, a_v), np.where(v_narrow, b_c, b_v)
        mode = np.log(an / bn)
        z_lo, z_hi = _logit_range(an, bn, mode)
        return cls(an, bn, aw, bw, special.betaln(aw, bw), mode, z_lo, z_hi)

    def take(self, rows: np.ndarray) -> _Pairs:
        return _Pairs(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


class _Rule(NamedTuple):
    """How a group of rows is integrated (see the module docstring)."""

    legendre: bool  # N has a small shape: sinh-mapped Gauss–Legendre, else Gauss–Hermite
    increments: bool  # W's CDF from one betainc plus integrated density (W has large shapes)


def _by_group(
    fn: Callable[[_Pairs, _Rule, float], dict[str, np.ndarray]], pairs: _Pairs, p_lo: float
) -> dict[str, np.ndarray]:
    """Run ``fn`` once per integration rule on the rows that use it, and reassemble."""
    n_small = np.minimum(pairs.an, pairs.bn) < _SMALL_SHAPE
    w_small = np.minimum(pairs.aw, pairs.bw) < _SMALL_SHAPE
    groups = (
        (~n_small & ~w_small, _Rule(legendre=False, increments=True)),
        (~n_small & w_small, _Rule(legendre=False, increments=False)),
        (n_small, _Rule(legendre=True, increments=False)),
    )
    out: dict[str, np.ndarray] = {}
    for mask, rule in groups:
        rows = np.flatnonzero(mask)
        if rows.size:
            for key, value in fn(pairs.take(rows), rule, p_lo).items():
                out.setdefault(key, np.empty(mask.shape))[rows] = value
    return out


def _summaries(pairs: _Pairs, rule: _Rule, p_lo: float) -> dict[str, np.ndarray]:
    """``q = P(N > W)``, ``l_nw = E[(N − W)⁺]``, ``l_wn = E[(W − N)⁺]`` and the ``p_lo`` and
    ``1 − p_lo`` quantiles of ``N − W`` (``e_lo``, ``e_hi``)."""
    y, w = _full_nodes(pairs, _SUMMARY_NODES[rule.legendre], rule.legendre)
    cdf_w, pdf_w = _wide_cdf_pdf(pairs, y, rule.increments)
    aw, bw = pairs.aw[:, None], pairs.bw[:, None]
    # x(1 − x)·f_W(x)/(a + b): the size-biasing term that turns E[W·1{W > x}] into a CDF.
    # (It vanishes at a node that rounded to 0 or 1, where f_W may be infinite.)
    with np.errstate(invalid="ignore"):
        bias = np.where((y > 0.0) & (y < 1.0), y * (1.0 - y) * pdf_w / (aw + bw), 0.0)
    m_w = aw / (aw + bw)
    out = {
        "q": np.sum(w * cdf_w, axis=1),
        "l_nw": np.sum(w * ((y - m_w) * cdf_w + bias), axis=1),
        "l_wn": np.sum(w * ((m_w - y) * (1.0 - cdf_w) + bias), axis=1),
    }
    cum = _difference_cumulants(
        _beta_cumulants(pairs.an, pairs.bn), _beta_cumulants(pairs.aw, pairs.bw)
    )
    grid = _full_nodes(pairs, _INTERVAL_NODES[rule.legendre], rule.legendre)
    for suffix, p in (("lo", p_lo), ("hi", 1.0 - p_lo)):
        out[f"e_{suffix}"] = _invert_cdf(
            "e", pairs, grid, rule, p=p, cumulants=cum, support=(-1.0, 1.0)
        )
    return out


def _log_ratio_quantiles(pairs: _Pairs, rule: _Rule, p_lo: float) -> dict[str, np.ndarray]:
    """The ``p_lo`` and ``1 − p_lo`` quantiles of ``log N − log W`` (``g_lo``, ``g_hi``)."""
    cum = _difference_cumulants(
        _log_beta_cumulants(pairs.an, pairs.bn), _log_beta_cumulants(pairs.aw, pairs.bw)
    )
    grid = _full_nodes(pairs, _INTERVAL_NODES[rule.legendre], rule.legendre)
    support = (-np.inf, np.inf)
    return {
        f"g_{suffix}": _invert_cdf("g", pairs, grid, rule, p=p, cumulants=cum, support=support)
        for suffix, p in (("lo", p_lo), ("hi", 1.0 - p_lo))
    }


# --------------------------------------------------------------------------------------------
# Quadrature over the narrow arm N (in logit space)
# --------------------------------------------------------------------------------------------


@cache
def _hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss–Hermite nodes and log(weight) + t²/2 (weights summing to one)."""
    t, w = special.roots_hermitenorm(n)
    return t, np.log(w / w.sum()) + t * t / 2.0


@cache
def _legendre_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return t, w


def _full_nodes(pairs: _Pairs, n_nodes: int, legendre: bool) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (ascending, on (0, 1)) and normalised weights for integrating over all of N."""
    if legendre:
        return _legendre_nodes(pairs, pairs.z_lo, pairs.z_hi, n_nodes)
    a, b, mode = pairs.an[:, None], pairs.bn[:, None], pairs.mode[:, None]
    t, log_w = _hermite_rule(n_nodes)
    z = mode + t * np.sqrt((a + b) / (a * b))  # Laplace approximation of the logit density
    return special.expit(z), _normalised(log_w + _logit_log_density_rel(z, a, b, mode))


def _legendre_nodes(
    pairs: _Pairs, lo: np.ndarray, hi: np.ndarray, n_nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes for N over the logit interval [lo, hi], weights summing to one.

    The rule is applied in ``u`` with ``z = mode + s·sinh(u)`` (s the Laplace scale), which
    spaces the nodes geometrically in the exponential tails of a small-shape logit density:
    48 nodes then do better than 128 evenly spaced ones.
    """
    a, b, mode = pairs.an[:, None], pairs.bn[:, None], pairs.mode[:, None]
    scale = np.sqrt((a + b) / (a * b))
    u_lo, u_hi = np.arcsinh((lo[:, None] - mode) / scale), np.arcsinh((hi[:, None] - mode) / scale)
    t, w = _legendre_rule(n_nodes)
    u = u_lo + (u_hi - u_lo) / 2.0 * (t + 1.0)
    z = mode + scale * np.sinh(u)
    with np.errstate(divide="ignore"):  # an empty interval has zero weights
        log_f = np.log(w * (u_hi - u_lo) * np.cosh(u)) + _logit_log_density_rel(z, a, b, mode)
    return special.expit(z), _normalised(log_f)


def _normalised(log_w: np.ndarray) -> np.ndarray:
    """Weights from log weights, scaled to sum to one per row (all-zero rows stay zero).

    Normalising by the quadrature sum means the Beta constant is never needed, and the
    quadrature error of the normalising integral largely cancels.
    """
    peak = log_w.max(axis=1, keepdims=True)
    w = np.exp(log_w - np.where(np.isfinite(peak), peak, 0.0))
    total = w.sum(axis=1, keepdims=True)
    return w / np.where(total > 0.0, total, 1.0)


def _logit_log_density_rel(
    z: np.ndarray, a: np.ndarray, b: np.ndarray, mode: np.ndarray
) -> np.ndarray:
    """log f(z) − log f(mode) for the logit of a Beta(a, b), accurate for narrow posteriors.

    ``a·δ − (a + b)·log((1 + e^z)/(1 + e^mode))`` with the ratio written as
    ``1 + p̂·expm1(δ)`` (``p̂ = a/(a + b)``), or as ``e^δ·(1 + q̂·expm1(−δ))`` for δ > 0 so that
    nothing overflows in a far right tail: the first-order terms cancel exactly instead of
    leaving the rounding error of two numbers of size n.
    """
    d = z - mode
    s = a + b
    e = np.expm1(-np.abs(d))
    return np.where(d <= 0.0, a * d - s * np.log1p(a / s * e), -b * d - s * np.log1p(b / s * e))


def _logit_range(a: np.ndarray, b: np.ndarray, mode: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the logit density falls to ``_TAIL_DENSITY`` of its peak, on either side.

    The log density ``g`` is concave, so Newton's method for ``g(z) = log(tol)`` started beyond
    the root converges monotonically from outside: every iterate is a safe (wide enough) end.
    The first step from ``mode ± 2/√curvature`` overshoots outward, which is what we want.
    """
    level = math.log(_TAIL_DENSITY)
    sd = np.sqrt((a + b) / (a * b))
    ends = []
    for sign in (-1.0, 1.0):
        z = mode + sign * 2.0 * sd
        for _ in range(40):
            g = _logit_log_density_rel(z, a, b, mode)
            slope = a - (a + b) * special.expit(z)
            z = z + (level - g) / slope
        ends.append(z)
    return ends[0], ends[1]


# --------------------------------------------------------------------------------------------
# The wide arm W: CDF and density at given points
# --------------------------------------------------------------------------------------------


def _wide_cdf_pdf(pairs: _Pairs, x: np.ndarray, increments: bool) -> tuple[np.ndarray, np.ndarray]:
    """W's CDF and density at x (rows × k, ascending along each row; 0 / 1 outside (0, 1))."""
    a, b = pairs.aw[:, None], pairs.bw[:, None]
    xc = np.clip(x, 0.0, 1.0)
    if not increments:
        return special.betainc(a, b, xc), _beta_pdf(x, a, b, pairs.log_b_w[:, None])
    log_pdf = _stirling_log_pdf(a, b)
    # Integrate the density over each gap between neighbouring points, anchor at the middle.
    lo, hi = xc[:, :-1], xc[:, 1:]
    centre, half = (hi + lo) / 2.0, (hi - lo) / 2.0
    gaps = np.zeros_like(half)
    for node, weight in zip(*_legendre_rule(_GAP_NODES), strict=True):
        gaps += weight * np.exp(log_pdf(centre + half * node))
    cum = np.concatenate([np.zeros_like(xc[:, :1]), np.cumsum(half * gaps, axis=1)], axis=1)
    mid = xc.shape[1] // 2
    anchor = special.betainc(pairs.aw, pairs.bw, xc[:, mid])
    cdf = anchor[:, None] + (cum - cum[:, mid : mid + 1])
    return np.clip(cdf, 0.0, 1.0), np.exp(log_pdf(xc))


def _beta_pdf(x: np.ndarray, a: np.ndarray, b: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """Beta density on (0, 1), 0 elsewhere — also at the ends themselves, where it may be
    infinite (shape < 1) but carries no mass and would turn a zero weight into NaN."""
    xc = np.clip(x, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dens = np.exp(special.xlogy(a - 1.0, xc) + special.xlog1py(b - 1.0, -xc) - log_b)
    return np.where((x > 0.0) & (x < 1.0), dens, 0.0)


def _stirling_remainder(x: np.ndarray) -> np.ndarray:
    """``log Γ(x) − [(x − ½)log x − x + ½log 2π]``, to ~2e-14 for x ≥ 10."""
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


def _stirling_log_pdf(a: np.ndarray, b: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Log Beta(a, b) density for a, b ≥ 10 without cancellation (x in [0, 1]; −inf at 0, 1).

    ``½log(s/(2πpq)) + δ(s) − δ(a) − δ(b) + (a−1)·log1p((x−p)/p) + (b−1)·log1p((p−x)/q)``
    with ``s = a + b``, ``p = a/s``, ``q = b/s``: Stirling's formula makes the large terms of
    log B(a, b) cancel analytically, so the result is accurate to ~1e-13 where ``betaln``
    leaves an error of ~1e-8 at n = 10⁷. Returns the density as a function of x, with the
    per-row constants computed once.
    """
    s = a + b
    p, q = a / s, b / s
    const = 0.5 * np.log(s / (2.0 * np.pi * p * q)) + _stirling_remainder(s)
    const -= _stirling_remainder(a) + _stirling_remainder(b)
    inv_p, inv_q, a1, b1 = 1.0 / p, 1.0 / q, a - 1.0, b - 1.0

    def log_pdf(x: np.ndarray) -> np.ndarray:
        d = x - p
        with np.errstate(divide="ignore", invalid="ignore"):
            return const + a1 * np.log1p(d * inv_p) + b1 * np.log1p(-d * inv_q)

    return log_pdf


# --------------------------------------------------------------------------------------------
# Credible intervals: CDF inversion
# --------------------------------------------------------------------------------------------


def _beta_cumulants(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """First four cumulants of Beta(a, b) (mean, variance, third, fourth)."""
    ab = a + b
    var = _beta_var(a, b)
    skew = 2.0 * (b - a) * np.sqrt(ab + 1.0) / ((ab + 2.0) * np.sqrt(a * b))
    ex_kurt = (
        6.0 * ((a - b) ** 2 * (ab + 1.0) - a * b * (ab + 2.0)) / (a * b * (ab + 2.0) * (ab + 3.0))
    )
    return [a / ab, var, skew * var**1.5, ex_kurt * var * var]


def _log_beta_cumulants(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """κ_k(log X) = ψ^(k−1)(a) − ψ^(k−1)(a + b) for X ~ Beta(a, b)."""
    ab = a + b
    return [special.digamma(a) - special.digamma(ab)] + [
        special.polygamma(k, a) - special.polygamma(k, ab) for k in (1, 2, 3)
    ]


def _difference_cumulants(cum_n: list[np.ndarray], cum_w: list[np.ndarray]) -> list[np.ndarray]:
    """Cumulants of N − W for independent N, W: κ_k(N) + (−1)^k·κ_k(W)."""
    pairs = enumerate(zip(cum_n, cum_w, strict=True), start=1)
    return [c_n + (-1.0) ** k * c_w for k, (c_n, c_w) in pairs]


def _transform(kind: str, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points x(t) where W's survival function is needed, and |dx/dt|.

    ``E = N − W ≤ t ⇔ W ≥ N − t`` (``kind="e"``, shift); ``G = log N − log W ≤ t ⇔
    W ≥ N·e^(−t)`` (``kind="g"``, scale). Both are increasing in N, so ascending nodes give
    ascending points.
    """
    if kind == "e":
        x = y - t[:, None]
        return x, np.ones_like(x)
    x = y * np.exp(-t)[:, None]
    return x, x


def _cuts(kind: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The N-interval where ``0 < x(t) < 1``: (y_low, its logit, logit of y_high).

    Below ``y_low`` the event ``W ≥ x`` is certain (x ≤ 0), above ``y_high`` impossible
    (x ≥ 1); at both points W's survival function has a kink (or worse), which no smooth
    quadrature rule should straddle.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "e":  # (t, 1 + t) ∩ (0, 1)
            y_low = np.maximum(t, 0.0)
            z_low = np.where(t > 0.0, special.logit(y_low), -np.inf)
            z_high = np.where(t < 0.0, np.log1p(t) - np.log(-t), np.inf)
        else:  # (0, e^t) ∩ (0, 1)
            y_low = np.zeros_like(t)
            z_low = np.full_like(t, -np.inf)
            z_high = np.where(t < 0.0, t - np.log(-np.expm1(t)), np.inf)
    return y_low, z_low, z_high


def _cdf_and_density(
    kind: str, pairs: _Pairs, grid: tuple[np.ndarray, np.ndarray], rule: _Rule, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """CDF and density of E (``kind="e"``) or G (``"g"``) at t, one t per row.

    ``F(t) = P(N ≤ y_low) + ∫_{y_low}^{y_high} f_N(y)·S_W(x(y, t)) dy`` and
    ``F'(t) = ∫ f_N(y)·f_W(x)·|dx/dt| dy`` (the boundary terms cancel because S_W is 1 at
    x = 0 and 0 at x = 1). Rows whose cut points lie outside N's effective support use the
    precomputed full grid; the others get nodes on the cut interval, weighted by its exact
    probability under N (incomplete Beta), so the kink sits at an end of the rule.
    """
    y_low, z_low, z_high = _cuts(kind, t)
    lo, hi = np.maximum(z_low, pairs.z_lo), np.minimum(z_high, pairs.z_hi)
    cut = (lo > pairs.z_lo) | (hi < pairs.z_hi)
    cdf, dens = np.empty_like(t), np.empty_like(t)
    for rows, is_cut in ((np.flatnonzero(~cut), False), (np.flatnonzero(cut), True)):
        if rows.size == 0:
            continue
        sub = pairs.take(rows)
        if is_cut:
            lo_r, hi_r = lo[rows], np.maximum(hi[rows], lo[rows])
            y, w = _legendre_nodes(sub, lo_r, hi_r, _INTERVAL_NODES[1])
            below = special.betainc(sub.an, sub.bn, y_low[rows])
            mass = special.betainc(sub.an, sub.bn, special.expit(hi_r)) - special.betainc(
                sub.an, sub.bn, special.expit(lo_r)
            )
            w = w * mass[:, None]
        else:
            y, w = grid[0][rows], grid[1][rows]
            below = 0.0
        x, jac = _transform(kind, y, t[rows])
        cdf_w, pdf_w = _wide_cdf_pdf(sub, x, rule.increments and not is_cut)
        cdf[rows] = below + np.sum(w * (1.0 - cdf_w), axis=1)
        dens[rows] = np.sum(w * pdf_w * jac, axis=1)
    return cdf, dens


def _invert_cdf(
    kind: str,
    pairs: _Pairs,
    grid: tuple[np.ndarray, np.ndarray],
    rule: _Rule,
    *,
    p: float,
    cumulants: list[np.ndarray],
    support: tuple[float, float],
) -> np.ndarray:
    """Solve ``F(t) = p`` per row for the CDF of :func:`_cdf_and_density`.

    Safeguarded Newton on the log of the tail probability: Cornish–Fisher start from the exact
    cumulants, Cantelli bracket, bisection whenever a step leaves the bracket; only rows that
    have not converged are evaluated again.
    """
    mean, var, k3, k4 = cumulants
    sd = np.sqrt(var)
    z = special.ndtri(p)
    g1, g2 = k3 / sd**3, k4 / var**2
    cf = z + (z * z - 1.0) * g1 / 6.0 + (z**3 - 3.0 * z) * g2 / 24.0
    cf -= (2.0 * z**3 - 5.0 * z) * g1 * g1 / 36.0
    # Cantelli: F(μ − kσ) < p for k² > (1 − p)/p and F(μ + kσ) > p for k² > p/(1 − p).
    lo = np.maximum(mean - 1.01 * sd * math.sqrt((1.0 - p) / p), support[0])
    hi = np.minimum(mean + 1.01 * sd * math.sqrt(p / (1.0 - p)), support[1])
    t = mean + sd * cf
    t = np.where((t > lo) & (t < hi), t, (lo + hi) / 2.0)
    tol = _NEWTON_TOL * sd

    active = np.arange(t.size)
    for _ in range(_NEWTON_MAX_ITER):
        if active.size == 0:
            break
        ta, la, ha = t[active], lo[active], hi[active]
        sub_grid = (grid[0][active], grid[1][active])
        cdf, dens = _cdf_and_density(kind, pairs.take(active), sub_grid, rule, ta)
        r = cdf - p
        la = np.where(r < 0.0, ta, la)
        ha = np.where(r > 0.0, ta, ha)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Newton on log F (lower tail) or −log S (upper tail): both are concave when the
            # density is log-concave, so the steps approach the root from the tail side
            # instead of overshooting it as Newton on F itself does in a convex tail.
            if p < 0.5:
                step = -(np.log(cdf) - math.log(p)) * cdf / dens
            else:
                sf = 1.0 - cdf
                step = -(math.log1p(-p) - np.log(sf)) * sf / dens
        cand = ta + step
        newton_ok = np.isfinite(cand) & (cand >= la) & (cand <= ha)
        cand = np.where(newton_ok, cand, (la + ha) / 2.0)
        tol_a = tol[active]
        done = (newton_ok & (np.abs(step) <= tol_a)) | (ha - la <= tol_a) | (r == 0.0)
        t[active], lo[active], hi[active] = np.where(r == 0.0, ta, cand), la, ha
        active = active[~done]
    return t


# --------------------------------------------------------------------------------------------
# Normal model
# --------------------------------------------------------------------------------------------


def gaussian(
    mean_control: np.ndarray,
    se2_control: np.ndarray,
    mean_variant: np.ndarray,
    se2_variant: np.ndarray,
    *,
    ci_level: float = 0.95,
    prior_mean: float = 0.0,
    prior_var: float | None = None,
) -> BayesResult:
    """Normal-likelihood posterior of the difference, flat or normal prior (module docstring).

    ``se2_*`` are squared standard errors (``ArmEstimates.se2``). Rows with a NaN or negative
    input, or with ``se2_control + se2_variant == 0``, give NaN outputs.
    """
    _check_level(ci_level)
    if not _is_real(prior_mean):
        raise ConfigError(f"prior_mean must be a finite number, got {prior_mean!r}")
    if prior_var is not None and (not _is_real(prior_var) or prior_var <= 0):
        raise ConfigError(
            f"prior_var must be a finite number > 0 (or None for a flat prior), got {prior_var!r}"
        )
    m_c, s_c, m_v, s_v = _as_arrays(
        ("mean_control", "se2_control", "mean_variant", "se2_variant"),
        (mean_control, se2_control, mean_variant, se2_variant),
    )
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        like_var = s_c + s_v
        ok = np.isfinite(m_c + m_v + like_var) & (s_c >= 0) & (s_v >= 0) & (like_var > 0)
        like_var = np.where(ok, like_var, np.nan)
        d_hat = m_v - m_c
        if prior_var is None:
            post_var, mu = like_var, d_hat
        else:
            post_var = 1.0 / (1.0 / like_var + 1.0 / prior_var)
            mu = post_var * (d_hat / like_var + prior_mean / prior_var)
        sigma = np.sqrt(post_var)
        zeta = mu / sigma
        phi = np.exp(-0.5 * zeta * zeta) / math.sqrt(2.0 * math.pi)
        q = special.ndtri((1.0 + ci_level) / 2.0)

        # Joint posterior of (θ_c, Δ) for the relative lift (delta method, module docstring).
        k = s_c / like_var
        mean_c = (s_v * m_c + s_c * m_v) / like_var - k * mu
        var_c = s_c * s_v / like_var + k * k * post_var
        cov = -k * post_var
        rel = np.where(mean_c != 0.0, mu / mean_c, np.nan)
        rel_var = post_var / mean_c**2 + mu**2 * var_c / mean_c**4 - 2.0 * mu * cov / mean_c**3
        rel_half = q * np.sqrt(np.maximum(rel_var, 0.0))
        return BayesResult(
            prob_variant_better=special.ndtr(zeta),
            expected_loss_control=np.maximum(sigma * phi + mu * special.ndtr(zeta), 0.0),
            expected_loss_variant=np.maximum(sigma * phi - mu * special.ndtr(-zeta), 0.0),
            abs_cri_low=mu - q * sigma,
            abs_cri_high=mu + q * sigma,
            rel_cri_low=rel - rel_half,
            rel_cri_high=rel + rel_half,
            posterior_mean_diff=mu + 0.0 * sigma,  # NaN where the row is invalid
        )


# --------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------


def bayes_decision(
    result: BayesResult,
    *,
    prob_threshold: float = 0.95,
    loss_threshold: float | np.ndarray,
    direction: str | np.ndarray = "increase",
) -> np.ndarray:
    """ "win" / "loss" / "inconclusive" per comparison (object array; rule in the module doc).

    ``result`` holds the raw posterior summaries (``prob_variant_better`` = P(θ_v > θ_c), the
    intervals of θ_v − θ_c and θ_v/θ_c − 1). ``prob_threshold`` must be above 0.5 so that
    "win" and "loss" exclude each other; ``loss_threshold`` (> 0, in the metric's units; a
    scalar or one value per comparison, e.g. a share of each control estimate) is the expected
    loss one is willing to risk; ``direction`` ("increase" or "decrease", a scalar or one per
    comparison) says which side of 0 is good.
    """
    if not isinstance(result, BayesResult):
        raise ConfigError(f"result must be a BayesResult, got {type(result).__name__}")
    if not _is_real(prob_threshold) or not 0.5 < prob_threshold <= 1.0:
        raise ConfigError(f"prob_threshold must be in (0.5, 1], got {prob_threshold!r}")
    loss_threshold = np.asarray(loss_threshold, dtype=np.float64)
    if not np.all(np.isfinite(loss_threshold) & (loss_threshold > 0)):
        raise ConfigError(
            f"loss_threshold must be finite and > 0 (a number or one per comparison), "
            f"got {loss_threshold!r}"
        )
    direction = np.asarray(direction, dtype=object)
    if not np.all((direction == "increase") | (direction == "decrease")):
        raise ConfigError(
            f"direction must be 'increase' or 'decrease' (one or one per comparison), "
            f"got {direction!r}"
        )
    up = direction != "decrease"
    p = np.asarray(result.prob_variant_better, dtype=np.float64)
    abs_lo, abs_hi = np.asarray(result.abs_cri_low), np.asarray(result.abs_cri_high)
    rel_lo, rel_hi = np.asarray(result.rel_cri_low), np.asarray(result.rel_cri_high)
    with np.errstate(invalid="ignore"):  # NaN compares False: inconclusive
        # The relative interval must exclude 0 too (it is a different, delta-method interval
        # for the normal model). Its sign follows the absolute one's only for a positive
        # control level, so the side is taken from the absolute interval; a NaN relative
        # interval (control level 0) leaves the absolute one to decide.
        rel_ok = (rel_lo > 0.0) | (rel_hi < 0.0) | (np.isnan(rel_lo) & np.isnan(rel_hi))
        above = (abs_lo > 0.0) & rel_ok
        below = (abs_hi < 0.0) & rel_ok
        p_good = np.where(up, p, 1.0 - p)
        loss_ship = np.where(up, result.expected_loss_variant, result.expected_loss_control)
        loss_keep = np.where(up, result.expected_loss_control, result.expected_loss_variant)
        win = np.where(up, above, below) & (p_good >= prob_threshold) & (loss_ship < loss_threshold)
        loss = (
            np.where(up, below, above)
            & (1.0 - p_good >= prob_threshold)
            & (loss_keep < loss_threshold)
        )
    return np.select([win, loss], ["win", "loss"], default="inconclusive").astype(object)
