"""Sequential testing: look at results every day without inflating false positives.

A fixed-horizon test is valid only if it is looked at once. Teams look daily and stop when the
result "is significant"; with 14 daily looks a nominal 5 % z-test then rejects a true null
about 20 % of the time. This module is the inference layer that makes peeking safe, in two
flavours that answer different needs:

* **mSPRT / always-valid inference** (:func:`msprt`; Johari, Pekelis & Walsh, "Always valid
  inference", Operations Research 2022, normal mixture). No plan needed: p-values and
  confidence sequences stay valid at *any* data-dependent stopping time, for any number of
  looks. The price is width: before the planned sample size it is far wider than a fixed test.
* **Group-sequential tests** (:func:`group_sequential`) with Lan–DeMets alpha spending. Needs a
  planned maximum information; in exchange it is nearly as powerful as a fixed-horizon test
  (:func:`gst_inflation_factor` is ~1.03 for five O'Brien–Fleming looks). The boundaries are
  computed *exactly* by recursive numerical integration (Armitage, McPherson & Rowe 1969;
  Jennison & Turnbull 2000, ch. 19), not by simulation.

And the plumbing from data to looks: sufficient statistics are additive, so statistics per
period (:func:`stats_by_period`) cumulated over periods (:func:`cumulative_stats`) are exactly
the statistics of "all units up to that day"; :func:`look_arrays` pivots a long per-look frame
into the ``(looks, comparisons)`` arrays the tests take.

Everything is vectorised over comparisons; Python loops run only over looks (a handful).
Conventions: all tests are two-sided; ``alpha`` is the total two-sided error rate. Undefined
looks (NaN estimate, zero or NaN variance, e.g. before an arm has units) are carried as data:
they neither reject nor narrow anything, as if the look had not happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import aggregate
from strategies.stats.metrics import SUFFICIENT_STATISTICS, MetricSpec
from strategies.stats.schema import LABEL_COLUMNS, OVERALL_SEGMENT

Tau2Rule = Literal["mde", "evidence", "width"]
Spending = Literal["obrien_fleming", "pocock"]
TAU2_RULES: tuple[str, ...] = get_args(Tau2Rule)
SPENDING_FUNCTIONS: tuple[str, ...] = get_args(Spending)

#: Density r of the Jennison–Turnbull integration grid (up to 12·r − 1 nodes per look). r = 32
#: moves the boundaries by < 1e-7 from r = 64 (and r = 64 by < 1e-8 from r = 128, so the
#: error is of that order; checked in the tests) for one (≤ 767 × 767) matrix product a look.
GRID_DENSITY = 32

#: The statistics every sufficient-statistics frame has (others, like CUPED sums, may be added).
_BASE_STATISTICS: tuple[str, ...] = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")

#: An alpha increment below this underflows every tail probability we could compare it with;
#: its boundary is +inf (a z beyond ~37 never happens anyway).
_TINY_ALPHA = 1e-250


# --------------------------------------------------------------------------------------------
# argument checks


def _check_alpha(alpha: object, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not (isinstance(alpha, Real) and 0 < alpha < 1):
        raise ConfigError(f"{name} must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; valid values are {', '.join(choices)}")


def _as_float_array(values: object, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be numeric, got {type(values).__name__}") from exc


def _looks_by_comparisons(values: object, name: str) -> np.ndarray:
    arr = _as_float_array(values, name)
    if arr.ndim not in (1, 2):
        raise ConfigError(
            f"{name} must be shaped (looks, comparisons) or (looks,), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ConfigError(f"{name} has no looks")
    return arr.reshape(arr.shape[0], -1)


# --------------------------------------------------------------------------------------------
# mSPRT: always-valid p-values and confidence sequences


@dataclass(frozen=True)
class MSPRTResult:
    """Always-valid inference per look and comparison.

    ``p_value``, ``cs_low``, ``cs_high`` are shaped like the inputs. ``p_value`` is
    non-increasing over looks and ``[cs_low, cs_high]`` is nested (the running intersection), so
    whatever was concluded at a look stays concluded. ``crossed`` is True where the p-value
    reached ``alpha`` at some look (equivalently: the confidence sequence excluded 0);
    ``first_crossing_look`` is the 0-based index of that look, −1 if none.
    """

    p_value: np.ndarray
    cs_low: np.ndarray
    cs_high: np.ndarray
    crossed: np.ndarray
    first_crossing_look: np.ndarray


def msprt(
    abs_diff: np.ndarray,
    variance: np.ndarray,
    *,
    alpha: float,
    tau2: float | np.ndarray,
) -> MSPRTResult:
    """Mixture SPRT with a normal N(0, τ²) mixing distribution on the difference θ.

    With θ̂_k ~ N(θ, V_k) at look k the mixture likelihood ratio against θ = 0 is

        Λ_k = sqrt(V_k/(V_k+τ²)) · exp(τ² θ̂_k² / (2 V_k (V_k+τ²)))

    a nonnegative martingale under H0, so by Ville's inequality P(sup_k Λ_k ≥ 1/α) ≤ α: the
    p-value ``p_k = min(p_{k−1}, 1/Λ_k)`` (p_0 = 1) is valid however and whenever one stops.
    Inverting the same test at every θ gives the confidence sequence

        θ̂_k ± sqrt(V_k (V_k+τ²)/τ² · (log((V_k+τ²)/V_k) − 2 log α))

    intersected over looks. Validity rests on θ̂ being (asymptotically) normal with known
    variance, the same assumption as the fixed-horizon z-test.

    ``abs_diff`` and ``variance`` (the squared SE of the difference, e.g.
    :attr:`Difference.abs_se2`) are shaped ``(looks, comparisons)``; a 1-D input is one
    comparison and gives 1-D / scalar outputs. ``tau2`` is a positive scalar or one value per
    comparison — it must be fixed before the data are seen (see :func:`default_tau2`), never
    changed between looks, or the guarantee is lost.
    """
    alpha = _check_alpha(alpha)
    theta = _looks_by_comparisons(abs_diff, "abs_diff")
    var = _looks_by_comparisons(variance, "variance")
    one_dim = np.ndim(abs_diff) == 1
    if theta.shape != var.shape:
        raise ConfigError(
            f"abs_diff and variance must have the same shape, got {np.shape(abs_diff)} and "
            f"{np.shape(variance)}"
        )
    t2 = _as_float_array(tau2, "tau2")
    n_comp = theta.shape[1]
    if t2.ndim > 1 or (t2.ndim == 1 and t2.shape[0] not in (1, n_comp)):
        raise ConfigError(
            f"tau2 must be a scalar or one value per comparison ({n_comp}), got shape "
            f"{t2.shape}; the mixing variance must not change between looks"
        )
    if not (np.isfinite(t2).all() and (t2 > 0).all()):
        raise ConfigError(f"tau2 (the mixing variance) must be finite and > 0, got {tau2!r}")
    t2 = np.broadcast_to(t2, (n_comp,))[None, :]

    valid = np.isfinite(theta) & np.isfinite(var) & (var > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lr = 0.5 * np.log(var / (var + t2)) + t2 * theta**2 / (2.0 * var * (var + t2))
        p_look = np.where(valid, np.minimum(1.0, np.exp(-log_lr)), 1.0)
        half = np.sqrt(var * (var + t2) / t2 * (np.log((var + t2) / var) - 2.0 * np.log(alpha)))
        low = np.where(valid, theta - half, -np.inf)
        high = np.where(valid, theta + half, np.inf)
    p_value = np.minimum.accumulate(p_look, axis=0)
    cs_low = np.maximum.accumulate(low, axis=0)
    cs_high = np.minimum.accumulate(high, axis=0)
    crossed, first = _first_crossing(p_value <= alpha)
    if one_dim:
        return MSPRTResult(p_value[:, 0], cs_low[:, 0], cs_high[:, 0], crossed[0], first[0])
    return MSPRTResult(p_value, cs_low, cs_high, crossed, first)


def _first_crossing(rejected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    crossed = rejected.any(axis=0)
    first = np.where(crossed, np.argmax(rejected, axis=0), -1).astype(np.int64)
    return crossed, first


def default_tau2(
    variance_at_planned_n: float | np.ndarray,
    mde: float | np.ndarray | None,
    *,
    rule: Tau2Rule = "mde",
    alpha: float = 0.05,
) -> np.ndarray:
    """A mixing variance τ² for :func:`msprt`, chosen from the plan before any data are seen.

    τ² is the scale of effects the test is tuned to find: it is most powerful for |θ| ≈ τ and
    loses power on effects much smaller (too little evidence to beat the mixture's prior
    spread) or much larger than τ (too much mass wasted near 0). Rules, all on the scale of the
    *absolute* difference (convert a relative MDE with ``mde = min_effect · control mean``):

    * ``"mde"`` (default): ``τ² = mde²``. Centres the mixture on the smallest effect worth
      detecting — the recommendation of Johari et al. to match τ to the effects one expects.
    * ``"evidence"``: ``τ² = max(mde² − V_N, V_N/100)``, the τ² that maximises Λ at the planned
      sample size when θ̂ equals the MDE (d log Λ / dτ² = 0 ⇔ V + τ² = θ̂²).
    * ``"width"``: ``τ² = r·V_N`` with r solving ``r = log(1 + r) − 2 log α``, the τ² that
      minimises the confidence-sequence width at the planned sample size (cf. Howard, Ramdas
      et al. 2021); r ≈ 8.2 for α = 0.05. Needs no MDE.

    The rules agree for a standard design: with 80 % power at α = 5 %, mde ≈ 2.8·sqrt(V_N), so
    mde² ≈ 7.8·V_N against 6.8·V_N ("evidence") and 8.2·V_N ("width"); the choice matters
    little and "mde" is the easiest to explain. ``variance_at_planned_n`` is V_N, the variance
    of the difference estimate at the planned sample size. Returns an array (0-d for scalars).
    """
    _check_choice(rule, "tau2 rule", TAU2_RULES)
    alpha = _check_alpha(alpha)
    var = _as_float_array(variance_at_planned_n, "variance_at_planned_n")
    if not (np.isfinite(var).all() and (var > 0).all()):
        raise ConfigError(
            f"variance_at_planned_n must be finite and > 0, got {variance_at_planned_n!r}"
        )
    if rule == "width":
        c = -2.0 * np.log(alpha)
        r = optimize.brentq(lambda r: r - np.log1p(r) - c, c, 2.0 * c + 10.0)
        return r * var
    if mde is None:
        raise ConfigError(f"tau2 rule {rule!r} needs the minimum detectable effect mde")
    mde_arr = _as_float_array(mde, "mde")
    if not (np.isfinite(mde_arr).all() and (mde_arr != 0).all()):
        raise ConfigError(f"mde must be finite and non-zero (absolute scale), got {mde!r}")
    if rule == "mde":
        return np.broadcast_arrays(mde_arr**2, var)[0].copy()
    return np.maximum(mde_arr**2 - var, var / 100.0)


# --------------------------------------------------------------------------------------------
# group-sequential tests: alpha spending and exact boundaries


@dataclass(frozen=True)
class GSTResult:
    """Group-sequential decisions.

    ``boundary`` holds the |z| critical value per look (``(looks,)``, or ``(looks,
    comparisons)`` when information fractions were given per comparison); +inf where a look
    spends no alpha. ``alpha_spent`` is the cumulative two-sided alpha spent up to each look
    (same shape). ``crossed``/``first_crossing_look`` as in :class:`MSPRTResult`.
    """

    boundary: np.ndarray
    alpha_spent: np.ndarray
    crossed: np.ndarray
    first_crossing_look: np.ndarray


def alpha_spending(
    information_fractions: Sequence[float] | np.ndarray,
    alpha: float,
    *,
    spending: Spending = "obrien_fleming",
) -> np.ndarray:
    """Cumulative two-sided alpha spent by information fraction t (capped at t = 1).

    The boundaries are symmetric, so each side spends half. Per side, with α_s = α/2:

    * ``"obrien_fleming"`` (Lan & DeMets 1983): ``α_s(t) = 2 − 2Φ(z_{1−α_s/2}/√t)``;
    * ``"pocock"`` (Lan–DeMets Pocock type): ``α_s(t) = α_s · log(1 + (e − 1)·t)``.

    Note the O'Brien–Fleming convention: the spending function is applied to the *one-sided*
    α/2 and the two sides are added. This is what R's gsDesign (``sfLDOF``, ``test.type = 2``)
    and the published Lan–DeMets tables do (five looks at α = 0.05: 4.877, 3.357, 2.680, 2.290,
    2.031). Plugging the two-sided α into the same formula instead spends ~10× more alpha at
    early looks (first boundary 4.38 instead of 4.88) for essentially the same final boundary.
    """
    alpha = _check_alpha(alpha)
    _check_choice(spending, "spending function", SPENDING_FUNCTIONS)
    t = np.minimum(_as_float_array(information_fractions, "information_fractions"), 1.0)
    a_side = alpha / 2.0
    if spending == "pocock":
        return 2.0 * a_side * np.log1p((np.e - 1.0) * t)
    with np.errstate(divide="ignore"):
        return 2.0 * (2.0 * stats.norm.sf(stats.norm.isf(a_side / 2.0) / np.sqrt(t)))


def _check_fractions(information_fractions: object) -> np.ndarray:
    t = _as_float_array(information_fractions, "information_fractions")
    if t.ndim != 1 or t.size == 0:
        raise ConfigError(
            f"information_fractions must be a non-empty 1-D sequence, got shape {t.shape}"
        )
    if not (np.isfinite(t).all() and (t > 0).all()):
        raise ConfigError(f"information fractions must be finite and > 0, got {t.tolist()}")
    if (np.diff(t) <= 0).any():
        raise ConfigError(
            f"information fractions must be strictly increasing (one per look), got {t.tolist()}"
        )
    return t


def _jt_grid(mean: float, lo: float, hi: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Jennison & Turnbull (2000, §19.2) integration nodes and Simpson weights on (lo, hi).

    The 6r − 1 base points cover mean ± (3 + 4 log r) — denser in the centre, logarithmically
    spaced in the tails where the density is negligible — are cut to the continuation region
    with its end points added, and midpoints are inserted for Simpson's rule.
    """
    i = np.arange(1, 6 * r, dtype=np.float64)
    base = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    x = mean + base
    lower, upper = max(lo, x[0]), min(hi, x[-1])
    if lower >= upper:  # the continuation region lies in a tail carrying no probability
        return np.full(3, lower), np.zeros(3)
    ends = np.concatenate([[lower], x[(x > lower) & (x < upper)], [upper]])
    width = np.diff(ends)
    nodes = np.empty(2 * ends.size - 1)
    nodes[0::2] = ends
    nodes[1::2] = ends[:-1] + width / 2.0
    weights = np.zeros(nodes.size)
    weights[1::2] = 4.0 * width / 6.0
    weights[0:-1:2] += width / 6.0
    weights[2::2] += width / 6.0
    return nodes, weights


