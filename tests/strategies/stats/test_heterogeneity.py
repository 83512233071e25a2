"""Cochran's Q / I² across segment values: against a hand computation, against statsmodels'
meta-analysis (``combine_effects``), and calibration by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from strategies.stats.aggregate import aggregate
from strategies.stats.analysis import AnalysisOptions, AnalysisResult, analyse
from strategies.stats.heterogeneity import heterogeneity
from strategies.stats.metrics import MetricSpec
from strategies.stats.schema import HETEROGENEITY_COLUMNS
from tests.strategies.stats.test_support import simulate_normal_arm

REV = MetricSpec("rev", "mean", column="y")
CR = MetricSpec("cr", "proportion", column="c")


@pytest.fixture(scope="module")
def analysed() -> AnalysisResult:
    """The effect on revenue exists only in country DE (heterogeneous across countries) and is
    the same on every device; conversion has no effect anywhere."""
    rng = np.random.default_rng(51)
    n = 30_000
    df = pd.DataFrame(
        {
            "variant": rng.choice(["a", "b"], n),
            "country": rng.choice(["DE", "FR", "IT", "ES"], n),
            "device": rng.choice(["mobile", "desktop"], n),
            "y": rng.gamma(2.0, 10.0, n),
            "c": rng.integers(0, 2, n),
        }
    )
    df.loc[(df["variant"] == "b") & (df["country"] == "DE"), "y"] *= 1.25
    stats_ = aggregate(
        df, [REV, CR], variant_column="variant", segment_columns=["country", "device"]
    )
    return analyse(stats_, [REV, CR], AnalysisOptions(control="a"))


def _segment_rows(results: pd.DataFrame, metric: str, column: str) -> pd.DataFrame:
    rows = results[(results["metric"] == metric) & results["segment"].str.startswith(column + "=")]
    assert len(rows) > 1
    return rows


def test_matches_hand_computation_and_statsmodels(analysed):
    het = analysed.heterogeneity
    assert list(het.columns) == list(HETEROGENEITY_COLUMNS)
    assert len(het) == 2 * 2  # 2 metrics × 2 segment columns (one treatment)
    for _, row in het.iterrows():
        seg = _segment_rows(analysed.results, row["metric"], row["segment_column"])
        d, v = seg["abs_diff"].to_numpy(), seg["abs_se"].to_numpy() ** 2
        # by hand: inverse-variance weights, fixed-effect mean, Q, I²
        w = 1 / v
        q = (w * (d - (w * d).sum() / w.sum()) ** 2).sum()
        k = len(d)
        assert row["n_segments"] == k and row["df"] == k - 1
        assert row["q"] == pytest.approx(q, rel=1e-10)
        assert row["p_value"] == pytest.approx(stats.chi2.sf(q, k - 1), rel=1e-10)
        assert row["i2"] == pytest.approx(max(0.0, (q - (k - 1)) / q), rel=1e-10, abs=1e-15)
        # statsmodels' meta-analysis: same Q; its I² is not truncated at 0
        ref = combine_effects(d, v)
        assert row["q"] == pytest.approx(ref.q, rel=1e-10)
        assert row["i2"] == pytest.approx(max(0.0, ref.i2), rel=1e-10, abs=1e-15)
        assert row["p_value"] == pytest.approx(ref.test_homogeneity().pvalue, rel=1e-10)
        assert row["heterogeneous"] == (row["p_value_adjusted"] < 0.05)
    flagged = het.set_index(["metric", "segment_column"])["heterogeneous"]
    assert flagged[("rev", "country")]  # the DE-only effect is detected ...
    assert not flagged[("rev", "device")]  # ... and not confused with a device effect
    assert het.set_index(["metric", "segment_column"]).loc[("rev", "country"), "i2"] > 0.5


def test_untestable_segments_are_left_out():
    results = pd.DataFrame(
        {
            "experiment": "e",
            "variant": "b",
            "metric": "m",
            "segment": ["all", "k=1", "k=2", "k=3", "k=4", "j=1", "j=2"],
            "abs_diff": [0.1, 0.2, 0.0, np.nan, 0.5, 0.1, 0.3],
            "abs_se": [0.05, 0.1, 0.1, np.nan, 0.0, 0.1, 0.2],
            "status": ["ok", "ok", "srm", "empty_arm", "zero_variance", "ok", "empty_arm"],
            "alpha": 0.05,
        }
    )
    het = heterogeneity(results).set_index("segment_column")
    assert het.loc["k", "n_segments"] == 2  # k=3 (empty arm) and k=4 (zero variance) left out
    assert het.loc["k", "q"] == pytest.approx(
        combine_effects(np.array([0.2, 0.0]), np.array([0.01, 0.01])).q
    )
    assert het.loc["j", "n_segments"] == 1
    assert np.isnan(het.loc["j", "q"]) and np.isnan(het.loc["j", "p_value"])
    assert not het.loc["j", "heterogeneous"]


def test_no_segments_gives_an_empty_frame_and_old_constructors_still_work():
    rng = np.random.default_rng(52)
    df = pd.DataFrame({"variant": rng.choice(["a", "b"], 500), "y": rng.normal(size=500)})
    res = analyse(aggregate(df, [REV], variant_column="variant"), [REV], AnalysisOptions("a"))
    assert res.heterogeneity.empty
    assert list(res.heterogeneity.columns) == list(HETEROGENEITY_COLUMNS)
    old = AnalysisResult(res.results, res.srm)
    assert old.heterogeneity.empty and list(old.heterogeneity.columns) == list(
        HETEROGENEITY_COLUMNS
    )


def test_q_test_is_calibrated_under_homogeneity():
    """4,000 A/A-like experiments with 5 segment values sharing one true effect: the Q test's
    raw p-value is below α = 5 % in 4–6 % of them; the flag, corrected over the run's 4,000
    tests (test_heterogeneity_correction.py), in hardly any."""
    rng = np.random.default_rng(53)
    n_exp, n_seg, n = 4000, 5, 400
    frames = []
    for s in range(n_seg):
        for variant, mu in (("a", 10.0), ("b", 10.5)):
            arm = simulate_normal_arm(rng, n, mu, 4.0, n_exp)
            frames.append(
                pd.DataFrame(
                    {
                        "experiment": np.arange(n_exp).astype(str),
                        "segment": f"seg={s}",
                        "variant": variant,
                        "metric": "rev",
                        "n": arm["n"],
                        "sum_y": arm["sum_y"],
                        "sum_y2": arm["sum_y2"],
                    }
                )
            )
    seg = pd.concat(frames, ignore_index=True)
    overall = seg.groupby(["experiment", "variant", "metric"], as_index=False)[
        ["n", "sum_y", "sum_y2"]
    ].sum()
    frame = pd.concat([overall.assign(segment="all"), seg], ignore_index=True)
    frame = frame.assign(sum_x=frame["n"], sum_x2=frame["n"], sum_xy=frame["sum_y"])
    het = analyse(frame, [REV], AnalysisOptions(control="a")).heterogeneity
    assert len(het) == n_exp and (het["n_segments"] == n_seg).all()
    assert 0.04 <= (het["p_value"] < 0.05).mean() <= 0.06
    assert het["heterogeneous"].sum() <= 2
