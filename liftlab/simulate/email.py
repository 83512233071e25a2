"""E-mail test simulator: a Hillstrom-shaped randomised e-mail test whose effect differs from
customer to customer in a known way, written with every customer's true uplift beside it.

Why this exists: an uplift model ("whom should the next e-mail go to, and which e-mail?") can
only be checked against the truth it is meant to recover — each customer's own effect — which
no real dataset holds. This module writes a customer table shaped like the MineThatData
(Hillstrom) test that ``configs/uplift_hillstrom.yaml`` reads, so the same pipeline runs on it,
plus that truth, so tests and the demo can say how close the learners and the targeting policy
come to it.

Table ``email_test.csv`` (one row per customer)
-----------------------------------------------
``customer_id`` (C000001 …), pre-send features as in Hillstrom — ``recency`` (months since the
last purchase, 1–12), ``history`` (dollars spent last year), ``mens``/``womens`` (bought that
line last year, 0/1), ``zip_code`` (Urban/Surburban/Rural, Hillstrom's spelling), ``newbie``
(new customer last year, 0/1), ``channel`` (Phone/Web/Multichannel) — the arm ``segment``
(No E-Mail / Mens E-Mail / Womens E-Mail, complete randomisation: exact thirds in random
order) and the outcomes of the two weeks after the send: ``visit``, ``conversion`` (0/1) and
``spend`` (dollars, 0 without a conversion).

Generating model (vectorised numpy, one seeded stream per purpose)
------------------------------------------------------------------
Baseline visit probability ``p0 = expit(-2 - 0.08 (recency - 6) + 0.25 ln(history / 240)
+ 0.3 [Multichannel])``. Each e-mail adds a customer-specific amount to it (probability scale):

* Womens E-Mail: ``+0.10 womens + 0.05 [Web] - 0.06 lapsed``
* Mens E-Mail:   ``+0.07 mens + 0.02 newbie - 0.06 lapsed``

where ``lapsed`` = recency ≥ 10: long-lapsed customers are put off by a mail ("sleeping
dogs"), so some customers are better left alone. The arm's probability is clipped to
[0.001, 0.999] and the true visit uplift is the clipped difference, so it is exact.

A visitor converts with probability ``q = expit(-2.4 + 0.4 ln(history / 240))`` in every arm
(the e-mail brings visits, not a better shop), and a conversion spends
``Gamma(2, m / 2)`` dollars with mean ``m = 60 + 0.1 history``. Hence, for arm a::

    true_uplift_visit      = p_a - p0
    true_uplift_conversion = (p_a - p0) q
    true_uplift_spend      = (p_a - p0) q m

Truth: ``truth.csv`` (one row per customer: ``customer_id`` and the three uplifts for each
e-mail, columns ``true_uplift_<outcome>__<arm>``) and ``truth.json`` (settings, arm sizes, the
average effect per outcome and arm — the mean of the customers' own effects — and the share of
customers an e-mail harms).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liftlab.simulate.common import is_int, json_safe, rng_stream, write_files
from strategies.errors import ConfigError

__all__ = [
    "ARMS",
    "CONTROL",
    "OUTCOMES",
    "EmailSimulation",
    "EmailSimulationConfig",
    "simulate_email_test",
    "truth_column",
    "write_email_test",
]

CONTROL = "No E-Mail"
ARMS = ("Mens E-Mail", "Womens E-Mail")
OUTCOMES = ("visit", "conversion", "spend")
FILES = {"data": "email_test.csv", "truth": "truth.csv", "summary": "truth.json"}

_ZIP = (("Urban", 0.40), ("Surburban", 0.45), ("Rural", 0.15))
_CHANNEL = (("Phone", 0.44), ("Web", 0.44), ("Multichannel", 0.12))
LAPSED_RECENCY = 10
"""Customers whose last purchase is at least this many months ago are put off by a mail."""


def truth_column(outcome: str, arm: str) -> str:
    """Name of the true-uplift column of one outcome and arm in ``truth.csv``."""
    return f"true_uplift_{outcome}__{arm}"


@dataclass(frozen=True)
class EmailSimulationConfig:
    """What to simulate; checked on construction so a bad value fails before any work."""

    n_customers: int = 20_000
    seed: int = 42

    def __post_init__(self) -> None:
        if not is_int(self.n_customers) or self.n_customers < 300:
            raise ConfigError(f"n_customers must be an integer >= 300, got {self.n_customers!r}")
        if not is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")


@dataclass
class EmailSimulation:
    """The customer table (``email_test.csv``), each customer's true uplift and a summary."""

    data: pd.DataFrame
    truth: pd.DataFrame
    summary: dict[str, Any]


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, levels: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names = np.array([name for name, _ in levels], dtype=object)
    return names[rng.choice(len(levels), size=n, p=[p for _, p in levels])]