class _Recursion:
    """The sub-density of z_k on the continuation region, look by look.

    z_k = S(t_k)/√t_k with S a Brownian motion with drift θ (E z at t = 1 is θ), so the
    increments S(t_k) − S(t_{k−1}) ~ N(θΔ, Δ) are independent of the past. ``wh`` holds the
    Simpson weight times the density of z_{k−1} on its nodes, restricted to the paths that
    have not crossed yet; one matrix product carries it to the next look.
    """

    def __init__(self, drift: float, r: int) -> None:
        self.drift, self.r = drift, r
        self.t_prev = 0.0
        self.nodes: np.ndarray | None = None
        self.wh: np.ndarray | None = None

    def _standardised(self, t: float, b: float) -> np.ndarray:
        # Distance of the boundary b at look t from each previous node, in SDs of the increment.
        step = t - self.t_prev
        mean = self.nodes * np.sqrt(self.t_prev) + self.drift * step  # type: ignore[operator]
        return (b * np.sqrt(t) - mean) / np.sqrt(step)

    def log_upper(self, t: float, b: float) -> float:
        """log P(no crossing before this look, z_k ≥ b)."""
        if self.nodes is None:
            return float(special.log_ndtr(self.drift * np.sqrt(t) - b))
        u = self._standardised(t, b)
        return float(special.logsumexp(special.log_ndtr(-u), b=self.wh))

    def lower(self, t: float, a: float) -> float:
        """P(no crossing before this look, z_k ≤ a)."""
        if self.nodes is None:
            return float(special.ndtr(a - self.drift * np.sqrt(t)))
        u = self._standardised(t, a)
        return float(np.dot(self.wh, special.ndtr(u)))

    def advance(self, t: float, a: float, b: float) -> None:
        nodes, weights = _jt_grid(self.drift * np.sqrt(t), a, b, self.r)
        if self.nodes is None:
            density = stats.norm.pdf(nodes - self.drift * np.sqrt(t))
        else:
            step = t - self.t_prev
            sd = np.sqrt(step)
            mean = self.nodes * np.sqrt(self.t_prev) + self.drift * step
            kernel = stats.norm.pdf((nodes[:, None] * np.sqrt(t) - mean[None, :]) / sd)
            density = kernel @ self.wh * (np.sqrt(t) / sd)
        self.nodes, self.wh, self.t_prev = nodes, weights * density, t


