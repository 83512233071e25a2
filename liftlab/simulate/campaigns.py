"""CRM/POS campaign simulator: a multi-table export with a *known* true incremental spend.

Why this exists: a campaign-uplift pipeline (target vs control, attribution window) has to join
a CRM export (campaigns, contact lists, e-mail/SMS events) with a point-of-sale export
(transactions) and get time zones, duplicates, zero-spend customers and the window boundaries
right before any statistics can be trusted. This module writes such an export together with the
planted truth, so tests can check that the pipeline recovers it.

Tables (all timestamps are strings, as a CRM/POS export delivers them)
---------------------------------------------------------------------
``campaigns``     one row per campaign; ``send_at`` in UTC (``2026-02-10T09:00:00+00:00``).
``profiles``      one row per customer (``segment`` member/casual, ``region``, ``age_band``).
``assignments``   one row per campaign x contacted customer, ``group`` target/control.
``interactions``  CRM events of *target* customers only (sent, opened, clicked) in UTC, with
                  exact duplicate rows and later re-opens planted.
``transactions``  POS receipts with *local* time (``local_timezone``, default Europe/Berlin:
                  ``+01:00`` in winter, ``+02:00`` in summer), ``amount`` > 0, ``category``.

Window convention
-----------------
The attribution window of a campaign is the half-open interval of instants
``[send_at, send_at + window_days * 24 h)``: a transaction counts when
``send_at <= transaction_at < send_at + window_days * 86400 s``, compared as absolute instants
(parse with ``pd.to_datetime(..., utc=True)``). A window that crosses a daylight-saving change
is still exactly ``window_days * 86400`` seconds long. Customers without a transaction in the
window spent 0 and must be counted as 0.

Generating model (all draws vectorised with numpy, one seeded stream per purpose)
---------------------------------------------------------------------------------
Customers. ``segment`` is member with probability ``member_share``; each customer has a
propensity ``u ~ Gamma(propensity_shape, 1/propensity_shape)`` (mean 1) shared by both
categories, so pre-campaign spend predicts post-campaign spend (what CUPED needs). ``region``,
``age_band`` and ``signup_date`` (all before ``start``) are descriptive only.

Baseline purchases. For each customer and category ``c`` a homogeneous Poisson process over the
whole period ``[start, end)``: ``N ~ Poisson(rate_c * m_segment * u * period_days)`` receipts at
uniform instants (whole seconds; no time-of-day pattern), amounts
``Gamma(amount_shape_c, amount_mean_c / amount_shape_c)`` rounded to cents (at least 0.01).
Hence the expected baseline spend of a random customer in any window of ``window_days``
inside the period is exactly::

    true_control_spend_per_customer = rate_c * E[m_segment] * window_days * amount_mean_c
    E[m_segment] = member_share * m_member + (1 - member_share) * m_casual

Contacts are a uniform random sample of ``n_contacts`` customers per campaign (independently per
campaign, so a customer can be in several campaigns); exactly ``round(control_share *
n_contacts)`` of them are control, the rest target (complete randomisation).

Engagement (targets only). ``sent`` at ``send_at`` plus up to 10 minutes; ``opened`` with
probability ``open_rate`` some hours later; ``clicked`` with probability ``click_rate`` among
openers, shortly after the open. A share ``reopen_share`` of openers opens again later; then
``round(duplicate_share * n_rows)`` rows are repeated verbatim.

Treatment effect, per campaign ``j`` and category ``c`` with planted ``U = uplift_per_customer``:

* ``U > 0``: each target customer makes ``Poisson(U / amount_mean_c * w / E[w])`` extra
  purchases inside the window (delay from ``send_at`` truncated-exponential with mean about
  ``response_decay_days``), with ``w`` = 1 (not opened), 2.5 (opened) or 8 (clicked), so
  engaged customers respond more, while ``E[extra spend] = U`` exactly.
* ``U < 0``: each baseline receipt of a target customer inside the window is removed with
  probability ``-U / true_control_spend_per_customer`` (cannibalisation), so the expected
  spend lost is exactly ``-U``. The config refuses ``U`` below ``-true_control_spend``.

So ``E[target window spend] - E[control window spend] = U`` exactly, per campaign x category
(rounding amounts to cents changes expectations by far less than a cent).

Boundary cases. For every campaign and group, five baseline receipts are *moved* (not added) to
``send_at - 1 s`` (out), ``send_at`` (in), ``window end - 1 s`` (in), ``window end`` (out) and
``window end + 1 s`` (out). In-window cases are moved from inside that window and out-of-window
cases from outside every window, so no customer's window spend changes and the truth stays
exact; :attr:`CampaignSimulationResult.boundary_cases` lists them with ``expected_in_window``.
Attribution windows must not overlap (and need a day between them) so that each receipt belongs
to at most one window and the truth above is exact.
"""

