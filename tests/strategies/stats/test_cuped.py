"""CUPED: against statsmodels OLS (means), against an independent per-unit re-computation
(ratios, proportions), and by simulation from sufficient statistics (coverage and CI shrink).

Convention under test (see strategies/stats/cuped.py): θ is the slope of the metric's
linearised unit values on z *within arms*, pooled over the comparison's two arms — for a mean
exactly the coefficient of z in ``y ~ 1 + treatment + z`` — so the adjusted difference equals
the OLS treatment coefficient to rounding. The CUPED SE (per-arm residual variances, Welch
style) is heteroscedasticity-robust; it matches OLS with the HC2 covariance (which reduces to
Welch without a covariate) up to O(1/n) and the chance covariate imbalance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import aggregate
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import (
    analyse_raw,
    simulate_bivariate_normal_arm,
    stats_frame,
    two_arm_stats,
)

REV = MetricSpec("rev", "mean", column="y", covariate="z")
REV_PLAIN = MetricSpec("rev", "mean", column="y")


def _units(rng: np.random.Generator, n_c: int, n_v: int, effect: float) -> pd.DataFrame:
    """Revenue-like y driven by a skewed pre-period z, heteroscedastic, unequal arms."""
    t = np.repeat([0, 1], [n_c, n_v])
    z = rng.gamma(2.0, 5.0, n_c + n_v)
    y = 3.0 + 0.8 * z + effect * t + rng.normal(0.0, 1.0, n_c + n_v) * (2.0 + 0.2 * z)
    return pd.DataFrame({"variant": np.where(t == 1, "treatment", "control"), "y": y, "z": z})


def test_mean_equals_ols_with_treatment_and_centred_covariate():
    rng = np.random.default_rng(31)
    n_c, n_v = 20_000, 21_000
    df = _units(rng, n_c, n_v, effect=0.12)
    split = {"control": n_c, "treatment": n_v}
    row = analyse_raw(df, [REV], expected_split=split).results.iloc[0]

    t = (df["variant"] == "treatment").to_numpy(float)
    y, z = df["y"].to_numpy(), df["z"].to_numpy()
    design = sm.add_constant(np.column_stack([t, z - z.mean()]))
    ols = sm.OLS(y, design).fit(cov_type="HC2")

    # θ and the adjusted difference: exactly the OLS coefficients (to rounding).
    assert row["cuped_theta"] == pytest.approx(ols.params[2], rel=1e-9)
    assert row["abs_diff"] == pytest.approx(ols.params[1], rel=1e-9)
    # Arm estimates: each arm's mean moved to the pooled covariate mean.
    for arm, col in ((0, "estimate_control"), (1, "estimate_variant")):
        m = t == arm
        expected = y[m].mean() - ols.params[2] * (z[m].mean() - z.mean())
        assert row[col] == pytest.approx(expected, rel=1e-10)
    # SE, statistic, p: asymptotically equal to the robust (HC2) OLS inference. The gap is
    # O(1/n) plus O(covariate imbalance × heteroscedasticity), ~5e-4 here at 20k units per arm.
    assert row["abs_se"] == pytest.approx(ols.bse[1], rel=1e-3)
    assert row["statistic"] == pytest.approx(ols.tvalues[1], rel=1e-3)
    assert 1e-4 < row["p_value"] < 0.05  # a moderate effect, so p is not in the far tail
    assert row["p_value"] == pytest.approx(ols.pvalues[1], rel=1e-2)
    assert row["test"] == "welch_t_cuped" and row["status"] == "ok"

    # Variance reduction, re-computed from the residual and raw per-arm variances.
    resid = y - ols.params[2] * z
    var_cuped = sum(resid[t == a].var(ddof=1) / (t == a).sum() for a in (0, 1))
    var_plain = sum(y[t == a].var(ddof=1) / (t == a).sum() for a in (0, 1))
    assert row["variance_reduction"] == pytest.approx(1 - var_cuped / var_plain, rel=1e-9)
    assert row["abs_se"] == pytest.approx(np.sqrt(var_cuped), rel=1e-9)
    assert row["variance_reduction"] > 0.3  # z explains a lot of y here


def test_without_covariate_the_columns_are_nan_and_results_unchanged():
    rng = np.random.default_rng(32)
    df = _units(rng, 500, 500, effect=0.5)
    plain = analyse_raw(df, [REV_PLAIN]).results.iloc[0]
    assert np.isnan(plain["cuped_theta"]) and np.isnan(plain["variance_reduction"])
    welch = stats.ttest_ind(
        df.loc[df["variant"] == "treatment", "y"],
        df.loc[df["variant"] == "control", "y"],
        equal_var=False,
    )
    assert plain["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)


def _linearised(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-unit linearisation (y_i − R x_i)/x̄ of a ratio (Deng et al. 2018)."""
    return (y - y.sum() / x.sum() * x) / x.mean()


