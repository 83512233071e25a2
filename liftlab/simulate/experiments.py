"""Demo-data simulator: user-level e-mail/website A/B experiments with *known* true effects.

Why this exists: every estimator, cleaning rule and report in liftlab is only trustworthy if we
can show it recovers effects we planted ourselves. This module writes a realistic experiment
export (several experiments, variants "A" = control and "B" = treatment) together with a
ground-truth table of the *population* values of each metric, computed in closed form from the
generating model below, so tests and demos can compare estimates against the truth instead of
against numbers the code produced itself.

Generating model (per user, all draws vectorised with numpy)
------------------------------------------------------------
Segments. ``device`` (mobile/desktop/tablet), ``user_type`` (new/returning) and ``country``
(US/GB/DE/FR/BR/IN) are drawn independently with the shares in ``DEVICES``, ``USER_TYPES`` and
``COUNTRIES``; the 36 combinations ``s`` have weight ``w_s`` (product of the shares). Each level
multiplies the base rates (mobile converts less, returning users see and open more, BR/IN
have smaller baskets ...), giving per-segment rates ``lambda_s, o_s, q_s, c_s, mu_s``
(see :func:`segment_table`).

Engagement. ``u ~ Gamma(shape=k, scale=1/k)`` with mean 1 and ``k = ENGAGEMENT_SHAPE``. The
small shape makes engagement very uneven - a few heavy users produce most activity - which is
what makes pre-period revenue predictive of in-experiment revenue (CUPED needs that).

Funnel, for a user in segment ``s`` and arm ``v``::

    impressions = 1 + Poisson(lambda_s * u)
    opens       ~ Binomial(impressions, o_sv)       o_sv  = o_s  * (1 + open_lift  * [v=B])
    clicks      ~ Binomial(opens,       q_sv)       q_sv  = q_s  * (1 + click_lift * [v=B])
    conversions ~ Binomial(clicks,      c_sv)       c_sv  = c_s  * (1 + conversion_lift * [v=B])
    revenue     = sum of `conversions` order values ~ Gamma(alpha, mu_sv / alpha)
                = Gamma(conversions * alpha, mu_sv / alpha)   (0 when conversions == 0)
                                                    mu_sv = mu_s * (1 + order_value_lift * [v=B])

The treatment multiplies the same rate in every segment, so the *relative* lift of each funnel
probability is exactly the configured one. ``pre_revenue`` is revenue from a pre-period
``PRE_PERIOD_WINDOWS`` times as long as the experiment, drawn as a Gamma sum over
``Poisson(PRE_PERIOD_WINDOWS * o_s q_s c_s * (1 + lambda_s u))`` orders at the *control* rates:
it shares ``u`` and the segment with the outcome (correlation ~0.5 with ``revenue`` in the
default demo) but never depends on the variant, so CUPED stays unbiased.

Ground truth (exact population expectations, averaged over the segment mix and over ``u``)
----------------------------------------------------------------------------------------
With ``r_sv = o_sv q_sv c_sv`` (binomial thinning) and ``E[impressions | s] = 1 + lambda_s``::

    open_rate        = sum_s w_s o_sv (1 + lambda_s)      / sum_s w_s (1 + lambda_s)
    ctr              = sum_s w_s o_sv q_sv (1 + lambda_s) / sum_s w_s (1 + lambda_s)
    conversion_rate  = 1 - sum_s w_s (1 - r_sv) (1 + lambda_s r_sv / k) ** (-k)
    revenue_per_user = sum_s w_s r_sv (1 + lambda_s) mu_sv

``conversion_rate`` uses the probability-generating function of ``1 + Poisson(lambda u)``
mixed over the Gamma: ``E[(1-r)^(1+Poisson(lambda u))] = (1-r) (1 + lambda r / k)^(-k)``. The
ratio metrics are ratios of expectations, which is what ``sum(opens)/sum(impressions)``
converges to. A metric whose relevant lifts are all zero has bit-identical control and variant
values. Sample ratio mismatch (``actual_split``) only changes how many users land in each arm
(assignment stays random), so the per-arm truth is unchanged - the SRM is there for the SRM
check to catch.

Dirty data (``dirty_fraction > 0``), for the cleaning demo
--------------------------------------------------------
About ``round(dirty_fraction * n_rows)`` problems are planted on distinct rows (25% exact
duplicate rows, 30% variant labels with stray case/whitespace such as ``" a"`` or ``"B\\t"``,
30% rows with one count set to NaN *only where its true value is 0* - so "missing means zero"
restores valid data - 10% users copied into the other arm of their experiment, 5% revenue
outliers x50), at least one of each. The manifest records how many of each were planted. The
count columns become float64 when they hold NaN; clean data keeps them int64.

Randomness is seeded per purpose (one stream per experiment, one for user ids, one for the
injected dirt), so an experiment's rows depend only on the seed, its position and its own spec.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from liftlab.simulate.common import rng_stream
from strategies.errors import ConfigError

__all__ = [
    "COLUMNS",
    "METRICS",
    "ExperimentSpec",
    "SimulationConfig",
    "SimulationResult",
    "default_experiments",
    "segment_table",
    "simulate",
    "truth_table",
    "write_dataset",
]

# --------------------------------------------------------------------------------------------
# Model constants. Calibrated so the default demo has open rate ~27%, per-user conversion ~4.4%,
# revenue per user ~3.3 USD, and +15-20% effects on conversion/revenue at 50k users per
# experiment are detected with ~80%+ power (revenue with CUPED).
# --------------------------------------------------------------------------------------------

ENGAGEMENT_SHAPE = 0.1  # k of u ~ Gamma(k, 1/k)
BASE_IMPRESSION_RATE = 6.0  # lambda: extra impressions per user in 14 days at u = 1
BASE_OPEN_PROB = 0.25  # per impression
BASE_CLICK_PROB = 0.12  # per open
BASE_CONVERSION_PROB = 0.25  # per click
BASE_ORDER_VALUE = 55.0  # USD, mean order value
ORDER_VALUE_SHAPE = 2.5  # alpha of the Gamma order values (coefficient of variation 0.63)
PRE_PERIOD_WINDOWS = 4  # pre-period is 4 x 14 days
EXPERIMENT_DAYS = 14
STAGGER_DAYS = 3  # experiment i starts 3*i days after `start`
_USER_ID_BASE = 1_000_000
_USER_ID_STRIDE = 16

_STREAM_EXPERIMENT = 1
_STREAM_USER_IDS = 2
_STREAM_DIRT = 3


@dataclass(frozen=True)
class _Level:
    """One level of a segment dimension: its population share and its rate multipliers."""

    name: str
    share: float
    impressions: float = 1.0
    open: float = 1.0
    click: float = 1.0
    conversion: float = 1.0
    order_value: float = 1.0


DEVICES: tuple[_Level, ...] = (
    _Level("mobile", 0.55, open=1.08, click=0.85, conversion=0.75, order_value=0.90),
    _Level("desktop", 0.35, open=0.90, click=1.20, conversion=1.35, order_value=1.15),
    _Level("tablet", 0.10, order_value=1.05),
)
USER_TYPES: tuple[_Level, ...] = (
    _Level("new", 0.60, impressions=0.75, open=0.85, conversion=0.85),
    _Level("returning", 0.40, impressions=1.40, open=1.25, conversion=1.20),
)
COUNTRIES: tuple[_Level, ...] = (
    _Level("US", 0.35, conversion=1.10, order_value=1.20),
    _Level("GB", 0.15, order_value=1.05),
    _Level("DE", 0.15, conversion=1.05),
    _Level("FR", 0.10, conversion=0.95, order_value=0.95),
    _Level("BR", 0.12, conversion=0.80, order_value=0.55),
    _Level("IN", 0.13, conversion=0.70, order_value=0.40),
)

COLUMNS: tuple[str, ...] = (
    "experiment",
    "user_id",
    "variant",
    "assigned_at",
    "device",
    "country",
    "user_type",
    "impressions",
    "opens",
    "clicks",
    "conversions",
    "converted",
    "revenue",
    "pre_revenue",
)
METRICS: dict[str, str] = {
    "open_rate": "ratio",
    "ctr": "ratio",
    "conversion_rate": "proportion",
    "revenue_per_user": "mean",
}
TRUTH_COLUMNS: tuple[str, ...] = (
    "experiment",
    "metric",
    "metric_type",
    "control_value",
    "variant_value",
    "abs_diff",
    "rel_lift",
    "direction",
    "srm",
    "expected_share_control",
    "actual_share_control",
)

_VARIANTS = ("A", "B")
# Stray case/whitespace spellings used by the dirt injector; `.str.strip().str.upper()` restores.
_NOISY_LABELS: dict[str, tuple[str, ...]] = {
    "A": (" a", "a ", "A ", " A", "a\t", "a"),
    "B": (" b", "b ", "B ", " B", "B\t", "b"),
}
_VARIANT_VOCAB: tuple[str, ...] = _VARIANTS + _NOISY_LABELS["A"] + _NOISY_LABELS["B"]
_COUNT_COLUMNS = ("opens", "clicks", "conversions")
# How the dirty rows are split between the kinds of problem (shares of round(f * n_rows)).
_DIRT_SHARES = {
    "duplicate_rows": 0.25,
    "variant_label_noise": 0.30,
    "missing_count_rows": 0.30,
    "cross_variant_users": 0.10,
    "revenue_outliers": 0.05,
}
REVENUE_OUTLIER_FACTOR = 50.0


# --------------------------------------------------------------------------------------------
# Segments and configuration
# --------------------------------------------------------------------------------------------


def _segment_arrays() -> dict[str, np.ndarray]:
    """The 36 device x user_type x country cells with their weights and control rates."""
    rows = list(itertools.product(enumerate(DEVICES), enumerate(USER_TYPES), enumerate(COUNTRIES)))
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "device_code",
            "user_type_code",
            "country_code",
            "share",
            "impressions_rate",
            "open_prob",
            "click_prob",
            "conversion_prob",
            "order_value_mean",
        )
    }
    for (di, d), (ui, u), (ci, c) in rows:
        levels = (d, u, c)
        out["device_code"].append(di)
        out["user_type_code"].append(ui)
        out["country_code"].append(ci)
        out["share"].append(d.share * u.share * c.share)
        out["impressions_rate"].append(
            BASE_IMPRESSION_RATE * math.prod(x.impressions for x in levels)
        )
        out["open_prob"].append(BASE_OPEN_PROB * math.prod(x.open for x in levels))
        out["click_prob"].append(BASE_CLICK_PROB * math.prod(x.click for x in levels))
        out["conversion_prob"].append(
            BASE_CONVERSION_PROB * math.prod(x.conversion for x in levels)
        )
        out["order_value_mean"].append(BASE_ORDER_VALUE * math.prod(x.order_value for x in levels))
    return {k: np.asarray(v) for k, v in out.items()}


_SEGMENTS = _segment_arrays()


def segment_table() -> pd.DataFrame:
    """The segment cells of the generating model with their population share and control
    rates, so notebooks and tests can recompute the truth independently."""
    seg = _SEGMENTS
    return pd.DataFrame(
        {
            "device": [DEVICES[i].name for i in seg["device_code"]],
            "user_type": [USER_TYPES[i].name for i in seg["user_type_code"]],
            "country": [COUNTRIES[i].name for i in seg["country_code"]],
            "share": seg["share"],
            "impressions_rate": seg["impressions_rate"],
            "open_prob": seg["open_prob"],
            "click_prob": seg["click_prob"],
            "conversion_prob": seg["conversion_prob"],
            "order_value_mean": seg["order_value_mean"],
        }
    )


def _check_split(name: str, field_name: str, value: Any) -> tuple[float, float]:
    """Validate a two-arm split; return it as a tuple of floats."""
    try:
        a, b = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"experiment {name!r}: {field_name} must be two numbers (share of A, share of B), "
            f"got {value!r}"
        ) from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise ConfigError(
            f"experiment {name!r}: {field_name} shares must be positive, got ({a}, {b})"
        )
    if abs(a + b - 1.0) > 1e-9:
        raise ConfigError(
            f"experiment {name!r}: {field_name} shares must sum to 1, got {a} + {b} = {a + b}"
        )
    return a, b


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment to simulate and its true treatment effects.

    Lifts are relative effects of B on a funnel probability (or on the mean order value),
    identical in every segment, so the truth of each metric follows exactly from them.
    ``actual_split`` draws the data with a different split from the configured one to plant a
    sample ratio mismatch.
    """

    name: str
    n_users: int = 50_000
    split: tuple[float, float] = (0.5, 0.5)
    actual_split: tuple[float, float] | None = None
    open_lift: float = 0.0
    click_lift: float = 0.0
    conversion_lift: float = 0.0
    order_value_lift: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"experiment name must be a non-empty string, got {self.name!r}")
        if (
            isinstance(self.n_users, bool)
            or not isinstance(self.n_users, int | np.integer)
            or self.n_users < 2
        ):
            raise ConfigError(
                f"experiment {self.name!r}: n_users must be an integer >= 2, got {self.n_users!r}"
            )
        object.__setattr__(self, "n_users", int(self.n_users))
        object.__setattr__(self, "split", _check_split(self.name, "split", self.split))
        if self.actual_split is not None:
            object.__setattr__(
                self, "actual_split", _check_split(self.name, "actual_split", self.actual_split)
            )
        seg = _SEGMENTS
        for lift_name, base in (
            ("open_lift", seg["open_prob"]),
            ("click_lift", seg["click_prob"]),
            ("conversion_lift", seg["conversion_prob"]),
            ("order_value_lift", None),
        ):
            lift = getattr(self, lift_name)
            if isinstance(lift, bool) or not isinstance(lift, int | float | np.floating):
                raise ConfigError(
                    f"experiment {self.name!r}: {lift_name} must be a number, got {lift!r}"
                )
            lift = float(lift)
            if not math.isfinite(lift) or lift <= -1.0:
                raise ConfigError(
                    f"experiment {self.name!r}: {lift_name} is a relative effect and must be "
                    f"> -1 (B cannot have a negative rate), got {lift}"
                )
            if base is not None and float(base.max()) * (1.0 + lift) > 1.0:
                raise ConfigError(
                    f"experiment {self.name!r}: {lift_name}={lift} pushes a per-segment "
                    f"probability above 1 (highest control value {base.max():.3f}); the "
                    f"largest allowed lift is {1.0 / base.max() - 1.0:.2f}"
                )
            object.__setattr__(self, lift_name, lift)

    @property
    def srm(self) -> bool:
        """True when the data is drawn with a split other than the configured one."""
        return self.actual_split is not None and self.actual_split != self.split

    @property
    def drawn_split(self) -> tuple[float, float]:
        """The split the data is actually drawn with."""
        return self.actual_split if self.actual_split is not None else self.split