def _spend_increments(
    t: np.ndarray, alpha: float, spending: Spending, final: bool
) -> tuple[np.ndarray, np.ndarray]:
    cumulative = alpha_spending(t, alpha, spending=spending)
    if final:
        cumulative[-1] = alpha
    return np.diff(cumulative, prepend=0.0), cumulative


def _boundaries(
    t: np.ndarray, alpha: float, spending: Spending, final: bool, r: int
) -> tuple[np.ndarray, np.ndarray]:
    increments, cumulative = _spend_increments(t, alpha, spending, final)
    rec = _Recursion(drift=0.0, r=r)
    bounds = np.empty(t.size)
    for k, (tk, inc) in enumerate(zip(t, increments, strict=True)):
        target = inc / 2.0  # symmetric: each side crosses with probability inc/2 under H0
        if target <= _TINY_ALPHA:
            bounds[k] = np.inf
        elif k == 0:
            bounds[k] = stats.norm.isf(target)
        else:
            log_target = np.log(target)

            def excess(b: float, tk: float = tk, log_target: float = log_target) -> float:
                return rec.log_upper(tk, b) - log_target

            # Crossing after surviving is rarer than crossing at all, so the boundary is at
            # most the single-look quantile.
            hi = float(stats.norm.isf(target))
            if excess(hi) >= 0:
                bounds[k] = hi
            elif excess(0.0) <= 0:
                bounds[k] = 0.0
            else:
                bounds[k] = optimize.brentq(excess, 0.0, hi, xtol=1e-12, rtol=1e-14)
        rec.advance(tk, -bounds[k], bounds[k])
    return bounds, cumulative