def _cuped_by_hand(arms: dict[str, tuple], ddof: int) -> dict[str, float]:
    """CUPED from raw per-unit values: arms maps name -> (x, y, z)."""
    lin = {a: _linearised(x, y) for a, (x, y, _) in arms.items()}
    zc = {a: z - z.mean() for a, (_, _, z) in arms.items()}
    theta = sum((lin[a] * zc[a]).sum() for a in arms) / sum((zc[a] ** 2).sum() for a in arms)
    z_all = np.concatenate([z for _, _, z in arms.values()])
    est, var = {}, {}
    for a, (x, y, z) in arms.items():
        est[a] = y.sum() / x.sum() - theta * (z.mean() - z_all.mean())
        var[a] = (lin[a] - theta * z).var(ddof=ddof) / len(z)
    var_plain = sum(lin[a].var(ddof=ddof) / len(lin[a]) for a in arms)
    return {
        "theta": theta,
        "control": est["control"],
        "treatment": est["treatment"],
        "se": np.sqrt(var["control"] + var["treatment"]),
        "reduction": 1 - (var["control"] + var["treatment"]) / var_plain,
    }


def test_ratio_matches_an_independent_linearisation():
    rng = np.random.default_rng(33)
    rows = []
    for arm, n, scale in (("control", 800, 1.0), ("treatment", 750, 1.1)):
        engagement = rng.gamma(2.0, 1.0, n)
        sessions = 1 + rng.poisson(2.0 * engagement)
        clicks = rng.binomial(sessions, np.minimum(0.15 * scale * np.sqrt(engagement), 1))
        pre_clicks = rng.poisson(0.6 * engagement)
        rows.append(pd.DataFrame({"variant": arm, "c": clicks, "s": sessions, "pre": pre_clicks}))
    df = pd.concat(rows, ignore_index=True)
    metric = MetricSpec("ctr", "ratio", numerator="c", denominator="s", covariate="pre")
    split = {"control": 800, "treatment": 750}
    row = analyse_raw(df, [metric], expected_split=split).results.iloc[0]

    arms = {
        a: tuple(df.loc[df["variant"] == a, col].to_numpy(float) for col in ("s", "c", "pre"))
        for a in ("control", "treatment")
    }
    ref = _cuped_by_hand(arms, ddof=1)
    assert row["test"] == "delta_method_z_cuped"
    assert row["cuped_theta"] == pytest.approx(ref["theta"], rel=1e-9)
    assert row["estimate_control"] == pytest.approx(ref["control"], rel=1e-10)
    assert row["estimate_variant"] == pytest.approx(ref["treatment"], rel=1e-10)
    assert row["abs_se"] == pytest.approx(ref["se"], rel=1e-9)
    assert row["variance_reduction"] == pytest.approx(ref["reduction"], rel=1e-8)
    z = row["abs_diff"] / ref["se"]
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-8)


def test_proportion_matches_an_independent_computation():
    rng = np.random.default_rng(34)
    n = 3000
    latent = rng.normal(size=2 * n)
    converted = (latent + rng.normal(size=2 * n) > 1.2).astype(int)
    df = pd.DataFrame(
        {
            "variant": np.repeat(["control", "treatment"], n),
            "conv": converted,
            "pre_visits": rng.poisson(np.exp(0.5 * latent)),
        }
    )
    metric = MetricSpec("cr", "proportion", column="conv", covariate="pre_visits")
    row = analyse_raw(df, [metric]).results.iloc[0]
    ones = np.ones(n)
    arms = {
        a: (ones, *(df.loc[df["variant"] == a, c].to_numpy(float) for c in ("conv", "pre_visits")))
        for a in ("control", "treatment")
    }
    ref = _cuped_by_hand(arms, ddof=0)  # proportions use p(1 − p)/n, i.e. ddof = 0
    assert row["test"] == "z_cuped"
    assert row["cuped_theta"] == pytest.approx(ref["theta"], rel=1e-9)
    assert row["abs_diff"] == pytest.approx(ref["treatment"] - ref["control"], rel=1e-9)
    assert row["abs_se"] == pytest.approx(ref["se"], rel=1e-9)
    assert row["variance_reduction"] == pytest.approx(ref["reduction"], rel=1e-8)
    assert row["variance_reduction"] > 0.05