def visit_uplift_model(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The unclipped additive visit uplift of each e-mail (module docstring), from features."""
    womens = frame["womens"].to_numpy(dtype=np.float64)
    mens = frame["mens"].to_numpy(dtype=np.float64)
    newbie = frame["newbie"].to_numpy(dtype=np.float64)
    web = (frame["channel"] == "Web").to_numpy(dtype=np.float64)
    lapsed = (frame["recency"] >= LAPSED_RECENCY).to_numpy(dtype=np.float64)
    return {
        "Womens E-Mail": 0.10 * womens + 0.05 * web - 0.06 * lapsed,
        "Mens E-Mail": 0.07 * mens + 0.02 * newbie - 0.06 * lapsed,
    }


def simulate_email_test(config: EmailSimulationConfig | None = None) -> EmailSimulation:
    """Draw one e-mail test (module docstring for the model)."""
    config = config or EmailSimulationConfig()
    n, seed = config.n_customers, config.seed
    features = rng_stream(seed, 1)
    history_draw = features.gamma(2.0, 120.0, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(1, n + 1)],
            "recency": features.integers(1, 13, n),
            "history": np.round(np.maximum(history_draw, 29.99), 2),
            "mens": (features.random(n) < 0.55).astype(int),
            "womens": (features.random(n) < 0.55).astype(int),
            "zip_code": _choice(features, _ZIP, n),
            "newbie": (features.random(n) < 0.5).astype(int),
            "channel": _choice(features, _CHANNEL, n),
        }
    )
    neither = (frame["mens"] == 0) & (frame["womens"] == 0)
    frame.loc[neither, "womens"] = 1  # every customer bought something last year
    arms_of = np.array([CONTROL, *ARMS], dtype=object)
    assignment = rng_stream(seed, 2).permutation(np.arange(n) % len(arms_of))
    frame["segment"] = arms_of[assignment]

    history = frame["history"].to_numpy(dtype=np.float64)
    p0 = _expit(
        -2.0
        - 0.08 * (frame["recency"].to_numpy() - 6)
        + 0.25 * np.log(history / 240.0)
        + 0.3 * (frame["channel"] == "Multichannel").to_numpy()
    )
    q = _expit(-2.4 + 0.4 * np.log(history / 240.0))
    mean_spend = 60.0 + 0.1 * history
    truth = pd.DataFrame({"customer_id": frame["customer_id"]})
    p_visit = p0.copy()
    for arm, raw in visit_uplift_model(frame).items():
        tau = np.clip(p0 + raw, 0.001, 0.999) - p0
        truth[truth_column("visit", arm)] = tau
        truth[truth_column("conversion", arm)] = tau * q
        truth[truth_column("spend", arm)] = tau * q * mean_spend
        mine = (frame["segment"] == arm).to_numpy()
        p_visit[mine] = p0[mine] + tau[mine]

    outcomes = rng_stream(seed, 3)
    visit = outcomes.random(n) < p_visit
    conversion = visit & (outcomes.random(n) < q)
    amount = outcomes.gamma(2.0, mean_spend / 2.0)
    frame["visit"] = visit.astype(int)
    frame["conversion"] = conversion.astype(int)
    frame["spend"] = np.where(conversion, np.maximum(np.round(amount, 2), 0.01), 0.0)
    return EmailSimulation(frame, truth, _summary(config, frame, truth))


def _summary(config: EmailSimulationConfig, frame: pd.DataFrame, truth: pd.DataFrame) -> dict:
    effects = {
        outcome: {arm: float(truth[truth_column(outcome, arm)].mean()) for arm in ARMS}
        for outcome in OUTCOMES
    }
    harmed = {arm: float((truth[truth_column("visit", arm)] < 0).mean()) for arm in ARMS}
    return json_safe(
        {
            "settings": asdict(config),
            "control": CONTROL,
            "arms": list(ARMS),
            "arm_sizes": frame["segment"].value_counts().sort_index().to_dict(),
            "average_effect": effects,
            "share_harmed": harmed,
            "lapsed_recency": LAPSED_RECENCY,
            "model": "visit uplift: Womens +0.10 womens +0.05 Web -0.06 lapsed; "
            "Mens +0.07 mens +0.02 newbie -0.06 lapsed (probability scale, clipped)",
        }
    )


def write_email_test(sim: EmailSimulation, folder: str | Path) -> dict[str, Path]:
    """Write ``email_test.csv``, ``truth.csv`` and ``truth.json`` into ``folder``, all or
    nothing (the data never travels without its truth)."""
    return write_files(
        folder,
        {
            FILES["data"]: sim.data.to_csv(index=False),
            FILES["truth"]: sim.truth.to_csv(index=False),
            FILES["summary"]: json.dumps(sim.summary, indent=2) + "\n",
        },
    )