def gst_boundaries(
    information_fractions: Sequence[float],
    alpha: float,
    *,
    spending: Spending = "obrien_fleming",
    final: bool = False,
    grid_density: int = GRID_DENSITY,
) -> np.ndarray:
    """Two-sided symmetric |z| critical values per look from Lan–DeMets alpha spending.

    Each boundary b_k solves P_H0(|z_j| < b_j for j < k, |z_k| ≥ b_k) = α(t_k) − α(t_{k−1}),
    the joint law of the z's being that of a Brownian motion observed at the information
    fractions (corr(z_j, z_k) = sqrt(t_j/t_k)), integrated recursively — not simulated. The
    boundaries are accurate to ~1e-7 and the alpha they spend matches the spending function to
    < 1e-9.

    ``information_fractions`` t_k = I_k / I_max use the *planned* maximum information, may be
    unequally spaced and need not reach 1:

    * a last look before t = 1 spends only α(t_K) < α (the test is conservative) unless
      ``final=True``, which declares it the final analysis and spends all the remaining alpha;
    * t > 1 (more information than planned) is capped at 1 for spending, while the correlation
      uses the actual fractions: the first look with t ≥ 1 spends everything left, and any
      later look spends nothing (boundary +inf) — the trial should have stopped there.

    See :func:`alpha_spending` for the spending conventions.
    """
    alpha = _check_alpha(alpha)
    _check_choice(spending, "spending function", SPENDING_FUNCTIONS)
    t = _check_fractions(information_fractions)
    return _boundaries(t, alpha, spending, bool(final), _check_grid(grid_density))[0]


