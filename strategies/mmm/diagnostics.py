"""Plain-sentence warnings about what the data cannot tell apart.

Why: an MMM always returns numbers, even when the data cannot support them (a channel whose
spend never moves, two channels always bought together, a curve fitted where no spend ever
was). These warnings name the channel and say what is not identified, so the report can put
them beside the numbers they undermine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from strategies.mmm.data import MMMData
from strategies.mmm.fit import FittedMMM

MIN_CV = 0.05
MAX_CORR = 0.9
FLAT_TOP = 0.2  # saturation at the highest observed adstocked spend below this: far from the top
SATURATED_LOW = 0.9  # at the 5th percentile of positive adstocked spend above this: saturated
BOUND_TOL = 1e-3
START_GAP = 1e-3  # starts within 0.1 % of the best objective
START_SPREAD = 0.25  # ... whose parameters differ by a quarter of the search range
PERIODS_PER_PARAMETER = 5.0
DRAWS_AT_ZERO = 0.25


def _spend_warnings(data: MMMData) -> list[str]:
    out = []
    spend = np.asarray(data.spend, dtype=float)
    varying = []
    for c, channel in enumerate(data.channels):
        x = spend[:, c]
        mean = x.mean()
        if not np.any(x > 0):
            out.append(
                f"Channel {channel!r} has no spend in the data; its effect cannot be estimated."
            )
        elif x.std() / mean < MIN_CV:
            out.append(
                f"Channel {channel!r} spend barely varies (coefficient of variation "
                f"{x.std() / mean:.3f}); its effect cannot be told apart from the baseline."
            )
        else:
            varying.append(c)
    if len(varying) > 1:
        corr = np.corrcoef(spend[:, varying], rowvar=False)
        for i, a in enumerate(varying):
            for j in range(i + 1, len(varying)):
                if abs(corr[i, j]) > MAX_CORR:
                    out.append(
                        f"Channels {data.channels[a]!r} and {data.channels[varying[j]]!r} move "
                        f"together (spend correlation {corr[i, j]:.2f}); the split of the effect "
                        "between them is not identified."
                    )
    return out


def _curve_warnings(data: MMMData, fitted: FittedMMM) -> list[str]:
    out = []
    for c, channel in enumerate(fitted.channels):
        if fitted.beta[c] <= 0 or not np.any(data.spend[:, c] > 0):
            continue
        ad, sat = fitted.curves()[c]
        p_ad, p_sat = fitted.curve_params(c)
        adstocked = ad.apply(data.spend[:, c], p_ad, fitted.max_lag)
        positive = adstocked[adstocked > 0]
        top = float(sat.apply(np.array([positive.max()]), p_sat)[0])
        low = float(sat.apply(np.array([np.percentile(positive, 5)]), p_sat)[0])
        if top < FLAT_TOP:
            out.append(
                f"Channel {channel!r}: the fitted saturation curve is far from saturating over the "
                f"observed spend (it reaches {top:.0%} of its maximum), so diminishing returns and "
                "the maximum effect are not identified; spend beyond the observed range is "
                "extrapolation."
            )
        elif low > SATURATED_LOW:
            out.append(
                f"Channel {channel!r}: the fitted curve is already saturated at the lowest "
                f"observed spend ({low:.0%} of its maximum), so the response to smaller budgets "
                "is not identified."
            )
    return out


def _bound_warnings(fitted: FittedMMM, explained: set[str] = frozenset()) -> list[str]:
    """``explained``: channels whose curve warning already says why their saturation parameter
    sits at a bound (a flat curve pins it there); saying it twice only adds noise."""
    out = []
    bounds = fitted.parameter_bounds()
    for c, channel in enumerate(fitted.channels):
        if fitted.beta[c] <= 0:
            out.append(
                f"Channel {channel!r} gets no effect (beta at its bound 0); the data show no "
                "positive response to its spend."
            )
            continue
        saturation_params = set(fitted.curves()[c][1].param_names)
        for name, value in fitted.params[channel].items():
            if channel in explained and name in saturation_params:
                continue
            lower, upper = bounds[channel][name]
            tol = BOUND_TOL * (upper - lower)
            if value - lower <= tol or upper - value <= tol:
                out.append(
                    f"Channel {channel!r}: {name} = {_g(value)} is at its search bound "
                    f"[{_g(lower)}, {_g(upper)}]; the data push it to the edge of what the model "
                    "allows."
                )
    return out


def _start_warnings(fitted: FittedMMM) -> list[str]:
    objectives = np.asarray(fitted.start_objectives, dtype=float)
    params = np.asarray(fitted.start_params, dtype=float)
    if len(objectives) < 2 or np.all(np.isnan(objectives)):
        return []
    best = int(np.nanargmin(objectives))
    near = np.flatnonzero(objectives <= objectives[best] * (1 + START_GAP) + 1e-15)
    names = fitted.theta_names()
    bounds = fitted.parameter_bounds()
    ranges = np.array([bounds[ch][p][1] - bounds[ch][p][0] for ch, p in names])
    spread = np.nanmax(np.abs(params[near] - params[best]), axis=0) / ranges
    out = []
    for c, channel in enumerate(fitted.channels):
        if fitted.beta[c] <= 0:
            continue
        differing = [
            p
            for (ch, p), s in zip(names, spread, strict=True)
            if ch == channel and s > START_SPREAD
        ]
        if differing:
            out.append(
                f"Channel {channel!r}: different starts of the fit reach almost the same fit "
                f"(within 0.1 %) with very different {', '.join(differing)}; these are not "
                "identified by the data."
            )
    return out


def _size_warnings(data: MMMData, fitted: FittedMMM) -> list[str]:
    n_params = len(fitted.base_coefficients) + len(fitted.channels) + len(fitted.theta_names())
    ratio = data.n_periods / n_params
    if ratio < PERIODS_PER_PARAMETER:
        return [
            f"Only {ratio:.1f} periods per parameter ({data.n_periods} periods, {n_params} "
            "parameters); the fit can chase noise. Use more data, or fewer channels, controls or "
            "Fourier terms."
        ]
    return []


def _draw_warnings(fitted: FittedMMM, draws: Sequence[FittedMMM]) -> list[str]:
    if not draws:
        return []
    zero = np.mean([d.beta <= 0 for d in draws], axis=0)
    return [
        f"Channel {channel!r} has no effect in {zero[c]:.0%} of bootstrap draws; its effect is "
        "not clearly distinguishable from zero."
        for c, channel in enumerate(fitted.channels)
        if fitted.beta[c] > 0 and zero[c] > DRAWS_AT_ZERO
    ]


def identifiability_warnings(
    data: MMMData, fitted: FittedMMM, draws: Sequence[FittedMMM] | None = None
) -> list[str]:
    """Every identifiability warning for this data and fit, one plain sentence each."""
    curves = _curve_warnings(data, fitted)
    explained = {c for c in fitted.channels if any(w.startswith(f"Channel {c!r}:") for w in curves)}
    return [
        *_spend_warnings(data),
        *curves,
        *_bound_warnings(fitted, explained),
        *_start_warnings(fitted),
        *_size_warnings(data, fitted),
        *_draw_warnings(fitted, draws or []),
    ]


def _g(value: float) -> str:
    """4 significant digits; round-off next to a bound of 0 shows as 0, not 2.7e-16."""
    return "0" if abs(value) < 1e-12 else f"{value:.4g}"
