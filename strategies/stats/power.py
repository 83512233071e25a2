"""Experiment planning: sample size, minimum detectable effect (MDE) and power.

:func:`plan` is the entry point: give two of ``mde``, ``n_per_arm`` and ``power`` for a
proportion or a mean metric and it dispatches to the solver for the third — sample size
(:func:`sample_size_proportion`, :func:`sample_size_mean`), MDE (:func:`mde_proportion`,
:func:`mde_mean`) or power (:func:`power_proportion`, :func:`power_mean`), each fixed-horizon or
group-sequential. The six solvers stay public for callers that want one of them by name.

Planning answers the question *before* an experiment runs, so its conventions have to be stated
and reproducible; they are chosen to match ``statsmodels.stats.power.NormalIndPower`` exactly
(the tests cross-check every function against it, see
``tests/strategies/stats/test_power.py``):

* **Test.** A two-sample z-test (normal approximation). Two-sided power counts *both* rejection
  tails, ``Φ(λ − z) + Φ(−λ − z)`` with ``z = z_{1−α/2}`` and noncentrality ``λ``; one-sided
  power is ``Φ(λ − z_{1−α})`` for a test in the direction of the planned effect. Nothing is
  solved by a textbook shortcut that drops the far tail: the noncentrality needed for the
  target power is found with ``brentq`` to machine precision, then everything else follows in
  closed form, so an MDE round-trips to its power exactly.
* **Arms.** ``ratio = n_variant / n_control``; the effective size of the comparison is
  ``n_c·n_v / (n_c + n_v)`` and ``λ = effect · √(effective n)``. ``n_per_arm`` arguments
  always mean the *control* arm; the variant gets ``ratio`` times as many units.
* **Proportions** use Cohen's arcsine effect size ``h = 2·asin(√p₂) − 2·asin(√p₁)``
  (``statsmodels.stats.proportion.proportion_effectsize(p2, p1)``). It variance-stabilises
  the binomial, so one formula serves every baseline. For baseline 10 %, +20 % relative,
  α = 0.05 two-sided and 80 % power it gives 3,835 per arm; the classic pooled/unpooled
  variance z formula gives 3,841 — the two conventions agree to well under 1 % at A/B sizes.
* **Means** use ``d = mde / std`` with a common standard deviation. The t-test
  (``TTestIndPower``) needs about ``z²_{1−α/2} / 4`` more units per arm — under one unit at
  α = 0.05 two-sided once n > 100 (≈ 1.7 at α = 0.01) — so the normal approximation is what
  we plan with; A/B sample sizes make the difference immaterial.
* **Rounding.** Sample sizes are rounded *up* per arm (``ceil``), so the achieved power is at
  least the target. MDEs are not rounded.
* **MDE direction.** A solved MDE is the smallest *increase* that reaches the target power
  (for proportions the arcsine scale is not symmetric, so a decrease differs slightly).
  ``mde`` arguments may be negative (a planned decrease); power uses ``|effect|``.
* **Sequential designs.** ``sequential_looks = k`` plans an O'Brien–Fleming group-sequential
  design with ``k`` equally spaced analyses. Its *maximum* sample size is the fixed-horizon
  size times the inflation factor ``I(k, α, power)`` from
  :func:`strategies.stats.sequential.gst_inflation_factor`; conversely a maximum of ``n`` per
  arm buys the power/MDE of a fixed-horizon test with ``n / I``. ``inflation`` is 1.0 for a
  fixed horizon (``None``) and for ``k = 1``. The factor is for symmetric two-sided
  boundaries at the total α; a one-sided plan at α uses the two-sided design at 2α, whose
  upper boundary spends α (paths that cross the lower boundary first are negligible).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any, Literal, get_args

from scipy import optimize, stats

from strategies.errors import ConfigError

__all__ = [
    "DEFAULT_POWER",
    "PLAN_METRICS",
    "PlanMetric",
    "PlanResult",
    "mde_mean",
    "mde_proportion",
    "plan",
    "power_mean",
    "power_proportion",
    "sample_size_mean",
    "sample_size_proportion",
]


@dataclass(frozen=True)
class PlanResult:
    """One experiment plan. ``n_control``/``n_variant`` are per arm (rounded up; for a
    sequential design they are the *maximum* if the experiment runs to the last look).
    ``mde_abs`` is in the metric's units (a rate difference for proportions); ``mde_rel`` is
    relative to the baseline, ``None`` when no baseline mean was given. ``alpha``/``power``
    are the targets the plan was solved for (when :func:`plan` solves for the power,
    ``power`` is the power achieved); ``inflation`` is the group-sequential maximum sample
    size inflation (1.0 for a fixed horizon)."""

    n_control: int
    n_variant: int
    n_total: int
    mde_abs: float
    mde_rel: float | None
    alpha: float
    power: float
    two_sided: bool
    sequential_looks: int | None
    inflation: float
    notes: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable mapping (for ``liftlab plan --json`` and MLflow params)."""
        return asdict(self)