from __future__ import annotations

import json
import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
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
)
from liftlab.simulate.experiments import prepare_data_path
from strategies.errors import ConfigError

__all__ = [
    "BOUNDARY_COLUMNS",
    "CATEGORIES",
    "CHANNELS",
    "TABLE_COLUMNS",
    "TRUTH_COLUMNS",
    "CampaignSimulationConfig",
    "CampaignSimulationResult",
    "CampaignSpec",
    "default_campaigns",
    "simulate_campaigns",
    "write_campaigns",
]

CATEGORIES: tuple[str, ...] = ("tickets", "concessions")
CHANNELS: tuple[str, ...] = ("email", "sms")
GROUPS: tuple[str, ...] = ("target", "control")
EVENTS: tuple[str, ...] = ("sent", "opened", "clicked")
SEGMENTS: tuple[str, ...] = ("member", "casual")
SEGMENT_MULTIPLIERS: dict[str, float] = {"member": 1.8, "casual": 0.65}
REGIONS: tuple[str, ...] = ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Leipzig")
REGION_SHARES: tuple[float, ...] = (0.30, 0.18, 0.18, 0.13, 0.12, 0.09)
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
AGE_BAND_SHARES: tuple[float, ...] = (0.18, 0.27, 0.22, 0.17, 0.16)
# Relative response weight of a target customer by engagement (not opened, opened, clicked).
ENGAGEMENT_WEIGHTS: tuple[float, float, float] = (1.0, 2.5, 8.0)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "campaigns": (
        "campaign_id",
        "campaign_name",
        "channel",
        "send_at",
        "cost_per_contact",
        "control_share",
    ),
    "profiles": ("customer_id", "signup_date", "segment", "region", "age_band"),
    "assignments": ("customer_id", "campaign_id", "group"),
    "interactions": ("customer_id", "campaign_id", "event", "event_at"),
    "transactions": ("transaction_id", "customer_id", "transaction_at", "amount", "category"),
}
TRUTH_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "category",
    "window_days",
    "n_target",
    "n_control",
    "true_incremental_spend_per_customer",
    "true_control_spend_per_customer",
    "true_target_spend_per_customer",
    "true_incremental_spend_total",
    "cost_per_contact",
)
BOUNDARY_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "customer_id",
    "campaign_id",
    "group",
    "case",
    "category",
    "transaction_at",
    "expected_in_window",
)
# (case name, seconds relative to send_at (or window end when `from_end`), expected in window)
_BOUNDARY_CASES: tuple[tuple[str, bool, int, bool], ...] = (
    ("before_send", False, -1, False),
    ("at_send", False, 0, True),
    ("last_second", True, -1, True),
    ("at_window_end", True, 0, False),
    ("after_window_end", True, 1, False),
)

_DAY = 86_400
_STREAM_CUSTOMERS = 1
_STREAM_BASELINE = 2
_STREAM_CAMPAIGN = 3
_STREAM_INCREMENTAL = 4
_STREAM_INTERACTIONS = 5
_STREAM_BOUNDARY = 6


