"""Turn inference results into a decision per comparison, vectorised.

Rules, in order:

1. status not "ok" (empty arm, zero variance, or a sample-ratio mismatch) → ``inconclusive``:
   a broken comparison or a broken split can never be a win.
2. ``p_value_adjusted < alpha`` → ``win`` when the difference points in the metric's good
   direction (``increase``: abs_diff > 0; ``decrease``: abs_diff < 0), otherwise ``loss``.
3. not significant and the relative-lift CI lies entirely inside ``(−min_effect, +min_effect)``
   → ``neutral``: the data exclude every practically relevant effect, so the change is safe
   to ship or to drop on other grounds. (The CI is the unadjusted (1 − α) interval.)
4. otherwise → ``inconclusive``: not significant, but a relevant effect is still plausible.
"""

from __future__ import annotations

import numpy as np

DECISIONS: tuple[str, ...] = ("win", "loss", "neutral", "inconclusive")


def decide(
    *,
    status: np.ndarray,
    p_value_adjusted: np.ndarray,
    abs_diff: np.ndarray,
    rel_ci_low: np.ndarray,
    rel_ci_high: np.ndarray,
    direction: np.ndarray,
    min_effect: np.ndarray | float,
    alpha: np.ndarray | float,
) -> np.ndarray:
    """One decision string per comparison (see the module docstring for the rules)."""
    status = np.asarray(status)
    p = np.asarray(p_value_adjusted, dtype=np.float64)
    diff = np.asarray(abs_diff, dtype=np.float64)
    low = np.asarray(rel_ci_low, dtype=np.float64)
    high = np.asarray(rel_ci_high, dtype=np.float64)
    direction = np.asarray(direction)
    min_effect = np.asarray(min_effect, dtype=np.float64)

    ok = status == "ok"
    significant = ok & (p < alpha)  # NaN p compares False
    good = np.where(direction == "decrease", diff < 0, diff > 0)
    neutral = ok & ~significant & (low > -min_effect) & (high < min_effect)
    return np.select(
        [significant & good, significant, neutral],
        ["win", "loss", "neutral"],
        default="inconclusive",
    ).astype(object)
