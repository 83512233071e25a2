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

Guardrails (metrics with ``role="guardrail"``) answer a different question — "did it get
worse?" — with a non-inferiority check on the unadjusted (1 − α) relative-lift CI (delta or
Fieller, whichever the run uses) and the metric's relative ``non_inferiority_margin`` m. The
*bad side* is down for ``direction="increase"`` and up for ``"decrease"``:

* ``pass``         — the CI's bad-side bound lies within the margin (``low > −m`` for increase,
  ``high < m`` for decrease): any harm larger than m is ruled out (non-inferiority shown, a
  one-sided test at level α/2). With m = 0 this asks for a significant improvement.
* ``fail``         — the whole CI lies beyond the margin on the bad side (``high < −m`` /
  ``low > m``): harm larger than the tolerated margin is significant. With m = 0 this is any
  significant harm. A small, significant deterioration *inside* the margin passes — the margin
  is exactly the harm the team agreed to tolerate.
* ``inconclusive`` — anything else, and every row whose status is not "ok" (an empty arm, zero
  variance or a sample-ratio mismatch can neither show safety nor harm).

:func:`apply_guardrails` then downgrades a primary/secondary ``win`` to ``inconclusive`` when
any guardrail of the same experiment × segment × variant is not ``pass`` (a win bought with a
possible regression is not a win), and names the guardrail(s) and their status in the message.
Guardrails are not corrected for multiplicity among themselves (being strict about *passing*
is the conservative direction); their own ``decision`` is computed like any metric's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The values of ``decision`` and ``guardrail_status`` are listed, with the results table they
# belong to, in strategies.stats.schema (DECISIONS, GUARDRAIL_STATUSES).


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


def guardrail_status(
    *,
    status: np.ndarray,
    rel_ci_low: np.ndarray,
    rel_ci_high: np.ndarray,
    direction: np.ndarray,
    margin: np.ndarray | float,
) -> np.ndarray:
    """ "pass" / "fail" / "inconclusive" per guardrail comparison (rules in the module docstring).

    NaN bounds compare False, so an undefined relative lift is "inconclusive".
    """
    ok = np.asarray(status) == "ok"
    low = np.asarray(rel_ci_low, dtype=np.float64)
    high = np.asarray(rel_ci_high, dtype=np.float64)
    margin = np.asarray(margin, dtype=np.float64)
    decrease = np.asarray(direction) == "decrease"
    safe = np.where(decrease, high < margin, low > -margin)
    harmed = np.where(decrease, low > margin, high < -margin)
    return np.select([ok & safe, ok & harmed], ["pass", "fail"], default="inconclusive").astype(
        object
    )


def apply_guardrails(
    *,
    decision: np.ndarray,
    message: np.ndarray,
    role: np.ndarray,
    guardrail: np.ndarray,
    group: np.ndarray,
    metric: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Downgrade primary/secondary wins whose comparison group has a guardrail not passing.

    ``group`` labels the comparison (experiment × segment × variant) each row belongs to;
    ``guardrail`` holds the guardrail status on guardrail rows (ignored elsewhere). Returns the
    new decisions and messages. Work is vectorised over rows; only the text of the (few)
    affected groups is joined per group.
    """
    decision = np.asarray(decision, dtype=object).copy()
    message = np.asarray(message, dtype=object).copy()
    role = np.asarray(role)
    is_guard = role == "guardrail"
    blocking = is_guard & (np.asarray(guardrail, dtype=object) != "pass")
    if not blocking.any():
        return decision, message
    group_codes, _ = pd.factorize(np.asarray(group, dtype=object))
    blocked_group = np.zeros(group_codes.max() + 1, dtype=bool)
    blocked_group[group_codes[blocking]] = True
    hit = ~is_guard & (decision == "win") & blocked_group[group_codes]
    if not hit.any():
        return decision, message
    notes = pd.Series(
        np.asarray(metric, dtype=object)[blocking].astype(str)
        + "="
        + np.asarray(guardrail, dtype=object)[blocking].astype(str)
    )
    text = notes.groupby(group_codes[blocking], sort=False).agg(", ".join)
    reason = (
        "significant result held back: guardrail(s) not passed ("
        + pd.Series(group_codes[hit]).map(text).to_numpy(dtype=object)
        + ")"
    )
    decision[hit] = "inconclusive"
    message[hit] = np.where(message[hit] == "", reason, message[hit] + "; " + reason)
    return decision, message