def _check_category_map(owner: str, name: str, value: Any, *, positive: bool) -> dict[str, float]:
    """A mapping category -> number over known categories; missing categories are an error
    when ``positive`` (a model parameter) and 0.0 otherwise (an uplift)."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{owner}: {name} must be a mapping category -> number, got {value!r}")
    unknown = sorted(set(map(str, value)) - set(CATEGORIES))
    if unknown:
        raise ConfigError(
            f"{owner}: {name} has unknown categories {unknown}; known categories are "
            f"{list(CATEGORIES)}"
        )
    out: dict[str, float] = {}
    for category in CATEGORIES:
        if category not in value:
            if positive:
                raise ConfigError(f"{owner}: {name} needs a value for category {category!r}")
            out[category] = 0.0
            continue
        number = value[category]
        if not is_number(number) or (positive and float(number) <= 0):
            need = "a positive number" if positive else "a finite number"
            raise ConfigError(f"{owner}: {name}[{category!r}] must be {need}, got {number!r}")
        out[category] = float(number)
    return out


@dataclass(frozen=True)
class CampaignSpec:
    """One campaign: who is contacted, what it costs, how customers engage and its true effect.

    ``uplift_per_customer`` is the true incremental spend per *target* customer inside the
    attribution window, per category, in currency units (missing categories mean 0; negative
    values mean cannibalisation). ``cost_per_contact`` is paid per target customer contacted.
    """

    campaign_id: str
    name: str
    channel: str
    send_at: datetime | str
    n_contacts: int
    control_share: float = 0.2
    cost_per_contact: float = 0.05
    open_rate: float = 0.3
    click_rate: float = 0.15
    uplift_per_customer: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.campaign_id, str) or not self.campaign_id.strip():
            raise ConfigError(f"campaign_id must be a non-empty string, got {self.campaign_id!r}")
        owner = f"campaign {self.campaign_id!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"{owner}: name must be a non-empty string, got {self.name!r}")
        if self.channel not in CHANNELS:
            raise ConfigError(f"{owner}: channel must be one of {CHANNELS}, got {self.channel!r}")
        object.__setattr__(self, "send_at", parse_instant(f"{owner}: send_at", self.send_at))
        if not is_int(self.n_contacts) or self.n_contacts < 2:
            raise ConfigError(
                f"{owner}: n_contacts must be an integer >= 2, got {self.n_contacts!r}"
            )
        object.__setattr__(self, "n_contacts", int(self.n_contacts))
        if not is_number(self.control_share) or not 0.0 < self.control_share < 1.0:
            raise ConfigError(
                f"{owner}: control_share must be a number strictly between 0 and 1, "
                f"got {self.control_share!r}"
            )
        n_control = self.n_control
        if not 1 <= n_control <= self.n_contacts - 1:
            raise ConfigError(
                f"{owner}: control_share={self.control_share} of n_contacts={self.n_contacts} "
                f"gives {n_control} control customers; both groups need at least one"
            )
        if not is_number(self.cost_per_contact) or self.cost_per_contact < 0:
            raise ConfigError(
                f"{owner}: cost_per_contact must be a non-negative number, "
                f"got {self.cost_per_contact!r}"
            )
        for name in ("open_rate", "click_rate"):
            value = getattr(self, name)
            if not is_number(value) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{owner}: {name} must be a probability in [0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "control_share", float(self.control_share))
        object.__setattr__(self, "cost_per_contact", float(self.cost_per_contact))
        object.__setattr__(
            self,
            "uplift_per_customer",
            _check_category_map(
                owner, "uplift_per_customer", self.uplift_per_customer, positive=False
            ),
        )

    @property
    def n_control(self) -> int:
        return int(round(self.control_share * self.n_contacts))

    @property
    def n_target(self) -> int:
        return self.n_contacts - self.n_control


def default_campaigns(n_customers: int = 20_000) -> tuple[CampaignSpec, ...]:
    """Four campaigns over 2026: a winter e-mail win, a null SMS (its window crosses the spring
    daylight-saving change), a summer e-mail that sells tickets but cannibalises concessions,
    and an autumn SMS voucher (its window crosses the autumn change) with the largest effect."""

    def contacts(share: float) -> int:
        return max(2, int(round(share * n_customers)))

    return (
        CampaignSpec(
            "C01",
            "Winter premieres newsletter",
            "email",
            "2026-02-10T09:00:00+00:00",
            contacts(0.40),
            cost_per_contact=0.05,
            open_rate=0.35,
            click_rate=0.15,
            uplift_per_customer={"tickets": 4.0, "concessions": 1.0},
        ),
        CampaignSpec(
            "C02",
            "Easter reminder SMS",
            "sms",
            "2026-03-24T09:00:00+00:00",
            contacts(0.30),
            cost_per_contact=0.08,
            open_rate=0.90,
            click_rate=0.06,
            uplift_per_customer={"tickets": 0.0, "concessions": 0.0},
        ),
        CampaignSpec(
            "C03",
            "Summer open-air tickets",
            "email",
            "2026-07-07T16:00:00+00:00",
            contacts(0.40),
            cost_per_contact=0.40,
            open_rate=0.30,
            click_rate=0.12,
            uplift_per_customer={"tickets": 2.5, "concessions": -0.4},
        ),
        CampaignSpec(
            "C04",
            "Autumn voucher SMS",
            "sms",
            "2026-10-20T09:00:00+00:00",
            contacts(0.35),
            control_share=0.25,
            cost_per_contact=1.20,
            open_rate=0.85,
            click_rate=0.10,
            uplift_per_customer={"tickets": 6.0, "concessions": 1.5},
        ),
    )


@dataclass(frozen=True)
class CampaignSimulationConfig:
    """What to simulate; validated on construction so a bad config fails before any work.

    ``campaigns=None`` means :func:`default_campaigns` sized for ``n_customers``. ``start`` and
    ``end`` bound the simulated period (UTC instants; dates mean midnight UTC).
    ``baseline_rate_per_day`` is the expected number of receipts per customer and day at
    propensity 1 before the segment multiplier; ``amount_mean``/``amount_shape`` give the Gamma
    receipt amounts per category.
    """

    n_customers: int = 20_000
    campaigns: tuple[CampaignSpec, ...] | None = None
    window_days: int = 10
    start: datetime | str = "2026-01-01"
    end: datetime | str = "2027-01-01"
    baseline_rate_per_day: Mapping[str, float] = field(
        default_factory=lambda: {"tickets": 0.02, "concessions": 0.015}
    )
    amount_mean: Mapping[str, float] = field(
        default_factory=lambda: {"tickets": 24.0, "concessions": 9.0}
    )
    amount_shape: Mapping[str, float] = field(
        default_factory=lambda: {"tickets": 2.0, "concessions": 3.0}
    )
    propensity_shape: float = 0.6
    member_share: float = 0.3
    response_decay_days: float = 2.0
    duplicate_share: float = 0.02
    reopen_share: float = 0.15
    local_timezone: str = "Europe/Berlin"
    seed: int = 42

    def __post_init__(self) -> None:
        owner = "CampaignSimulationConfig"
        if not is_int(self.n_customers) or self.n_customers < 2:
            raise ConfigError(f"n_customers must be an integer >= 2, got {self.n_customers!r}")
        object.__setattr__(self, "n_customers", int(self.n_customers))
        if not is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        if not is_int(self.window_days) or self.window_days < 1:
            raise ConfigError(f"window_days must be an integer >= 1, got {self.window_days!r}")
        object.__setattr__(self, "window_days", int(self.window_days))
        start = parse_instant("start", self.start)
        end = parse_instant("end", self.end)
        if end <= start:
            raise ConfigError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        for name in ("baseline_rate_per_day", "amount_mean", "amount_shape"):
            value = _check_category_map(owner, name, getattr(self, name), positive=True)
            object.__setattr__(self, name, value)
        for name in ("propensity_shape", "response_decay_days"):
            value = getattr(self, name)
            if not is_number(value) or value <= 0:
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("member_share", "duplicate_share", "reopen_share"):
            value = getattr(self, name)
            if not is_number(value) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a share in [0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))
        try:
            zoneinfo.ZoneInfo(str(self.local_timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"local_timezone must be an IANA time zone like 'Europe/Berlin', "
                f"got {self.local_timezone!r}"
            ) from None

        campaigns = default_campaigns(self.n_customers) if self.campaigns is None else None
        if campaigns is None:
            if not isinstance(self.campaigns, list | tuple) or not self.campaigns:
                raise ConfigError("campaigns must be a non-empty list of CampaignSpec (or None)")
            campaigns = tuple(self.campaigns)
        for spec in campaigns:
            if not isinstance(spec, CampaignSpec):
                raise ConfigError(f"campaigns must contain CampaignSpec objects, got {spec!r}")
        ids = [c.campaign_id for c in campaigns]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ConfigError(f"campaign ids must be unique; repeated: {dupes}")
        window = pd.Timedelta(days=self.window_days)
        for spec in campaigns:
            if spec.n_contacts > self.n_customers:
                raise ConfigError(
                    f"campaign {spec.campaign_id!r}: n_contacts={spec.n_contacts} exceeds "
                    f"n_customers={self.n_customers}"
                )
            if not (start < spec.send_at and spec.send_at + window < end):
                raise ConfigError(
                    f"campaign {spec.campaign_id!r}: its attribution window "
                    f"[{spec.send_at.isoformat()}, {(spec.send_at + window).isoformat()}) must lie "
                    f"strictly inside the simulated period [{start.isoformat()}, "
                    f"{end.isoformat()})"
                )
        ordered = sorted(campaigns, key=lambda c: c.send_at)
        for prev, nxt in zip(ordered, ordered[1:], strict=False):
            if nxt.send_at < prev.send_at + window + pd.Timedelta(days=1):
                raise ConfigError(
                    f"campaigns {prev.campaign_id!r} and {nxt.campaign_id!r}: attribution windows "
                    f"of {self.window_days} days must not overlap and need at least one day "
                    f"between them (the truth is exact only when every receipt belongs to at "
                    f"most one window)"
                )
        for spec in campaigns:
            for category, uplift in spec.uplift_per_customer.items():
                baseline = self.expected_control_spend(category)
                if uplift < -baseline:
                    raise ConfigError(
                        f"campaign {spec.campaign_id!r}: uplift_per_customer[{category!r}]="
                        f"{uplift} is below minus the expected baseline spend in the window "
                        f"({-baseline:.4f}); a campaign cannot remove more than all of it"
                    )
        object.__setattr__(self, "campaigns", campaigns)

    @property
    def mean_segment_multiplier(self) -> float:
        return (
            self.member_share * SEGMENT_MULTIPLIERS["member"]
            + (1.0 - self.member_share) * SEGMENT_MULTIPLIERS["casual"]
        )

    def expected_control_spend(self, category: str) -> float:
        """Expected baseline spend of a random customer in one attribution window (exact)."""
        return (
            self.baseline_rate_per_day[category]
            * self.mean_segment_multiplier
            * self.window_days
            * self.amount_mean[category]
        )


@dataclass(frozen=True)
class CampaignSimulationResult:
    """The export tables, the truth per campaign x category, the planted boundary receipts and
    a JSON manifest (seed, config, row counts, planted duplicates)."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    boundary_cases: pd.DataFrame
    manifest: dict[str, Any]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)