def _check_grid(grid_density: object) -> int:
    if isinstance(grid_density, bool) or not isinstance(grid_density, int) or grid_density < 4:
        raise ConfigError(f"grid_density must be an integer >= 4, got {grid_density!r}")
    return grid_density


def gst_crossing_probabilities(
    boundaries: Sequence[float] | np.ndarray,
    information_fractions: Sequence[float],
    *,
    drift: float = 0.0,
    grid_density: int = GRID_DENSITY,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of first crossing the upper (z ≥ b_k) and lower (z ≤ −b_k) boundary at
    each look, when E z_k = drift·√t_k (drift = 0 is H0; drift = θ·sqrt(I_max) otherwise).

    Same recursive integration as :func:`gst_boundaries`; used for power and to check the
    boundaries (under H0 the two sum to the alpha spent).
    """
    t = _check_fractions(information_fractions)
    b = _as_float_array(boundaries, "boundaries")
    if b.shape != t.shape or np.isnan(b).any() or (b < 0).any():
        raise ConfigError(
            f"boundaries must be one non-negative value per look ({t.size}), got {b.tolist()}"
        )
    if not np.isfinite(drift):
        raise ConfigError(f"drift must be finite, got {drift!r}")
    rec = _Recursion(drift=float(drift), r=_check_grid(grid_density))
    upper, lower = np.zeros(t.size), np.zeros(t.size)
    for k, (tk, bk) in enumerate(zip(t, b, strict=True)):
        if np.isfinite(bk):
            upper[k] = np.exp(rec.log_upper(tk, bk))
            lower[k] = rec.lower(tk, -bk)
        rec.advance(tk, -bk, bk)
    return upper, lower


def group_sequential(
    z: np.ndarray,
    information_fractions: Sequence[float] | np.ndarray,
    alpha: float,
    *,
    spending: Spending = "obrien_fleming",
    final: bool = False,
) -> GSTResult:
    """Reject at the first look where |z_k| ≥ b_k (two-sided, symmetric boundaries).

    ``z`` is shaped ``(looks, comparisons)`` (1-D: one comparison); NaN z's (undefined looks)
    never cross. ``information_fractions`` is one value per look shared by all comparisons —
    the usual case, t_k = n_k / n_planned for every metric of an experiment — or a
    ``(looks, comparisons)`` array; boundaries are then computed once per distinct column.
    See :func:`gst_boundaries` for fractions that stop short of, or overshoot, 1.
    """
    alpha = _check_alpha(alpha)
    _check_choice(spending, "spending function", SPENDING_FUNCTIONS)
    zz = _looks_by_comparisons(z, "z")
    one_dim = np.ndim(z) == 1
    fr = _as_float_array(information_fractions, "information_fractions")
    n_looks, n_comp = zz.shape
    if fr.ndim == 0 or fr.shape[0] != n_looks:
        raise ConfigError(
            f"information_fractions must have one value per look ({n_looks}), got shape {fr.shape}"
        )
    if fr.ndim == 1:
        bounds, spent = _boundaries(
            _check_fractions(fr), alpha, spending, bool(final), GRID_DENSITY
        )
        full = bounds[:, None]
    elif fr.ndim == 2 and fr.shape[1] == n_comp:
        columns, inverse = np.unique(fr, axis=1, return_inverse=True)
        solved = [
            _boundaries(_check_fractions(col), alpha, spending, bool(final), GRID_DENSITY)
            for col in columns.T
        ]
        inverse = inverse.reshape(-1)
        bounds = np.stack([s[0] for s in solved], axis=1)[:, inverse]
        spent = np.stack([s[1] for s in solved], axis=1)[:, inverse]
        full = bounds
    else:
        raise ConfigError(
            f"information_fractions must be shaped (looks,) or (looks, comparisons) = "
            f"({n_looks}, {n_comp}), got {fr.shape}"
        )
    with np.errstate(invalid="ignore"):
        rejected = np.abs(zz) >= full  # NaN compares False: an undefined look never rejects
    crossed, first = _first_crossing(rejected)
    if one_dim:
        return GSTResult(bounds.reshape(n_looks), spent.reshape(n_looks), crossed[0], first[0])
    return GSTResult(bounds, spent, crossed, first)


def information_fractions(
    n_units: np.ndarray | Sequence[float], planned_sample_size: float | np.ndarray
) -> np.ndarray:
    """Observed information fractions t_k = n_k / n_max for :func:`group_sequential`.

    ``n_units`` is the cumulative number of units at each look (``(looks,)`` or ``(looks,
    comparisons)``), ``planned_sample_size`` the planned maximum (scalar or one per
    comparison), fixed *before* the data are seen. This is the Lan–DeMets way to handle looks
    whose timing follows the calendar while traffic does not (a ramp-up puts few units in the
    first days): alpha is spent by the information actually observed, never by the look's
    index. Dividing by the *final* look's sample size instead would use the future — at look k
    nobody knows n_K yet — and is not a valid design. Fractions above 1 (more units than
    planned) are returned as they are; :func:`gst_boundaries` caps them for spending.
    """
    n = _as_float_array(n_units, "n_units")
    n_max = _as_float_array(planned_sample_size, "planned_sample_size")
    if not (np.isfinite(n_max).all() and (n_max > 0).all()):
        raise ConfigError(
            f"planned_sample_size must be finite and > 0, got {planned_sample_size!r}"
        )
    with np.errstate(invalid="ignore"):
        if (n[np.isfinite(n)] < 0).any():
            raise InputDataError("n_units must be non-negative")
    return n / n_max


def repeated_confidence_interval(
    abs_diff: np.ndarray, se: np.ndarray, boundary: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Repeated confidence intervals of a group-sequential test (Jennison & Turnbull 1989):
    ``abs_diff_k ± boundary_k · se_k``, simultaneously valid over all looks, so the interval at
    the stopping look excludes 0 exactly when |z_k| ≥ boundary_k. An infinite boundary (a look
    that spends no alpha) gives (−inf, inf); an undefined look gives NaN."""
    d = _as_float_array(abs_diff, "abs_diff")
    s = _as_float_array(se, "se")
    b = _as_float_array(boundary, "boundary")
    with np.errstate(invalid="ignore"):
        half = np.where(np.isinf(b) & np.isfinite(s) & (s > 0), np.inf, b * s)
    return d - half, d + half


def gst_inflation_factor(
    looks: int,
    alpha: float,
    power: float,
    *,
    spending: Spending = "obrien_fleming",
) -> float:
    """Maximum sample size of a group-sequential design with ``looks`` equally spaced looks,
    divided by the fixed-horizon sample size with the same α (two-sided) and power.

    Multiply the fixed-horizon n by this to plan a sequential test. Power is the probability of
    crossing the boundary on the side of the true effect (the other side adds < 1e-6 at any
    useful power, and the fixed-horizon formula ignores it too), found by solving for the drift η at
    which the recursive integration gives ``power``; the factor is
    (η / (z_{1−α/2} + z_{power}))². A single look gives exactly 1.
    """
    if isinstance(looks, bool) or not isinstance(looks, int | np.integer) or looks < 1:
        raise ConfigError(f"looks must be a positive integer, got {looks!r}")
    alpha = _check_alpha(alpha)
    power = _check_alpha(power, "power")
    if power <= alpha / 2:
        raise ConfigError(f"power must exceed alpha/2 = {alpha / 2:g}, got {power!r}")
    t = np.arange(1, looks + 1, dtype=np.float64) / looks
    bounds = gst_boundaries(t, alpha, spending=spending)
    fixed = stats.norm.isf(alpha / 2.0) + stats.norm.isf(1.0 - power)

    def shortfall(eta: float) -> float:
        upper, _ = gst_crossing_probabilities(bounds, t, drift=eta)
        return float(upper.sum()) - power

    eta = optimize.brentq(shortfall, 0.5 * fixed, 2.0 * fixed + 2.0, xtol=1e-12)
    return float((eta / fixed) ** 2)


# --------------------------------------------------------------------------------------------
# looks from data


def stats_by_period(
    df: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    *,
    period_column: str,
    variant_column: str,
    experiment_column: str | None = None,
    segment_columns: Sequence[str] = (),
    engine: str | None = None,
) -> pd.DataFrame:
    """Sufficient statistics per experiment × segment × variant × metric × period.

    One :func:`~strategies.stats.aggregate.aggregate` pass (with all its input checks): each
    segment column is crossed with the period into one integer key and passed as a segment
    column, and the period alone stands in for the overall segment. A single grouping pass,
    and unlike grouping experiment × period as the "experiment", a day on which only one
    variant has units is fine (the single-variant check still applies per experiment).

    Returns the columns of ``aggregate`` plus ``period_column`` (original period values), rows
    ordered by experiment, period, then ``aggregate``'s order. Cells with no units are absent
    (:func:`cumulative_stats` fills them). ``engine`` is passed on to ``aggregate`` when given.
    A unit counts in the period of its row (e.g. its
    assignment day) with the metric values it has in ``df``; looks rebuilt this way from
    today's data use outcomes that may not have been observable on the day itself.
    """
    segment_columns = (
        [segment_columns] if isinstance(segment_columns, str) else list(segment_columns)
    )
    if not isinstance(df, pd.DataFrame):
        raise InputDataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(period_column, str) or not period_column:
        raise ConfigError(f"period_column must be a column name, got {period_column!r}")
    reserved = set(LABEL_COLUMNS) | set(SUFFICIENT_STATISTICS)
    if period_column in reserved:
        raise ConfigError(
            f"period_column {period_column!r} clashes with an output column "
            f"({', '.join(sorted(reserved))}); rename it"
        )
    if period_column in (variant_column, experiment_column) or period_column in segment_columns:
        raise ConfigError(
            f"period_column {period_column!r} is also the variant, experiment or a segment column"
        )
    missing = [c for c in [period_column, *segment_columns] if c not in df.columns]
    if missing:
        raise InputDataError(
            f"missing column(s): {', '.join(map(repr, missing))} (period_column / "
            f"segment_columns); available columns: {', '.join(map(str, df.columns))}"
        )
    n_missing = int(df[period_column].isna().sum())
    if n_missing:
        raise InputDataError(
            f"period column {period_column!r} has {n_missing} missing value(s); every unit "
            "needs a period"
        )
    period_codes, periods = _factorize(df[period_column])
    n_periods = len(periods)

    def temp_name(i: int) -> str:
        name = f"__liftlab_period_{i}__"
        while name in df.columns:
            name = f"_{name}_"
        return name

    temp = {temp_name(0): period_codes}
    segment_labels: dict[str, np.ndarray] = {}
    for i, column in enumerate(segment_columns, start=1):
        codes, values = _factorize(df[column])
        name = temp_name(i)
        temp[name] = codes * n_periods + period_codes
        segment_labels[name] = np.array(
            [f"{column}={'<NA>' if pd.isna(v) else v}" for v in values], dtype=object
        )
    options = {} if engine is None else {"engine": engine}
    out = aggregate(
        df.assign(**temp),
        metrics,
        variant_column=variant_column,
        experiment_column=experiment_column,
        segment_columns=list(temp),
        **options,
    )
    out = out.loc[out["segment"] != OVERALL_SEGMENT].reset_index(drop=True)
    parts = out["segment"].str.partition("=")
    level, code = parts[0].to_numpy(), parts[2].astype(np.int64).to_numpy()
    segment = np.full(len(out), OVERALL_SEGMENT, dtype=object)
    for name, labels in segment_labels.items():
        here = level == name
        segment[here] = labels[code[here] // n_periods]
    period_code = code % n_periods
    out["segment"] = segment
    out.insert(len(LABEL_COLUMNS), period_column, periods.take(period_code))
    exp_rank = pd.factorize(out["experiment"], sort=False)[0]
    order = np.lexsort((period_code, exp_rank))  # stable: keeps aggregate's order within
    return out.iloc[order].reset_index(drop=True)


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Sorted integer codes like ``aggregate`` uses (missing values get their own code)."""
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    except TypeError:  # mixed types cannot be sorted: sort their string forms instead
        codes, uniques = pd.factorize(values.astype(str), sort=True, use_na_sentinel=False)
    return codes.astype(np.int64), pd.Index(uniques)


def cumulative_stats(stats_by_period: pd.DataFrame, period_column: str) -> pd.DataFrame:
    """Running totals of the sufficient statistics up to and including each period.

    Sufficient statistics are additive, so the cumulative sums are exactly the statistics of
    all units seen so far: feed each period's rows to the analysis to get that look. Per
    experiment the looks are the periods observed anywhere in that experiment (not the
    calendar, and not other experiments' periods); every experiment × segment × variant ×
    metric gets a row at each of them — zeros before its first units (the analysis reports an
    empty arm), the previous totals on a period it has no rows for (filled forward). Rows
    repeating a key and period are summed. Output: the input's label columns, the period and
    the six statistics, ordered by experiment, period, then first appearance of the key.
    """
    if not isinstance(stats_by_period, pd.DataFrame):
        raise InputDataError(
            f"stats_by_period must be a pandas DataFrame, got {type(stats_by_period).__name__}"
        )
    if not isinstance(period_column, str) or period_column in LABEL_COLUMNS:
        raise ConfigError(f"period_column must be a column name, got {period_column!r}")
    keys = list(LABEL_COLUMNS)
    # The base statistics are required; further ones (e.g. CUPED covariate sums) are carried
    # along when present — every sufficient statistic is a sum, so all cumulate alike.
    stat_columns = [
        c for c in SUFFICIENT_STATISTICS if c in _BASE_STATISTICS or c in stats_by_period.columns
    ]
    needed = [*keys, period_column, *stat_columns]
    missing = [c for c in needed if c not in stats_by_period.columns]
    if missing:
        raise InputDataError(
            f"per-period statistics frame is missing column(s): {', '.join(missing)} "
            "(produce it with stats_by_period)"
        )
    frame = stats_by_period.loc[:, needed]
    null = [c for c in [*keys, period_column] if frame[c].isna().any()]
    if null:
        raise InputDataError(f"per-period statistics with missing values in: {', '.join(null)}")
    non_numeric = [c for c in stat_columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise InputDataError(f"statistics column(s) must be numeric: {', '.join(non_numeric)}")
    values = frame[stat_columns].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputDataError("per-period statistics with missing or infinite values")
    if frame.empty:
        return frame.reset_index(drop=True)

    group = frame.groupby(keys, sort=False).ngroup().to_numpy()
    period, periods = _factorize(frame[period_column])
    n_periods = len(periods)
    first_row = np.unique(group, return_index=True)[1]
    group_exp = pd.factorize(frame["experiment"], sort=False)[0][first_row]
    exp_of_row = group_exp[group]

    # Grid: every group × every period its experiment has, via a merge on the experiment.
    exp_periods = pd.DataFrame({"e": exp_of_row, "p": period}).drop_duplicates()
    grid = pd.DataFrame({"g": np.arange(len(first_row)), "e": group_exp}).merge(
        exp_periods, on="e", how="inner"
    )
    grid = grid.sort_values(["g", "p"], kind="stable")
    g, e, p = (grid[c].to_numpy() for c in ("g", "e", "p"))
    sums = pd.DataFrame(values).groupby(group * n_periods + period).sum()
    dense = sums.reindex(g * n_periods + p, fill_value=0.0).to_numpy()
    # Running sums within each group (rows are sorted by group, then period). A per-group
    # cumsum rather than one global cumsum minus offsets: no cancellation between groups.
    totals = pd.DataFrame(dense).groupby(g, sort=False).cumsum().to_numpy()

    order = np.lexsort((g, p, e))
    labels = frame.iloc[first_row[g[order]]][keys].reset_index(drop=True)
    out = labels.assign(**{period_column: periods.take(p[order])})
    for j, column in enumerate(stat_columns):
        col = totals[order, j]
        out[column] = np.rint(col).astype(np.int64) if column == "n" else col
    return out


@dataclass(frozen=True)
class LookArrays:
    """A long per-look frame pivoted for :func:`msprt` / :func:`group_sequential`.

    ``values[c]`` is shaped ``(looks, comparisons)``: row k is ``periods[k]``, column j is
    ``keys.iloc[j]``; NaN where a comparison has no row at a look (an undefined look).
    """

    periods: np.ndarray
    keys: pd.DataFrame
    values: dict[str, np.ndarray]


def look_arrays(
    frame: pd.DataFrame,
    *,
    period_column: str,
    value_columns: Sequence[str],
    key_columns: Sequence[str] = ("experiment", "segment", "metric", "variant"),
) -> LookArrays:
    """Pivot one row per comparison × look (e.g. the analysis of each cumulative look) into
    look × comparison arrays, comparisons in order of first appearance, looks sorted."""
    if not isinstance(frame, pd.DataFrame):
        raise InputDataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    value_columns = [value_columns] if isinstance(value_columns, str) else list(value_columns)
    key_columns = [key_columns] if isinstance(key_columns, str) else list(key_columns)
    if not value_columns or not key_columns:
        raise ConfigError("look_arrays needs at least one value column and one key column")
    missing = [c for c in [*key_columns, period_column, *value_columns] if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"per-look frame is missing column(s): {', '.join(map(str, missing))}; "
            f"available columns: {', '.join(map(str, frame.columns))}"
        )
    null = [c for c in [*key_columns, period_column] if frame[c].isna().any()]
    if null:
        raise InputDataError(f"per-look frame with missing values in: {', '.join(null)}")
    dupes = frame.duplicated([*key_columns, period_column])
    if dupes.any():
        first = frame.loc[dupes, [*key_columns, period_column]].iloc[0].to_dict()
        raise InputDataError(
            f"{int(dupes.sum())} duplicated comparison × look row(s), e.g. {first}"
        )
    group = frame.groupby(key_columns, sort=False).ngroup().to_numpy()
    period, periods = _factorize(frame[period_column])
    first_row = np.unique(group, return_index=True)[1]
    keys = frame.iloc[first_row][key_columns].reset_index(drop=True)
    values = {}
    for column in value_columns:
        arr = np.full((len(periods), len(first_row)), np.nan)
        arr[period, group] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        values[column] = arr
    return LookArrays(periods=periods.to_numpy(), keys=keys, values=values)