# ---------------------------------------------------------------------------------------------
# simulation: exact sufficient statistics of bivariate normal units


N_EXP = 20_000


def test_mean_cuped_keeps_coverage_and_shrinks_the_ci():
    rng = np.random.default_rng(35)
    rho, sd_y, sd_z, n = 0.6, 5.0, 3.0, 200
    cov = np.array([[sd_y**2, rho * sd_y * sd_z], [rho * sd_y * sd_z, sd_z**2]])
    mu_c, mu_v, mu_z = 10.0, 10.8, 4.0
    sums = two_arm_stats(
        "rev",
        simulate_bivariate_normal_arm(rng, n, (mu_c, mu_z), cov, N_EXP),
        simulate_bivariate_normal_arm(rng, n, (mu_v, mu_z), cov, N_EXP),
    )
    opts = AnalysisOptions(control="control", correction="none")
    cuped = analyse(sums, [REV], opts).results
    plain = analyse(sums, [REV_PLAIN], opts).results
    assert (cuped["status"] == "ok").all() and (cuped["test"] == "welch_t_cuped").all()

    true_diff, true_rel = mu_v - mu_c, mu_v / mu_c - 1
    abs_cov = ((cuped["abs_ci_low"] <= true_diff) & (true_diff <= cuped["abs_ci_high"])).mean()
    rel_cov = ((cuped["rel_ci_low"] <= true_rel) & (true_rel <= cuped["rel_ci_high"])).mean()
    assert 0.94 <= abs_cov <= 0.96
    assert 0.94 <= rel_cov <= 0.96
    # unbiased, and the SE matches the spread of the adjusted estimates
    assert cuped["abs_diff"].mean() == pytest.approx(true_diff, abs=0.01)
    assert cuped["abs_se"].mean() == pytest.approx(cuped["abs_diff"].std(), rel=0.03)
    # the CI shrinks by sqrt(1 − ρ²) = 0.8 and the variance by ρ² = 36 %
    width = (cuped["abs_ci_high"] - cuped["abs_ci_low"]) / (
        plain["abs_ci_high"] - plain["abs_ci_low"]
    )
    assert width.mean() == pytest.approx(np.sqrt(1 - rho**2), rel=0.02)
    assert cuped["variance_reduction"].mean() == pytest.approx(rho**2, abs=0.02)
    assert cuped["abs_diff"].std() < 0.85 * plain["abs_diff"].std()


def test_mean_cuped_aa_rejects_at_nominal_rate():
    rng = np.random.default_rng(36)
    cov = np.array([[9.0, 5.4], [5.4, 4.0]])  # ρ = 0.9
    sums = two_arm_stats(
        "rev",
        simulate_bivariate_normal_arm(rng, 100, (5.0, 2.0), cov, N_EXP),
        simulate_bivariate_normal_arm(rng, 100, (5.0, 2.0), cov, N_EXP),
    )
    res = analyse(sums, [REV], AnalysisOptions(control="control", correction="none")).results
    assert 0.04 <= (res["p_value"] < 0.05).mean() <= 0.06


