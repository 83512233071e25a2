"""The heterogeneity flag is corrected for the number of Cochran's Q tests in a run.

A run with 8 experiments × 4 metrics × 1 segment column makes 32 Q tests; flagging each at
p < α flags at least one in ~80 % of runs where no effect differs between segments. The
adjusted p-values are checked against statsmodels' ``multipletests`` and the family-wise flag
rate by simulating segment statistics under homogeneity (numpy, no raw rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from strategies.stats.heterogeneity import heterogeneity
from strategies.stats.schema import HETEROGENEITY_COLUMNS

ALPHA = 0.05
STATSMODELS = {"holm": "holm", "bonferroni": "bonferroni", "hochberg": "simes-hochberg"}
STATSMODELS["bh"] = "fdr_bh"


def _segment_results(
    rng: np.random.Generator,
    n_experiments: int,
    metrics: tuple[str, ...],
    columns: dict[str, int],
    spread: float = 0.0,
) -> pd.DataFrame:
    """A results frame of segment rows only: every experiment × metric × segment column value
    gets an estimated effect d ~ N(δ, se²) around a common effect (plus ``spread`` × a per-
    segment deviation), with standard errors that differ between segments."""
    keys = []
    for e in range(n_experiments):
        for m in metrics:
            for col, k in columns.items():
                keys.extend((f"exp{e:04d}", m, f"{col}={v}") for v in range(k))
    frame = pd.DataFrame(keys, columns=["experiment", "metric", "segment"])
    se = rng.uniform(0.5, 2.0, len(frame))
    deviation = spread * rng.normal(size=len(frame))
    return frame.assign(
        variant="B",
        abs_diff=0.3 + deviation + se * rng.normal(size=len(frame)),
        abs_se=se,
        status="ok",
        alpha=ALPHA,
    )


def test_columns_and_flag_from_the_adjusted_p_value():
    rng = np.random.default_rng(7)
    res = _segment_results(rng, 8, ("a", "b", "c", "d"), {"device": 3}, spread=0.6)
    het = heterogeneity(res)
    assert list(het.columns) == list(HETEROGENEITY_COLUMNS)
    assert "p_value_adjusted" in HETEROGENEITY_COLUMNS
    assert len(het) == 32
    expected = multipletests(het["p_value"], alpha=ALPHA, method="holm")
    np.testing.assert_allclose(het["p_value_adjusted"], expected[1], rtol=1e-12)
    np.testing.assert_array_equal(het["heterogeneous"], expected[0])
    # the correction matters here: some raw p < α are not flagged
    assert ((het["p_value"] < ALPHA) & ~het["heterogeneous"]).any()


@pytest.mark.parametrize("method", ["holm", "bonferroni", "hochberg", "bh"])
@pytest.mark.parametrize("scope", ["run", "experiment", "metric"])
def test_adjusted_p_values_match_statsmodels_within_each_family(method, scope):
    rng = np.random.default_rng(11)
    res = _segment_results(rng, 3, ("a", "b"), {"device": 3, "country": 5}, spread=0.4)
    # one untestable group (a single testable segment) is left out of its family
    res.loc[(res["experiment"] == "exp0001") & (res["segment"] != "device=0"), "status"] = [
        "empty_arm" if s.startswith("device") else "ok"
        for s in res.loc[
            (res["experiment"] == "exp0001") & (res["segment"] != "device=0"), "segment"
        ]
    ]
    het = heterogeneity(res, correction=method, correction_scope=scope)
    keys = {"run": [], "experiment": ["experiment"], "metric": ["experiment", "metric"]}[scope]
    groups = het.groupby(keys) if keys else [("run", het)]
    n_families = 0
    for _, fam in groups:
        tested = fam["p_value"].notna()
        ref = multipletests(fam.loc[tested, "p_value"], alpha=ALPHA, method=STATSMODELS[method])
        np.testing.assert_allclose(fam.loc[tested, "p_value_adjusted"], ref[1], rtol=1e-12)
        np.testing.assert_array_equal(fam.loc[tested, "heterogeneous"], ref[0])
        assert fam.loc[~tested, "p_value_adjusted"].isna().all()
        assert not fam.loc[~tested, "heterogeneous"].any()
        n_families += 1
    assert n_families == {"run": 1, "experiment": 3, "metric": 6}[scope]


def test_none_leaves_the_flag_uncorrected():
    rng = np.random.default_rng(12)
    het = heterogeneity(
        _segment_results(rng, 4, ("a",), {"device": 3}, spread=0.5), correction="none"
    )
    np.testing.assert_array_equal(het["p_value_adjusted"], het["p_value"])
    np.testing.assert_array_equal(het["heterogeneous"], het["p_value"] < ALPHA)


def test_family_wise_flag_rate_under_homogeneity_is_at_most_alpha():
    """2,000 simulated runs of 32 Q tests each (4 metrics × 8 segment columns with 2–6 values,
    one family per run), every segment sharing the run's effect: at least one flag in
    ≤ α of the runs (Holm; Monte Carlo SE ≈ 0.005), against ~80 % without the correction."""
    rng = np.random.default_rng(2024)
    n_runs = 2000
    columns = {f"col{j}": k for j, k in enumerate([2, 3, 3, 4, 4, 5, 6, 3])}
    res = _segment_results(rng, n_runs, ("a", "b", "c", "d"), columns)
    het = heterogeneity(res, correction="holm", correction_scope="experiment")
    assert len(het) == n_runs * 32
    any_flag = het.groupby("experiment")["heterogeneous"].any()
    any_raw = (het["p_value"] < ALPHA).groupby(het["experiment"]).any()
    assert any_flag.mean() <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / n_runs)
    assert any_flag.mean() >= 0.02  # not vacuous: Holm at m = 32 is close to α
    assert any_raw.mean() > 0.7
    # the raw p-values themselves are uniform under the null (the Q test is calibrated)
    assert 0.045 <= (het["p_value"] < ALPHA).mean() <= 0.055