# --------------------------------------------------------------------------- validation


def _real(name: str, value: object) -> float:
    # bool is an Integral in Python; ``baseline=True`` is a bug in the caller, not 1.0.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return out


def _open_unit(name: str, value: object) -> float:
    out = _real(name, value)
    if not 0.0 < out < 1.0:
        raise ConfigError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return out


def _positive(name: str, value: object) -> float:
    out = _real(name, value)
    if out <= 0.0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return out


def _n_per_arm(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(f"n_per_arm must be an integer, got {value!r}")
    if int(value) < 2:
        raise ConfigError(f"n_per_arm must be at least 2 units in the control arm, got {value!r}")
    return int(value)


def _design(alpha: object, power: object, ratio: object) -> tuple[float, float, float]:
    a = _open_unit("alpha", alpha)
    p = _open_unit("power", power)
    if p <= a:
        # At zero effect the test rejects with probability alpha: power <= alpha is free.
        raise ConfigError(f"power must be greater than alpha, got power={power!r}, alpha={alpha!r}")
    return a, p, _positive("ratio", ratio)


def _looks(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < 1:
        raise ConfigError(f"sequential_looks must be a positive integer or None, got {value!r}")
    return int(value)


def _mde(value: object) -> float:
    out = _real("mde", value)
    if out == 0.0:
        raise ConfigError("mde must be non-zero: a zero effect cannot be detected")
    return out


def _proportions(baseline: object, mde: object, relative: bool) -> tuple[float, float]:
    p1 = _open_unit("baseline", baseline)
    m = _mde(mde)
    p2 = p1 * (1.0 + m) if relative else p1 + m
    if not 0.0 < p2 < 1.0:
        kind = "relative" if relative else "absolute"
        raise ConfigError(
            f"baseline {p1:g} with {kind} mde {m:g} gives a variant rate of {p2:g}; "
            "it must be strictly between 0 and 1"
        )
    return p1, p2


def _mean_effect(
    mde: object, baseline_mean: object, relative: bool
) -> tuple[float, float | None, float | None]:
    """(mde_abs, mde_rel, baseline_mean) for a mean metric."""
    m = _mde(mde)
    base = None if baseline_mean is None else _real("baseline_mean", baseline_mean)
    if relative:
        if base is None:
            raise ConfigError("a relative mde needs baseline_mean (or pass relative=False)")
        if base == 0.0:
            raise ConfigError("baseline_mean must be non-zero for a relative mde")
        return m * base, m, base
    rel = m / base if base else None
    return m, rel, base


# --------------------------------------------------------------------------- the z-test core


def _critical(alpha: float, two_sided: bool) -> float:
    return float(stats.norm.isf(alpha / 2.0 if two_sided else alpha))


def _power_at(noncentrality: float, alpha: float, two_sided: bool) -> float:
    """Power of the z-test when the statistic is N(λ, 1) (``statsmodels.normal_power``)."""
    lam = abs(noncentrality)
    z = _critical(alpha, two_sided)
    power = stats.norm.sf(z - lam)
    if two_sided:
        power += stats.norm.cdf(-z - lam)
    return float(power)


def _noncentrality(alpha: float, power: float, two_sided: bool) -> float:
    """The λ ≥ 0 at which the test has exactly ``power``. At λ = 0 power is α < target; at
    λ = z_crit + z_power the near tail alone reaches the target, so that brackets the root."""
    hi = _critical(alpha, two_sided) + float(stats.norm.ppf(power))
    if _power_at(hi, alpha, two_sided) < power:
        # One-sided, ``hi`` *is* the root (Φ(hi − z) = power) and rounding can leave its power
        # a hair below the target, so the bracket would not change sign: widen it by a hair.
        hi += 1e-9
    return float(
        optimize.brentq(
            lambda lam: _power_at(lam, alpha, two_sided) - power,
            0.0,
            hi,
            xtol=1e-14,
            rtol=4 * 2.220446049250313e-16,
        )
    )


def _effective_n(n_control: float, ratio: float) -> float:
    """n_c·n_v/(n_c + n_v): the sample size of a one-sample test with the same SE."""
    return n_control * ratio / (1.0 + ratio)


def _n_control_for(
    effect: float, alpha: float, power: float, ratio: float, two_sided: bool
) -> float:
    """Continuous control-arm size that gives exactly ``power`` for a standardized effect."""
    lam = _noncentrality(alpha, power, two_sided)
    return (lam / abs(effect)) ** 2 * (1.0 + ratio) / ratio


def _effect_for(
    n_control: float, alpha: float, power: float, ratio: float, two_sided: bool
) -> float:
    """Smallest standardized effect (> 0) detectable with ``power`` at ``n_control``."""
    return _noncentrality(alpha, power, two_sided) / math.sqrt(_effective_n(n_control, ratio))


def _arcsine_h(p1: float, p2: float) -> float:
    return 2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1))


