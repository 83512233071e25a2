"""The Bayesian layer: posterior columns for every row of the results table.

It reads the fixed-horizon results (for the estimates and the, possibly CUPED-reduced,
standard error of the difference) and the sufficient statistics (for the raw counts of
proportions) and returns :data:`~strategies.stats.schema.BAYES_COLUMNS` aligned with the results'
index. It adds a ``bayes_decision`` beside the frequentist ``decision`` and never replaces it.
The posterior mathematics (closed forms and quadrature) is :mod:`strategies.stats.bayesian`.

Orientation. ``prob_variant_better`` is the posterior probability that the variant is better
in the metric's good ``direction`` (lower is better for ``"decrease"``), and the expected
losses are oriented the same way; the credible intervals are always of ``θ_v − θ_c`` and
``θ_v/θ_c − 1``, like the frequentist ones.

Multiplicity. A flat-prior posterior, one comparison at a time, is no more protected against
"one of 30 comparisons looks good by chance" than an unadjusted p-value. So the credible level
of each row is Bonferroni-corrected over the *same family* the frequentist correction uses
(``correction_scope``, segment rows apart from overall rows; the family's size ``m`` counts its
rows with a p-value): the intervals are at ``1 − α/m`` (``bayes_cri_level``), and the decision,
which never contradicts them (:func:`~strategies.stats.bayesian.bayes_decision`), is a
multiplicity-aware call. With ``correction="none"`` the level is ``1 − α``. Bonferroni is at
most as lenient as Holm, so with a flat prior a Bayesian win on a mean or ratio implies a
significant frequentist result; the frequentist decision (Holm or whichever correction the run
uses) still decides the headline, and the report says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.stats.bayesian import BayesResult, bayes_decision, beta_binomial, gaussian
from strategies.stats.corrections import (
    Correction,
    CorrectionScope,
    check_correction,
    correction_families,
)
from strategies.stats.metrics import MetricSpec
from strategies.stats.schema import BAYES_COLUMNS, OVERALL_SEGMENT, RESULT_KEYS

__all__ = ["BayesianOptions", "bayesian_columns", "credible_levels"]


@dataclass(frozen=True)
class BayesianOptions:
    """Beta-binomial for proportions (prior Beta(prior_alpha, prior_beta)), Gaussian with a flat
    prior for means and ratios. ``loss_threshold`` is relative to the control estimate: 0.001 =
    willing to risk an expected loss of 0.1 % of the control value."""

    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    prob_threshold: float = 0.95
    loss_threshold: float = 0.001


def credible_levels(
    results: pd.DataFrame,
    *,
    alpha: float,
    correction: Correction = "holm",
    correction_scope: CorrectionScope = "run",
) -> np.ndarray:
    """Per-row credible level ``1 − α/m``, ``m`` the size of the row's correction family.

    The families are those of the frequentist correction
    (:func:`~strategies.stats.corrections.correction_families`: ``correction_scope``, overall
    and segment rows apart); ``m`` counts the family's rows with a p-value, as the correction
    does. ``correction="none"`` gives ``1 − α`` everywhere.
    """
    check_correction(correction)
    n = len(results)
    if correction == "none" or n == 0:
        return np.full(n, 1.0 - alpha)
    is_overall = results["segment"].astype(str).eq(OVERALL_SEGMENT).to_numpy()
    family = correction_families(
        results["experiment"].to_numpy(object),
        results["metric"].to_numpy(object),
        is_overall,
        correction_scope,
    )
    codes, _ = pd.factorize(family)
    tested = np.isfinite(results["p_value"].to_numpy(float))
    m = np.bincount(codes, weights=tested, minlength=codes.max() + 1)[codes]
    return 1.0 - alpha / np.maximum(m, 1.0)


def bayesian_columns(
    results: pd.DataFrame,
    stats: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    options: BayesianOptions,
    *,
    alpha: float,
    correction: Correction = "holm",
    correction_scope: CorrectionScope = "run",
) -> pd.DataFrame:
    """Bayesian columns aligned with ``results`` (same index).

    Proportions use the beta-binomial posterior of the raw counts (CUPED adjustment is a
    frequentist device and is not applied here). Means and ratios use a Gaussian posterior of
    each arm around its estimate; the per-arm variances are the plain ones scaled so that their
    sum equals the row's (possibly CUPED-reduced) variance of the difference. The credible
    level of each row is :func:`credible_levels` (pass the run's ``correction`` and
    ``correction_scope``), and so is the level the decision is taken at.
    """
    types = {m.name: m.type for m in metrics}
    directions = {m.name: m.direction for m in metrics}
    arm = stats[["experiment", "segment", "variant", "metric", "n", "sum_y"]]
    control = arm.rename(columns={"variant": "control", "n": "n_c", "sum_y": "s_c"})
    frame = (
        results[[*RESULT_KEYS, "control", "estimate_control", "estimate_variant", "abs_se"]]
        .merge(control, on=["experiment", "segment", "metric", "control"], how="left")
        .merge(
            arm.rename(columns={"n": "n_v", "sum_y": "s_v"}),
            on=["experiment", "segment", "metric", "variant"],
            how="left",
        )
    )
    is_prop = frame["metric"].map(types).eq("proportion").to_numpy()
    direction = frame["metric"].map(directions).fillna("increase").to_numpy(object)
    n_c, n_v = frame["n_c"].to_numpy(float), frame["n_v"].to_numpy(float)
    levels = credible_levels(
        results, alpha=alpha, correction=correction, correction_scope=correction_scope
    )

    out = {c: np.full(len(frame), np.nan) for c in BAYES_COLUMNS if c != "bayes_decision"}
    out["bayes_cri_level"] = levels.copy()
    decision = np.full(len(frame), "inconclusive", dtype=object)
    loss_abs = options.loss_threshold * np.abs(frame["estimate_control"].to_numpy(float))
    loss_abs = np.where(np.isfinite(loss_abs) & (loss_abs > 0), loss_abs, 1e-12)

    def _store(mask: np.ndarray, result: BayesResult) -> None:
        up = direction[mask] != "decrease"
        fields = {
            # oriented by the metric's direction (module docstring)
            "prob_variant_better": np.where(
                up, result.prob_variant_better, 1.0 - result.prob_variant_better
            ),
            "expected_loss_control": np.where(
                up, result.expected_loss_control, result.expected_loss_variant
            ),
            "expected_loss_variant": np.where(
                up, result.expected_loss_variant, result.expected_loss_control
            ),
            "bayes_abs_cri_low": result.abs_cri_low,
            "bayes_abs_cri_high": result.abs_cri_high,
            "bayes_rel_cri_low": result.rel_cri_low,
            "bayes_rel_cri_high": result.rel_cri_high,
        }
        for name, values in fields.items():
            out[name][mask] = values
        decision[mask] = bayes_decision(
            result,
            prob_threshold=options.prob_threshold,
            loss_threshold=loss_abs[mask],
            direction=direction[mask],
        )

    # One call per model and credible level (a handful of families, never one per row).
    for level in np.unique(levels):
        at_level = levels == level
        m = is_prop & at_level
        if m.any():
            _store(
                m,
                beta_binomial(
                    frame["s_c"].to_numpy(float)[m],
                    n_c[m],
                    frame["s_v"].to_numpy(float)[m],
                    n_v[m],
                    prior_alpha=options.prior_alpha,
                    prior_beta=options.prior_beta,
                    ci_level=float(level),
                ),
            )
        m = ~is_prop & at_level
        if m.any():
            se2_diff = frame["abs_se"].to_numpy(float)[m] ** 2
            # split the variance of the difference between the arms in proportion to 1/n
            share_c = (1.0 / n_c[m]) / (1.0 / n_c[m] + 1.0 / n_v[m])
            _store(
                m,
                gaussian(
                    frame["estimate_control"].to_numpy(float)[m],
                    se2_diff * share_c,
                    frame["estimate_variant"].to_numpy(float)[m],
                    se2_diff * (1.0 - share_c),
                    ci_level=float(level),
                ),
            )
    columns = pd.DataFrame(out, index=results.index)[
        [c for c in BAYES_COLUMNS if c != "bayes_decision"]
    ]
    columns["bayes_decision"] = np.where(
        results["status"].isin(["ok"]).to_numpy(), decision, "inconclusive"
    )
    return columns
