"""Ad-level simulator: KAG-shaped social-media ad data with a *known* conversion model.

Why this exists: the conversion-prediction pipeline must be demonstrable and testable without
the real ``KAG_conversion_data.csv`` (which may be absent), and a regressor is only trustworthy
if it can be shown to recover coefficients we planted ourselves. This module writes a table with
exactly the real file's columns and dtypes, with the real file's quirks, plus the generating
coefficients and every ad's true expected conversions.

Generating model (all draws vectorised with numpy, one seeded generator)
-----------------------------------------------------------------------
Ad sets. Ads come in ad sets (``fb_campaign_id``) of ``1 + Poisson(ads_per_adset - 1)`` ads.
An ad set belongs to one campaign (``xyz_campaign_id``, shares ``campaign_shares``) and has one
audience: ``age`` bucket, ``gender`` and ``interest`` code, as in the real file. Each ad set has
two independent normal random effects: ``v`` on delivery (log impressions) and ``u`` on
conversions (sd ``adset_sd``). Ads sharing ``u`` and the audience are near-duplicates, which is
why random folds leak and grouped folds are needed.

Delivery, per ad::

    log Impressions ~ Normal(impressions_log_mean + v, impressions_log_sd), clipped to [4.5, 16]
    ad is "view-only" with probability view_only_share:  Clicks = 0, Spent = 0
    otherwise   Clicks ~ Poisson(Impressions * ctr_ad),  log ctr_ad ~ Normal(log ctr_mean, ctr_sd)
    Spent = Clicks * cpc_ad,  log cpc_ad ~ Normal(log cpc_mean, cpc_sd)   (pay per click)

Conversions, per ad, with observed features ``x``::

    log mu = intercept + b_imp * log(Impressions) + b_ctr * log1p(ctr_per_mille)
             + age_effect[age] + gender_effect[gender] + interest_effect[interest] + u
    ctr_per_mille = 1000 * Clicks / Impressions   (log1p keeps one click on a tiny ad sane)
    Total_Conversion ~ Poisson(mu * g),  g ~ Gamma(1/dispersion, dispersion)   (NB2; g = 1 when
                                                                              dispersion = 0)
    Approved_Conversion ~ Binomial(Total_Conversion, p_approve)

``expected_total_conversion`` in :attr:`AdSimulationResult.expected` is ``mu`` *including* the
ad set's ``u`` (the conditional mean of that ad). Because ``u`` and the Gamma noise are
independent of the features, a Poisson GLM without them still estimates the slopes
consistently; only its intercept absorbs ``adset_sd**2 / 2`` (``E[exp(u)]``), which the truth
records as ``marginal_intercept``.

The quirks of the real file follow from the model: view-only ads have zero clicks and zero spend
but conversions (view-through attribution); conversions exceed clicks whenever few clicks meet a
high ``mu``; ``Approved_Conversion`` is about half zeros with a long negative-binomial tail.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liftlab.simulate.common import json_safe
from liftlab.simulate.experiments import prepare_data_path
from strategies.errors import ConfigError

__all__ = [
    "AGE_BUCKETS",
    "AdSimulationConfig",
    "AdSimulationResult",
    "COLUMNS",
    "INTEREST_CODES",
    "simulate_ads",
    "write_ads",
]

COLUMNS: tuple[str, ...] = (
    "ad_id",
    "xyz_campaign_id",
    "fb_campaign_id",
    "age",
    "gender",
    "interest",
    "Impressions",
    "Clicks",
    "Spent",
    "Total_Conversion",
    "Approved_Conversion",
)
AGE_BUCKETS: tuple[str, ...] = ("30-34", "35-39", "40-44", "45-49")
GENDERS: tuple[str, ...] = ("M", "F")
# The 40 interest codes of the real file: categories, not a scale.
INTEREST_CODES: tuple[int, ...] = (
    *range(15, 33),
    2,
    7,
    10,
    36,
    63,
    64,
    65,
    66,
    *range(100, 115),
)
# The real file has campaigns 916, 936 and 1178; the others exist only for n_campaigns > 3.
CAMPAIGN_IDS: tuple[int, ...] = (916, 936, 1178, 1250, 1312, 1427, 1533, 1610)


@dataclass(frozen=True)
class AdSimulationConfig:
    """Parameters of the generating model; defaults mimic the real KAG file (1,143 ads).

    Effects are on the log scale of expected ``Total_Conversion``; the first level of each
    categorical (``30-34``, ``M``) is the reference with effect 0. Interest effects are drawn
    from ``Normal(0, interest_sd)`` with the seed and reported in the truth.
    """

    n_ads: int = 1143
    n_campaigns: int = 3
    ads_per_adset: float = 1.65
    seed: int = 42
    campaign_shares: tuple[float, ...] | None = (0.05, 0.41, 0.54)
    impressions_log_mean: float = 10.5
    impressions_log_sd: float = 1.6
    impressions_adset_sd: float = 1.2
    view_only_share: float = 0.12
    ctr_mean: float = 1.8e-4
    ctr_sd: float = 0.5
    cpc_mean: float = 1.5
    cpc_sd: float = 0.3
    intercept: float = -3.9
    log_impressions_effect: float = 0.45
    log1p_ctr_per_mille_effect: float = 0.8
    age_effects: tuple[float, ...] = (0.0, -0.15, -0.3, -0.4)
    female_effect: float = 0.1
    interest_sd: float = 0.25
    adset_sd: float = 0.3
    dispersion: float = 0.3
    p_approve: float = 0.33

    def __post_init__(self) -> None:
        if isinstance(self.n_ads, bool) or not isinstance(self.n_ads, int) or self.n_ads < 1:
            raise ConfigError(f"n_ads must be a positive integer, got {self.n_ads!r}")
        if not isinstance(self.n_campaigns, int) or not 1 <= self.n_campaigns <= len(CAMPAIGN_IDS):
            raise ConfigError(
                f"n_campaigns must be an integer in 1..{len(CAMPAIGN_IDS)}, "
                f"got {self.n_campaigns!r}"
            )
        if self.campaign_shares is not None and (
            len(self.campaign_shares) != self.n_campaigns
            or any(s <= 0 for s in self.campaign_shares)
        ):
            raise ConfigError(
                f"campaign_shares must hold {self.n_campaigns} positive numbers (or be None for "
                f"equal shares), got {self.campaign_shares!r}"
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not self.ads_per_adset >= 1:
            raise ConfigError(f"ads_per_adset must be >= 1, got {self.ads_per_adset!r}")
        for name in ("view_only_share", "p_approve"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("ctr_mean", "cpc_mean"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in (
            "impressions_log_sd",
            "impressions_adset_sd",
            "ctr_sd",
            "cpc_sd",
            "interest_sd",
            "adset_sd",
            "dispersion",
        ):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if len(self.age_effects) != len(AGE_BUCKETS):
            raise ConfigError(
                f"age_effects must hold one effect per bucket {AGE_BUCKETS}, "
                f"got {self.age_effects!r}"
            )


@dataclass(frozen=True)
class AdSimulationResult:
    """The simulated ads, the generating coefficients and each ad's true expectation.

    ``truth`` is JSON-serialisable (coefficients, per-level effects, noise parameters);
    ``expected`` has one row per ad: ``ad_id``, ``fb_campaign_id``, ``adset_effect``,
    ``expected_total_conversion`` (conditional mean incl. the ad-set effect) and
    ``expected_approved_conversion``.
    """

    data: pd.DataFrame
    truth: dict[str, Any]
    expected: pd.DataFrame


def simulate_ads(config: AdSimulationConfig | None = None) -> AdSimulationResult:
    """Draw one KAG-shaped ad table from the generating model (see the module docstring)."""
    cfg = config if config is not None else AdSimulationConfig()
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_ads

    # Ad sets: sizes, then each ad inherits its set's campaign, audience and random effects.
    n_sets_guess = n  # upper bound: every set has at least one ad
    sizes = 1 + rng.poisson(cfg.ads_per_adset - 1.0, size=n_sets_guess)
    n_sets = int(np.searchsorted(np.cumsum(sizes), n) + 1)
    sizes = sizes[:n_sets]
    sizes[-1] -= int(sizes.sum() - n)
    set_of_ad = np.repeat(np.arange(n_sets), sizes)

    campaigns = np.array(CAMPAIGN_IDS[: cfg.n_campaigns])
    shares = np.asarray(cfg.campaign_shares or [1.0] * cfg.n_campaigns, dtype=float)
    set_campaign = rng.choice(campaigns, size=n_sets, p=shares / shares.sum())
    set_age = rng.choice(len(AGE_BUCKETS), size=n_sets, p=[0.37, 0.22, 0.18, 0.23])
    set_gender = rng.integers(0, 2, size=n_sets)
    interest_weights = 1.0 / np.arange(1, len(INTEREST_CODES) + 1) ** 0.9
    set_interest = rng.choice(
        len(INTEREST_CODES), size=n_sets, p=interest_weights / interest_weights.sum()
    )
    set_delivery = rng.normal(0.0, cfg.impressions_adset_sd, size=n_sets)
    set_u = rng.normal(0.0, cfg.adset_sd, size=n_sets)
    interest_effects = rng.normal(0.0, cfg.interest_sd, size=len(INTEREST_CODES))

    # Ordering sets by campaign mirrors the real file (ads of one campaign are contiguous).
    order = np.argsort(set_campaign[set_of_ad], kind="stable")
    set_of_ad = set_of_ad[order]

    # Delivery.
    log_imp = rng.normal(
        cfg.impressions_log_mean + set_delivery[set_of_ad], cfg.impressions_log_sd, size=n
    )
    impressions = np.maximum(1, np.rint(np.exp(np.clip(log_imp, 4.5, 16.0)))).astype(np.int64)
    view_only = rng.random(n) < cfg.view_only_share
    ctr_ad = np.exp(rng.normal(math.log(cfg.ctr_mean), cfg.ctr_sd, size=n))
    clicks = np.where(view_only, 0, rng.poisson(impressions * ctr_ad)).astype(np.int64)
    cpc_ad = np.exp(rng.normal(math.log(cfg.cpc_mean), cfg.cpc_sd, size=n))
    spent = np.round(clicks * cpc_ad, 2)

    # Conversions.
    age_eff = np.asarray(cfg.age_effects, dtype=float)[set_age[set_of_ad]]
    gender_eff = np.where(set_gender[set_of_ad] == 1, cfg.female_effect, 0.0)
    interest_eff = interest_effects[set_interest[set_of_ad]]
    ctr_per_mille = 1000.0 * clicks / impressions
    u = set_u[set_of_ad]
    log_mu = (
        cfg.intercept
        + cfg.log_impressions_effect * np.log(impressions)
        + cfg.log1p_ctr_per_mille_effect * np.log1p(ctr_per_mille)
        + age_eff
        + gender_eff
        + interest_eff
        + u
    )
    mu = np.exp(log_mu)
    if cfg.dispersion > 0:
        shape = 1.0 / cfg.dispersion
        gamma = rng.gamma(shape, 1.0 / shape, size=n)
    else:
        gamma = np.ones(n)
    total = rng.poisson(mu * gamma).astype(np.int64)
    approved = rng.binomial(total, cfg.p_approve).astype(np.int64)

    set_ids = 103916 + np.cumsum(rng.integers(1, 4, size=n_sets))
    ad_ids = 708746 + np.cumsum(rng.integers(1, 60, size=n))
    fb_ids = set_ids[set_of_ad].astype(np.int64)

    data = pd.DataFrame(
        {
            "ad_id": ad_ids.astype(np.int64),
            "xyz_campaign_id": set_campaign[set_of_ad].astype(np.int64),
            "fb_campaign_id": fb_ids,
            "age": pd.Series(np.asarray(AGE_BUCKETS)[set_age[set_of_ad]].tolist(), dtype="str"),
            "gender": pd.Series(np.asarray(GENDERS)[set_gender[set_of_ad]].tolist(), dtype="str"),
            "interest": np.asarray(INTEREST_CODES, dtype=np.int64)[set_interest[set_of_ad]],
            "Impressions": impressions,
            "Clicks": clicks,
            "Spent": spent.astype(np.float64),
            "Total_Conversion": total,
            "Approved_Conversion": approved,
        },
        columns=list(COLUMNS),
    )
    expected = pd.DataFrame(
        {
            "ad_id": data["ad_id"],
            "fb_campaign_id": fb_ids,
            "adset_effect": u,
            "expected_total_conversion": mu,
            "expected_approved_conversion": mu * cfg.p_approve,
        }
    )
    truth = {
        "model": "log E[Total_Conversion | x, u] = intercept + b . x + u",
        "intercept": cfg.intercept,
        "marginal_intercept": cfg.intercept + cfg.adset_sd**2 / 2.0,
        "coefficients": {
            "log_impressions": cfg.log_impressions_effect,
            "log1p_ctr_per_mille": cfg.log1p_ctr_per_mille_effect,
        },
        "age_effects": dict(zip(AGE_BUCKETS, map(float, cfg.age_effects), strict=True)),
        "gender_effects": {"M": 0.0, "F": float(cfg.female_effect)},
        "interest_effects": {
            str(code): float(eff)
            for code, eff in zip(INTEREST_CODES, interest_effects, strict=True)
        },
        "adset_sd": cfg.adset_sd,
        "dispersion": cfg.dispersion,
        "p_approve": cfg.p_approve,
        "config": asdict(cfg),
    }
    return AdSimulationResult(data=data, truth=json_safe(truth), expected=expected)


def write_ads(result: AdSimulationResult, path: str | Path) -> dict[str, Path]:
    """Write the ads (CSV or Parquet, by suffix) with ``<stem>_truth.json`` and
    ``<stem>_expected.csv`` beside them, so the data never travels without its ground truth."""
    path, suffix = prepare_data_path(path)
    truth_path = path.parent / f"{path.stem}_truth.json"
    expected_path = path.parent / f"{path.stem}_expected.csv"
    if suffix == ".parquet":
        result.data.to_parquet(path, index=False)
    else:
        result.data.to_csv(path, index=False)
    result.expected.to_csv(expected_path, index=False)
    truth_path.write_text(json.dumps(result.truth, indent=2) + "\n", encoding="utf-8")
    return {"data": path, "truth": truth_path, "expected": expected_path}