# --------------------------------------------------------------------------- sequential

#: Highest power at which the sequential power map evaluates the inflation factor.
_MAX_SEQUENTIAL_POWER = 0.9999


def _inflation(looks: int | None, alpha: float, power: float, two_sided: bool) -> float:
    """Max-sample-size inflation of an O'Brien–Fleming design (1.0 for a fixed horizon).

    ``gst_inflation_factor`` designs symmetric two-sided boundaries for a total two-sided α;
    a one-sided test at α uses the same upper boundary as the two-sided design at 2α.
    """
    if looks is None or looks == 1:
        return 1.0
    design_alpha = alpha if two_sided else 2.0 * alpha
    if design_alpha >= 1.0:
        raise ConfigError(f"a one-sided sequential design needs alpha < 0.5, got {alpha!r}")
    try:
        # Lazy: fixed-horizon planning must not depend on the sequential machinery.
        from strategies.stats.sequential import gst_inflation_factor
    except ImportError as exc:
        raise ConfigError(
            "sequential planning (sequential_looks) needs "
            "strategies.stats.sequential.gst_inflation_factor, which is not available"
        ) from exc
    factor = float(gst_inflation_factor(looks, design_alpha, power))
    if not math.isfinite(factor) or factor < 1.0 - 1e-9:
        raise ConfigError(
            f"gst_inflation_factor({looks}, {design_alpha}, {power}) returned {factor!r}"
        )
    return factor


