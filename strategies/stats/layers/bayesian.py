"""The Bayesian layer: posterior columns for every row of the results table.

It reads the fixed-horizon results (for the estimates and the, possibly CUPED-reduced,
standard error of the difference) and the sufficient statistics (for the raw counts of
proportions) and returns :data:`~strategies.stats.schema.BAYES_COLUMNS` aligned with the results'
index. It adds a ``bayes_decision`` beside the frequentist ``decision`` and never replaces it.
The posterior mathematics (closed forms and quadrature) is :mod:`strategies.stats.bayesian`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.stats.bayesian import bayes_decision, beta_binomial, gaussian
from strategies.stats.metrics import MetricSpec
from strategies.stats.schema import BAYES_COLUMNS, RESULT_KEYS

__all__ = ["BayesianOptions", "bayesian_columns"]


@dataclass(frozen=True)
class BayesianOptions:
    """Beta-binomial for proportions (prior Beta(prior_alpha, prior_beta)), Gaussian with a flat
    prior for means and ratios. ``loss_threshold`` is relative to the control estimate: 0.001 =
    willing to risk an expected loss of 0.1 % of the control value."""

    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    prob_threshold: float = 0.95
    loss_threshold: float = 0.001


def bayesian_columns(
    results: pd.DataFrame,
    stats: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    options: BayesianOptions,
    *,
    alpha: float,
) -> pd.DataFrame:
    """Bayesian columns aligned with ``results`` (same index).

    Proportions use the beta-binomial posterior of the raw counts (CUPED adjustment is a
    frequentist device and is not applied here). Means and ratios use a Gaussian posterior of
    each arm around its estimate; the per-arm variances are the plain ones scaled so that their
    sum equals the row's (possibly CUPED-reduced) variance of the difference.
    """
    types = {m.name: m.type for m in metrics}
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
    n_c, n_v = frame["n_c"].to_numpy(float), frame["n_v"].to_numpy(float)
    ci_level = 1.0 - alpha

    out = {c: np.full(len(frame), np.nan) for c in BAYES_COLUMNS if c != "bayes_decision"}
    decision = np.full(len(frame), "inconclusive", dtype=object)
    loss_abs = options.loss_threshold * np.abs(frame["estimate_control"].to_numpy(float))
    loss_abs = np.where(np.isfinite(loss_abs) & (loss_abs > 0), loss_abs, 1e-12)

    def _store(mask: np.ndarray, result) -> None:  # type: ignore[no-untyped-def]
        fields = {
            "prob_variant_better": result.prob_variant_better,
            "expected_loss_control": result.expected_loss_control,
            "expected_loss_variant": result.expected_loss_variant,
            "bayes_abs_cri_low": result.abs_cri_low,
            "bayes_abs_cri_high": result.abs_cri_high,
            "bayes_rel_cri_low": result.rel_cri_low,
            "bayes_rel_cri_high": result.rel_cri_high,
        }
        for name, values in fields.items():
            out[name][mask] = values
        decision[mask] = bayes_decision(
            result, prob_threshold=options.prob_threshold, loss_threshold=loss_abs[mask]
        )

    if is_prop.any():
        m = is_prop
        _store(
            m,
            beta_binomial(
                frame["s_c"].to_numpy(float)[m],
                n_c[m],
                frame["s_v"].to_numpy(float)[m],
                n_v[m],
                prior_alpha=options.prior_alpha,
                prior_beta=options.prior_beta,
                ci_level=ci_level,
            ),
        )
    if (~is_prop).any():
        m = ~is_prop
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
                ci_level=ci_level,
            ),
        )
    columns = pd.DataFrame(out, index=results.index)
    columns["bayes_decision"] = np.where(
        results["status"].isin(["ok"]).to_numpy(), decision, "inconclusive"
    )
    return columns
