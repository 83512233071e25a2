"""Uncertainty by a residual moving-block bootstrap, refitting the whole model per draw.

Why residual blocks: marketing outcomes have autocorrelated errors (unmodelled promotions, weather
runs), so resampling single residuals would understate the uncertainty; blocks keep the short-range
dependence. Resampling residuals (not rows) keeps the observed spend and dates, which the
adstock needs in order. Blocks wrap around the end (circular), so every period is equally likely
to be drawn. Default block length ``round(T ** (1/3))`` (5 for 156 weeks), the usual rate for
block bootstraps of smooth statistics.

Each draw refits warm-started from the point estimate with one start (the point fit already
searched globally), which keeps 200 draws to a few seconds. Lift tests are redrawn too: each
measured value gets ``N(0, se²)`` noise, so the calibration's own uncertainty reaches the
intervals. A draw whose fit fails is counted, not fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.errors import InputDataError
from strategies.mmm.data import MMMData
from strategies.mmm.fit import FittedMMM, MMMSpec, fit_mmm


@dataclass
class BootstrapResult:
    draws: list[FittedMMM]
    n_failed: int
    block_length: int


def default_block_length(n_periods: int) -> int:
    return max(1, int(round(n_periods ** (1.0 / 3.0))))


def circular_block_indices(n: int, block_length: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` periods made of blocks of consecutive periods starting anywhere,
    wrapping past the end."""
    n_blocks = -(-n // block_length)
    starts = rng.integers(0, n, size=n_blocks)
    return ((starts[:, None] + np.arange(block_length)[None, :]) % n).ravel()[:n]


def block_bootstrap(
    data: MMMData,
    spec: MMMSpec,
    fitted: FittedMMM,
    *,
    n_draws: int = 200,
    block_length: int | None = None,
    seed: int = 0,
    lift_tests: pd.DataFrame | None = None,
    n_starts: int = 1,
) -> BootstrapResult:
    """``n_draws`` refits on ``y* = fitted + resampled blocks of centred residuals``."""
    if n_draws < 0:
        raise InputDataError(f"n_draws must be >= 0, got {n_draws}")
    n = data.n_periods
    block = default_block_length(n) if block_length is None else int(block_length)
    if not 1 <= block <= n:
        raise InputDataError(f"block_length must be between 1 and {n}, got {block_length}")
    rng = np.random.default_rng(seed)
    prediction = fitted.predict(data)
    residuals = data.y - prediction
    residuals = residuals - residuals.mean()
    draws: list[FittedMMM] = []
    n_failed = 0
    for _ in range(n_draws):
        y_star = prediction + residuals[circular_block_indices(n, block, rng)]
        tests_star = None
        if lift_tests is not None and len(lift_tests):
            se = lift_tests["se"].to_numpy(float)
            tests_star = lift_tests.assign(
                incremental_outcome=lift_tests["incremental_outcome"].to_numpy(float)
                + rng.normal(0.0, 1.0, len(se)) * se
            )
        try:
            draws.append(
                fit_mmm(data.with_outcome(y_star), spec, tests_star, init=fitted, n_starts=n_starts)
            )
        except (InputDataError, ValueError, ArithmeticError, np.linalg.LinAlgError):
            n_failed += 1
    return BootstrapResult(draws=draws, n_failed=n_failed, block_length=block)