def _sequential_power(
    effect: float, n_control: float, alpha: float, ratio: float, two_sided: bool, looks: int
) -> float:
    """Power of a k-look design with maximum ``n_control``: the fixed point p of
    ``p = power of a fixed test with n / I(k, α, p)``, the exact inverse of the sizing rule, so
    ``power(sample_size(...))`` round-trips. Because I(p) is defined through the drift at
    which the boundaries are crossed with probability p, this is also the design's actual
    power at any effect, up to the far-tail term (≲ 1e-4, checked against the exact
    boundary-crossing integration in the tests). I depends on p only weakly (dI/dp ≈ 0.02–0.05),
    so plain iteration contracts by a factor < 0.05 a step and needs a handful of steps —
    each one a full boundary integration, which is why this is not a bracketing solver.
    """

    def fixed_point_map(p: float) -> float:
        # gst_inflation_factor needs p above its alpha/2 (alpha itself for one-sided plans)
        # and its integration loses accuracy above ~1 - 1e-5; I barely moves out there, so
        # the cap costs < 1e-5 of power.
        p = min(max(p, alpha * (1.0 + 1e-6)), _MAX_SEQUENTIAL_POWER)
        n_fixed = n_control / _inflation(looks, alpha, p, two_sided)
        lam = abs(effect) * math.sqrt(_effective_n(n_fixed, ratio))
        return _power_at(lam, alpha, two_sided)

    lam_max = abs(effect) * math.sqrt(_effective_n(n_control, ratio))
    p = _power_at(lam_max, alpha, two_sided)  # no inflation: an upper bound to start from
    for _ in range(50):
        nxt = fixed_point_map(p)
        if abs(nxt - p) < 1e-12:
            return nxt
        p = nxt
    return p  # pragma: no cover - the map is a strong contraction


def _notes(metric: str, looks: int | None, inflation: float, extra: str) -> str:
    parts = [f"{metric}; two-sample z-test (normal approximation), sizes rounded up"]
    if extra:
        parts.append(extra)
    if looks is None or looks == 1:
        parts.append("fixed horizon")
    else:
        parts.append(
            f"O'Brien-Fleming group-sequential design with {looks} equally spaced looks: "
            f"maximum n = fixed-horizon n x {inflation:.4f}"
        )
    return "; ".join(parts)


def _result(
    n_control_exact: float,
    ratio: float,
    mde_abs: float,
    mde_rel: float | None,
    alpha: float,
    power: float,
    two_sided: bool,
    looks: int | None,
    inflation: float,
    notes: str,
) -> PlanResult:
    # A hair of tolerance so an exact integer answer (e.g. from round-tripping an MDE) is not
    # pushed up by one by floating-point noise.
    n_c = math.ceil(n_control_exact * (1.0 - 1e-12))
    n_v = math.ceil(n_control_exact * ratio * (1.0 - 1e-12))
    return PlanResult(
        n_control=n_c,
        n_variant=n_v,
        n_total=n_c + n_v,
        mde_abs=mde_abs,
        mde_rel=mde_rel,
        alpha=alpha,
        power=power,
        two_sided=bool(two_sided),
        sequential_looks=looks,
        inflation=inflation,
        notes=notes,
    )


# --------------------------------------------------------------------------- proportions


def sample_size_proportion(
    baseline: float,
    mde: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    two_sided: bool = True,
    sequential_looks: int | None = None,
) -> PlanResult:
    """Units per arm to detect a change of ``mde`` from a ``baseline`` conversion rate.

    ``mde`` is relative to the baseline by default (0.1 = +10 %, so 5 % → 5.5 %);
    ``relative=False`` makes it an absolute rate difference. Arcsine effect size, see the
    module docstring; with ``sequential_looks`` the sizes are the O'Brien–Fleming maximum.
    """
    p1, p2 = _proportions(baseline, mde, relative)
    a, pw, r = _design(alpha, power, ratio)
    looks = _looks(sequential_looks)
    h = _arcsine_h(p1, p2)
    inflation = _inflation(looks, a, pw, two_sided)
    n_exact = _n_control_for(h, a, pw, r, two_sided) * inflation
    extra = f"arcsine effect size h = {h:.6f} ({p1:g} -> {p2:g})"
    return _result(
        n_exact,
        r,
        p2 - p1,
        (p2 - p1) / p1,
        a,
        pw,
        two_sided,
        looks,
        inflation,
        _notes("proportion", looks, inflation, extra),
    )


