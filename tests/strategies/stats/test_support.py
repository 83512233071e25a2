"""Helpers shared by the tests/test_stats_*.py files (no tests here).

They build inputs only — raw unit frames and simulated sufficient statistics — never expected
values: every expected number in the tests comes from scipy, statsmodels, a published result,
an independent computation in the test itself, or the truth of a simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from strategies.stats.aggregate import aggregate
from strategies.stats.analysis import AnalysisOptions, AnalysisResult, analyse
from strategies.stats.metrics import MetricSpec


def raw_frame(arms: dict[str, np.ndarray], column: str = "y") -> pd.DataFrame:
    """One row per unit with a ``variant`` column and the values in ``column``."""
    return pd.DataFrame(
        {
            "variant": np.concatenate([[name] * len(v) for name, v in arms.items()]),
            column: np.concatenate([np.asarray(v, dtype=float) for v in arms.values()]),
        }
    )


def analyse_raw(
    df: pd.DataFrame, metrics: list[MetricSpec], control: str = "control", **options
) -> AnalysisResult:
    """Raw rows → aggregate → analyse, the way the pipeline step does it."""
    stats = aggregate(df, metrics, variant_column="variant")
    return analyse(stats, metrics, AnalysisOptions(control=control, **options))


def stats_frame(
    experiment: np.ndarray,
    variant: np.ndarray,
    metric: str,
    n: np.ndarray,
    sum_y: np.ndarray,
    sum_y2: np.ndarray,
    sum_x: np.ndarray | None = None,
    sum_x2: np.ndarray | None = None,
    sum_xy: np.ndarray | None = None,
    **covariate_sums: np.ndarray,
) -> pd.DataFrame:
    """A sufficient-statistics frame (segment "all"); x ≡ 1 unless x-sums are given. Covariate
    sums (sum_z, sum_z2, sum_yz, sum_xz) are added when given; sum_xz defaults to sum_z."""
    n = np.asarray(n, dtype=np.int64)
    if covariate_sums:
        covariate_sums.setdefault("sum_xz", covariate_sums["sum_z"])
    frame = pd.DataFrame(
        {
            "experiment": np.asarray(experiment).astype(str),
            "segment": "all",
            "variant": np.asarray(variant).astype(str),
            "metric": metric,
            "n": n,
            "sum_y": sum_y,
            "sum_y2": sum_y2,
            "sum_x": n if sum_x is None else sum_x,
            "sum_x2": n if sum_x2 is None else sum_x2,
            "sum_xy": sum_y if sum_xy is None else sum_xy,
        }
    )
    return frame.assign(**covariate_sums)


def two_arm_stats(metric: str, control: dict, treatment: dict) -> pd.DataFrame:
    """Stats for many experiments at once: control/treatment dicts of equal-length arrays
    with keys n, sum_y, sum_y2 (and optionally sum_x, sum_x2, sum_xy and the covariate sums
    sum_z, sum_z2, sum_yz, sum_xz)."""
    n_exp = len(control["n"])
    exp = np.arange(n_exp)
    frames = [
        stats_frame(exp, np.full(n_exp, label), metric, **arm)
        for label, arm in (("control", control), ("treatment", treatment))
    ]
    return pd.concat(frames, ignore_index=True)


def simulate_binomial_arm(rng: np.random.Generator, n: int, p: float, size: int) -> dict:
    """Sufficient statistics of ``size`` arms of n Bernoulli(p) units: Σy = Σy² = count."""
    k = rng.binomial(n, p, size=size).astype(float)
    return {"n": np.full(size, n), "sum_y": k, "sum_y2": k}


def simulate_normal_arm(
    rng: np.random.Generator, n: int, mu: float, sigma: float, size: int
) -> dict:
    """Exact sufficient statistics of ``size`` arms of n i.i.d. N(mu, sigma²) units.

    For normal data the sample mean ~ N(mu, sigma²/n) and (n − 1)s²/sigma² ~ χ²(n − 1),
    independently, so Σy = n·ȳ and Σy² = (n − 1)s² + n·ȳ² have exactly the right joint law.
    """
    mean = rng.normal(mu, sigma / np.sqrt(n), size=size)
    ss = sigma**2 * rng.chisquare(n - 1, size=size)
    return {"n": np.full(size, n), "sum_y": n * mean, "sum_y2": ss + n * mean**2}


def simulate_bivariate_normal_arm(
    rng: np.random.Generator,
    n: int,
    mu: tuple[float, float],
    cov: np.ndarray,
    size: int,
) -> dict:
    """Exact sufficient statistics of ``size`` arms of n i.i.d. bivariate normal units (y, z).

    The sample mean vector ~ N(mu, cov/n) and the scatter matrix ~ Wishart(n − 1, cov),
    independently, so Σy, Σy², Σz, Σz², Σyz have exactly the right joint law (the bivariate
    version of :func:`simulate_normal_arm`), for CUPED simulations without raw rows.
    """
    cov = np.asarray(cov, dtype=float)
    mean = rng.multivariate_normal(mu, cov / n, size=size)
    scatter = stats.wishart.rvs(df=n - 1, scale=cov, size=size, random_state=rng)
    my, mz = mean[:, 0], mean[:, 1]
    return {
        "n": np.full(size, n),
        "sum_y": n * my,
        "sum_y2": scatter[:, 0, 0] + n * my**2,
        "sum_z": n * mz,
        "sum_z2": scatter[:, 1, 1] + n * mz**2,
        "sum_yz": scatter[:, 0, 1] + n * my * mz,
    }
