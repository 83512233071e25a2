"""Mann–Whitney U and the bucketed percentile bootstrap (strategies.stats.nonparametric).

Mann–Whitney must reproduce scipy exactly (it is a deterministic formula); the bootstrap is
checked against scipy.stats.bootstrap within Monte-Carlo tolerance, for coverage by
simulation, and for determinism, statuses and input errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from strategies.errors import ConfigError, InputDataError
from strategies.stats import nonparametric
from strategies.stats.nonparametric import bootstrap_ci, mann_whitney
from strategies.stats.schema import BOOTSTRAP_COLUMNS, MANN_WHITNEY_COLUMNS

KW = {"value_column": "y", "variant_column": "variant", "experiment_column": "experiment"}


def arms_frame(arms: dict[str, np.ndarray], experiment: str = "exp", **extra) -> pd.DataFrame:
    """One experiment with the given variant → values (plus optional per-unit columns)."""
    df = pd.DataFrame(
        {
            "experiment": experiment,
            "variant": np.repeat(list(arms), [len(v) for v in arms.values()]),
            "y": np.concatenate(list(arms.values())).astype(np.float64),
        }
    )
    for name, values in extra.items():
        df[name] = values
    return df


def segment_mask(df: pd.DataFrame, row: pd.Series) -> pd.Series:
    mask = df["experiment"] == row["experiment"]
    if row["segment"] != "all":
        column, value = row["segment"].split("=", 1)
        mask &= df[column].astype(str) == value
    return mask


@pytest.fixture(scope="module")
def tied_data() -> pd.DataFrame:
    """Three experiments (one A/B/C), two segment columns, integer values full of ties, and
    a segment where the control has no units."""
    rng = np.random.default_rng(11)
    parts = []
    for exp, arms in (("e1", "ABC"), ("e2", "AB"), ("e3", "AB")):
        for arm in arms:
            n = int(rng.integers(80, 160))
            parts.append(
                pd.DataFrame(
                    {
                        "experiment": exp,
                        "variant": arm,
                        # Revenue-like: mostly 0, a few small integers — many ties.
                        "y": np.where(rng.random(n) < 0.6, 0, rng.integers(1, 8, n)) * 1.0,
                        "device": rng.choice(["desktop", "mobile", "tablet"], n),
                        "tier": rng.choice([1, 2], n),
                    }
                )
            )
    df = pd.concat(parts, ignore_index=True)
    df.loc[df["y"] == 0, "y"] = np.where(rng.random(int((df["y"] == 0).sum())) < 0.5, 0.0, -0.0)
    # e2's control has no tablet users: that segment's comparison is an empty arm.
    return df[~((df["experiment"] == "e2") & (df["variant"] == "A") & (df["device"] == "tablet"))]


# --------------------------------------------------------------------------------------------
# Mann–Whitney


def test_mann_whitney_matches_scipy_for_every_experiment_and_segment(tied_data):
    out = mann_whitney(tied_data, control="A", segment_columns=["device", "tier"], **KW)
    assert list(out.columns) == list(MANN_WHITNEY_COLUMNS)
    # e1: 2 treatments × (all + 3 devices + 2 tiers); e2, e3: 1 treatment × 6 segments.
    assert len(out) == 12 + 6 + 6
    checked = 0
    for _, row in out.iterrows():
        mask = segment_mask(tied_data, row)
        variant = tied_data.loc[mask & (tied_data["variant"] == row["variant"]), "y"]
        control = tied_data.loc[mask & (tied_data["variant"] == "A"), "y"]
        assert (row["n_variant"], row["n_control"]) == (len(variant), len(control))
        if len(control) == 0:
            assert row["status"] == "empty_arm"
            assert "control arm 'A' has no units" in row["message"]
            assert np.isnan(row["p_value"]) and np.isnan(row["u_statistic"])
            continue
        ref = stats.mannwhitneyu(variant, control, method="asymptotic", use_continuity=True)
        assert row["status"] == "ok"
        assert row["u_statistic"] == pytest.approx(ref.statistic, abs=1e-10)
        assert row["p_value"] == pytest.approx(ref.pvalue, abs=1e-10)
        prob = ref.statistic / (len(variant) * len(control))
        assert row["prob_superiority"] == pytest.approx(prob, abs=1e-12)
        checked += 1
    assert checked == len(out) - 1
    empty = out[out["status"] == "empty_arm"]
    assert empty[["experiment", "segment", "variant"]].values.tolist() == [
        ["e2", "device=tablet", "B"]
    ]


def test_mann_whitney_probability_of_superiority_counts_pairs():
    # (variant, control) pairs: 2 > 1, 2 < 3, 3 > 1, 3 = 3 (½): U = 2.5 of 4 pairs.
    df = arms_frame({"A": np.array([1.0, 3.0]), "B": np.array([2.0, 3.0])})
    row = mann_whitney(df, control="A", **KW).iloc[0]
    assert row["u_statistic"] == 2.5
    assert row["prob_superiority"] == pytest.approx(2.5 / 4)


def test_mann_whitney_row_order_labels_and_metric_name(tied_data):
    out = mann_whitney(
        tied_data, control="A", segment_columns=["tier"], metric_name="revenue", **KW
    )
    e1 = out[out["experiment"] == "e1"]
    assert e1[["segment", "variant"]].values.tolist() == [
        ["all", "B"],
        ["all", "C"],
        ["tier=1", "B"],
        ["tier=1", "C"],
        ["tier=2", "B"],
        ["tier=2", "C"],
    ]
    assert out["experiment"].tolist() == sorted(out["experiment"])
    assert set(out["metric"]) == {"revenue"} and set(out["control"]) == {"A"}
    assert set(mann_whitney(tied_data, control="A", **KW)["metric"]) == {"y"}


def test_mann_whitney_integer_variant_labels_match_string_control():
    df = arms_frame({"0": np.arange(10.0), "1": np.arange(10.0) + 3})
    df["variant"] = df["variant"].astype(int)
    row = mann_whitney(df, control="0", **KW).iloc[0]
    assert (row["variant"], row["status"]) == ("1", "ok")


def test_mann_whitney_constant_values_are_zero_variance_not_a_crash():
    df = arms_frame({"A": np.zeros(20), "B": np.zeros(15)})
    row = mann_whitney(df, control="A", **KW).iloc[0]
    assert row["status"] == "zero_variance"
    assert np.isnan(row["p_value"])
    assert row["prob_superiority"] == 0.5
    assert "same value" in row["message"]


# --------------------------------------------------------------------------------------------
# bootstrap vs scipy.stats.bootstrap


def scipy_percentile_ci(statistic, samples, n_resamples: int, seed: int) -> tuple[float, float]:
    res = stats.bootstrap(
        samples,
        statistic,
        method="percentile",
        n_resamples=n_resamples,
        paired=False,
        vectorized=True,
        rng=seed,
    )
    return res.confidence_interval.low, res.confidence_interval.high


def test_bootstrap_matches_scipy_for_means_and_relative_lift():
    rng = np.random.default_rng(3)
    control, variant = rng.lognormal(0.0, 1.0, 60), rng.lognormal(0.3, 1.0, 45)
    df = arms_frame({"A": control, "B": variant})
    n_boot = 20_000
    row = bootstrap_ci(df, control="A", n_resamples=n_boot, seed=5, **KW).iloc[0]
    assert row["status"] == "ok" and row["n_resamples"] == n_boot

    def diff(v, c, axis=-1):
        return v.mean(axis) - c.mean(axis)

    def rel(v, c, axis=-1):
        return v.mean(axis) / c.mean(axis) - 1

    # Monte-Carlo SD of a 2.5 % quantile with 20,000 resamples is ≈ 0.02 bootstrap SE, so
    # two independent runs should agree to well within 0.12 SE.
    se_abs = np.sqrt(control.var(ddof=1) / 60 + variant.var(ddof=1) / 45)
    ref = scipy_percentile_ci(diff, (variant, control), n_boot, seed=1)
    assert row["boot_abs_ci_low"] == pytest.approx(ref[0], abs=0.12 * se_abs)
    assert row["boot_abs_ci_high"] == pytest.approx(ref[1], abs=0.12 * se_abs)
    se_rel = se_abs / control.mean() * (1 + variant.mean() / control.mean())
    ref = scipy_percentile_ci(rel, (variant, control), n_boot, seed=1)
    assert row["boot_rel_ci_low"] == pytest.approx(ref[0], abs=0.12 * se_rel)
    assert row["boot_rel_ci_high"] == pytest.approx(ref[1], abs=0.12 * se_rel)


def test_bootstrap_matches_scipy_for_a_ratio_metric():
    rng = np.random.default_rng(4)
    n_c, n_v = 70, 50
    x = rng.integers(1, 6, n_c + n_v).astype(float)  # sessions
    y = x * rng.gamma(2.0, 1.5, n_c + n_v)  # revenue, correlated with sessions
    df = arms_frame({"A": y[:n_c], "B": y[n_c:]}, sessions=x)
    n_boot = 20_000
    row = bootstrap_ci(
        df, control="A", n_resamples=n_boot, denominator_column="sessions", **KW
    ).iloc[0]
    yc, xc, yv, xv = y[:n_c], x[:n_c], y[n_c:], x[n_c:]

    # scipy resamples sample *values*; resampling unit indices keeps each unit's (y, x) pair.
    def diff(iv, ic, axis=-1):
        iv, ic = iv.astype(int), ic.astype(int)
        return yv[iv].sum(axis) / xv[iv].sum(axis) - yc[ic].sum(axis) / xc[ic].sum(axis)

    ref = scipy_percentile_ci(diff, (np.arange(n_v), np.arange(n_c)), n_boot, seed=2)
    width = ref[1] - ref[0]  # ≈ 3.9 SE
    assert row["boot_abs_ci_low"] == pytest.approx(ref[0], abs=0.03 * width)
    assert row["boot_abs_ci_high"] == pytest.approx(ref[1], abs=0.03 * width)


def test_bucketed_bootstrap_agrees_with_scipy_on_larger_arms():
    """Arms larger than n_buckets are resampled by random buckets (20 units each here): the
    same interval within the bucketing error (≈ 1/√(2K) of the half-width, ≈ 0.06 SE for
    K = 500) plus the Monte-Carlo error of both runs (≈ 0.045 SE each): SD ≈ 0.09 SE."""
    rng = np.random.default_rng(6)
    n = 10_000
    buy = rng.random(2 * n) < 0.1
    y = np.where(buy, rng.lognormal(3.0, 1.0, 2 * n), 0.0)
    control, variant = y[:n], y[n:] * 1.05
    df = arms_frame({"A": control, "B": variant})
    row = bootstrap_ci(df, control="A", n_resamples=4000, n_buckets=500, **KW).iloc[0]

    def diff(v, c, axis=-1):
        return v.mean(axis) - c.mean(axis)

    res = stats.bootstrap(
        (variant, control), diff, method="percentile", n_resamples=4000, batch=500, rng=3
    )
    se = np.sqrt(control.var(ddof=1) / n + variant.var(ddof=1) / n)
    assert row["boot_abs_ci_low"] == pytest.approx(res.confidence_interval.low, abs=0.3 * se)
    assert row["boot_abs_ci_high"] == pytest.approx(res.confidence_interval.high, abs=0.3 * se)


def test_bootstrap_coverage_on_lognormal_data():
    """400 simulated A/B tests (lognormal, n = 2,000 per arm, so arms are bucketed) in one
    call: the 95 % interval of the difference of means must cover the truth 92–97 % of the
    time."""
    rng = np.random.default_rng(2024)
    n_exp, n, sigma = 400, 2000, 1.0
    mu_c, mu_v = 0.0, 0.1
    y = np.concatenate(
        [rng.lognormal(mu_c, sigma, (n_exp, n)), rng.lognormal(mu_v, sigma, (n_exp, n))], axis=1
    )
    df = pd.DataFrame(
        {
            "experiment": np.repeat([f"sim{i:03d}" for i in range(n_exp)], 2 * n),
            "variant": np.tile(np.repeat(["A", "B"], n), n_exp),
            "y": y.reshape(-1),
        }
    )
    out = bootstrap_ci(df, control="A", n_resamples=400, seed=1, **KW)
    truth = np.exp(mu_v + sigma**2 / 2) - np.exp(mu_c + sigma**2 / 2)
    assert (out["status"] == "ok").all()
    covered = (out["boot_abs_ci_low"] <= truth) & (truth <= out["boot_abs_ci_high"])
    assert 0.92 <= covered.mean() <= 0.97


# --------------------------------------------------------------------------------------------
# bootstrap: determinism, chunking, statuses


def test_bootstrap_is_deterministic_with_the_seed(tied_data):
    args = {"control": "A", "segment_columns": ["device"], "n_resamples": 300, **KW}
    first = bootstrap_ci(tied_data, seed=7, **args)
    pd.testing.assert_frame_equal(first, bootstrap_ci(tied_data, seed=7, **args))
    other = bootstrap_ci(tied_data, seed=8, **args)
    ok = first["status"] == "ok"
    assert not np.allclose(first.loc[ok, "boot_abs_ci_low"], other.loc[ok, "boot_abs_ci_low"])


def test_bootstrap_does_not_depend_on_row_chunking(tied_data, monkeypatch):
    """Rows are bucketed in chunks (memory); small arms are numbered across chunks, so the
    chunk size must not change which unit lands in which bucket."""
    args = {
        "control": "A",
        "segment_columns": ["device", "tier"],
        "n_resamples": 200,
        "n_buckets": 60,  # some arms above, some below: both bucketing paths
        **KW,
    }
    whole = bootstrap_ci(tied_data, **args)
    monkeypatch.setattr(nonparametric, "_ROW_CHUNK", 37)
    chunked = bootstrap_ci(tied_data, **args)
    pd.testing.assert_frame_equal(whole, chunked, rtol=1e-9)


def test_bootstrap_output_shape_and_empty_arm(tied_data):
    out = bootstrap_ci(tied_data, control="A", segment_columns=["device"], n_resamples=200, **KW)
    assert list(out.columns) == list(BOOTSTRAP_COLUMNS)
    keys = ["experiment", "segment", "variant"]
    mw = mann_whitney(tied_data, control="A", segment_columns=["device"], **KW)
    assert out[keys].values.tolist() == mw[keys].values.tolist()
    empty = out[out["status"] == "empty_arm"].iloc[0]
    assert (empty["experiment"], empty["segment"]) == ("e2", "device=tablet")
    assert empty["n_resamples"] == 0 and np.isnan(empty["boot_abs_ci_low"])
    ok = out[out["status"] == "ok"]
    assert (ok["boot_abs_ci_low"] < ok["boot_abs_ci_high"]).all()
    assert (ok["n_resamples"] == 200).all()


def test_bootstrap_statuses_for_degenerate_comparisons():
    df = pd.concat(
        [
            arms_frame({"A": np.full(10, 3.0), "B": np.full(12, 5.0)}, experiment="constant"),
            arms_frame({"A": np.zeros(30), "B": np.arange(30.0)}, experiment="zero_control"),
            arms_frame({"A": np.arange(5.0), "B": np.array([1.0])}, experiment="one_unit"),
        ],
        ignore_index=True,
    )
    out = bootstrap_ci(df, control="A", n_resamples=200, **KW).set_index("experiment")
    assert out.loc["constant", "status"] == "zero_variance"
    assert np.isnan(out.loc["constant", "boot_abs_ci_low"])
    assert out.loc["zero_control", "status"] == "ok"
    assert np.isfinite(out.loc["zero_control", "boot_abs_ci_low"])
    assert np.isnan(out.loc["zero_control", "boot_rel_ci_low"])
    assert "relative lift undefined" in out.loc["zero_control", "message"]
    assert out.loc["one_unit", "status"] == "empty_arm"
    assert "variant arm 'B' has 1 unit" in out.loc["one_unit", "message"]


def test_bootstrap_reports_unbounded_relative_interval_and_undefined_ratios():
    # Control: one buyer in 30 units, so ~36 % of resamples have a control mean of 0.
    rare = np.zeros(30)
    rare[0] = 5.0
    df = arms_frame({"A": rare, "B": np.arange(30.0)})
    row = bootstrap_ci(df, control="A", n_resamples=500, **KW).iloc[0]
    assert row["status"] == "ok"
    assert row["boot_rel_ci_high"] == np.inf
    assert "have a control estimate of 0" in row["message"]

    # Ratio: the control's denominator is 0 for all but one unit, so some resamples have
    # Σx* = 0: they are left out and counted.
    x = np.concatenate([rare / 5.0, np.ones(30)])
    ratio = bootstrap_ci(
        arms_frame({"A": rare, "B": np.arange(30.0)}, x=x),
        control="A",
        n_resamples=500,
        denominator_column="x",
        **KW,
    ).iloc[0]
    assert ratio["status"] == "ok"
    assert 0 < ratio["n_resamples"] < 500
    assert "drew a zero denominator" in ratio["message"]
    assert np.isfinite(ratio["boot_abs_ci_low"]) and np.isfinite(ratio["boot_abs_ci_high"])


def test_bootstrap_zero_denominator_arm_is_empty():
    df = arms_frame({"A": np.ones(5), "B": np.ones(5)}, x=np.r_[np.zeros(5), np.ones(5)])
    row = bootstrap_ci(df, control="A", denominator_column="x", **KW).iloc[0]
    assert row["status"] == "empty_arm"
    assert "denominator sums to 0" in row["message"]


# --------------------------------------------------------------------------------------------
# bad input fails fast, naming the problem


@pytest.mark.parametrize("func", [mann_whitney, bootstrap_ci])
def test_bad_input_raises_named_errors(func):
    df = arms_frame({"A": np.arange(5.0), "B": np.arange(5.0)})
    with pytest.raises(InputDataError, match="'revenue'"):
        func(df, control="A", **{**KW, "value_column": "revenue"})
    with pytest.raises(InputDataError, match="control variant 'C' not found"):
        func(df, control="C", **KW)
    with pytest.raises(ConfigError, match="control"):
        func(df, control=0, **KW)
    with pytest.raises(InputDataError, match="single variant"):
        func(df[df["variant"] == "A"], control="A", **KW)
    with pytest.raises(InputDataError, match="missing"):
        func(df.assign(y=np.r_[np.nan, np.arange(9.0)]), control="A", **KW)
    with pytest.raises(InputDataError, match="numeric"):
        func(df.assign(y="a"), control="A", **KW)
    with pytest.raises(InputDataError, match="no rows"):
        func(df.iloc[:0], control="A", **KW)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("n_resamples", 1),
        ("n_resamples", 2.5),
        ("ci_level", 1.0),
        ("ci_level", True),
        ("seed", -1),
        ("n_buckets", 1),
    ],
)
def test_bad_bootstrap_options_raise_config_error(option, value):
    df = arms_frame({"A": np.arange(5.0), "B": np.arange(5.0)})
    with pytest.raises(ConfigError, match=option):
        bootstrap_ci(df, control="A", **{option: value}, **KW)