def default_experiments(n_users: int = 50_000) -> tuple[ExperimentSpec, ...]:
    """A growth team's backlog of 8 experiments: clear wins, two A/A-like nulls, one loser,
    an order-value-only effect and one sample ratio mismatch - everything the analysis and the
    report must tell apart."""
    return (
        ExperimentSpec("exp01_subject_line", n_users, open_lift=0.15),
        ExperimentSpec("exp02_cta_button", n_users, click_lift=0.20),
        ExperimentSpec("exp03_checkout_flow", n_users, conversion_lift=0.20),
        ExperimentSpec("exp04_price_display", n_users, conversion_lift=-0.25),
        ExperimentSpec("exp05_hero_image", n_users),
        ExperimentSpec("exp06_send_time", n_users),
        ExperimentSpec("exp07_free_shipping", n_users, order_value_lift=0.20),
        ExperimentSpec(
            "exp08_onboarding_email", n_users, actual_split=(0.53, 0.47), click_lift=0.10
        ),
    )


def _parse_start(start: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise ConfigError(f"start must be a date like '2026-01-05', got {start!r}") from None
    if ts is pd.NaT:
        raise ConfigError(f"start must be a date like '2026-01-05', got {start!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Validated on construction so a bad config fails before any work."""

    experiments: tuple[ExperimentSpec, ...] = field(default_factory=default_experiments)
    seed: int = 42
    start: str = "2026-01-05"
    dirty_fraction: float = 0.0

    def __post_init__(self) -> None:
        exps = tuple(self.experiments) if isinstance(self.experiments, list | tuple) else None
        if not exps:
            raise ConfigError("experiments must be a non-empty list of ExperimentSpec")
        for e in exps:
            if not isinstance(e, ExperimentSpec):
                raise ConfigError(f"experiments must contain ExperimentSpec objects, got {e!r}")
        names = [e.name for e in exps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"experiment names must be unique; repeated: {dupes}")
        object.__setattr__(self, "experiments", exps)
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int | np.integer)
            or self.seed < 0
        ):
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        _parse_start(self.start)
        f = self.dirty_fraction
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0.0 <= f <= 0.5:
            raise ConfigError(f"dirty_fraction must be a number in [0, 0.5], got {f!r}")
        object.__setattr__(self, "dirty_fraction", float(f))


