"""E-commerce growth simulator: users with latent personas, sessions with a click → cart →
purchase funnel, eight website experiments whose true effects differ by persona, orders, and
realistic mess, written with the planted truth beside the data.

Why this exists: a growth team's question ("which small website changes improve clicks,
add-to-cart and purchases, and who responds?") can only be answered after fragmented tables
(users, sessions, exposures, orders, experiment definitions) are joined under explicit rules
(first exposure, attribution after it, users in both arms, NULL flags). This module writes such
tables, as the data contract of issue #14 (``growth_contract.md``) names them, together with
the truth, so tests can check that the SQL, the lift per experiment and the personas recover it.

Tables (timestamps are ISO-8601 strings in UTC with an explicit ``+00:00``)
---------------------------------------------------------------------------
``users``        ``user_id``, ``signup_at``, ``country``, ``device`` (main device).
``experiments``  ``experiment_id`` (E01…E08), ``name``, ``description``, ``surface``,
                 ``start_at``, ``end_at`` (half-open window), ``control`` (A), ``treatment`` (B).
``sessions``     ``session_id``, ``user_id``, ``started_at``, ``device``, ``clicked``,
                 ``added_to_cart``, ``purchased`` (0/1; an empty cell is NULL).
``exposures``    ``session_id``, ``experiment_id``, ``variant``, ``exposed_at``.
``orders``       ``order_id``, ``user_id``, ``session_id`` (empty without a session),
                 ``ordered_at``, ``amount`` (gross, > 0), ``discount`` (≥ 0).
Truth: ``truth_personas.csv`` (user → persona), ``truth_effects.csv`` (experiment × persona ×
metric → relative effect, zeros included) and ``truth.json`` (settings, sizes, dates, rates,
the counts of every planted mess, the model parameters).

Time layout
-----------
A pre-period of ``pre_period_days`` before ``start`` holds only sign-ups and orders (the
purchase histories the personas are built from). The experiment period
``[start, start + experiment_days)`` holds sessions, exposures and orders. Every experiment's
window ``[start_at, end_at)`` lies inside the experiment period; the feature cutoff of the
contract is the earliest ``start_at`` (``start`` itself for the default experiments).

Generating model (vectorised numpy, one seeded stream per purpose)
------------------------------------------------------------------
Users. Persona ``k`` with probability ``persona_shares[k]``; main device, tenure (days from
sign-up to ``start``: ``offset + Gamma(shape, scale)``) and country are drawn from the persona's
:class:`PersonaProfile` (country is the same for all personas: descriptive only).

Histories. Each user orders ``Poisson(pre_orders_per_180_days * g * active_days / 180)`` times
in the pre-period, ``g ~ Gamma(order_rate_shape, 1 / order_rate_shape)`` (mean 1, overdispersion)
and ``active_days`` the part of the pre-period after sign-up; the order instants are
``active_start + active_days * Beta(recency_beta)`` (loyal customers skew recent, browsers
skew old). Amounts ``Gamma(amount_shape, amount_mean / amount_shape)`` rounded to cents; with
probability ``discount_probability`` a discount of ``amount * Uniform(discount_fraction)``.
Personas therefore differ in recency, frequency, monetary value, discount share, device and
tenure, with overlapping distributions (k-means recovers them well, not perfectly).

Sessions. ``Poisson(sessions_per_user * session_weight / E[session_weight] * h)`` per user,
``h ~ Gamma(2, 1/2)``, at uniform instants of the experiment period; the session device is the
main device with probability 0.85, another one otherwise.

Assignment. User ``u`` is in B of experiment ``e`` when the 8-byte digest
``blake2b(f"{seed}:{e}:{u}", digest_size=8)`` read as a big-endian integer is odd (a seeded
hash, as experimentation platforms do), else A: 50/50, independent across experiments, stable
for a user (:func:`assign_variants`).

Exposure. A session inside an experiment's window is exposed to it with the probability of
the experiment's surface (:data:`SURFACE_EXPOSURE`), independently of everything else, so some
sessions see no experiment. ``exposed_at`` equals ``started_at`` (exposure is logged at landing),
so the exposing session itself counts under the contract's ``first_exposure_at <= started_at``.

Funnel and the truth. A session clicks with probability ``p_click``, adds to cart given a click
with ``p_add_to_cart``, purchases given a cart with ``p_purchase`` (per persona). Every
experiment ``e`` multiplies each of the three *conditional* probabilities of a session by
``1 + relative_effect[e, persona, metric]`` when the user is in B and the session starts at or
after the user's first in-window exposure and before ``end_at`` — exactly the sessions the
contract attributes. Effects of several experiments multiply; assignments are independent, so
the treated/control ratio of a conditional rate in experiment ``e`` is exactly
``1 + relative_effect`` (the configuration refuses effects that could push a probability above
1). The implied per-session lift of the unconditional rates is the product over the stages
(``truth.json["session_rate_effects"]``). Each purchasing session creates one order a few
minutes later (``session_id`` set, amount and discount as in the histories).

Mess (rates in the config, exact counts in ``truth.json["mess"]``)
------------------------------------------------------------------
* NULL flags: each flag cell is emptied with probability ``null_flag_rate`` (the order of a
  purchase whose flag is NULL still exists).
* Sessions without any exposure (by construction above).
* Users in both arms: ``round(both_arms_rate * exposed user × experiment pairs)`` pairs with at
  least two in-window exposures get the other variant on some of their later exposures (the
  first keeps the hashed variant, the last is always flipped). ``users_in_both_arms`` in
  truth.json counts these user × experiment pairs (a user may be in both arms of several).
* Exact duplicate exposure rows: ``round(duplicate_exposure_rate * rows)`` rows repeated.
* Exposures before the window: for experiments starting after the period start,
  ``round(early_exposure_rate * in-window rows)`` sessions of the two days before ``start_at``
  are logged as exposed (a pre-launch leak; they do not count and carry no effect).
* Orders without a session: phone orders, ``phone_order_rate`` of the experiment-period orders,
  at uniform instants, for users drawn proportionally to their persona's purchase propensity;
  they carry no treatment effect. Pre-period orders have no session either.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liftlab.simulate.common import (
    is_int,
    is_number,
    iso_utc,
    json_safe,
    parse_instant,
    rng_stream,
    write_files,
)
from strategies.errors import ConfigError

__all__ = [
    "DEVICES",
    "METRICS",
    "PERSONAS",
    "PERSONA_PROFILES",
    "SURFACE_EXPOSURE",
    "TABLE_COLUMNS",
    "TRUTH_EFFECT_COLUMNS",
    "TRUTH_PERSONA_COLUMNS",
    "EcommerceSimulationConfig",
    "EcommerceSimulationResult",
    "ExperimentSpec",
    "PersonaProfile",
    "assign_variants",
    "default_experiments",
    "simulate_ecommerce",
    "write_ecommerce",
]

PERSONAS: tuple[str, ...] = ("bargain_hunter", "loyal_high_spender", "browser", "new_visitor")
METRICS: tuple[str, ...] = ("click", "add_to_cart", "purchase")
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
COUNTRIES: tuple[str, ...] = ("DE", "FR", "NL", "AT", "BE", "CH")
COUNTRY_SHARES: tuple[float, ...] = (0.35, 0.20, 0.15, 0.10, 0.10, 0.10)
# Probability that a session inside an experiment's window shows that experiment's surface.
SURFACE_EXPOSURE: dict[str, float] = {
    "home": 0.60,
    "product_list": 0.35,
    "product_page": 0.30,
    "cart": 0.15,
    "checkout": 0.10,
}
VARIANTS: tuple[str, str] = ("A", "B")

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("user_id", "signup_at", "country", "device"),
    "experiments": (
        "experiment_id",
        "name",
        "description",
        "surface",
        "start_at",
        "end_at",
        "control",
        "treatment",
    ),
    "sessions": (
        "session_id",
        "user_id",
        "started_at",
        "device",
        "clicked",
        "added_to_cart",
        "purchased",
    ),
    "exposures": ("session_id", "experiment_id", "variant", "exposed_at"),
    "orders": ("order_id", "user_id", "session_id", "ordered_at", "amount", "discount"),
}
TRUTH_PERSONA_COLUMNS: tuple[str, ...] = ("user_id", "persona")
TRUTH_EFFECT_COLUMNS: tuple[str, ...] = ("experiment_id", "persona", "metric", "relative_effect")
FLAG_COLUMNS: tuple[str, ...] = ("clicked", "added_to_cart", "purchased")

_DAY = 86_400
_EARLY_EXPOSURE_DAYS = 2
_SAME_DEVICE_PROBABILITY = 0.85
_SESSION_RATE_SHAPE = 2.0
_STREAM_USERS = 1
_STREAM_HISTORY = 2
_STREAM_SESSIONS = 3
_STREAM_EXPOSURE = 4
_STREAM_FUNNEL = 5
_STREAM_ORDERS = 6
_STREAM_PHONE = 7
_STREAM_MESS = 8
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PersonaProfile:
    """The generating parameters of one latent persona (see the module docstring)."""

    device_shares: tuple[float, float, float]  # mobile, desktop, tablet
    tenure_offset_days: float
    tenure_shape: float
    tenure_scale_days: float
    pre_orders_per_180_days: float
    order_rate_shape: float
    recency_beta: tuple[float, float]
    amount_mean: float
    amount_shape: float
    discount_probability: float
    discount_fraction: tuple[float, float]
    session_weight: float
    p_click: float
    p_add_to_cart: float
    p_purchase: float

    @property
    def p_session_purchase(self) -> float:
        """Unconditional purchase probability of a session without treatment."""
        return self.p_click * self.p_add_to_cart * self.p_purchase


# Chosen so that the four personas differ on every contract feature with overlapping
# distributions: bargain hunters order fairly often, cheaply and mostly with a discount, on
# their phone; loyal high spenders order most, dearly, rarely discounted, on desktop, for years;
# browsers click a lot in sessions but buy little there, with a history of a few mid-priced
# orders, mostly on a tablet; new visitors signed up weeks ago and have little or no history.
# Each persona's main device is its own with probability 0.88: with standardised one-hot
# devices, a lower purity lets k-means split users by device instead of by persona (measured:
# purity 0.65 gives an adjusted Rand index near 0.3, 0.88 near 0.7).
PERSONA_PROFILES: dict[str, PersonaProfile] = {
    "bargain_hunter": PersonaProfile(
        device_shares=(0.88, 0.08, 0.04),
        tenure_offset_days=150.0,
        tenure_shape=6.0,
        tenure_scale_days=40.0,
        pre_orders_per_180_days=3.2,
        order_rate_shape=8.0,
        recency_beta=(1.0, 1.0),
        amount_mean=40.0,
        amount_shape=6.0,
        discount_probability=0.85,
        discount_fraction=(0.10, 0.30),
        session_weight=1.2,
        p_click=0.55,
        p_add_to_cart=0.40,
        p_purchase=0.45,
    ),
    "loyal_high_spender": PersonaProfile(
        device_shares=(0.08, 0.88, 0.04),
        tenure_offset_days=500.0,
        tenure_shape=6.0,
        tenure_scale_days=80.0,
        pre_orders_per_180_days=5.5,
        order_rate_shape=8.0,
        recency_beta=(1.6, 1.0),
        amount_mean=140.0,
        amount_shape=6.0,
        discount_probability=0.08,
        discount_fraction=(0.05, 0.15),
        session_weight=1.0,
        p_click=0.60,
        p_add_to_cart=0.50,
        p_purchase=0.60,
    ),
    "browser": PersonaProfile(
        device_shares=(0.08, 0.04, 0.88),
        tenure_offset_days=100.0,
        tenure_shape=5.0,
        tenure_scale_days=40.0,
        pre_orders_per_180_days=3.0,
        order_rate_shape=12.0,
        recency_beta=(1.0, 1.5),
        amount_mean=75.0,
        amount_shape=4.0,
        discount_probability=0.15,
        discount_fraction=(0.05, 0.20),
        session_weight=1.4,
        p_click=0.70,
        p_add_to_cart=0.20,
        p_purchase=0.25,
    ),
    "new_visitor": PersonaProfile(
        device_shares=(0.88, 0.08, 0.04),
        tenure_offset_days=1.0,
        tenure_shape=2.0,
        tenure_scale_days=8.0,
        pre_orders_per_180_days=1.0,
        order_rate_shape=2.0,
        recency_beta=(1.0, 1.0),
        amount_mean=55.0,
        amount_shape=2.5,
        discount_probability=0.40,
        discount_fraction=(0.10, 0.20),
        session_weight=0.4,
        p_click=0.45,
        p_add_to_cart=0.25,
        p_purchase=0.30,
    ),
}


@dataclass(frozen=True)
class ExperimentSpec:
    """One website experiment: where it shows, when it runs and its true effect per persona.

    ``start_day``/``end_day`` are whole days from the experiment period's start (the window is
    ``[start + start_day, start + end_day)``). ``effects`` maps persona → metric → relative
    effect on that conditional per-session probability (missing entries mean 0; values must be
    > -1). After construction ``effects`` holds every persona × metric.
    """

    experiment_id: str
    name: str
    description: str
    surface: str
    start_day: int
    end_day: int
    effects: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = f"experiment {self.experiment_id!r}"
        if not isinstance(self.experiment_id, str) or not self.experiment_id.strip():
            raise ConfigError(
                f"experiment_id must be a non-empty string, got {self.experiment_id!r}"
            )
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"{owner}: name must be snake_case text, got {self.name!r}")
        if self.surface not in SURFACE_EXPOSURE:
            raise ConfigError(
                f"{owner}: surface must be one of {sorted(SURFACE_EXPOSURE)}, got {self.surface!r}"
            )
        for name in ("start_day", "end_day"):
            value = getattr(self, name)
            if not is_int(value) or value < 0:
                raise ConfigError(f"{owner}: {name} must be an integer >= 0, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.end_day <= self.start_day:
            raise ConfigError(
                f"{owner}: end_day ({self.end_day}) must be after start_day ({self.start_day})"
            )
        if not isinstance(self.effects, Mapping):
            raise ConfigError(f"{owner}: effects must be a mapping persona -> metric -> number")
        unknown = sorted(set(map(str, self.effects)) - set(PERSONAS))
        if unknown:
            raise ConfigError(
                f"{owner}: effects has unknown personas {unknown}; known: {list(PERSONAS)}"
            )
        full: dict[str, dict[str, float]] = {}
        for persona in PERSONAS:
            given = self.effects.get(persona, {})
            if not isinstance(given, Mapping):
                raise ConfigError(
                    f"{owner}: effects[{persona!r}] must be a mapping metric -> number"
                )
            bad = sorted(set(map(str, given)) - set(METRICS))
            if bad:
                raise ConfigError(
                    f"{owner}: effects[{persona!r}] has unknown metrics {bad}; known: "
                    f"{list(METRICS)}"
                )
            full[persona] = {}
            for metric in METRICS:
                value = given.get(metric, 0.0)
                if not is_number(value) or float(value) <= -1.0:
                    raise ConfigError(
                        f"{owner}: effects[{persona!r}][{metric!r}] must be a number > -1 (a "
                        f"relative effect), got {value!r}"
                    )
                full[persona][metric] = float(value)
        object.__setattr__(self, "effects", full)

    def effect_matrix(self) -> np.ndarray:
        """Relative effects as an array of shape (personas, metrics) in PERSONAS/METRICS order."""
        return np.array([[self.effects[p][m] for m in METRICS] for p in PERSONAS], dtype=float)


def default_experiments() -> tuple[ExperimentSpec, ...]:
    """Eight experiments of a four-week period: big positive effects for some personas, nulls,
    harms, and two that help one persona and hurt another (E01, E07), so both the overall lift
    and the lift per persona have something to find."""
    return (
        ExperimentSpec(
            "E01",
            "discount_label",
            "Show the saving as a red percentage label on product pages.",
            "product_page",
            0,
            21,
            {
                "bargain_hunter": {"click": 0.05, "purchase": 0.30},
                "loyal_high_spender": {"purchase": -0.20},
                "new_visitor": {"purchase": 0.10},
            },
        ),
        ExperimentSpec(
            "E02",
            "free_shipping_badge",
            "A 'free shipping' badge in the cart.",
            "cart",
            0,
            28,
            {
                "bargain_hunter": {"purchase": 0.15},
                "browser": {"purchase": 0.10},
                "new_visitor": {"purchase": 0.25},
            },
        ),
        ExperimentSpec(
            "E03",
            "product_order_bestsellers",
            "Sort product lists by bestsellers instead of newest first.",
            "product_list",
            3,
            24,
            {
                "browser": {"click": 0.20, "add_to_cart": 0.10},
                "new_visitor": {"click": 0.15},
            },
        ),
        ExperimentSpec(
            "E04",
            "urgency_banner",
            "An 'only 3 left' urgency banner on product pages.",
            "product_page",
            7,
            28,
            {
                "bargain_hunter": {"add_to_cart": 0.10},
                "loyal_high_spender": {"purchase": -0.15},
                "browser": {"purchase": -0.10},
            },
        ),
        ExperimentSpec(
            "E05",
            "reviews_first",
            "Show customer reviews above the product description.",
            "product_page",
            0,
            28,
            {
                "browser": {"add_to_cart": 0.15},
                "new_visitor": {"add_to_cart": 0.30},
            },
        ),
        ExperimentSpec(
            "E06",
            "bigger_images",
            "Larger product images in product lists (no true effect on anyone).",
            "product_list",
            5,
            26,
            {},
        ),
        ExperimentSpec(
            "E07",
            "bundle_offer",
            "Suggest a discounted bundle in the cart.",
            "cart",
            2,
            23,
            {
                "loyal_high_spender": {"add_to_cart": 0.10, "purchase": 0.15},
                "bargain_hunter": {"purchase": -0.10},
            },
        ),
        ExperimentSpec(
            "E08",
            "one_click_checkout",
            "Pay with one click using the saved payment method.",
            "checkout",
            0,
            28,
            {
                "loyal_high_spender": {"purchase": 0.25},
                "bargain_hunter": {"purchase": 0.10},
                "browser": {"purchase": 0.05},
            },
        ),
    )


def _default_shares() -> dict[str, float]:
    return {
        "bargain_hunter": 0.30,
        "loyal_high_spender": 0.20,
        "browser": 0.30,
        "new_visitor": 0.20,
    }


@dataclass(frozen=True)
class EcommerceSimulationConfig:
    """What to simulate; validated on construction so a bad config fails before any work.

    ``start`` is the start of the experiment period (a UTC instant; a date means midnight UTC).
    ``sessions_per_user`` is the mean number of sessions per user in the experiment period.
    ``experiments=None`` means :func:`default_experiments`. The ``*_rate`` fields set the mess
    (module docstring). Every error names the field at fault.
    """

    n_users: int = 8_000
    seed: int = 42
    start: datetime | str = "2026-03-02T00:00:00+00:00"
    pre_period_days: int = 180
    experiment_days: int = 28
    sessions_per_user: float = 10.0
    persona_shares: Mapping[str, float] = field(default_factory=_default_shares)
    experiments: tuple[ExperimentSpec, ...] | None = None
    null_flag_rate: float = 0.01
    both_arms_rate: float = 0.005
    duplicate_exposure_rate: float = 0.005
    early_exposure_rate: float = 0.002
    phone_order_rate: float = 0.03

    def __post_init__(self) -> None:
        if not is_int(self.n_users) or self.n_users < 50:
            raise ConfigError(f"n_users must be an integer >= 50, got {self.n_users!r}")
        object.__setattr__(self, "n_users", int(self.n_users))
        if not is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "start", parse_instant("start", self.start))
        for name in ("pre_period_days", "experiment_days"):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
            object.__setattr__(self, name, int(value))
        if not is_number(self.sessions_per_user) or self.sessions_per_user <= 0:
            raise ConfigError(
                f"sessions_per_user must be a positive number, got {self.sessions_per_user!r}"
            )
        object.__setattr__(self, "sessions_per_user", float(self.sessions_per_user))
        object.__setattr__(self, "persona_shares", _check_shares(self.persona_shares))
        for name in (
            "null_flag_rate",
            "both_arms_rate",
            "duplicate_exposure_rate",
            "early_exposure_rate",
        ):
            value = getattr(self, name)
            if not is_number(value) or not 0.0 <= value <= 0.5:
                raise ConfigError(f"{name} must be a rate in [0, 0.5], got {value!r}")
            object.__setattr__(self, name, float(value))
        if not is_number(self.phone_order_rate) or not 0.0 <= self.phone_order_rate < 1.0:
            raise ConfigError(
                f"phone_order_rate must be a share in [0, 1), got {self.phone_order_rate!r}"
            )
        object.__setattr__(self, "phone_order_rate", float(self.phone_order_rate))
        object.__setattr__(self, "experiments", self._checked_experiments())

    def _checked_experiments(self) -> tuple[ExperimentSpec, ...]:
        if self.experiments is None:
            experiments = default_experiments()
        elif isinstance(self.experiments, list | tuple) and self.experiments:
            experiments = tuple(self.experiments)
        else:
            raise ConfigError("experiments must be a non-empty list of ExperimentSpec (or None)")
        for spec in experiments:
            if not isinstance(spec, ExperimentSpec):
                raise ConfigError(f"experiments must contain ExperimentSpec objects, got {spec!r}")
        ids = [spec.experiment_id for spec in experiments]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ConfigError(f"experiments: experiment ids must be unique; repeated: {repeated}")
        for spec in experiments:
            if spec.end_day > self.experiment_days:
                raise ConfigError(
                    f"experiments: {spec.experiment_id!r} ends on day {spec.end_day}, after the "
                    f"experiment period of experiment_days={self.experiment_days}"
                )
        # The truth is exact only if no product of multipliers pushes a probability above 1.
        ceiling = np.prod([np.maximum(1.0 + s.effect_matrix(), 1.0) for s in experiments], axis=0)
        base = np.array(
            [[p.p_click, p.p_add_to_cart, p.p_purchase] for p in PERSONA_PROFILES.values()]
        )
        worst = base * ceiling
        if (worst > 1.0).any():
            k, m = np.unravel_index(int(np.argmax(worst)), worst.shape)
            raise ConfigError(
                f"experiments: the positive effects on {METRICS[m]!r} for {PERSONAS[k]!r} "
                f"multiply the base probability {base[k, m]:.2f} to {worst[k, m]:.2f} > 1; "
                f"lower them"
            )
        return experiments

    @property
    def experiment_specs(self) -> tuple[ExperimentSpec, ...]:
        return self.experiments  # type: ignore[return-value]

    @property
    def pre_period_start(self) -> datetime:
        return self.start - timedelta(days=self.pre_period_days)  # type: ignore[operator]

    @property
    def experiment_end(self) -> datetime:
        return self.start + timedelta(days=self.experiment_days)  # type: ignore[operator]

    @property
    def feature_cutoff(self) -> datetime:
        """The earliest experiment start: persona features may use only rows before it."""
        first = min(spec.start_day for spec in self.experiment_specs)
        return self.start + timedelta(days=first)  # type: ignore[operator]


def _check_shares(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"persona_shares must be a mapping persona -> share, got {value!r}")
    keys = set(map(str, value))
    if keys != set(PERSONAS):
        raise ConfigError(
            f"persona_shares must give a share for exactly {list(PERSONAS)}; "
            f"missing {sorted(set(PERSONAS) - keys)}, unknown {sorted(keys - set(PERSONAS))}"
        )
    shares = {}
    for persona in PERSONAS:
        share = value[persona]
        if not is_number(share) or share <= 0:
            raise ConfigError(f"persona_shares[{persona!r}] must be > 0, got {share!r}")
        shares[persona] = float(share)
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(f"persona_shares must sum to 1, got {total:.6f}")
    return shares


@dataclass(frozen=True)
class EcommerceSimulationResult:
    """The five raw tables of the contract, the truth tables and ``truth`` (what truth.json
    holds: settings, sizes, dates, persona shares, mess rates and counts, model parameters)."""

    users: pd.DataFrame
    experiments: pd.DataFrame
    sessions: pd.DataFrame
    exposures: pd.DataFrame
    orders: pd.DataFrame
    truth_personas: pd.DataFrame
    truth_effects: pd.DataFrame
    truth: dict[str, Any]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The raw tables by contract name (what a growth team would export)."""
        return {name: getattr(self, name) for name in TABLE_COLUMNS}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    numbers = np.arange(1, count + 1).astype(str)
    return np.char.add(prefix, np.char.zfill(numbers, width)).astype(object)