def mde_proportion(
    baseline: float,
    n_per_arm: int,
    *,
    ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    relative: bool = True,
    sequential_looks: int | None = None,
) -> PlanResult:
    """Smallest *increase* over ``baseline`` detectable with ``power`` when the control arm
    has ``n_per_arm`` units (the variant ``ratio`` times as many).

    Both ``mde_abs`` and ``mde_rel`` are filled; ``relative`` only says which one the notes
    lead with, so callers can pass their display preference through. With
    ``sequential_looks`` the ``n_per_arm`` is the design's maximum and the MDE is that of a
    fixed-horizon test with ``n_per_arm / inflation``. Raises ConfigError when even a rate of
    100 % would not be detectable (too few units).
    """
    p1 = _open_unit("baseline", baseline)
    n = _n_per_arm(n_per_arm)
    a, pw, r = _design(alpha, power, ratio)
    looks = _looks(sequential_looks)
    inflation = _inflation(looks, a, pw, two_sided)
    h = _effect_for(n / inflation, a, pw, r, two_sided)
    theta = math.asin(math.sqrt(p1)) + h / 2.0
    if theta >= math.pi / 2.0:
        raise ConfigError(
            f"n_per_arm={n} is too small: at baseline {p1:g} no rate up to 100 % is detectable "
            f"with power {pw:g} at alpha {a:g}"
        )
    p2 = math.sin(theta) ** 2
    lead = f"MDE {(p2 - p1) / p1:+.4%} relative" if relative else f"MDE {p2 - p1:+.6f} absolute"
    extra = f"{lead}; arcsine effect size h = {h:.6f} ({p1:g} -> {p2:g})"
    return _result(
        n,
        r,
        p2 - p1,
        (p2 - p1) / p1,
        a,
        pw,
        two_sided,
        looks,
        inflation,
        _notes("proportion", looks, inflation, extra),
    )


def power_proportion(
    baseline: float,
    mde: float,
    n_per_arm: int,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    ratio: float = 1.0,
    two_sided: bool = True,
    sequential_looks: int | None = None,
) -> float:
    """Probability of a significant result if the true change from ``baseline`` is ``mde``
    and the control arm has ``n_per_arm`` units (for a sequential design: at most)."""
    p1, p2 = _proportions(baseline, mde, relative)
    n = _n_per_arm(n_per_arm)
    a = _open_unit("alpha", alpha)
    r = _positive("ratio", ratio)
    looks = _looks(sequential_looks)
    h = _arcsine_h(p1, p2)
    if looks is not None and looks > 1:
        return _sequential_power(h, n, a, r, two_sided, looks)
    return _power_at(h * math.sqrt(_effective_n(n, r)), a, two_sided)


# --------------------------------------------------------------------------- means


def sample_size_mean(
    std: float,
    mde: float,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    two_sided: bool = True,
    sequential_looks: int | None = None,
) -> PlanResult:
    """Units per arm to detect a shift of ``mde`` in a mean with standard deviation ``std``.

    ``mde`` is absolute by default; ``relative=True`` reads it as a fraction of
    ``baseline_mean`` (required then). ``mde_rel`` is reported whenever ``baseline_mean`` is
    known. Effect size ``d = mde / std``; see the module docstring.
    """
    sd = _positive("std", std)
    mde_abs, mde_rel, _ = _mean_effect(mde, baseline_mean, relative)
    a, pw, r = _design(alpha, power, ratio)
    looks = _looks(sequential_looks)
    d = mde_abs / sd
    inflation = _inflation(looks, a, pw, two_sided)
    n_exact = _n_control_for(d, a, pw, r, two_sided) * inflation
    return _result(
        n_exact,
        r,
        mde_abs,
        mde_rel,
        a,
        pw,
        two_sided,
        looks,
        inflation,
        _notes("mean", looks, inflation, f"effect size d = mde/std = {d:.6f}"),
    )


