"""Sample-ratio-mismatch check vs scipy.stats.chisquare (overall and per segment), and its
effect on results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from strategies.errors import ConfigError
from strategies.stats.aggregate import aggregate
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.metrics import MetricSpec
from strategies.stats.srm import srm_check
from tests.strategies.stats.test_support import stats_frame

PROP = [MetricSpec("cr", "proportion", column="c")]


def _counts(experiment: str, counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"experiment": experiment, "variant": list(counts), "n_units": list(counts.values())}
    )


def test_srm_matches_scipy_chisquare_equal_and_weighted():
    counts = pd.concat(
        [
            _counts("equal", {"a": 5000, "b": 5150, "c": 4890}),
            _counts("weighted", {"a": 2300, "b": 7700}),
            _counts("fine", {"a": 1001, "b": 999}),
        ],
        ignore_index=True,
    )
    split = {"a": 1.0, "b": 1.0, "c": 1.0}
    out = srm_check(counts.iloc[:3], expected_split=split)
    ref = stats.chisquare([5000, 5150, 4890])
    assert out["chi2"].tolist() == pytest.approx([ref.statistic] * 3, rel=1e-12)
    assert out["p_value"].tolist() == pytest.approx([ref.pvalue] * 3, rel=1e-10)

    # One mapping for several experiments: weights are normalised within each experiment.
    out = srm_check(counts, expected_split={"a": 20, "b": 80, "c": 20})
    weighted = out[out["experiment"] == "weighted"]
    ref = stats.chisquare([2300, 7700], f_exp=[0.2 * 10_000, 0.8 * 10_000])
    assert weighted["expected_share"].tolist() == pytest.approx([0.2, 0.8])
    assert weighted["observed_share"].tolist() == pytest.approx([0.23, 0.77])
    assert weighted["p_value"].iloc[0] == pytest.approx(ref.pvalue, rel=1e-10)
    assert ref.pvalue < 0.001
    assert weighted["srm_detected"].all()

    equal = srm_check(counts)  # None = equal split within each experiment
    fine = equal[equal["experiment"] == "fine"]
    assert fine["p_value"].iloc[0] == pytest.approx(stats.chisquare([1001, 999]).pvalue)
    assert not fine["srm_detected"].any()
    assert list(equal.columns) == [
        "experiment",
        "segment",
        "variant",
        "n_units",
        "expected_share",
        "observed_share",
        "chi2",
        "p_value",
        "srm_detected",
    ]
    assert (equal["segment"] == "all").all()


def _two_experiments() -> pd.DataFrame:
    # "broken" has a blatant 50/50 → 5000/5600 mismatch and a big real win; "clean" is fine.
    n = np.array([5000, 5600, 5000, 5010])
    k = np.array([500.0, 800.0, 500.0, 505.0])
    return stats_frame(["broken", "broken", "clean", "clean"], ["a", "b"] * 2, "cr", n, k, k)


def test_srm_rows_are_flagged_and_never_win():
    res = analyse(_two_experiments(), PROP, AnalysisOptions(control="a"))
    broken = res.results.set_index("experiment").loc["broken"]
    assert broken["status"] == "srm"
    assert broken["p_value"] < 1e-10  # the test still ran and is reported ...
    assert broken["decision"] == "inconclusive"  # ... but it can never be a win
    assert "sample ratio mismatch" in broken["message"]
    assert broken["srm_p_value"] == pytest.approx(stats.chisquare([5000, 5600]).pvalue)
    clean = res.results.set_index("experiment").loc["clean"]
    assert clean["status"] == "ok"
    assert res.srm.groupby("experiment")["srm_detected"].first().to_dict() == {
        "broken": True,
        "clean": False,
    }


def test_declared_split_removes_the_srm():
    split = {"a": 5000, "b": 5600}
    res = analyse(_two_experiments(), PROP, AnalysisOptions(control="a", expected_split=split))
    broken = res.results.set_index("experiment").loc["broken"]
    assert broken["status"] == "ok"
    assert broken["decision"] == "win"


def test_expected_split_problems_are_config_errors():
    with pytest.raises(ConfigError, match="no weight for variant.*'b'"):
        analyse(_two_experiments(), PROP, AnalysisOptions(control="a", expected_split={"a": 1}))
    with pytest.raises(ConfigError, match="finite numbers > 0"):
        AnalysisOptions(control="a", expected_split={"a": 1, "b": -2})


def test_srm_per_segment_is_reported_but_does_not_set_the_status():
    """Treatment units logged as 'desktop' instead of 'mobile' (a classic tracking bug): the
    overall split is fine, the device segments are not."""
    rng = np.random.default_rng(4)
    n = 20_000
    df = pd.DataFrame(
        {
            "variant": np.repeat(["a", "b"], n // 2),
            "device": rng.choice(["mobile", "desktop", "tablet"], n, p=[0.5, 0.4, 0.1]),
            "c": rng.integers(0, 2, n),
        }
    )
    buggy = (df["variant"] == "b") & (df["device"] == "mobile") & (rng.uniform(size=n) < 0.1)
    df.loc[buggy, "device"] = "desktop"
    stats_ = aggregate(df, PROP, variant_column="variant", segment_columns=["device"])
    res = analyse(stats_, PROP, AnalysisOptions(control="a", expected_split={"a": 1, "b": 1}))

    srm = res.srm.set_index(["segment", "variant"])
    for segment in ["all", "device=desktop", "device=mobile", "device=tablet"]:
        counts = srm.loc[segment, "n_units"]
        ref = stats.chisquare(counts.to_numpy())
        rows = srm.loc[segment]
        assert rows["chi2"].tolist() == pytest.approx([ref.statistic] * 2, rel=1e-12)
        assert rows["p_value"].tolist() == pytest.approx([ref.pvalue] * 2, rel=1e-9)
    assert res.srm["segment"].tolist()[:2] == ["all", "all"]  # overall block first
    detected = res.srm.groupby("segment")["srm_detected"].first().to_dict()
    assert detected == {
        "all": False,
        "device=desktop": True,
        "device=mobile": True,
        "device=tablet": False,
    }
    # informational only: no result row gets the srm status, overall or in the segment
    assert (res.results["status"] == "ok").all()
    assert res.results["srm_p_value"].nunique() == 1


def test_segment_srm_counts_a_missing_arm_as_zero_and_uses_the_expected_split():
    n = np.array([3000, 1000, 2000, 1000, 1000, 0])
    k = np.full(6, 100.0)
    frame = stats_frame(["e"] * 6, ["a", "b"] * 3, "cr", n, k, k)
    frame["segment"] = ["all", "all", "s=x", "s=x", "s=y", "s=y"]
    frame = frame.iloc[:-1]  # aggregation emits no row for a cell without units
    res = analyse(frame, PROP, AnalysisOptions(control="a", expected_split={"a": 3, "b": 1}))
    srm = res.srm.set_index(["segment", "variant"])
    assert srm.loc[("s=y", "b"), "n_units"] == 0
    ref = stats.chisquare([1000, 0], f_exp=[750, 250])
    assert srm.loc[("s=y", "a"), "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    ref = stats.chisquare([2000, 1000], f_exp=[2250, 750])
    assert srm.loc[("s=x", "a"), "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert srm.loc[("all", "a"), "expected_share"] == pytest.approx(0.75)
    assert not srm.loc[("all", "a"), "srm_detected"]


def test_experiment_specific_splits_override_the_global_one() -> None:
    from scipy import stats as sps

    counts = pd.DataFrame(
        {
            "experiment": ["a", "a", "b", "b"],
            "variant": ["control", "target", "control", "target"],
            "n_units": [200, 800, 240, 760],
        }
    )
    out = srm_check(
        counts,
        expected_split={"control": 0.2, "target": 0.8},
        experiment_splits={"b": {"control": 0.25, "target": 0.75}},
    ).set_index(["experiment", "variant"])
    assert out.loc[("b", "control"), "expected_share"] == pytest.approx(0.25)
    assert out.loc[("a", "control"), "expected_share"] == pytest.approx(0.2)
    expected_p = sps.chisquare([240, 760], [250, 750]).pvalue
    assert out.loc[("b", "control"), "p_value"] == pytest.approx(expected_p)
    assert not out["srm_detected"].any()
    with pytest.raises(ConfigError, match="'b'"):
        srm_check(counts, experiment_splits={"b": {"control": 1.0}})
