"""Turn predicted uplift into a targeting decision, and value that decision on a holdout.

Money. Predicted uplift is in outcome units (a conversion-probability difference for a binary
outcome, a spend difference for a spend outcome). ``value_per_unit`` converts one unit of outcome
into profit: the value of a conversion for a binary outcome, the ``margin`` fraction for spend
(see :func:`unit_value`). ``cost_per_contact`` is what one contact costs (one number, or one per
arm). For customer ``i`` and arm ``a``::

    expected incremental profit = uplift[i, a] · value_per_unit − cost_per_contact[a]

and the policy sends each customer the arm with the highest expected incremental profit, or
nothing when no arm is profitable (:func:`targeting_policy`).

Valuing a policy off-line. On held-out rows of a *randomised* experiment the profit of any policy
``π`` (customer → arm or nothing) is estimated by inverse-probability weighting: each row whose
actual arm ``T_i`` equals ``π(x_i)`` counts with weight ``w_i = 1 / p(T_i)`` and reward
``r_i = value_per_unit · y_i − cost(T_i)`` (no cost for control), and the estimate is the
self-normalised (Hájek) mean ``Σ w_i r_i / Σ w_i``, per customer. ``p`` are the assignment
probabilities of the experiment (default: the arms' shares of the rows, which makes "send
everyone arm a" exactly the mean reward of arm a's rows). Confidence intervals come from a
seeded bootstrap over rows (percentile method), recomputing every policy on the same resample so
differences between policies are paired. Rows are matched by position: ``uplift``, ``treatment``
and ``y`` must be in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError

__all__ = [
    "CALIBRATION_RATIO",
    "calibration_flag",
    "expected_profit",
    "policy_comparison",
    "policy_value",
    "profit_curve",
    "targeting_policy",
    "unit_value",
]


# --------------------------------------------------------------------------------------------
# money
# --------------------------------------------------------------------------------------------


def unit_value(
    *, outcome: str, value_per_conversion: float | None = None, margin: float | None = None
) -> float:
    """Profit per unit of outcome: ``value_per_conversion`` for a ``binary`` outcome, the
    ``margin`` fraction of spend for a ``continuous`` (spend) outcome."""
    if outcome == "binary":
        if value_per_conversion is None:
            raise ConfigError("a binary outcome needs value_per_conversion")
        return _number(value_per_conversion, "value_per_conversion")
    if outcome == "continuous":
        if margin is None:
            raise ConfigError("a spend (continuous) outcome needs margin (a fraction of spend)")
        return _number(margin, "margin")
    raise ConfigError(f"outcome must be 'binary' or 'continuous', got {outcome!r}")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be finite, got {value!r}")
    return float(value)


def _costs(cost_per_contact: float | Mapping[Any, float], arms: Sequence[Any]) -> np.ndarray:
    if isinstance(cost_per_contact, Mapping):
        missing = [a for a in arms if a not in cost_per_contact]
        if missing:
            raise ConfigError(
                f"cost_per_contact has no cost for arm(s) {', '.join(map(repr, missing))}"
            )
        return np.array([_number(cost_per_contact[a], f"cost_per_contact[{a!r}]") for a in arms])
    return np.full(len(arms), _number(cost_per_contact, "cost_per_contact"))


def _check_uplift(uplift: Any) -> pd.DataFrame:
    if not isinstance(uplift, pd.DataFrame):
        raise InputDataError(
            f"uplift must be a DataFrame with one column per arm, got {type(uplift).__name__}"
        )
    if uplift.shape[1] == 0:
        raise InputDataError("uplift has no arm column")
    values = uplift.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputDataError(f"uplift has {int((~np.isfinite(values)).sum())} missing value(s)")
    return uplift


def expected_profit(
    uplift: pd.DataFrame,
    *,
    value_per_unit: float,
    cost_per_contact: float | Mapping[Any, float],
) -> pd.DataFrame:
    """Expected incremental profit per customer and arm: ``uplift · value − cost[arm]``."""
    uplift = _check_uplift(uplift)
    value = _number(value_per_unit, "value_per_unit")
    costs = _costs(cost_per_contact, list(uplift.columns))
    return pd.DataFrame(
        uplift.to_numpy(dtype=np.float64) * value - costs,
        index=uplift.index,
        columns=uplift.columns,
    )


def _contact_count(fraction: float, n: int) -> int:
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or not 0 <= fraction <= 1
    ):
        raise ConfigError(f"a contacted fraction must be in [0, 1], got {fraction!r}")
    return min(n, math.ceil(fraction * n - 1e-9))


def targeting_policy(
    uplift: pd.DataFrame,
    *,
    value_per_unit: float,
    cost_per_contact: float | Mapping[Any, float],
    top_fraction: float | None = None,
) -> pd.DataFrame:
    """Per customer (index of ``uplift``): ``best_arm`` (the arm to send, or ``None``) and
    ``expected_incremental_profit`` (of that decision; 0 when nobody is contacted).

    Default: contact everyone whose best arm has a positive expected profit. With
    ``top_fraction`` (a budget), contact exactly the ``⌈top_fraction·N⌉`` customers with the
    highest best-arm expected profit, even if some of those are negative.
    """
    profit = expected_profit(
        uplift, value_per_unit=value_per_unit, cost_per_contact=cost_per_contact
    )
    values = profit.to_numpy()
    best = values.argmax(axis=1)
    best_profit = values[np.arange(len(values)), best]
    if top_fraction is None:
        contact = best_profit > 0
    else:
        n_contact = _contact_count(top_fraction, len(values))
        contact = np.zeros(len(values), dtype=bool)
        contact[np.argsort(-best_profit, kind="stable")[:n_contact]] = True
    arms = np.asarray(profit.columns, dtype=object)
    return pd.DataFrame(
        {
            "best_arm": pd.Series(
                np.where(contact, arms[best], None), index=profit.index, dtype=object
            ),
            "expected_incremental_profit": np.where(contact, best_profit, 0.0),
        },
        index=profit.index,
    )


# --------------------------------------------------------------------------------------------
# off-line evaluation
# --------------------------------------------------------------------------------------------

CALIBRATION_RATIO = 1.5
"""How far (as a ratio) the model's own profit expectation may be from the holdout estimate
before :func:`calibration_flag` calls it over- or understated."""


def calibration_flag(
    predicted: Any, estimate: Any, low: Any, high: Any, *, max_ratio: float = CALIBRATION_RATIO
) -> str:
    """Does the model's expected incremental profit agree with the holdout estimate?

    ``"overstated"`` when the prediction lies above the estimate's CI ``[low, high]``, or is
    positive and more than ``max_ratio`` times the estimate (any positive prediction when the
    estimate is 0 or negative: the model promises a profit the holdout does not show);
    ``"understated"`` symmetrically (below the CI, or under ``estimate / max_ratio`` while the
    estimate is positive); ``"consistent"`` otherwise; ``""`` when a number is missing."""
    values = [_finite_or_nan(v) for v in (predicted, estimate, low, high)]
    if any(math.isnan(v) for v in values):
        return ""
    p, e, lo, hi = values
    if p > hi or (p > 0 and p > max_ratio * max(e, 0.0)):
        return "overstated"
    if p < lo or (e > 0 and p < e / max_ratio):
        return "understated"
    return "consistent"


def _finite_or_nan(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _experiment(
    treatment: Any,
    y: Any,
    *,
    n_rows: int,
    control: Any,
    arms: Sequence[Any],
    value_per_unit: float,
    cost_per_contact: float | Mapping[Any, float],
    propensity: Mapping[Any, float] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(labels, reward r_i, inverse propensity 1/p(T_i))``."""
    labels = np.asarray(treatment, dtype=object)
    yv_raw = np.asarray(y)
    lengths = {"policy": n_rows, "treatment": len(labels), "y": len(yv_raw)}
    if len(set(lengths.values())) != 1:
        raise InputDataError(
            f"the policy (uplift), treatment and y must have the same length, got {lengths}"
        )
    if len(labels) == 0:
        raise InputDataError("no rows to evaluate")
    if pd.isna(labels).any():
        raise InputDataError(f"treatment has {int(pd.isna(labels).sum())} missing label(s)")
    try:
        yv = yv_raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"y must be numeric, got dtype {yv_raw.dtype}") from exc
    if not np.isfinite(yv).all():
        raise InputDataError(f"y has {int((~np.isfinite(yv)).sum())} missing or infinite value(s)")
    present = set(pd.unique(labels))
    if control in arms:
        raise InputDataError(f"the control label {control!r} cannot also be a treatment arm")
    absent = [a for a in [control, *arms] if a not in present]
    if absent:
        raise InputDataError(
            f"arm label(s) {', '.join(map(repr, absent))} do not occur in treatment "
            f"(labels present: {', '.join(map(repr, sorted(present, key=str)))})"
        )
    value = _number(value_per_unit, "value_per_unit")
    costs = dict(zip(arms, _costs(cost_per_contact, arms), strict=True))
    cost = np.array([costs.get(label, 0.0) for label in labels], dtype=np.float64)
    if propensity is None:
        shares = pd.Series(labels).value_counts(normalize=True).to_dict()
    else:
        if not isinstance(propensity, Mapping):
            raise ConfigError(f"propensity must map arm label -> probability, got {propensity!r}")
        missing = [a for a in [control, *arms] if a not in propensity]
        if missing:
            raise ConfigError(f"propensity has no probability for {', '.join(map(repr, missing))}")
        shares = {k: _number(v, f"propensity[{k!r}]") for k, v in propensity.items()}
        if any(not 0 < shares[a] <= 1 for a in [control, *arms]):
            raise ConfigError(f"propensities must be in (0, 1], got {dict(propensity)}")
    inverse = np.array([1.0 / shares[label] if label in shares else 0.0 for label in labels])
    return labels, value * yv - cost, inverse