def mde_mean(
    std: float,
    n_per_arm: int,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    sequential_looks: int | None = None,
) -> PlanResult:
    """Smallest mean shift detectable with ``power`` when the control arm has ``n_per_arm``.

    ``mde_rel`` is filled when ``baseline_mean`` is given; ``relative=True`` insists on it
    (a relative MDE without a baseline is a ConfigError rather than a silent ``None``).
    """
    sd = _positive("std", std)
    n = _n_per_arm(n_per_arm)
    a, pw, r = _design(alpha, power, ratio)
    looks = _looks(sequential_looks)
    base = None if baseline_mean is None else _real("baseline_mean", baseline_mean)
    if relative and not base:
        raise ConfigError("a relative mde needs a non-zero baseline_mean (or relative=False)")
    inflation = _inflation(looks, a, pw, two_sided)
    d = _effect_for(n / inflation, a, pw, r, two_sided)
    mde_abs = d * sd
    mde_rel = mde_abs / base if base else None
    return _result(
        n,
        r,
        mde_abs,
        mde_rel,
        a,
        pw,
        two_sided,
        looks,
        inflation,
        _notes("mean", looks, inflation, f"effect size d = mde/std = {d:.6f}"),
    )


def power_mean(
    std: float,
    mde: float,
    n_per_arm: int,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    ratio: float = 1.0,
    two_sided: bool = True,
    sequential_looks: int | None = None,
) -> float:
    """Probability of a significant result if the true mean shift is ``mde`` and the control
    arm has ``n_per_arm`` units (for a sequential design: at most)."""
    sd = _positive("std", std)
    mde_abs, _, _ = _mean_effect(mde, baseline_mean, relative)
    n = _n_per_arm(n_per_arm)
    a = _open_unit("alpha", alpha)
    r = _positive("ratio", ratio)
    looks = _looks(sequential_looks)
    d = mde_abs / sd
    if looks is not None and looks > 1:
        return _sequential_power(d, n, a, r, two_sided, looks)
    return _power_at(d * math.sqrt(_effective_n(n, r)), a, two_sided)


# --------------------------------------------------------------------------- the entry point

PlanMetric = Literal["proportion", "mean"]
PLAN_METRICS: tuple[str, ...] = get_args(PlanMetric)
#: Target power when ``plan`` solves for the sample size or the MDE and none is given.
DEFAULT_POWER = 0.8