def _categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows, categories) probability matrix, vectorised."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(probabilities.shape[0]) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1)


def assign_variants(seed: int, experiment_id: str, user_ids: np.ndarray) -> np.ndarray:
    """0 (A) or 1 (B) per user: the parity of ``blake2b(f"{seed}:{experiment_id}:{user_id}")``.

    A seeded hash rather than a random draw, as experimentation platforms assign: stable for a
    user, 50/50, independent across experiments, reproducible from the ids alone.
    """
    return np.fromiter(
        (
            hashlib.blake2b(f"{seed}:{experiment_id}:{u}".encode(), digest_size=8).digest()[-1] & 1
            for u in user_ids
        ),
        dtype=np.int8,
        count=len(user_ids),
    )


def _order_values(
    rng: np.random.Generator, persona: np.ndarray, profiles: list[PersonaProfile]
) -> tuple[np.ndarray, np.ndarray]:
    """Gross amounts (cents, ≥ 1.00) and discounts (cents, < amount) by persona."""
    mean = np.array([p.amount_mean for p in profiles])[persona]
    shape = np.array([p.amount_shape for p in profiles])[persona]
    amount = np.maximum(1.0, np.round(rng.gamma(shape, mean / shape), 2))
    p_discount = np.array([p.discount_probability for p in profiles])[persona]
    low = np.array([p.discount_fraction[0] for p in profiles])[persona]
    high = np.array([p.discount_fraction[1] for p in profiles])[persona]
    fraction = low + (high - low) * rng.random(persona.shape[0])
    has = rng.random(persona.shape[0]) < p_discount
    discount = np.where(has, np.maximum(0.01, np.round(amount * fraction, 2)), 0.0)
    return amount, discount


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def simulate_ecommerce(
    config: EcommerceSimulationConfig | None = None,
) -> EcommerceSimulationResult:
    """Draw one e-commerce export and its truth from the generating model (module docstring)."""
    cfg = config if config is not None else EcommerceSimulationConfig()
    specs = cfg.experiment_specs
    profiles = [PERSONA_PROFILES[p] for p in PERSONAS]
    n = cfg.n_users
    start_s = int(cfg.start.timestamp())  # type: ignore[union-attr]
    pre_start_s = start_s - cfg.pre_period_days * _DAY
    end_s = start_s + cfg.experiment_days * _DAY
    user_ids = _ids("U", n, 6)

    # Users.
    rng = rng_stream(cfg.seed, _STREAM_USERS)
    shares = np.array([cfg.persona_shares[p] for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n, p=shares)
    device = _categorical(rng, np.array([p.device_shares for p in profiles])[persona])
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARES)
    offset = np.array([p.tenure_offset_days for p in profiles])[persona]
    t_shape = np.array([p.tenure_shape for p in profiles])[persona]
    t_scale = np.array([p.tenure_scale_days for p in profiles])[persona]
    tenure_s = np.floor((offset + rng.gamma(t_shape, t_scale)) * _DAY).astype(np.int64)
    signup_s = start_s - tenure_s

    # Pre-period order histories (no session).
    rng = rng_stream(cfg.seed, _STREAM_HISTORY)
    active_start = np.maximum(signup_s, pre_start_s)
    active_s = start_s - active_start
    rate_shape = np.array([p.order_rate_shape for p in profiles])[persona]
    heterogeneity = rng.gamma(rate_shape, 1.0 / rate_shape)
    per_180 = np.array([p.pre_orders_per_180_days for p in profiles])[persona]
    counts = rng.poisson(per_180 * heterogeneity * active_s / (180 * _DAY))
    pre_user = np.repeat(np.arange(n), counts)
    beta_a = np.array([p.recency_beta[0] for p in profiles])[persona[pre_user]]
    beta_b = np.array([p.recency_beta[1] for p in profiles])[persona[pre_user]]
    pre_time = active_start[pre_user] + np.floor(
        rng.beta(beta_a, beta_b) * active_s[pre_user]
    ).astype(np.int64)
    pre_time = np.minimum(pre_time, start_s - 1)
    pre_amount, pre_discount = _order_values(rng, persona[pre_user], profiles)

    # Sessions in the experiment period, in time order.
    rng = rng_stream(cfg.seed, _STREAM_SESSIONS)
    weight = np.array([p.session_weight for p in profiles])
    mean_weight = float(shares @ weight)
    h = rng.gamma(_SESSION_RATE_SHAPE, 1.0 / _SESSION_RATE_SHAPE, size=n)
    n_sessions = rng.poisson(cfg.sessions_per_user * weight[persona] / mean_weight * h)
    s_user = np.repeat(np.arange(n), n_sessions)
    s_time = start_s + rng.integers(0, end_s - start_s, size=s_user.shape[0])
    order = np.lexsort((s_user, s_time))
    s_user, s_time = s_user[order], s_time[order]
    s_persona = persona[s_user]
    other = (device[s_user] + rng.integers(1, len(DEVICES), size=s_user.shape[0])) % len(DEVICES)
    same = rng.random(s_user.shape[0]) < _SAME_DEVICE_PROBABILITY
    s_device = np.where(same, device[s_user], other)
    n_s = s_user.shape[0]

    # Assignment, exposure, and the multipliers of the sessions the contract attributes.
    multiplier = np.ones((n_s, len(METRICS)))
    exposure_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # session, exp, variant
    variants: list[np.ndarray] = []
    for j, spec in enumerate(specs):
        variant = assign_variants(cfg.seed, spec.experiment_id, user_ids)
        variants.append(variant)
        rng = rng_stream(cfg.seed, _STREAM_EXPOSURE, j)
        w_start = start_s + spec.start_day * _DAY
        w_end = start_s + spec.end_day * _DAY
        in_window = (s_time >= w_start) & (s_time < w_end)
        exposed = in_window & (rng.random(n_s) < SURFACE_EXPOSURE[spec.surface])
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, s_user[exposed], s_time[exposed])
        attributed = (variant[s_user] == 1) & (s_time >= first[s_user]) & (s_time < w_end)
        effect = spec.effect_matrix()
        multiplier[attributed] *= 1.0 + effect[s_persona[attributed]]
        rows = np.flatnonzero(exposed)
        exposure_parts.append((rows, np.full(rows.shape[0], j), variant[s_user[rows]]))

    # The funnel: click -> add to cart | click -> purchase | cart.
    rng = rng_stream(cfg.seed, _STREAM_FUNNEL)
    base = np.array([[p.p_click, p.p_add_to_cart, p.p_purchase] for p in profiles])
    prob = base[s_persona] * multiplier
    u = rng.random((n_s, len(METRICS)))
    clicked = u[:, 0] < prob[:, 0]
    carted = clicked & (u[:, 1] < prob[:, 1])
    purchased = carted & (u[:, 2] < prob[:, 2])

    # Orders of purchasing sessions, a few minutes after the session starts.
    rng = rng_stream(cfg.seed, _STREAM_ORDERS)
    buy = np.flatnonzero(purchased)
    buy_time = (
        s_time[buy]
        + 60
        + np.minimum(np.floor(rng.exponential(600, size=buy.shape[0])), 3_540).astype(np.int64)
    )
    buy_amount, buy_discount = _order_values(rng, s_persona[buy], profiles)

    # Phone orders: a share of the experiment-period orders, without a session.
    rng = rng_stream(cfg.seed, _STREAM_PHONE)
    n_phone = int(round(cfg.phone_order_rate / (1.0 - cfg.phone_order_rate) * buy.shape[0]))
    propensity = np.array([p.session_weight * p.p_session_purchase for p in profiles])[persona]
    phone_user = np.sort(rng.choice(n, size=n_phone, p=propensity / propensity.sum()))
    phone_time = start_s + rng.integers(0, end_s - start_s, size=n_phone)
    phone_amount, phone_discount = _order_values(rng, persona[phone_user], profiles)

    # Mess on exposures and flags.
    rng = rng_stream(cfg.seed, _STREAM_MESS)
    exposures, mess = _exposures_with_mess(
        cfg, rng, specs, s_user, s_time, exposure_parts, variants
    )
    nulls = {name: rng.random(n_s) < cfg.null_flag_rate for name in FLAG_COLUMNS}
    mess["null_flags"] = int(sum(int(mask.sum()) for mask in nulls.values()))
    exposed_sessions = np.zeros(n_s, dtype=bool)
    exposed_sessions[exposures["session"]] = True
    mess["sessions_without_exposure"] = int((~exposed_sessions).sum())
    mess["orders_without_session_in_experiment_period"] = n_phone
    mess["users_in_both_arms_share"] = (
        mess["users_in_both_arms"] / mess["exposed_user_experiment_pairs"]
        if mess["exposed_user_experiment_pairs"]
        else 0.0
    )

    # Tables.
    session_ids = _ids("S", n_s, 7)
    flags = {"clicked": clicked, "added_to_cart": carted, "purchased": purchased}
    sessions = pd.DataFrame(
        {
            "session_id": session_ids,
            "user_id": user_ids[s_user],
            "started_at": iso_utc(s_time),
            "device": np.asarray(DEVICES, dtype=object)[s_device],
            **{
                name: pd.arrays.IntegerArray(flags[name].astype(np.int64), nulls[name])
                for name in FLAG_COLUMNS
            },
        },
        columns=list(TABLE_COLUMNS["sessions"]),
    )

    o_user = np.concatenate([pre_user, s_user[buy], phone_user])
    o_time = np.concatenate([pre_time, buy_time, phone_time])
    o_session = np.concatenate([np.full(pre_user.shape[0], -1), buy, np.full(n_phone, -1)])
    o_amount = np.concatenate([pre_amount, buy_amount, phone_amount])
    o_discount = np.concatenate([pre_discount, buy_discount, phone_discount])
    o_order = np.lexsort((o_user, o_time))
    o_session = o_session[o_order]
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", o_order.shape[0], 7),
            "user_id": user_ids[o_user[o_order]],
            "session_id": np.where(
                o_session >= 0, session_ids[np.maximum(o_session, 0)], None
            ).astype(object),
            "ordered_at": iso_utc(o_time[o_order]),
            "amount": o_amount[o_order].astype(np.float64),
            "discount": o_discount[o_order].astype(np.float64),
        },
        columns=list(TABLE_COLUMNS["orders"]),
    )

    exposure_frame = pd.DataFrame(
        {
            "session_id": session_ids[exposures["session"]],
            "experiment_id": np.asarray([s.experiment_id for s in specs], dtype=object)[
                exposures["experiment"]
            ],
            "variant": np.asarray(VARIANTS, dtype=object)[exposures["variant"]],
            "exposed_at": iso_utc(s_time[exposures["session"]]),
        },
        columns=list(TABLE_COLUMNS["exposures"]),
    )
    users = pd.DataFrame(
        {
            "user_id": user_ids,
            "signup_at": iso_utc(signup_s),
            "country": np.asarray(COUNTRIES, dtype=object)[country],
            "device": np.asarray(DEVICES, dtype=object)[device],
        },
        columns=list(TABLE_COLUMNS["users"]),
    )
    experiments = pd.DataFrame(
        {
            "experiment_id": [s.experiment_id for s in specs],
            "name": [s.name for s in specs],
            "description": [s.description for s in specs],
            "surface": [s.surface for s in specs],
            "start_at": iso_utc(np.array([start_s + s.start_day * _DAY for s in specs])),
            "end_at": iso_utc(np.array([start_s + s.end_day * _DAY for s in specs])),
            "control": VARIANTS[0],
            "treatment": VARIANTS[1],
        },
        columns=list(TABLE_COLUMNS["experiments"]),
    )
    truth_personas = pd.DataFrame(
        {"user_id": user_ids, "persona": np.asarray(PERSONAS, dtype=object)[persona]},
        columns=list(TRUTH_PERSONA_COLUMNS),
    )
    truth_effects = pd.DataFrame(
        [
            (spec.experiment_id, p, m, spec.effects[p][m])
            for spec in specs
            for p in PERSONAS
            for m in METRICS
        ],
        columns=list(TRUTH_EFFECT_COLUMNS),
    )
    tables = {
        "users": users,
        "experiments": experiments,
        "sessions": sessions,
        "exposures": exposure_frame,
        "orders": orders,
    }
    truth = _truth(cfg, tables, persona, mess)
    return EcommerceSimulationResult(
        users=users,
        experiments=experiments,
        sessions=sessions,
        exposures=exposure_frame,
        orders=orders,
        truth_personas=truth_personas,
        truth_effects=truth_effects,
        truth=truth,
    )