def _weights(labels: np.ndarray, inverse: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    return np.where(labels == assigned, inverse, 0.0)


def _hajek(weights: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Self-normalised IPW mean per policy (rows of ``weights``); NaN with no matching row."""
    num = weights @ reward
    den = weights.sum(axis=-1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _assigned(best_arm: Any, control: Any) -> np.ndarray:
    arms = np.asarray(best_arm, dtype=object)
    return np.where(pd.isna(arms), control, arms).astype(object)


def policy_value(
    assigned: Any,
    treatment: Any,
    y: Any,
    *,
    control: Any,
    value_per_unit: float,
    cost_per_contact: float | Mapping[Any, float],
    propensity: Mapping[Any, float] | None = None,
) -> float:
    """IPW (Hájek) estimate of profit per customer of sending arm ``assigned[i]`` (``None`` or
    ``control``: nothing) to customer ``i``, from randomised ``treatment`` and outcome ``y``.
    NaN when no row's actual arm matches the policy."""
    assigned_arr = _assigned(assigned, control)
    arms = [a for a in pd.unique(assigned_arr) if a != control]
    labels, reward, inverse = _experiment(
        treatment,
        y,
        n_rows=len(assigned_arr),
        control=control,
        arms=arms,
        value_per_unit=value_per_unit,
        cost_per_contact=cost_per_contact,
        propensity=propensity,
    )
    return float(_hajek(_weights(labels, inverse, assigned_arr)[None, :], reward)[0])


def policy_comparison(
    uplift: pd.DataFrame,
    treatment: Any,
    y: Any,
    *,
    control: Any,
    value_per_unit: float,
    cost_per_contact: float | Mapping[Any, float],
    propensity: Mapping[Any, float] | None = None,
    top_fraction: float | None = None,
    n_bootstrap: int = 200,
    ci_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Profit per customer of the model policy vs the simple alternatives, on held-out rows of
    a randomised experiment (``uplift`` predicted for those rows, one column per arm).

    One row per policy: ``model`` (:func:`targeting_policy` with ``top_fraction``), ``send_all``
    (one row per arm, ``arm`` set) and ``send_nobody``. Columns: ``policy``, ``arm``,
    ``share_contacted``, ``n_matched`` (rows whose actual arm equals the policy's choice: the
    rows the estimate rests on), ``profit_per_customer`` with ``profit_ci_low``/``_high``,
    ``incremental_profit_per_customer`` (vs send nobody; paired bootstrap CI
    ``incremental_ci_low``/``_high``), ``vs_send_all_profit_per_customer`` (vs the send-all
    policy with the highest holdout profit, named in ``vs_send_all_arm``; paired bootstrap CI
    ``vs_send_all_ci_low``/``_high``), ``predicted_incremental_profit_per_customer`` (what the
    model itself expects), ``predicted_to_estimate_ratio`` (that expectation over the holdout
    estimate vs send nobody) and ``calibration`` (:func:`calibration_flag`).

    All intervals come from one bootstrap: every policy is re-estimated on the same resampled
    rows, and a difference's interval is the percentile interval of the per-resample
    differences (paired). The send-all reference is picked by its point estimate on the full
    holdout and kept fixed across resamples (the interval does not account for that choice;
    with one arm there is no choice).
    """
    uplift = _check_uplift(uplift)
    arms = list(uplift.columns)
    labels, reward, inverse = _experiment(
        treatment,
        y,
        n_rows=len(uplift),
        control=control,
        arms=arms,
        value_per_unit=value_per_unit,
        cost_per_contact=cost_per_contact,
        propensity=propensity,
    )
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise ConfigError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    if not 0 < ci_level < 1:
        raise ConfigError(f"ci_level must be in (0, 1), got {ci_level!r}")
    n = len(labels)
    profit = expected_profit(
        uplift, value_per_unit=value_per_unit, cost_per_contact=cost_per_contact
    )
    model = targeting_policy(
        uplift,
        value_per_unit=value_per_unit,
        cost_per_contact=cost_per_contact,
        top_fraction=top_fraction,
    )
    rows: list[dict[str, Any]] = []
    assignments: list[np.ndarray] = []
    model_assigned = _assigned(model["best_arm"], control)
    rows.append(
        {
            "policy": "model",
            "arm": None,
            "share_contacted": float((model_assigned != control).mean()),
            "predicted_incremental_profit_per_customer": float(
                model["expected_incremental_profit"].mean()
            ),
        }
    )
    assignments.append(model_assigned)
    for arm in arms:
        rows.append(
            {
                "policy": "send_all",
                "arm": arm,
                "share_contacted": 1.0,
                "predicted_incremental_profit_per_customer": float(profit[arm].mean()),
            }
        )
        assignments.append(np.full(n, arm, dtype=object))
    rows.append(
        {
            "policy": "send_nobody",
            "arm": None,
            "share_contacted": 0.0,
            "predicted_incremental_profit_per_customer": 0.0,
        }
    )
    assignments.append(np.full(n, control, dtype=object))

    weights = np.vstack([_weights(labels, inverse, a) for a in assignments])
    point = _hajek(weights, reward)
    table = pd.DataFrame(rows)
    table["arm"] = pd.Series([r["arm"] for r in rows], index=table.index, dtype=object)
    table["n_matched"] = (weights > 0).sum(axis=1)
    table["profit_per_customer"] = point
    table["incremental_profit_per_customer"] = point - point[-1]
    send_all_rows = np.arange(1, 1 + len(arms))
    finite = [i for i in send_all_rows if np.isfinite(point[i])]
    ref = max(finite, key=lambda i: point[i]) if finite else None
    table["vs_send_all_arm"] = pd.Series(
        [arms[ref - 1] if ref is not None else None] * len(table), index=table.index, dtype=object
    )
    table["vs_send_all_profit_per_customer"] = point - point[ref] if ref is not None else np.nan

    alpha = (1.0 - ci_level) / 2.0
    if n_bootstrap:
        rng = np.random.default_rng(seed)
        draws = np.empty((n_bootstrap, len(assignments)))
        for b in range(n_bootstrap):
            counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
            draws[b] = _hajek(weights * counts, reward)
        incremental = draws - draws[:, [-1]]
        vs_all = draws - draws[:, [ref]] if ref is not None else np.full_like(draws, np.nan)
        samples = (("profit", draws), ("incremental", incremental), ("vs_send_all", vs_all))
        for prefix, sample in samples:
            with np.errstate(all="ignore"):
                low, high = np.nanquantile(sample, [alpha, 1.0 - alpha], axis=0)
            table[f"{prefix}_ci_low"] = low
            table[f"{prefix}_ci_high"] = high
    else:
        for prefix in ("profit", "incremental", "vs_send_all"):
            table[f"{prefix}_ci_low"] = np.nan
            table[f"{prefix}_ci_high"] = np.nan
    predicted = table["predicted_incremental_profit_per_customer"].to_numpy(dtype=np.float64)
    estimate = table["incremental_profit_per_customer"].to_numpy(dtype=np.float64)
    with np.errstate(all="ignore"):
        table["predicted_to_estimate_ratio"] = np.where(
            estimate != 0, predicted / np.where(estimate != 0, estimate, 1.0), np.nan
        )
    table["calibration"] = [
        calibration_flag(p, e, lo, hi)
        for p, e, lo, hi in zip(
            predicted,
            estimate,
            table["incremental_ci_low"],
            table["incremental_ci_high"],
            strict=True,
        )
    ]
    order = [
        "policy",
        "arm",
        "share_contacted",
        "n_matched",
        "profit_per_customer",
        "profit_ci_low",
        "profit_ci_high",
        "incremental_profit_per_customer",
        "incremental_ci_low",
        "incremental_ci_high",
        "vs_send_all_arm",
        "vs_send_all_profit_per_customer",
        "vs_send_all_ci_low",
        "vs_send_all_ci_high",
        "predicted_incremental_profit_per_customer",
        "predicted_to_estimate_ratio",
        "calibration",
    ]
    return table[order]


def profit_curve(
    uplift: pd.DataFrame,
    treatment: Any,
    y: Any,
    *,
    control: Any,
    value_per_unit: float,
    cost_per_contact: float | Mapping[Any, float],
    propensity: Mapping[Any, float] | None = None,
    fractions: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Profit per customer when contacting the top fraction ``f`` of customers (ranked by their
    best arm's expected profit, each sent that arm), for every ``f`` in ``fractions`` (default
    0, 0.05, …, 1).

    Columns: ``fraction``, ``n_contacted`` (``⌈f·N⌉``), ``profit_per_customer`` and
    ``incremental_profit_per_customer`` (IPW estimates as in :func:`policy_comparison`, the
    latter vs sending nobody) and ``predicted_incremental_profit_per_customer`` (the model's own
    expectation). One sort and cumulative sums: cheap for millions of rows.
    """
    uplift = _check_uplift(uplift)
    labels, reward, inverse = _experiment(
        treatment,
        y,
        n_rows=len(uplift),
        control=control,
        arms=list(uplift.columns),
        value_per_unit=value_per_unit,
        cost_per_contact=cost_per_contact,
        propensity=propensity,
    )
    grid = np.linspace(0.0, 1.0, 21) if fractions is None else np.asarray(fractions, float)
    n = len(labels)
    counts = np.array([_contact_count(float(f), n) for f in grid], dtype=np.int64)
    values = expected_profit(
        uplift, value_per_unit=value_per_unit, cost_per_contact=cost_per_contact
    ).to_numpy()
    best = values.argmax(axis=1)
    best_profit = values[np.arange(n), best]
    order = np.argsort(-best_profit, kind="stable")
    best_arm = np.asarray(uplift.columns, dtype=object)[best][order]
    lab, r, ip = labels[order], reward[order], inverse[order]
    w_top = np.where(lab == best_arm, ip, 0.0)
    w_none = np.where(lab == control, ip, 0.0)

    def head(a: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(a)])[counts]

    def tail(a: np.ndarray) -> np.ndarray:
        return a.sum() - head(a)

    num = head(w_top * r) + tail(w_none * r)
    den = head(w_top) + tail(w_none)
    profit = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    nobody = _hajek(w_none[None, :], r)[0]
    return pd.DataFrame(
        {
            "fraction": grid,
            "n_contacted": counts,
            "profit_per_customer": profit,
            "incremental_profit_per_customer": profit - nobody,
            "predicted_incremental_profit_per_customer": head(best_profit[order]) / n,
        }
    )
