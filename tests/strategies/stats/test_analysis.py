"""analyse(): A/B/n layout, per-row problems returned as data, input errors raised early."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import aggregate
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.metrics import MetricSpec
from strategies.stats.schema import RESULT_COLUMNS
from tests.strategies.stats.test_support import stats_frame

EXPECTED_COLUMNS = [
    "experiment", "segment", "metric", "metric_type", "control", "variant", "n_control",
    "n_variant", "estimate_control", "estimate_variant", "abs_diff", "abs_se", "abs_ci_low",
    "abs_ci_high", "rel_lift", "rel_ci_low", "rel_ci_high", "statistic", "df", "p_value",
    "p_value_adjusted", "test", "alpha", "decision", "status", "message", "srm_p_value",
    # appended later, in this order (a BI tool reading the old columns keeps working)
    "role", "guardrail_status", "variance_reduction", "cuped_theta", "rel_ci_method",
]  # fmt: skip

REV = MetricSpec("rev", "mean", column="revenue")
CONV = MetricSpec("conv", "proportion", column="converted")
CONST = MetricSpec("const", "mean", column="constant")
CTR = MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions")


@pytest.fixture
def units() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n = 3000
    df = pd.DataFrame(
        {
            "variant": np.tile(["control", "b", "c"], n // 3),
            "country": rng.choice(["de", "fr", "it"], n),
            "revenue": rng.gamma(2.0, 10.0, n),
            "converted": rng.integers(0, 2, n),
            "constant": 1.0,
            "clicks": rng.poisson(2.0, n),
            "sessions": 1 + rng.poisson(1.0, n),
        }
    )
    df.loc[df["variant"] == "c", "revenue"] *= 1.2
    # "it" has no control units and "fr" a single treatment-b unit: the others move to "de",
    # so the overall split stays balanced (no SRM).
    df.loc[(df["country"] == "it") & (df["variant"] == "control"), "country"] = "de"
    fr_b = df.index[(df["country"] == "fr") & (df["variant"] == "b")]
    df.loc[fr_b[1:], "country"] = "de"
    # Italian sessions are all zero in variant c (ratio undefined there).
    df.loc[(df["country"] == "it") & (df["variant"] == "c"), ["sessions", "clicks"]] = 0
    return df.reset_index(drop=True)


def _run(units: pd.DataFrame, metrics, **options) -> pd.DataFrame:
    stats_ = aggregate(units, metrics, variant_column="variant", segment_columns=["country"])
    return analyse(stats_, metrics, AnalysisOptions(control="control", **options)).results


def test_layout_abn_each_treatment_vs_control(units):
    res = _run(units, [REV, CONV])
    assert list(res.columns) == EXPECTED_COLUMNS == list(RESULT_COLUMNS)
    overall = res[res["segment"] == "all"]
    assert overall[["metric", "variant"]].values.tolist() == [
        ["rev", "b"],
        ["rev", "c"],
        ["conv", "b"],
        ["conv", "c"],
    ]
    assert (overall["control"] == "control").all()
    # every treatment is compared with the control, not with each other
    for variant in ("b", "c"):
        row = overall[(overall["metric"] == "rev") & (overall["variant"] == variant)].iloc[0]
        ref = stats.ttest_ind(
            units.loc[units["variant"] == variant, "revenue"],
            units.loc[units["variant"] == "control", "revenue"],
            equal_var=False,
        )
        assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
        assert row["n_variant"] == (units["variant"] == variant).sum()


def test_row_problems_come_back_as_data(units):
    res = _run(units, [REV, CONST, CTR]).set_index(["segment", "metric", "variant"])

    # Control missing in a segment: a row per comparison, status empty_arm, no p-value.
    it = res.loc[("country=it", "rev", "b")]
    assert it["status"] == "empty_arm" and it["n_control"] == 0
    assert "control arm 'control' has no units" in it["message"]
    assert np.isnan(it["p_value"]) and np.isnan(it["p_value_adjusted"])
    assert it["decision"] == "inconclusive"

    # A single unit cannot give a variance.
    fr = res.loc[("country=fr", "rev", "b")]
    assert fr["status"] == "empty_arm" and fr["n_variant"] == 1
    assert "has 1 unit" in fr["message"]

    # Constant metric: zero variance in both arms.
    const = res.loc[("all", "const", "b")]
    assert const["status"] == "zero_variance" and np.isnan(const["p_value"])
    assert "zero variance" in const["message"]

    # Ratio with a denominator summing to zero in one arm.
    ctr = res.loc[("country=it", "ctr", "c")]
    assert ctr["status"] == "empty_arm"
    assert "denominator 'sessions' sums to 0" in ctr["message"]

    # Meanwhile the healthy rows of the same batch were computed correctly.
    ok = res.loc[("country=fr", "rev", "c")]
    fr_units = units[units["country"] == "fr"]
    ref = stats.ttest_ind(
        fr_units.loc[fr_units["variant"] == "c", "revenue"],
        fr_units.loc[fr_units["variant"] == "control", "revenue"],
        equal_var=False,
    )
    assert ok["status"] == "ok"
    assert ok["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert set(res["status"]) == {"ok", "empty_arm", "zero_variance"}
    assert res.loc[res["status"] == "ok", "p_value"].notna().all()


def test_zero_control_rate_leaves_relative_lift_undefined_but_status_ok():
    k = np.array([0.0, 25.0])
    stats_ = stats_frame(["e", "e"], ["a", "b"], "conv", [1000, 1000], k, k)
    row = analyse(stats_, [CONV], AnalysisOptions(control="a")).results.iloc[0]
    assert row["status"] == "ok"
    assert np.isnan(row["rel_lift"]) and np.isnan(row["rel_ci_low"])
    assert "relative lift undefined" in row["message"]
    # the absolute test still matches a 2×2 χ² (pooled z² = χ²)
    ref = stats.chi2_contingency([[25, 975], [0, 1000]], correction=False)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert row["decision"] == "win"


def test_proportion_constant_in_both_arms_is_zero_variance_not_a_crash():
    k = np.array([0.0, 0.0, 10.0, 30.0])
    stats_ = stats_frame(["e", "e", "f", "f"], ["a", "b"] * 2, "conv", [500] * 4, k, k)
    res = analyse(stats_, [CONV], AnalysisOptions(control="a")).results.set_index("experiment")
    assert res.loc["e", "status"] == "zero_variance"
    assert np.isnan(res.loc["e", "p_value"]) and res.loc["e", "decision"] == "inconclusive"
    ref = stats.chi2_contingency([[30, 470], [10, 490]], correction=False)
    assert res.loc["f", "status"] == "ok"
    # the zero-variance row is not part of the family: Holm over one test leaves p unchanged
    assert res.loc["f", "p_value_adjusted"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_multiple_experiments_share_one_call():
    n = np.array([500, 500, 800, 800, 800])
    y = np.array([100.0, 120.0, 300.0, 290.0, 310.0])
    y2 = y**2 / n + np.array([400.0, 450.0, 900.0, 950.0, 800.0])
    stats_ = stats_frame(["x", "x", "y", "y", "y"], ["a", "b", "a", "b", "c"], "rev", n, y, y2)
    res = analyse(stats_, [REV], AnalysisOptions(control="a")).results
    assert res[["experiment", "variant"]].values.tolist() == [["x", "b"], ["y", "b"], ["y", "c"]]


# ---------------------------------------------------------------------------------------------
# input errors: raised before anything is computed, naming the problem


def _stats(**overrides) -> pd.DataFrame:
    n = np.array([100, 100])
    y = np.array([10.0, 12.0])
    return stats_frame(["e", "e"], ["a", "b"], "conv", n, y, y).assign(**overrides)


def test_missing_control_names_experiment_and_variants():
    stats_ = pd.concat(
        [_stats(), _stats(experiment="other", variant=["x", "y"])], ignore_index=True
    )
    with pytest.raises(InputDataError, match=r"control variant 'a' not found.*'other' has"):
        analyse(stats_, [CONV], AnalysisOptions(control="a"))


def test_single_variant_experiment():
    stats_ = pd.concat([_stats(), _stats(experiment="solo").iloc[:1]], ignore_index=True)
    with pytest.raises(InputDataError, match=r"single variant.*'solo' has only variant 'a'"):
        analyse(stats_, [CONV], AnalysisOptions(control="a"))


@pytest.mark.parametrize(
    ("stats_", "match"),
    [
        (_stats().drop(columns="sum_y2"), "missing column.*sum_y2"),
        (_stats(sum_y=["10", "12"]), "must be numeric: sum_y"),
        (_stats(sum_y=[np.nan, 1.0]), "missing or infinite values: sum_y"),
        (_stats(n=[-1, 100]), "negative unit counts"),
        (pd.concat([_stats(), _stats()]), "duplicated statistics row"),
        (_stats(metric="other"), "no sufficient statistics for metric.*conv"),
        (_stats(segment="device=x"), "without overall"),
    ],
)
def test_bad_stats_frames(stats_, match):
    with pytest.raises(InputDataError, match=match):
        analyse(stats_, [CONV], AnalysisOptions(control="a"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 1.5}, "alpha must be"),
        ({"srm_alpha": 0}, "srm_alpha must be"),
        ({"proportion_test": "fisher"}, "unknown proportion_test 'fisher'"),
        ({"correction": "BH"}, "unknown multiple-testing correction 'BH'"),
        ({"control": ""}, "control must be"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        AnalysisOptions(**{"control": "a", **kwargs})


def test_integer_variant_labels_match_string_control():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"variant": np.tile([0, 1], 200), "converted": rng.integers(0, 2, 400)})
    stats_ = aggregate(df, [CONV], variant_column="variant")
    res = analyse(stats_, [CONV], AnalysisOptions(control="0")).results
    assert res["variant"].tolist() == ["1"] and res["status"].tolist() == ["ok"]
