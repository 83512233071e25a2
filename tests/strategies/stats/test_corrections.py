"""Multiple-testing corrections vs statsmodels' multipletests, and the family scope."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from strategies.errors import ConfigError
from strategies.stats.aggregate import aggregate
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.corrections import adjust_by_family, adjust_pvalues
from strategies.stats.metrics import MetricSpec


@pytest.fixture(autouse=True)
def _no_gc_in_statsmodels_holm(monkeypatch):
    """statsmodels' Holm calls gc.collect() on every call (~0.1 s each with a big heap);
    skipping it changes no number and keeps the many-family tests fast."""
    monkeypatch.setattr(gc, "collect", lambda *args: 0)


STATSMODELS_NAME = {
    "holm": "holm",
    "hochberg": "simes-hochberg",
    "bh": "fdr_bh",
    "bonferroni": "bonferroni",
}


def _p_value_sets() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [
        rng.uniform(size=50),
        np.concatenate([rng.uniform(0, 0.01, 10), rng.uniform(size=40)]),
        np.array([0.01, 0.01, 0.02, 0.02, 0.02, 0.5, 0.04, 0.03]),  # ties
        np.array([0.2]),
        np.array([0.001, 0.9, 1.0, 0.0]),
    ]


@pytest.mark.parametrize("method", list(STATSMODELS_NAME))
@pytest.mark.parametrize("case", range(5))
def test_matches_statsmodels(method, case):
    p = _p_value_sets()[case]
    expected = multipletests(p, method=STATSMODELS_NAME[method])[1]
    np.testing.assert_allclose(adjust_pvalues(p, method), expected, rtol=1e-12, atol=1e-15)


def test_none_returns_p_unchanged():
    p = np.array([0.3, 0.01, np.nan])
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)


@pytest.mark.parametrize("method", list(STATSMODELS_NAME))
def test_nan_is_left_out_of_the_family(method):
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan])
    out = adjust_pvalues(p, method)
    assert np.isnan(out[[1, 4]]).all()
    finite = multipletests(p[[0, 2, 3]], method=STATSMODELS_NAME[method])[1]
    np.testing.assert_allclose(out[[0, 2, 3]], finite, rtol=1e-12)


@pytest.mark.parametrize("method", list(STATSMODELS_NAME))
def test_families_are_adjusted_separately(method):
    rng = np.random.default_rng(6)
    p = rng.uniform(0, 0.2, 30)
    family = np.where(np.arange(30) % 3 == 0, "overall", "segments")
    out = adjust_by_family(p, family, method)
    for label in ("overall", "segments"):
        members = family == label
        expected = multipletests(p[members], method=STATSMODELS_NAME[method])[1]
        np.testing.assert_allclose(out[members], expected, rtol=1e-12)


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown multiple-testing correction 'sidak'.*holm"):
        adjust_pvalues(np.array([0.1]), "sidak")
    with pytest.raises(ConfigError, match="sidak"):
        AnalysisOptions(control="a", correction="sidak")


def test_analyse_uses_overall_and_segment_families():
    """Overall rows of all experiments are one family; segment rows another."""
    rng = np.random.default_rng(7)
    n = 6000
    df = pd.DataFrame(
        {
            "exp": rng.choice(["e1", "e2"], n),
            "variant": rng.choice(["a", "b", "c"], n),
            "device": rng.choice(["mobile", "desktop"], n),
            "y": rng.normal(size=n),
            "conv": rng.integers(0, 2, n),
        }
    )
    df.loc[df["variant"] == "b", "y"] += 0.1
    metrics = [MetricSpec("y", "mean", column="y"), MetricSpec("conv", "proportion", column="conv")]
    stats = aggregate(
        df, metrics, variant_column="variant", experiment_column="exp", segment_columns=["device"]
    )
    res = analyse(stats, metrics, AnalysisOptions(control="a", correction="holm")).results
    overall = res["segment"] == "all"
    assert overall.sum() == 2 * 2 * 2  # experiments × treatments × metrics
    for family in (overall, ~overall):
        expected = multipletests(res.loc[family, "p_value"], method="holm")[1]
        np.testing.assert_allclose(res.loc[family, "p_value_adjusted"], expected, rtol=1e-12)


@pytest.mark.parametrize("method", list(STATSMODELS_NAME))
def test_many_families_in_one_grouped_pass(method):
    """More than a handful of families take the grouped (sort-based) path: it must agree
    with statsmodels family by family, with ties and NaNs."""
    rng = np.random.default_rng(8)
    p = np.round(rng.uniform(0, 0.1, 600), 3)  # rounding creates ties
    p[rng.choice(600, 40, replace=False)] = np.nan
    family = rng.integers(0, 50, 600).astype(str)
    out = adjust_by_family(p, family, method)
    for label in np.unique(family):
        members = (family == label) & ~np.isnan(p)
        expected = multipletests(p[members], method=STATSMODELS_NAME[method])[1]
        np.testing.assert_allclose(out[members], expected, rtol=1e-12, atol=1e-15)
    assert np.isnan(out[np.isnan(p)]).all()


def _scoped_results(scope: str) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    n = 9000
    df = pd.DataFrame(
        {
            "exp": rng.choice(["e1", "e2", "e3"], n),
            "variant": rng.choice(["a", "b", "c"], n),
            "device": rng.choice(["mobile", "desktop"], n),
            "y": rng.normal(size=n),
            "conv": rng.integers(0, 2, n),
        }
    )
    df.loc[df["variant"] == "b", "y"] += 0.08
    metrics = [MetricSpec("y", "mean", column="y"), MetricSpec("conv", "proportion", column="conv")]
    stats = aggregate(
        df, metrics, variant_column="variant", experiment_column="exp", segment_columns=["device"]
    )
    options = AnalysisOptions(control="a", correction="holm", correction_scope=scope)
    return analyse(stats, metrics, options).results


@pytest.mark.parametrize(
    ("scope", "keys"),
    [("run", []), ("experiment", ["experiment"]), ("metric", ["experiment", "metric"])],
)
def test_correction_scope_families(scope, keys):
    res = _scoped_results(scope)
    part = np.where(res["segment"] == "all", "overall", "segments")
    families = res.groupby([*keys, part], sort=False).groups if keys else res.groupby(part).groups
    # run: 2 families; experiment: 3 × 2; metric: 3 × 2 × 2 (overall and segments apart)
    assert len(families) == {"run": 2, "experiment": 6, "metric": 12}[scope]
    for index in families.values():
        expected = multipletests(res.loc[index, "p_value"], method="holm")[1]
        np.testing.assert_allclose(res.loc[index, "p_value_adjusted"], expected, rtol=1e-12)
    # a narrower scope never adjusts more
    run = _scoped_results("run")
    assert (res["p_value_adjusted"] <= run["p_value_adjusted"] + 1e-15).all()


def test_unknown_scope_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown correction_scope 'segment'.*run, experiment"):
        AnalysisOptions(control="a", correction_scope="segment")