def plan(
    metric: PlanMetric,
    *,
    baseline: float | None = None,
    std: float | None = None,
    baseline_mean: float | None = None,
    mde: float | None = None,
    n_per_arm: int | None = None,
    power: float | None = None,
    relative: bool | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    two_sided: bool = True,
    sequential_looks: int | None = None,
) -> PlanResult:
    """Plan an experiment: give two of ``mde``, ``n_per_arm`` and ``power``, get the third.

    The one door to this module (``liftlab plan`` and notebooks use it), so a caller never has
    to pick among the six solvers or learn which arguments each one takes:

    * ``metric="proportion"`` takes ``baseline`` (the control conversion rate);
      ``metric="mean"`` takes ``std`` (per-unit standard deviation) and optionally
      ``baseline_mean`` (needed for a relative ``mde``, and to report ``mde_rel``).
    * ``mde`` [+ ``power``, default 0.8] → the sample size (:func:`sample_size_proportion`,
      :func:`sample_size_mean`); ``n_per_arm`` [+ ``power``] → the MDE (:func:`mde_proportion`,
      :func:`mde_mean`); ``mde`` + ``n_per_arm`` → the power (:func:`power_proportion`,
      :func:`power_mean`), returned as a plan whose ``power`` is the power achieved.
    * ``relative`` reads ``mde`` as a fraction of the baseline; ``None`` keeps each metric's
      convention: relative for proportions, absolute for means.
    * ``sequential_looks`` plans an O'Brien–Fleming design with that many looks (sizes are
      then the maximum); ``alpha``, ``ratio`` (n_variant / n_control) and ``two_sided`` are
      the same everywhere. Conventions: the module docstring.

    The numbers are those of the solver it dispatches to. A combination that does not say
    what to solve for, or an argument that does not belong to ``metric``, raises ConfigError
    naming the arguments; bad values raise the solver's ConfigError, which names the value.
    """
    if metric not in PLAN_METRICS:
        raise ConfigError(f"metric must be one of {', '.join(PLAN_METRICS)}; got {metric!r}")
    if metric == "proportion":
        if baseline is None:
            raise ConfigError("metric='proportion' needs baseline (the control conversion rate)")
        given = [
            name for name, v in (("std", std), ("baseline_mean", baseline_mean)) if v is not None
        ]
        if given:
            raise ConfigError(
                f"{' and '.join(given)} belong to metric='mean'; a proportion's variance "
                "follows from its baseline"
            )
    else:
        if std is None:
            raise ConfigError("metric='mean' needs std (the per-unit standard deviation)")
        if baseline is not None:
            raise ConfigError(
                "baseline is the conversion rate of metric='proportion'; "
                "a mean metric takes baseline_mean"
            )

    target = _solve_for(mde, n_per_arm, power)
    design = {"alpha": alpha, "ratio": ratio, "two_sided": two_sided}
    looks = {"sequential_looks": sequential_looks}
    target_power = DEFAULT_POWER if power is None else power
    if metric == "proportion":
        rel = True if relative is None else relative
        if target == "n_per_arm":
            return sample_size_proportion(
                baseline, mde, relative=rel, power=target_power, **design, **looks
            )
        if target == "mde":
            return mde_proportion(
                baseline, n_per_arm, relative=rel, power=target_power, **design, **looks
            )
        achieved = power_proportion(baseline, mde, n_per_arm, relative=rel, **design, **looks)
        p1, p2 = _proportions(baseline, mde, rel)
        extra = f"power solved for; arcsine effect size h = {_arcsine_h(p1, p2):.6f}"
        return _power_plan(
            "proportion", achieved, n_per_arm, p2 - p1, (p2 - p1) / p1, extra, **design, **looks
        )

    rel = False if relative is None else relative
    means = {"baseline_mean": baseline_mean, "relative": rel}
    if target == "n_per_arm":
        return sample_size_mean(std, mde, power=target_power, **means, **design, **looks)
    if target == "mde":
        return mde_mean(std, n_per_arm, power=target_power, **means, **design, **looks)
    achieved = power_mean(std, mde, n_per_arm, **means, **design, **looks)
    mde_abs, mde_rel, _ = _mean_effect(mde, baseline_mean, rel)
    extra = f"power solved for; effect size d = mde/std = {mde_abs / std:.6f}"
    return _power_plan("mean", achieved, n_per_arm, mde_abs, mde_rel, extra, **design, **looks)


def _solve_for(mde: object, n_per_arm: object, power: object) -> str:
    """Which of ``n_per_arm``, ``mde`` and ``power`` the given arguments leave to solve for."""
    if mde is not None and n_per_arm is not None:
        if power is not None:
            raise ConfigError(
                "give at most two of mde, n_per_arm and power: plan solves for the third "
                f"(got mde={mde!r}, n_per_arm={n_per_arm!r}, power={power!r})"
            )
        return "power"
    if mde is not None:
        return "n_per_arm"
    if n_per_arm is not None:
        return "mde"
    raise ConfigError(
        "give mde (to solve for n_per_arm), n_per_arm (to solve for the mde) or both "
        "(to solve for the power)"
    )


def _power_plan(
    metric: str,
    achieved: float,
    n_per_arm: int,
    mde_abs: float,
    mde_rel: float | None,
    extra: str,
    *,
    alpha: float,
    ratio: float,
    two_sided: bool,
    sequential_looks: int | None,
) -> PlanResult:
    """The plan behind a solved power (arguments already validated by the power solver).

    For a sequential design the inflation is the one at the achieved power — the fixed point
    :func:`_sequential_power` solved — so sizing this MDE at this power gives back
    ``n_per_arm``.
    """
    a, r = float(alpha), float(ratio)
    looks = _looks(sequential_looks)
    at = min(max(achieved, a * (1.0 + 1e-6)), _MAX_SEQUENTIAL_POWER)
    inflation = _inflation(looks, a, at, two_sided)
    notes = _notes(metric, looks, inflation, extra)
    return _result(n_per_arm, r, mde_abs, mde_rel, a, achieved, two_sided, looks, inflation, notes)