def _exposures_with_mess(
    cfg: EcommerceSimulationConfig,
    rng: np.random.Generator,
    specs: tuple[ExperimentSpec, ...],
    s_user: np.ndarray,
    s_time: np.ndarray,
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    variants: list[np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The exposure rows (session, experiment, variant) with users in both arms, leaked
    exposures before the window and exact duplicates planted; plus their exact counts."""
    session = np.concatenate([p[0] for p in parts])
    experiment = np.concatenate([p[1] for p in parts])
    variant = np.concatenate([p[2] for p in parts]).astype(np.int8)
    n_exp = len(specs)

    # Users in both arms: later exposures of some (user, experiment) pairs get the other arm.
    pair = s_user[session].astype(np.int64) * n_exp + experiment
    order = np.lexsort((s_time[session], pair))
    sorted_pair = pair[order]
    starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
    sizes = np.diff(np.r_[starts, sorted_pair.shape[0]])
    eligible = np.flatnonzero(sizes >= 2)
    n_both = min(int(round(cfg.both_arms_rate * starts.shape[0])), eligible.shape[0])
    chosen = np.sort(rng.choice(eligible, size=n_both, replace=False)) if n_both else eligible[:0]
    for g in chosen:  # a few dozen pairs: a plain loop is clearer than index gymnastics
        rows = order[starts[g] + 1 : starts[g] + sizes[g]]
        flip = rng.random(rows.shape[0]) < 0.5
        flip[-1] = True
        variant[rows[flip]] = 1 - variant[rows[flip]]

    # Leaked exposures in the days before a window (the SQL must ignore them).
    leaks: list[tuple[np.ndarray, np.ndarray]] = []
    start_s = int(cfg.start.timestamp())  # type: ignore[union-attr]
    for j, spec in enumerate(specs):
        if spec.start_day == 0:
            continue  # no sessions before the experiment period
        w_start = start_s + spec.start_day * _DAY
        candidates = np.flatnonzero(
            (s_time >= w_start - _EARLY_EXPOSURE_DAYS * _DAY) & (s_time < w_start)
        )
        n_leak = min(
            int(round(cfg.early_exposure_rate * int((experiment == j).sum()))),
            candidates.shape[0],
        )
        if n_leak:
            leaks.append((np.sort(rng.choice(candidates, size=n_leak, replace=False)), j))
    n_early = sum(rows.shape[0] for rows, _ in leaks)
    if leaks:
        session = np.concatenate([session, *(rows for rows, _ in leaks)])
        experiment = np.concatenate([experiment, *(np.full(r.shape[0], j) for r, j in leaks)])
        variant = np.concatenate(
            [variant, *(variants[j][s_user[r]].astype(np.int8) for r, j in leaks)]
        )

    # Exact duplicate rows.
    n_rows = session.shape[0]
    n_dup = int(round(cfg.duplicate_exposure_rate * n_rows))
    dup = np.sort(rng.choice(n_rows, size=n_dup, replace=False)) if n_dup else np.empty(0, int)
    take = np.concatenate([np.arange(n_rows), dup])
    session, experiment, variant = session[take], experiment[take], variant[take]
    order = np.lexsort((experiment, session))  # sessions are numbered in time order
    mess = {
        "exposed_user_experiment_pairs": int(starts.shape[0]),
        "users_in_both_arms": int(n_both),
        "exposures_before_window": int(n_early),
        "duplicate_exposure_rows": n_dup,
    }
    return (
        {"session": session[order], "experiment": experiment[order], "variant": variant[order]},
        mess,
    )


def _truth(
    cfg: EcommerceSimulationConfig,
    tables: dict[str, pd.DataFrame],
    persona: np.ndarray,
    mess: dict[str, Any],
) -> dict[str, Any]:
    """What truth.json holds: settings, sizes, dates, persona shares, mess, model, effects."""
    specs = cfg.experiment_specs
    session_rate_effects = []
    for spec in specs:
        m = 1.0 + spec.effect_matrix()
        for k, p in enumerate(PERSONAS):
            session_rate_effects.append(
                {
                    "experiment_id": spec.experiment_id,
                    "persona": p,
                    "click_rate": round(float(m[k, 0] - 1.0), 10),
                    "add_to_cart_rate": round(float(m[k, 0] * m[k, 1] - 1.0), 10),
                    "purchase_rate": round(float(m[k, 0] * m[k, 1] * m[k, 2] - 1.0), 10),
                }
            )
    counts = np.bincount(persona, minlength=len(PERSONAS))
    return {
        "generator": "liftlab.simulate.ecommerce",
        "seed": cfg.seed,
        "config": json_safe(asdict(cfg)),
        "rows": {name: int(len(frame)) for name, frame in tables.items()},
        "dates": {
            "pre_period_start": cfg.pre_period_start.isoformat(),
            "experiment_period_start": cfg.start.isoformat(),  # type: ignore[union-attr]
            "experiment_period_end": cfg.experiment_end.isoformat(),
            "feature_cutoff": cfg.feature_cutoff.isoformat(),
        },
        "personas": {
            "shares": dict(cfg.persona_shares),
            "counts": {p: int(c) for p, c in zip(PERSONAS, counts, strict=True)},
        },
        "mess": {
            "rates": {
                "null_flag_rate": cfg.null_flag_rate,
                "both_arms_rate": cfg.both_arms_rate,
                "duplicate_exposure_rate": cfg.duplicate_exposure_rate,
                "early_exposure_rate": cfg.early_exposure_rate,
                "phone_order_rate": cfg.phone_order_rate,
            },
            "injected": mess,
        },
        "model": {
            "effect_definition": (
                "relative_effect multiplies the conditional per-session probability of the "
                "metric (click; add_to_cart given click; purchase given add_to_cart) by "
                "1 + relative_effect for sessions of treatment (B) users with "
                "first_exposure_at <= started_at < end_at"
            ),
            "assignment": (
                "variant B iff blake2b(f'{seed}:{experiment_id}:{user_id}', digest_size=8) "
                "is odd as a big-endian integer"
            ),
            "exposed_at": "equals started_at of the exposed session",
            "surface_exposure_probability": dict(SURFACE_EXPOSURE),
            "persona_profiles": {p: json_safe(asdict(PERSONA_PROFILES[p])) for p in PERSONAS},
        },
        "session_rate_effects": session_rate_effects,
    }


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_ecommerce(result: EcommerceSimulationResult, folder: str | Path) -> dict[str, Path]:
    """Write ``users.csv``, ``experiments.csv``, ``sessions.csv``, ``exposures.csv``,
    ``orders.csv``, ``truth_personas.csv``, ``truth_effects.csv`` and ``truth.json`` into
    ``folder``, so the data never travels without its truth.

    Files are written into a temporary folder beside them and moved in only when all of them
    are complete: a failure leaves no half-written file behind (DESIGN §7).
    """
    frames = {**result.tables, "truth_personas": result.truth_personas}
    frames["truth_effects"] = result.truth_effects
    contents = {f"{name}.csv": frame.to_csv(index=False) for name, frame in frames.items()}
    contents["truth.json"] = json.dumps(result.truth, indent=2) + "\n"
    written = write_files(folder, contents)
    return {name.rsplit(".", 1)[0]: path for name, path in written.items()}