def test_ratio_cuped_by_simulation():
    """Raw users (click propensity p_user shared by the experiment and a pre-period of the
    same metric), summed to sufficient statistics in numpy: CUPED CIs cover the true
    difference 94–96 % of the time and are narrower than the plain delta-method CIs."""
    rng = np.random.default_rng(37)
    n_exp, n_users, lift = 10_000, 200, 1.10
    true_ratio = 0.8 / (1.0 + 4.0)  # E[clicks]/E[sessions] = E[p_user], p_user ~ 0.8·Beta(1, 4)

    def arm(p_scale: float) -> dict:
        shape = (n_exp, n_users)
        p_user = 0.8 * rng.beta(1.0, 4.0, shape)  # ≤ 0.8, so p_user·lift stays ≤ 1
        sessions = (1 + rng.poisson(2.0, shape)).astype(float)
        clicks = rng.binomial(sessions.astype(int), p_user * p_scale).astype(float)
        pre = rng.binomial(1 + rng.poisson(15.0, shape), p_user).astype(float)  # pre-period
        return {
            "n": np.full(n_exp, n_users),
            "sum_y": clicks.sum(1),
            "sum_y2": (clicks**2).sum(1),
            "sum_x": sessions.sum(1),
            "sum_x2": (sessions**2).sum(1),
            "sum_xy": (sessions * clicks).sum(1),
            "sum_z": pre.sum(1),
            "sum_z2": (pre**2).sum(1),
            "sum_yz": (clicks * pre).sum(1),
            "sum_xz": (sessions * pre).sum(1),
        }

    sums = two_arm_stats("ctr", arm(1.0), arm(lift))
    opts = AnalysisOptions(control="control", correction="none")
    ctr = MetricSpec("ctr", "ratio", numerator="c", denominator="s", covariate="pre")
    cuped = analyse(sums, [ctr], opts).results
    plain = analyse(sums, [MetricSpec("ctr", "ratio", numerator="c", denominator="s")], opts)
    plain = plain.results
    true_diff = true_ratio * (lift - 1)

    covered = (cuped["abs_ci_low"] <= true_diff) & (true_diff <= cuped["abs_ci_high"])
    assert 0.94 <= covered.mean() <= 0.96
    assert cuped["abs_diff"].mean() == pytest.approx(true_diff, rel=0.03)
    assert cuped["abs_se"].mean() == pytest.approx(cuped["abs_diff"].std(), rel=0.05)
    rel_covered = (cuped["rel_ci_low"] <= lift - 1) & (lift - 1 <= cuped["rel_ci_high"])
    assert 0.94 <= rel_covered.mean() <= 0.96
    assert cuped["variance_reduction"].mean() > 0.15
    assert (cuped["abs_se"] < plain["abs_se"]).mean() > 0.95


# ---------------------------------------------------------------------------------------------
# edge cases and errors


def test_constant_covariate_means_no_adjustment():
    rng = np.random.default_rng(38)
    df = _units(rng, 300, 300, effect=1.0).assign(z=7.0)
    row = analyse_raw(df, [REV]).results.iloc[0]
    plain = analyse_raw(df, [REV_PLAIN]).results.iloc[0]
    assert row["cuped_theta"] == 0.0 and row["variance_reduction"] == 0.0
    assert row["abs_se"] == pytest.approx(plain["abs_se"], rel=1e-12)
    assert row["p_value"] == pytest.approx(plain["p_value"], rel=1e-9)
    assert "covariate 'z' is constant" in row["message"]


def test_covariate_sums_missing_from_the_stats_frame():
    k = np.array([10.0, 12.0])
    frame = stats_frame(["e", "e"], ["a", "b"], "rev", [100, 100], k, k * 3)
    with pytest.raises(InputDataError, match=r"rev declare a CUPED covariate.*sum_z"):
        analyse(frame, [REV], AnalysisOptions(control="a"))
    # without a covariate the frame is fine (the covariate columns are optional)
    assert len(analyse(frame, [REV_PLAIN], AnalysisOptions(control="a")).results) == 1


def test_aggregate_checks_the_covariate_column():
    df = pd.DataFrame({"variant": ["a", "b"] * 5, "y": np.arange(10.0), "z": [1.0] * 9 + [np.nan]})
    with pytest.raises(InputDataError, match=r"'z' \(1 missing\)"):
        aggregate(df, [REV], variant_column="variant")
    with pytest.raises(InputDataError, match=r"'pre'.*metric 'rev'"):
        aggregate(
            df, [MetricSpec("rev", "mean", column="y", covariate="pre")], variant_column="variant"
        )


@pytest.mark.parametrize("covariate", ["y", ""])
def test_covariate_spec_errors(covariate):
    with pytest.raises(ConfigError, match="covariate"):
        MetricSpec("rev", "mean", column="y", covariate=covariate)