@dataclass
class SimulationResult:
    """The simulated rows, the exact truth per experiment x metric, and a JSON manifest."""

    data: pd.DataFrame
    truth: pd.DataFrame
    manifest: dict


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------


def _arm_rates(spec: ExperimentSpec, arm: int) -> dict[str, np.ndarray]:
    """Per-segment rates of one arm (0 = A, 1 = B). Control values are untouched floats, and
    a zero lift multiplies by exactly 1.0, so lift-free metrics agree bit for bit."""
    seg = _SEGMENTS
    if arm == 0:
        return {
            "lam": seg["impressions_rate"],
            "o": seg["open_prob"],
            "q": seg["click_prob"],
            "c": seg["conversion_prob"],
            "mu": seg["order_value_mean"],
        }
    return {
        "lam": seg["impressions_rate"],
        "o": seg["open_prob"] * (1.0 + spec.open_lift),
        "q": seg["click_prob"] * (1.0 + spec.click_lift),
        "c": seg["conversion_prob"] * (1.0 + spec.conversion_lift),
        "mu": seg["order_value_mean"] * (1.0 + spec.order_value_lift),
    }


def _expected_metrics(rates: dict[str, np.ndarray]) -> dict[str, float]:
    """Population expectation of every metric for one arm (formulas in the module docstring)."""
    w = _SEGMENTS["share"]
    lam, o, q, c, mu = rates["lam"], rates["o"], rates["q"], rates["c"], rates["mu"]
    k = ENGAGEMENT_SHAPE
    imp = 1.0 + lam
    r = o * q * c
    denom = float(np.sum(w * imp))
    return {
        "open_rate": float(np.sum(w * o * imp)) / denom,
        "ctr": float(np.sum(w * o * q * imp)) / denom,
        "conversion_rate": 1.0 - float(np.sum(w * (1.0 - r) * (1.0 + lam * r / k) ** (-k))),
        "revenue_per_user": float(np.sum(w * r * imp * mu)),
    }