def _iso_local(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS+HH:MM`` in ``timezone`` for UTC epoch seconds, vectorised."""
    if seconds.shape[0] == 0:
        return np.empty(0, dtype=object)
    utc = pd.DatetimeIndex(seconds.astype("datetime64[s]")).tz_localize("UTC")
    local = utc.tz_convert(timezone).tz_localize(None)
    local_s = local.to_numpy().astype("datetime64[s]")
    offsets = local_s.astype(np.int64) - seconds
    text = np.datetime_as_string(local_s, unit="s").astype(object)
    uniq, inverse = np.unique(offsets, return_inverse=True)
    labels = np.array([_offset_label(int(o)) for o in uniq], dtype=object)
    return text + labels[inverse]


def _offset_label(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    hours, rest = divmod(abs(offset_s), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def _amounts(rng: np.random.Generator, size: int, mean: float, shape: float) -> np.ndarray:
    return np.maximum(0.01, np.round(rng.gamma(shape, mean / shape, size=size), 2))


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def simulate_campaigns(config: CampaignSimulationConfig | None = None) -> CampaignSimulationResult:
    """Draw one CRM/POS export and its truth from the generating model (module docstring)."""
    cfg = config if config is not None else CampaignSimulationConfig()
    campaigns: tuple[CampaignSpec, ...] = cfg.campaigns  # type: ignore[assignment]
    n = cfg.n_customers
    start_s, end_s = _epoch(cfg.start), _epoch(cfg.end)  # type: ignore[arg-type]
    period_s = end_s - start_s
    window_s = cfg.window_days * _DAY

    # Customers.
    rng = rng_stream(cfg.seed, _STREAM_CUSTOMERS)
    is_member = rng.random(n) < cfg.member_share
    propensity = rng.gamma(cfg.propensity_shape, 1.0 / cfg.propensity_shape, size=n)
    multiplier = np.where(is_member, SEGMENT_MULTIPLIERS["member"], SEGMENT_MULTIPLIERS["casual"])
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARES)
    age_band = rng.choice(len(AGE_BANDS), size=n, p=AGE_BAND_SHARES)
    # Signed up within four years before the period; members a little longer ago on average.
    tenure_days = 1 + np.floor(rng.beta(np.where(is_member, 1.6, 1.0), 1.2) * 4 * 365)
    signup = (start_s // _DAY - tenure_days).astype("datetime64[D]")
    customer_ids = _ids("U", np.arange(1, n + 1), 6)

    # Baseline receipts: a Poisson process per customer x category over the whole period.
    rng = rng_stream(cfg.seed, _STREAM_BASELINE)
    tx_customer, tx_time, tx_amount, tx_category = [], [], [], []
    for k, category in enumerate(CATEGORIES):
        rate = cfg.baseline_rate_per_day[category] * multiplier * propensity * period_s / _DAY
        counts = rng.poisson(rate)
        total = int(counts.sum())
        tx_customer.append(np.repeat(np.arange(n), counts))
        tx_time.append(start_s + rng.integers(0, period_s, size=total))
        tx_amount.append(
            _amounts(rng, total, cfg.amount_mean[category], cfg.amount_shape[category])
        )
        tx_category.append(np.full(total, k, dtype=np.int8))
    baseline = {
        "customer": np.concatenate(tx_customer),
        "time": np.concatenate(tx_time),
        "amount": np.concatenate(tx_amount),
        "category": np.concatenate(tx_category),
    }
    keep = np.ones(baseline["time"].shape[0], dtype=bool)

    # Assignments, engagement, treatment effects.
    assign_frames: list[pd.DataFrame] = []
    events: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    extra: list[dict[str, np.ndarray]] = []
    groups_by_campaign: list[np.ndarray] = []  # per campaign: -1 none, 0 target, 1 control
    truth_rows: list[dict[str, Any]] = []
    n_reopens = 0
    for j, spec in enumerate(campaigns):
        rng = rng_stream(cfg.seed, _STREAM_CAMPAIGN, j)
        send_s = _epoch(spec.send_at)  # type: ignore[arg-type]
        contacts = rng.choice(n, size=spec.n_contacts, replace=False)
        control = np.sort(contacts[: spec.n_control])
        target = np.sort(contacts[spec.n_control :])
        group = np.full(n, -1, dtype=np.int8)
        group[target] = 0
        group[control] = 1
        groups_by_campaign.append(group)
        who = np.concatenate([target, control])
        assign_frames.append(
            pd.DataFrame(
                {
                    "customer": who,
                    "campaign": j,
                    "group": np.repeat([0, 1], [target.shape[0], control.shape[0]]),
                }
            )
        )

        # Engagement of targets: sent -> opened -> clicked, plus re-opens.
        n_t = target.shape[0]
        sent_at = send_s + rng.integers(0, 600, size=n_t)
        opened = rng.random(n_t) < spec.open_rate
        clicked = opened & (rng.random(n_t) < spec.click_rate)
        open_at = sent_at + 60 + np.floor(rng.exponential(6 * 3600, size=n_t)).astype(np.int64)
        click_at = open_at + 5 + np.floor(rng.exponential(90, size=n_t)).astype(np.int64)
        reopen = opened & (rng.random(n_t) < cfg.reopen_share)
        reopen_at = open_at + 600 + np.floor(rng.exponential(_DAY, size=n_t)).astype(np.int64)
        n_reopens += int(reopen.sum())
        for event, mask, at in (
            (0, np.ones(n_t, dtype=bool), sent_at),
            (1, opened, open_at),
            (2, clicked, click_at),
            (1, reopen, reopen_at),
        ):
            events.append(
                (
                    target[mask],
                    np.full(int(mask.sum()), j),
                    np.full(int(mask.sum()), event),
                    at[mask],
                )
            )

        # Treatment effect per category.
        rng = rng_stream(cfg.seed, _STREAM_INCREMENTAL, j)
        weights = np.where(
            clicked,
            ENGAGEMENT_WEIGHTS[2],
            np.where(opened, ENGAGEMENT_WEIGHTS[1], ENGAGEMENT_WEIGHTS[0]),
        )
        po, pc = spec.open_rate, spec.click_rate
        mean_weight = (
            (1 - po) * ENGAGEMENT_WEIGHTS[0]
            + po * (1 - pc) * ENGAGEMENT_WEIGHTS[1]
            + po * pc * ENGAGEMENT_WEIGHTS[2]
        )
        in_window = (baseline["time"] >= send_s) & (baseline["time"] < send_s + window_s)
        for k, category in enumerate(CATEGORIES):
            uplift = spec.uplift_per_customer[category]
            control_spend = cfg.expected_control_spend(category)
            if uplift > 0:
                mean = cfg.amount_mean[category]
                counts = rng.poisson(uplift / mean * weights / mean_weight)
                total = int(counts.sum())
                tau = cfg.response_decay_days * _DAY
                u = rng.random(total)
                delay = -tau * np.log1p(-u * (1.0 - math.exp(-window_s / tau)))
                delay = np.minimum(np.floor(delay).astype(np.int64), window_s - 1)
                extra.append(
                    {
                        "customer": np.repeat(target, counts),
                        "time": send_s + delay,
                        "amount": _amounts(rng, total, mean, cfg.amount_shape[category]),
                        "category": np.full(total, k, dtype=np.int8),
                    }
                )
            elif uplift < 0:
                drop_prob = -uplift / control_spend
                hit = in_window & (baseline["category"] == k) & (group[baseline["customer"]] == 0)
                idx = np.flatnonzero(hit)
                keep[idx[rng.random(idx.shape[0]) < drop_prob]] = False
            truth_rows.append(
                {
                    "campaign_id": spec.campaign_id,
                    "category": category,
                    "window_days": cfg.window_days,
                    "n_target": spec.n_target,
                    "n_control": spec.n_control,
                    "true_incremental_spend_per_customer": uplift,
                    "true_control_spend_per_customer": control_spend,
                    "true_target_spend_per_customer": control_spend + uplift,
                    "true_incremental_spend_total": uplift * spec.n_target,
                    "cost_per_contact": spec.cost_per_contact,
                }
            )

    # Boundary receipts: move kept baseline receipts to the edges of each window.
    base = {key: value[keep] for key, value in baseline.items()}
    moved_rows, boundary_meta = _plant_boundary_cases(cfg, campaigns, base, groups_by_campaign)

    # All receipts, in time order, numbered in that order.
    tx = {key: np.concatenate([base[key], *(e[key] for e in extra)]) for key in base}
    order = np.lexsort((tx["customer"], tx["time"]))
    position = np.empty_like(order)
    position[order] = np.arange(order.shape[0])
    tx = {key: value[order] for key, value in tx.items()}
    tx_ids = _ids("T", np.arange(1, order.shape[0] + 1), 7)
    transactions = pd.DataFrame(
        {
            "transaction_id": tx_ids,
            "customer_id": customer_ids[tx["customer"]],
            "transaction_at": _iso_local(tx["time"], cfg.local_timezone),
            "amount": tx["amount"].astype(np.float64),
            "category": np.asarray(CATEGORIES, dtype=object)[tx["category"]],
        },
        columns=list(TABLE_COLUMNS["transactions"]),
    )

    boundary = pd.DataFrame(boundary_meta, columns=["campaign", "group", "case", "expected"])
    rows = position[np.asarray(moved_rows, dtype=np.int64)]
    boundary_cases = pd.DataFrame(
        {
            "transaction_id": transactions["transaction_id"].to_numpy()[rows],
            "customer_id": transactions["customer_id"].to_numpy()[rows],
            "campaign_id": np.asarray([c.campaign_id for c in campaigns], dtype=object)[
                boundary["campaign"].to_numpy(dtype=np.int64)
            ],
            "group": boundary["group"].to_numpy(dtype=object),
            "case": boundary["case"].to_numpy(dtype=object),
            "category": transactions["category"].to_numpy()[rows],
            "transaction_at": transactions["transaction_at"].to_numpy()[rows],
            "expected_in_window": boundary["expected"].to_numpy(dtype=bool),
        },
        columns=list(BOUNDARY_COLUMNS),
    )

    interactions, n_duplicates = _interactions(cfg, campaigns, customer_ids, events)
    assignments = pd.concat(assign_frames, ignore_index=True)
    assignments = pd.DataFrame(
        {
            "customer_id": customer_ids[assignments["customer"].to_numpy()],
            "campaign_id": np.asarray([c.campaign_id for c in campaigns], dtype=object)[
                assignments["campaign"].to_numpy()
            ],
            "group": np.asarray(GROUPS, dtype=object)[assignments["group"].to_numpy()],
        },
        columns=list(TABLE_COLUMNS["assignments"]),
    )
    assignments = assignments.sort_values(["campaign_id", "customer_id"], ignore_index=True)
    tables = {
        "campaigns": pd.DataFrame(
            {
                "campaign_id": [c.campaign_id for c in campaigns],
                "campaign_name": [c.name for c in campaigns],
                "channel": [c.channel for c in campaigns],
                "send_at": [c.send_at.isoformat() for c in campaigns],  # type: ignore[union-attr]
                "cost_per_contact": np.array([c.cost_per_contact for c in campaigns], dtype=float),
                "control_share": np.array([c.control_share for c in campaigns], dtype=float),
            },
            columns=list(TABLE_COLUMNS["campaigns"]),
        ),
        "profiles": pd.DataFrame(
            {
                "customer_id": customer_ids,
                "signup_date": np.datetime_as_string(signup, unit="D").astype(object),
                "segment": np.where(is_member, SEGMENTS[0], SEGMENTS[1]).astype(object),
                "region": np.asarray(REGIONS, dtype=object)[region],
                "age_band": np.asarray(AGE_BANDS, dtype=object)[age_band],
            },
            columns=list(TABLE_COLUMNS["profiles"]),
        ),
        "assignments": assignments,
        "interactions": interactions,
        "transactions": transactions,
    }
    truth = pd.DataFrame(truth_rows, columns=list(TRUTH_COLUMNS))
    manifest = {
        "generator": "liftlab.simulate.campaigns",
        "seed": cfg.seed,
        "config": json_safe(asdict(cfg)),
        "window_convention": (
            "half-open [send_at, send_at + window_days * 86400 s), compared as UTC instants"
        ),
        "rows": {name: int(len(frame)) for name, frame in tables.items()},
        "injected": {
            "interaction_exact_duplicates": n_duplicates,
            "interaction_reopens": n_reopens,
            "dropped_baseline_receipts": int((~keep).sum()),
            "boundary_cases": int(len(boundary_cases)),
        },
        "model": {
            "segment_multipliers": dict(SEGMENT_MULTIPLIERS),
            "mean_segment_multiplier": cfg.mean_segment_multiplier,
            "engagement_weights": list(ENGAGEMENT_WEIGHTS),
        },
    }
    return CampaignSimulationResult(
        tables=tables, truth=truth, boundary_cases=boundary_cases, manifest=manifest
    )


def _plant_boundary_cases(
    cfg: CampaignSimulationConfig,
    campaigns: tuple[CampaignSpec, ...],
    base: dict[str, np.ndarray],
    groups_by_campaign: list[np.ndarray],
) -> tuple[list[int], list[tuple[int, str, str, bool]]]:
    """Move baseline receipts (in place) onto window edges without changing any customer's
    spend in any window: in-window cases come from inside that window, the others from outside
    every window. Returns the moved row indices and (campaign, group, case, expected) each."""
    rng = rng_stream(cfg.seed, _STREAM_BOUNDARY)
    window_s = cfg.window_days * _DAY
    time = base["time"]
    sends = [_epoch(c.send_at) for c in campaigns]  # type: ignore[arg-type]
    windows = [(time >= s) & (time < s + window_s) for s in sends]
    outside_all = ~np.logical_or.reduce(windows)
    used = np.zeros(time.shape[0], dtype=bool)
    moved: list[int] = []
    meta: list[tuple[int, str, str, bool]] = []
    for j, send_s in enumerate(sends):
        group_of_row = groups_by_campaign[j][base["customer"]]
        for g, group in enumerate(GROUPS):
            for case, from_end, delta, inside in _BOUNDARY_CASES:
                source = (windows[j] if inside else outside_all) & (group_of_row == g) & ~used
                pool = np.flatnonzero(source)
                if pool.shape[0] == 0:
                    continue  # tiny configs: no receipt to move; the case is simply absent
                row = int(rng.choice(pool))
                used[row] = True
                time[row] = send_s + (window_s if from_end else 0) + delta
                moved.append(row)
                meta.append((j, group, case, inside))
    return moved, meta


def _interactions(
    cfg: CampaignSimulationConfig,
    campaigns: tuple[CampaignSpec, ...],
    customer_ids: np.ndarray,
    events: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[pd.DataFrame, int]:
    """The CRM event table with ``round(duplicate_share * n_rows)`` rows repeated verbatim."""
    customer = np.concatenate([e[0] for e in events])
    campaign = np.concatenate([e[1] for e in events])
    event = np.concatenate([e[2] for e in events])
    at = np.concatenate([e[3] for e in events])
    n_rows = customer.shape[0]
    rng = rng_stream(cfg.seed, _STREAM_INTERACTIONS)
    n_dup = int(round(cfg.duplicate_share * n_rows))
    dup = np.sort(rng.choice(n_rows, size=n_dup, replace=False)) if n_dup else np.empty(0, int)
    take = np.concatenate([np.arange(n_rows), dup])
    customer, campaign, event, at = customer[take], campaign[take], event[take], at[take]
    order = np.lexsort((event, customer, at, campaign))
    frame = pd.DataFrame(
        {
            "customer_id": customer_ids[customer[order]],
            "campaign_id": np.asarray([c.campaign_id for c in campaigns], dtype=object)[
                campaign[order]
            ],
            "event": np.asarray(EVENTS, dtype=object)[event[order]],
            "event_at": iso_utc(at[order]),
        },
        columns=list(TABLE_COLUMNS["interactions"]),
    )
    return frame, n_dup


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_campaigns(result: CampaignSimulationResult, folder: str | Path) -> dict[str, Path]:
    """Write every table as ``<name>.csv`` plus ``truth.csv``, ``boundary_cases.csv`` and
    ``manifest.json`` into ``folder``, so the export never travels without its ground truth."""
    folder = Path(folder)
    paths: dict[str, Path] = {}
    frames = {**result.tables, "truth": result.truth, "boundary_cases": result.boundary_cases}
    for name, frame in frames.items():
        path, _ = prepare_data_path(folder / f"{name}.csv")
        frame.to_csv(path, index=False)
        paths[name] = path
    manifest_path = folder / "manifest.json"
    manifest_path.write_text(json.dumps(result.manifest, indent=2) + "\n", encoding="utf-8")
    paths["manifest"] = manifest_path
    return paths
