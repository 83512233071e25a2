"""The Bayesian layer in a run: multiplicity-aware credible levels, decisions that agree with
the printed intervals, and orientation by the metric's direction.

References are independent of the layer: the family sizes are counted from the results table,
the normal-model intervals come from ``scipy.stats.norm`` and P(better) of proportions from
quadrature of scipy's Beta distributions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from strategies.stats.analysis import AnalysisOptions
from strategies.stats.layers import BayesianOptions
from strategies.stats.layers.bayesian import credible_levels
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis

METRICS = [
    MetricSpec("conversion_rate", "proportion", column="converted"),
    MetricSpec("revenue", "mean", column="revenue"),
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="impressions"),
]
DESIGN = ABDesign("user_id", "variant", "A", ("B", "C"), "experiment", segment_columns=("device",))
ALPHA = 0.05


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """Three experiments × three arms with small true effects, so that some comparisons land
    between the uncorrected and the corrected thresholds."""
    rng = np.random.default_rng(20240610)
    frames = []
    for e, lift in enumerate([0.0, 0.06, 0.12]):
        n = 24_000
        arm = rng.choice(np.array(["A", "B", "C"]), size=n)
        effect = np.where(arm == "A", 0.0, np.where(arm == "B", lift, lift / 2))
        impressions = rng.poisson(8, n) + 1
        frames.append(
            pd.DataFrame(
                {
                    "experiment": f"exp{e}",
                    "user_id": np.arange(n) + e * n,
                    "variant": arm,
                    "device": rng.choice(np.array(["mobile", "desktop", "tablet"]), size=n),
                    "converted": rng.random(n) < 0.1 * (1 + effect),
                    "revenue": rng.gamma(0.5, 20.0 * (1 + effect)),
                    "impressions": impressions,
                    "clicks": rng.binomial(impressions, 0.05 * (1 + effect)),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["converted"] = out["converted"].astype(int)
    return out


def _run(data: pd.DataFrame, metrics=METRICS, **options):
    opts = AnalysisOptions(control="A", alpha=ALPHA, **options)
    return run_ab_analysis(data, DESIGN, metrics, opts, bayesian=BayesianOptions()).results


@pytest.mark.parametrize(
    ("correction", "scope"),
    [("holm", "run"), ("bh", "experiment"), ("holm", "metric"), ("none", "run")],
)
def test_credible_level_is_bonferroni_over_the_correction_family(data, correction, scope):
    res = _run(data, correction=correction, correction_scope=scope)
    keys = {"run": [], "experiment": ["experiment"], "metric": ["experiment", "metric"]}[scope]
    part = res["segment"].eq("all")
    family = [part] + [res[k] for k in keys]
    m = res.groupby(family)["p_value"].transform(lambda p: p.notna().sum())
    expected = 1 - ALPHA / m if correction != "none" else pd.Series(1 - ALPHA, index=res.index)
    np.testing.assert_allclose(res["bayes_cri_level"], expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        credible_levels(res, alpha=ALPHA, correction=correction, correction_scope=scope),
        expected,
    )


def test_intervals_are_at_the_corrected_level(data):
    res = _run(data)
    # normal model, flat prior: the interval is the z interval at the row's level
    gauss = res[res["metric_type"].isin(["mean", "ratio"])]
    z = stats.norm.ppf(1 - (1 - gauss["bayes_cri_level"]) / 2)
    np.testing.assert_allclose(gauss["bayes_abs_cri_low"], gauss["abs_diff"] - z * gauss["abs_se"])
    np.testing.assert_allclose(gauss["bayes_abs_cri_high"], gauss["abs_diff"] + z * gauss["abs_se"])
    # beta-binomial: each end of the absolute interval sits at the tail (1 − level)/2 of the
    # exact distribution of θ_B − θ_A (quadrature over scipy's Beta distributions)
    row = res[(res["metric"] == "conversion_rate") & (res["segment"] == "all")].iloc[0]
    arms = data[data["experiment"] == row["experiment"]].groupby("variant")["converted"]
    s, n = arms.sum(), arms.count()
    a = stats.beta(1 + s[row["control"]], 1 + n[row["control"]] - s[row["control"]])
    b = stats.beta(1 + s[row["variant"]], 1 + n[row["variant"]] - s[row["variant"]])
    tail = (1 - row["bayes_cri_level"]) / 2

    def cdf(t: float) -> float:  # P(θ_B − θ_A ≤ t)
        lo, hi = a.ppf(1e-12), a.ppf(1 - 1e-12)
        return integrate.quad(lambda x: a.pdf(x) * b.cdf(x + t), lo, hi, epsabs=1e-13)[0]

    assert cdf(row["bayes_abs_cri_low"]) == pytest.approx(tail, abs=1e-6)
    assert cdf(row["bayes_abs_cri_high"]) == pytest.approx(1 - tail, abs=1e-6)


def test_no_bayesian_call_contradicts_its_interval(data):
    res = _run(data)
    for side, sign in (("win", 1), ("loss", -1)):
        rows = res[res["bayes_decision"] == side]
        low, high = rows["bayes_abs_cri_low"], rows["bayes_abs_cri_high"]
        assert ((low > 0) if sign > 0 else (high < 0)).all(), side
        assert ((rows["bayes_rel_cri_low"] > 0) | (rows["bayes_rel_cri_high"] < 0)).all()
    # the data do reach calls, and some comparisons are clear only without the correction:
    # P(better) between 1 − α/2 and 1 − α/(2m) is never a call
    assert (res["bayes_decision"] != "inconclusive").sum() >= 4
    tail = np.minimum(res["prob_variant_better"], 1 - res["prob_variant_better"])
    between = (tail < ALPHA / 2) & (tail >= (1 - res["bayes_cri_level"]) / 2)
    assert between.any()
    assert (res.loc[between, "bayes_decision"] == "inconclusive").all()


def test_direction_decrease_orients_probability_losses_and_calls(data):
    up = _run(data)
    down_metrics = [dataclasses.replace(m, direction="decrease") for m in METRICS]
    down = _run(data, metrics=down_metrics)
    np.testing.assert_allclose(down["prob_variant_better"], 1 - up["prob_variant_better"])
    np.testing.assert_allclose(down["expected_loss_variant"], up["expected_loss_control"])
    np.testing.assert_allclose(down["expected_loss_control"], up["expected_loss_variant"])
    np.testing.assert_allclose(down["bayes_abs_cri_low"], up["bayes_abs_cri_low"])
    assert (up["bayes_decision"] == "win").any()
    mirrored = up["bayes_decision"].map({"win": "loss", "loss": "win"}).fillna("inconclusive")
    pd.testing.assert_series_equal(down["bayes_decision"], mirrored, check_names=False)