def truth_table(experiments: tuple[ExperimentSpec, ...] | list[ExperimentSpec]) -> pd.DataFrame:
    """One row per experiment x metric with the exact control/variant population values."""
    rows = []
    for spec in experiments:
        control = _expected_metrics(_arm_rates(spec, 0))
        variant = _expected_metrics(_arm_rates(spec, 1))
        for metric, metric_type in METRICS.items():
            a, b = control[metric], variant[metric]
            diff = b - a
            rows.append(
                {
                    "experiment": spec.name,
                    "metric": metric,
                    "metric_type": metric_type,
                    "control_value": a,
                    "variant_value": b,
                    "abs_diff": diff,
                    "rel_lift": b / a - 1.0,
                    "direction": "positive" if diff > 0 else "negative" if diff < 0 else "none",
                    "srm": spec.srm,
                    "expected_share_control": spec.split[0],
                    "actual_share_control": spec.drawn_split[0],
                }
            )
    truth = pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))
    return truth.astype({"srm": bool})


# --------------------------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------------------------


def _gamma_sums(rng: np.random.Generator, counts: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Sum of `counts` iid Gamma(alpha, mean/alpha) order values, drawn as one Gamma per user
    (a sum of Gammas with a common scale is Gamma), only where counts > 0."""
    out = np.zeros(counts.shape[0], dtype=np.float64)
    idx = np.flatnonzero(counts)
    out[idx] = rng.gamma(counts[idx] * ORDER_VALUE_SHAPE, means[idx] / ORDER_VALUE_SHAPE)
    return out


def _allocate(n: int, n_experiments: int) -> dict[str, np.ndarray]:
    """Output columns for all rows, allocated once: touching fresh memory is the slowest part
    of a 10M-row run, so experiments write into slices instead of being concatenated."""
    small = np.min_scalar_type(max(n_experiments - 1, 0))
    return {
        "experiment": np.empty(n, dtype=small),
        "variant": np.empty(n, dtype=np.int8),
        "assigned_at": np.empty(n, dtype=np.int64),
        "device": np.empty(n, dtype=np.int8),
        "country": np.empty(n, dtype=np.int8),
        "user_type": np.empty(n, dtype=np.int8),
        "impressions": np.empty(n, dtype=np.int64),
        "opens": np.empty(n, dtype=np.int64),
        "clicks": np.empty(n, dtype=np.int64),
        "conversions": np.empty(n, dtype=np.int64),
        "revenue": np.empty(n, dtype=np.float64),
        "pre_revenue": np.empty(n, dtype=np.float64),
    }


def _simulate_experiment(
    spec: ExperimentSpec,
    index: int,
    seed: int,
    start_us: int,
    out: dict[str, np.ndarray],
    lo: int,
) -> None:
    """Draw one experiment's users into ``out[...][lo:lo + n_users]``. Vectorised over users;
    the draws depend only on (seed, index, spec), so adding an experiment leaves the others'
    rows unchanged."""
    rng = rng_stream(seed, _STREAM_EXPERIMENT, index)
    n = spec.n_users
    rows = slice(lo, lo + n)
    seg = _SEGMENTS
    n_seg = seg["share"].shape[0]
    s = rng.choice(n_seg, size=n, p=seg["share"])
    arm = (rng.random(n) < spec.drawn_split[1]).astype(np.int8)
    offset_s = np.sort(rng.integers(0, EXPERIMENT_DAYS * 86_400, size=n))
    exp_start_us = start_us + index * STAGGER_DAYS * 86_400 * 1_000_000
    u = rng.gamma(ENGAGEMENT_SHAPE, 1.0 / ENGAGEMENT_SHAPE, size=n)

    # Everything that does not depend on the arm is drawn first, from the same stream positions
    # whatever the lifts are: the pre-period covariate, segments, assignment and impressions
    # are then bit-identical between a spec with effects and the same spec without them.
    lam_u = seg["impressions_rate"][s] * u
    r0 = seg["open_prob"] * seg["click_prob"] * seg["conversion_prob"]
    pre_orders = rng.poisson(PRE_PERIOD_WINDOWS * r0[s] * (1.0 + lam_u))
    out["pre_revenue"][rows] = _gamma_sums(rng, pre_orders, seg["order_value_mean"][s])
    impressions = 1 + rng.poisson(lam_u)

    a_rates, b_rates = _arm_rates(spec, 0), _arm_rates(spec, 1)
    cell = arm.astype(np.intp) * n_seg + s  # index into the (arm, segment) lookup tables

    def lookup(key: str) -> np.ndarray:
        return np.concatenate([a_rates[key], b_rates[key]])[cell]

    opens = rng.binomial(impressions, lookup("o"))
    clicks = rng.binomial(opens, lookup("q"))
    conversions = rng.binomial(clicks, lookup("c"))
    out["revenue"][rows] = _gamma_sums(rng, conversions, lookup("mu"))

    out["experiment"][rows] = index
    out["variant"][rows] = arm
    out["assigned_at"][rows] = exp_start_us + offset_s * 1_000_000
    out["device"][rows] = seg["device_code"][s]
    out["country"][rows] = seg["country_code"][s]
    out["user_type"][rows] = seg["user_type_code"][s]
    out["impressions"][rows] = impressions
    out["opens"][rows] = opens
    out["clicks"][rows] = clicks
    out["conversions"][rows] = conversions


def _user_ids(seed: int, n: int) -> np.ndarray:
    """Unique, scattered, realistic-looking ids: a random permutation of blocks plus jitter."""
    rng = rng_stream(seed, _STREAM_USER_IDS)
    perm = rng.permutation(n).astype(np.int64)
    return _USER_ID_BASE + perm * _USER_ID_STRIDE + rng.integers(0, _USER_ID_STRIDE, size=n)


def _dirt_counts(n_rows: int, fraction: float) -> dict[str, int]:
    if fraction <= 0:
        return dict.fromkeys(_DIRT_SHARES, 0)
    total = round(fraction * n_rows)
    return {k: max(1, round(share * total)) for k, share in _DIRT_SHARES.items()}


def _pick(rng: np.random.Generator, eligible: np.ndarray, taken: np.ndarray, k: int) -> np.ndarray:
    """k distinct rows from `eligible` that no other problem has used yet (keeps counts exact)."""
    pool = np.flatnonzero(eligible & ~taken)
    k = min(k, pool.shape[0])
    chosen = np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]
    taken[chosen] = True
    return chosen


def _inject_dirt(
    cols: dict[str, np.ndarray], seed: int, fraction: float
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Plant the data-quality problems the cleaning demo must fix, each on its own rows."""
    n = cols["user_id"].shape[0]
    want = _dirt_counts(n, fraction)
    report: dict[str, Any] = {
        "duplicate_rows": 0,
        "variant_label_noise": 0,
        "missing_count_rows": 0,
        "missing_count_cells": dict.fromkeys(_COUNT_COLUMNS, 0),
        "cross_variant_users": 0,
        "revenue_outliers": 0,
    }
    if fraction <= 0:
        return cols, report
    rng = rng_stream(seed, _STREAM_DIRT)
    taken = np.zeros(n, dtype=bool)
    everyone = np.ones(n, dtype=bool)

    # Revenue outliers: only rows that have revenue, otherwise x50 changes nothing.
    out_rows = _pick(rng, cols["revenue"] > 0, taken, want["revenue_outliers"])
    cols["revenue"][out_rows] *= REVENUE_OUTLIER_FACTOR
    report["revenue_outliers"] = int(out_rows.shape[0])

    # Missing counts, only where the true value is 0 ("missing means zero" restores the row).
    # Zeros are nested (opens == 0 implies clicks == 0 implies conversions == 0), so pick one of
    # the z zero-valued columns of each row: they are the last z of (opens, clicks, conversions).
    miss_rows = _pick(rng, cols["conversions"] == 0, taken, want["missing_count_rows"])
    zeros = sum((cols[c][miss_rows] == 0).astype(np.int64) for c in _COUNT_COLUMNS)
    which = 3 - zeros + (rng.random(miss_rows.shape[0]) * zeros).astype(np.int64)
    for j, c in enumerate(_COUNT_COLUMNS):
        col = cols[c].astype(np.float64)
        hit = miss_rows[which == j]
        col[hit] = np.nan
        cols[c] = col
        report["missing_count_cells"][c] = int(hit.shape[0])
    report["missing_count_rows"] = int(miss_rows.shape[0])

    # Variant labels with stray case/whitespace.
    label_rows = _pick(rng, everyone, taken, want["variant_label_noise"])
    arm = cols["variant"][label_rows]
    noisy = rng.integers(0, len(_NOISY_LABELS["A"]), size=label_rows.shape[0])
    vocab_index = {lab: i for i, lab in enumerate(_VARIANT_VOCAB)}
    a_codes = np.array([vocab_index[x] for x in _NOISY_LABELS["A"]], dtype=np.int8)
    b_codes = np.array([vocab_index[x] for x in _NOISY_LABELS["B"]], dtype=np.int8)
    cols["variant"][label_rows] = np.where(arm == 0, a_codes[noisy], b_codes[noisy])
    report["variant_label_noise"] = int(label_rows.shape[0])

    # Extra rows: exact duplicates, and users copied into the other arm of their experiment.
    dup_rows = _pick(rng, everyone, taken, want["duplicate_rows"])
    cross_rows = _pick(rng, everyone, taken, want["cross_variant_users"])
    report["duplicate_rows"] = int(dup_rows.shape[0])
    report["cross_variant_users"] = int(cross_rows.shape[0])
    take = np.concatenate([np.arange(n), dup_rows, cross_rows])
    out = {k: v[take] for k, v in cols.items()}
    flip = slice(n + dup_rows.shape[0], None)
    out["variant"][flip] = 1 - out["variant"][flip]  # source rows have clean labels 0/1

    # Put the extra rows next to their siblings, in assignment order, as an export would.
    order = np.lexsort((out["assigned_at"], out["experiment"]))
    return {k: v[order] for k, v in out.items()}, report


def _labels(codes: np.ndarray, vocab: tuple[str, ...] | list[str]) -> pd.Series:
    """Codes -> pandas ``category`` column, as a Parquet export's dictionary-encoded strings
    would load (and a fraction of a string column's memory). Categories are sorted, so the
    category order is the strings' order, and only labels that occur are kept."""
    vocab = np.asarray(list(vocab), dtype=object)
    used = np.bincount(codes.astype(np.intp), minlength=len(vocab)) > 0
    categories = sorted(vocab[used])
    position = {label: i for i, label in enumerate(categories)}
    remap = np.array([position.get(label, -1) for label in vocab], dtype=np.int16)
    return pd.Series(pd.Categorical.from_codes(remap[codes], categories=categories))


def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def simulate(config: SimulationConfig | None = None) -> SimulationResult:
    """Simulate the experiments in `config` (default: the 8-experiment demo) and their truth."""
    config = config if config is not None else SimulationConfig()
    start_us = int(_parse_start(config.start).value // 1_000)
    n_users = sum(spec.n_users for spec in config.experiments)
    cols = _allocate(n_users, len(config.experiments))
    lo = 0
    for i, spec in enumerate(config.experiments):
        _simulate_experiment(spec, i, config.seed, start_us, cols, lo)
        lo += spec.n_users
    cols["user_id"] = _user_ids(config.seed, n_users)
    cols, injected = _inject_dirt(cols, config.seed, config.dirty_fraction)

    conversions = cols["conversions"]
    converted = (conversions > 0).astype(np.int64)  # NaN > 0 is False: NaN only replaces 0
    data = pd.DataFrame(
        {
            "experiment": _labels(cols["experiment"], [e.name for e in config.experiments]),
            "user_id": cols["user_id"],
            "variant": _labels(cols["variant"], _VARIANT_VOCAB),
            "assigned_at": pa.array(cols["assigned_at"], pa.timestamp("us", tz="UTC")).to_pandas(),
            "device": _labels(cols["device"], [d.name for d in DEVICES]),
            "country": _labels(cols["country"], [c.name for c in COUNTRIES]),
            "user_type": _labels(cols["user_type"], [u.name for u in USER_TYPES]),
            "impressions": cols["impressions"],
            "opens": cols["opens"],
            "clicks": cols["clicks"],
            "conversions": conversions,
            "converted": converted,
            "revenue": cols["revenue"],
            "pre_revenue": cols["pre_revenue"],
        },
        columns=list(COLUMNS),
        copy=False,
    )
    truth = truth_table(config.experiments)
    manifest = {
        "generator": "liftlab.simulate.experiments",
        "seed": config.seed,
        "config": _json_safe(asdict(config)),
        "n_rows": int(len(data)),
        "n_users": int(n_users),
        "rows_per_experiment": {
            e.name: int(n)
            for e, n in zip(
                config.experiments,
                np.bincount(cols["experiment"], minlength=len(config.experiments)),
                strict=True,
            )
        },
        "injected": injected,
        "model": {
            "engagement_shape": ENGAGEMENT_SHAPE,
            "base_impression_rate": BASE_IMPRESSION_RATE,
            "base_open_prob": BASE_OPEN_PROB,
            "base_click_prob": BASE_CLICK_PROB,
            "base_conversion_prob": BASE_CONVERSION_PROB,
            "base_order_value": BASE_ORDER_VALUE,
            "order_value_shape": ORDER_VALUE_SHAPE,
            "pre_period_windows": PRE_PERIOD_WINDOWS,
            "experiment_days": EXPERIMENT_DAYS,
            "stagger_days": STAGGER_DAYS,
        },
    }
    return SimulationResult(data=data, truth=truth, manifest=manifest)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def prepare_data_path(path: str | Path) -> tuple[Path, str]:
    """Check that a data file name ends in .csv or .parquet (before anything is written) and
    create its folder; return the path and its lower-case suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(
            f"cannot write {str(path)!r}: the data file must end in .csv or .parquet, "
            f"got suffix {path.suffix!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, suffix


def write_dataset(result: SimulationResult, path: str | Path) -> dict[str, Path]:
    """Write the data (CSV or Parquet, by suffix), `<stem>_truth.csv` and `<stem>_manifest.json`
    side by side, so a dataset never travels without its ground truth."""
    path, suffix = prepare_data_path(path)
    truth_path = path.parent / f"{path.stem}_truth.csv"
    manifest_path = path.parent / f"{path.stem}_manifest.json"

    table = pa.Table.from_pandas(result.data, preserve_index=False)
    if suffix == ".parquet":
        # Dictionary-encode only the low-cardinality string columns: on the numeric columns it
        # costs time and makes the file larger.
        strings = [f.name for f in table.schema if pa.types.is_large_string(f.type)]
        strings += [f.name for f in table.schema if pa.types.is_string(f.type)]
        pq.write_table(table, path, compression="zstd", use_dictionary=strings)
    else:
        pacsv.write_csv(table, path)
    pacsv.write_csv(pa.Table.from_pandas(result.truth, preserve_index=False), truth_path)
    manifest_path.write_text(json.dumps(result.manifest, indent=2) + "\n", encoding="utf-8")
    return {"data": path, "truth": truth_path, "manifest": manifest_path}
