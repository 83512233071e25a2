"""Tests for the demo-data simulator.

The truth table is checked two independent ways: against a different route to the same
expectation (negative-binomial sums, analytic lift products) and against large simulated
samples with standard errors computed from the sample itself.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from liftlab.simulate.experiments import (
    COLUMNS,
    ENGAGEMENT_SHAPE,
    EXPERIMENT_DAYS,
    METRICS,
    PRE_PERIOD_WINDOWS,
    REVENUE_OUTLIER_FACTOR,
    STAGGER_DAYS,
    ExperimentSpec,
    SimulationConfig,
    SimulationResult,
    default_experiments,
    segment_table,
    simulate,
    write_dataset,
)
from strategies.errors import ConfigError

COUNTS = ["opens", "clicks", "conversions"]

LIFTED = ExperimentSpec(
    "lifted", 400_000, open_lift=0.10, click_lift=-0.10, conversion_lift=0.20, order_value_lift=0.15
)
AA_SRM = ExperimentSpec("aa_srm", 400_000, actual_split=(0.45, 0.55))


@pytest.fixture(scope="module")
def big() -> SimulationResult:
    """Two large experiments: every lift at once, and an A/A with a planted SRM."""
    return simulate(SimulationConfig(experiments=(LIFTED, AA_SRM), seed=7))


@pytest.fixture(scope="module")
def demo() -> SimulationResult:
    return simulate()


def _small(seed: int = 3, dirty: float = 0.0) -> SimulationConfig:
    return SimulationConfig(
        experiments=(
            ExperimentSpec("s1", 20_000, conversion_lift=0.2),
            ExperimentSpec("s2", 15_000, actual_split=(0.55, 0.45)),
        ),
        seed=seed,
        dirty_fraction=dirty,
    )


# ------------------------------------------------------------------ defaults and determinism


def test_default_experiments_cover_the_demo_mix(demo: SimulationResult) -> None:
    exps = default_experiments()
    assert len(exps) == 8 and len({e.name for e in exps}) == 8
    assert SimulationConfig().experiments == exps
    truth = demo.truth
    assert len(truth) == 8 * 4 and set(truth["metric"]) == set(METRICS)
    by_exp = truth.groupby("experiment")
    all_none = by_exp["direction"].apply(lambda d: (d == "none").all())
    assert all_none.sum() >= 2  # A/A-like experiments
    rpu = truth[truth["metric"] == "revenue_per_user"].set_index("experiment")
    assert (rpu["direction"] == "negative").sum() == 1
    assert (rpu["rel_lift"] >= 0.10).sum() >= 3  # clear winners
    assert sum(e.order_value_lift != 0 for e in exps) >= 1
    srm = by_exp["srm"].first()
    assert srm.sum() == 1
    srm_spec = next(e for e in exps if e.srm)
    assert srm_spec.split == (0.5, 0.5) and srm_spec.actual_split == (0.53, 0.47)
    # realistic base rates (the control arm is the same in every experiment)
    control = truth.groupby("metric")["control_value"].first()
    assert 0.20 <= control["open_rate"] <= 0.30
    assert 0.03 <= control["conversion_rate"] <= 0.06
    assert 1.0 <= control["revenue_per_user"] <= 10.0


def test_same_seed_identical_different_seed_different() -> None:
    a, b = simulate(_small(seed=3, dirty=0.02)), simulate(_small(seed=3, dirty=0.02))
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert a.manifest == b.manifest
    c = simulate(_small(seed=4, dirty=0.02))
    assert not a.data["user_id"].equals(c.data["user_id"])
    assert not a.data["revenue"].equals(c.data["revenue"])
    pd.testing.assert_frame_equal(a.truth, c.truth)  # the truth does not depend on the seed


def test_experiment_rows_do_not_depend_on_later_experiments() -> None:
    one = simulate(SimulationConfig(experiments=(ExperimentSpec("s1", 5_000),), seed=9))
    two = simulate(
        SimulationConfig(
            experiments=(ExperimentSpec("s1", 5_000), ExperimentSpec("s2", 10)), seed=9
        )
    )
    cols = [c for c in COLUMNS if c != "user_id"]  # ids are drawn over the whole file
    # Label columns are categoricals whose categories are the labels present in the whole file
    # ("s2" only exists in the second); compare the labels themselves.
    labels = {c: str for c in cols if isinstance(one.data[c].dtype, pd.CategoricalDtype)}
    pd.testing.assert_frame_equal(
        one.data[cols].astype(labels), two.data[cols].iloc[:5_000].astype(labels)
    )


# ------------------------------------------------------------------ schema and invariants


def test_schema_dtypes_and_invariants(demo: SimulationResult) -> None:
    d = demo.data
    assert list(d.columns) == list(COLUMNS)
    assert len(d) == 8 * 50_000 == demo.manifest["n_rows"]
    for c in ["user_id", "impressions", *COUNTS, "converted"]:
        assert d[c].dtype == np.int64, c
    for c in ["revenue", "pre_revenue"]:
        assert d[c].dtype == np.float64, c
    for c in ["experiment", "variant", "device", "country", "user_type"]:
        assert pd.api.types.is_string_dtype(d[c]), c
    assert isinstance(d["assigned_at"].dtype, pd.DatetimeTZDtype)
    assert str(d["assigned_at"].dt.tz) == "UTC"

    assert set(d["variant"]) == {"A", "B"}
    assert set(d["device"]) == {"mobile", "desktop", "tablet"}
    assert set(d["country"]) == {"US", "GB", "DE", "FR", "BR", "IN"}
    assert set(d["user_type"]) == {"new", "returning"}
    assert d["user_id"].is_unique
    assert (d["impressions"] >= 1).all()
    assert (d["opens"] <= d["impressions"]).all() and (d["opens"] >= 0).all()
    assert (d["clicks"] <= d["opens"]).all()
    assert (d["conversions"] <= d["clicks"]).all()
    assert (d["converted"] == (d["conversions"] > 0).astype(int)).all()
    assert (d.loc[d["conversions"] == 0, "revenue"] == 0).all()
    assert (d.loc[d["conversions"] > 0, "revenue"] > 0).all()
    assert (d["revenue"] >= 0).all() and (d["pre_revenue"] >= 0).all()
    assert d.notna().all().all()
    json.dumps(demo.manifest)  # JSON-serialisable


def test_assignment_windows_are_14_days_from_staggered_starts(demo: SimulationResult) -> None:
    start = pd.Timestamp("2026-01-05", tz="UTC")
    for i, spec in enumerate(default_experiments()):
        t = demo.data.loc[demo.data["experiment"] == spec.name, "assigned_at"]
        lo = start + pd.Timedelta(days=STAGGER_DAYS * i)
        assert t.min() >= lo and t.max() < lo + pd.Timedelta(days=EXPERIMENT_DAYS)
        assert t.max() - t.min() > pd.Timedelta(days=EXPERIMENT_DAYS - 1)


# ------------------------------------------------------------------ ground truth


def test_truth_matches_independent_computation() -> None:
    """Recompute each arm's truth from the segment table by another route: conversion via an
    explicit negative-binomial sum (Gamma-Poisson mixture) instead of the closed-form PGF."""
    seg = segment_table()
    assert math.isclose(seg["share"].sum(), 1.0)
    k = ENGAGEMENT_SHAPE
    result = simulate(SimulationConfig(experiments=(ExperimentSpec("x", 10, **_lifts()),)))
    truth = result.truth.set_index("metric")
    for arm, col in ((0, "control_value"), (1, "variant_value")):
        f = {key: (1 + v) if arm else 1.0 for key, v in _lifts().items()}
        o = seg["open_prob"] * f["open_lift"]
        q = seg["click_prob"] * f["click_lift"]
        c = seg["conversion_prob"] * f["conversion_lift"]
        mu = seg["order_value_mean"] * f["order_value_lift"]
        w, lam = seg["share"].to_numpy(), seg["impressions_rate"].to_numpy()
        r = (o * q * c).to_numpy()
        # P(no conversion) = sum_n P(1 + NB = n) (1 - r)^n, NB ~ negbin(k, k / (k + lam))
        n = np.arange(0, 20_000)
        p_none = np.array(
            [np.sum(stats.nbinom.pmf(n, k, k / (k + lam_s)) * (1 - r_s) ** (n + 1))
             for lam_s, r_s in zip(lam, r, strict=True)]
        )  # fmt: skip
        expected = {
            "open_rate": np.sum(w * o * (1 + lam)) / np.sum(w * (1 + lam)),
            "ctr": np.sum(w * o * q * (1 + lam)) / np.sum(w * (1 + lam)),
            "conversion_rate": 1 - np.sum(w * p_none),
            "revenue_per_user": np.sum(w * r * (1 + lam) * mu),
        }
        for metric, value in expected.items():
            assert math.isclose(truth.loc[metric, col], value, rel_tol=1e-9), (metric, arm)


def _lifts() -> dict[str, float]:
    return {"open_lift": 0.1, "click_lift": -0.1, "conversion_lift": 0.2, "order_value_lift": 0.15}


def test_truth_lifts_follow_from_the_funnel(big: SimulationResult) -> None:
    """Lifts multiply the funnel uniformly, so per-impression and revenue lifts are products."""
    t = big.truth.set_index(["experiment", "metric"])["rel_lift"]
    lo, lc, lv, lm = 1.10, 0.90, 1.20, 1.15
    assert math.isclose(t["lifted", "open_rate"], lo - 1, rel_tol=1e-12)
    assert math.isclose(t["lifted", "ctr"], lo * lc - 1, rel_tol=1e-12)
    assert math.isclose(t["lifted", "revenue_per_user"], lo * lc * lv * lm - 1, rel_tol=1e-12)
    # per-user conversion saturates, so its lift is below the per-impression one
    assert 0 < t["lifted", "conversion_rate"] < lo * lc * lv - 1


def test_lift_free_metrics_have_identical_truth(big: SimulationResult, demo: SimulationResult):
    aa = big.truth[big.truth["experiment"] == "aa_srm"]
    assert (aa["control_value"] == aa["variant_value"]).all()
    assert (aa["abs_diff"] == 0).all() and (aa["rel_lift"] == 0).all()
    assert (aa["direction"] == "none").all()
    lifted = big.truth[big.truth["experiment"] == "lifted"]
    assert (lifted["direction"] != "none").all()
    # order-value-only experiment: funnel metrics identical, revenue moves
    t = demo.truth.set_index(["experiment", "metric"])
    shipping = t.loc["exp07_free_shipping"]
    for m in ["open_rate", "ctr", "conversion_rate"]:
        assert shipping.loc[m, "control_value"] == shipping.loc[m, "variant_value"]
    assert shipping.loc["revenue_per_user", "direction"] == "positive"


def _ratio(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """sum(x)/sum(y) and its delta-method standard error."""
    n, r = len(x), x.sum() / y.sum()
    var = (np.var(x, ddof=1) - 2 * r * np.cov(x, y)[0, 1] + r**2 * np.var(y, ddof=1)) / (
        n * y.mean() ** 2
    )
    return r, math.sqrt(var)


def test_sample_estimates_recover_the_truth(big: SimulationResult) -> None:
    d, truth = big.data, big.truth.set_index(["experiment", "metric"])
    for (exp, variant), g in d.groupby(["experiment", "variant"]):
        col = "control_value" if variant == "A" else "variant_value"
        imp = g["impressions"].to_numpy(float)
        p = g["converted"].mean()
        est = {
            "open_rate": _ratio(g["opens"].to_numpy(float), imp),
            "ctr": _ratio(g["clicks"].to_numpy(float), imp),
            "conversion_rate": (p, math.sqrt(p * (1 - p) / len(g))),
            "revenue_per_user": (g["revenue"].mean(), g["revenue"].std() / math.sqrt(len(g))),
        }
        for metric, (value, se) in est.items():
            z = (value - truth.loc[(exp, metric), col]) / se
            assert abs(z) < 4, (exp, variant, metric, value, truth.loc[(exp, metric), col], z)


def test_srm_share_follows_actual_split(big: SimulationResult) -> None:
    d = big.data
    for spec in (LIFTED, AA_SRM):
        share_a = (d.loc[d["experiment"] == spec.name, "variant"] == "A").mean()
        drawn = spec.drawn_split[0]
        se = math.sqrt(drawn * (1 - drawn) / spec.n_users)
        assert abs(share_a - drawn) < 4 * se
        if spec.srm:
            assert abs(share_a - spec.split[0]) > 20 * se  # a chi-square SRM check will fire
    row = big.truth[big.truth["experiment"] == "aa_srm"].iloc[0]
    assert bool(row["srm"]) and row["expected_share_control"] == 0.5
    assert row["actual_share_control"] == 0.45
    assert not big.truth.loc[big.truth["experiment"] == "lifted", "srm"].any()


def test_pre_revenue_predicts_revenue_but_ignores_variant(big: SimulationResult) -> None:
    d = big.data
    rho = np.corrcoef(d["revenue"], d["pre_revenue"])[0, 1]
    assert 0.4 <= rho <= 0.6
    g = d[d["experiment"] == "lifted"].groupby("variant")["pre_revenue"]
    m, v, n = g.mean(), g.var(), g.size()
    z = (m["B"] - m["A"]) / math.sqrt(v["A"] / n["A"] + v["B"] / n["B"])
    assert abs(z) < 4  # no treatment effect on the covariate, despite +37% on revenue
    # the pre-period is PRE_PERIOD_WINDOWS experiment windows at control rates, in both arms
    rpu = big.truth.set_index(["experiment", "metric"]).loc[("lifted", "revenue_per_user")]
    expected = PRE_PERIOD_WINDOWS * rpu["control_value"]
    for arm in ("A", "B"):
        assert abs(m[arm] - expected) < 4 * math.sqrt(v[arm] / n[arm]), arm


def test_pre_treatment_columns_do_not_depend_on_the_effects() -> None:
    """Same seed, same experiment with and without effects: everything fixed before treatment
    (covariate, segments, assignment, impressions) is bit-identical; outcomes are not."""
    with_fx = simulate(SimulationConfig(experiments=(ExperimentSpec("e", 30_000, **_lifts()),)))
    without = simulate(SimulationConfig(experiments=(ExperimentSpec("e", 30_000),)))
    pre = ["user_id", "variant", "assigned_at", "device", "country", "user_type", "impressions"]
    pd.testing.assert_frame_equal(
        with_fx.data[[*pre, "pre_revenue"]], without.data[[*pre, "pre_revenue"]]
    )
    assert not with_fx.data["revenue"].equals(without.data["revenue"])


# ------------------------------------------------------------------ dirty data


def _normalise(variant: pd.Series) -> pd.Series:
    return variant.astype(str).str.strip().str.upper()


def _labels_as_str(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical label columns as plain strings: compares labels, not category lists (a
    Parquet round trip or a CSV may order or type them differently)."""
    return df.astype({c: str for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})


def test_dirty_data_injects_recorded_problems() -> None:
    dirty = simulate(_small(dirty=0.05))
    clean = simulate(_small(dirty=0.0)).data
    inj, d = dirty.manifest["injected"], dirty.data
    n_clean = len(clean)
    assert all(inj[k] >= 1 for k in inj if k != "missing_count_cells")
    planned = round(0.05 * n_clean)
    total = sum(v for k, v in inj.items() if k not in ("missing_count_cells",))
    assert abs(total - planned) <= 5
    assert (
        len(d)
        == dirty.manifest["n_rows"]
        == n_clean + inj["duplicate_rows"] + inj["cross_variant_users"]
    )

    assert d.duplicated().sum() == inj["duplicate_rows"]
    noisy = ~d["variant"].isin(["A", "B"])
    assert noisy.sum() == inj["variant_label_noise"]
    assert set(_normalise(d["variant"])) == {"A", "B"}
    assert d.loc[noisy, "variant"].str.contains(r"^\s|\s$|[ab]", regex=True).all()

    nan_cells = d[COUNTS].isna()
    assert nan_cells.sum().to_dict() == inj["missing_count_cells"]
    assert nan_cells.any(axis=1).sum() == inj["missing_count_rows"]
    # NaN only where the clean value is 0
    by_id = clean.set_index("user_id")
    for c in COUNTS:
        ids = d.loc[d[c].isna(), "user_id"]
        assert (by_id.loc[ids, c] == 0).all(), c

    units = d.assign(v=_normalise(d["variant"])).groupby(["experiment", "user_id"])["v"].nunique()
    assert (units > 1).sum() == inj["cross_variant_users"]
    both = d[d["user_id"].isin(units[units > 1].index.get_level_values("user_id"))]
    assert set(_normalise(both["variant"])) == {"A", "B"}


def test_cleaning_the_dirty_data_restores_the_clean_data() -> None:
    """Undo each documented problem the way a cleaning step would; the result must be the clean
    data minus the cross-variant users (and with the outliers' x50 undone)."""
    dirty = simulate(_small(dirty=0.05))
    clean = simulate(_small(dirty=0.0)).data
    inj, d = dirty.manifest["injected"], dirty.data.copy()
    d["variant"] = _normalise(d["variant"])
    d = d.drop_duplicates()
    n_variants = d.groupby(["experiment", "user_id"])["variant"].transform("nunique")
    d = d[n_variants == 1]
    d[COUNTS] = d[COUNTS].fillna(0).astype("int64")
    assert (d["opens"] <= d["impressions"]).all() and (d["clicks"] <= d["opens"]).all()
    assert (d["conversions"] <= d["clicks"]).all()
    assert (d["converted"] == (d["conversions"] > 0)).all()

    d = d.sort_values("user_id").reset_index(drop=True)
    expected = clean[clean["user_id"].isin(d["user_id"])].sort_values("user_id")
    expected = expected.reset_index(drop=True)
    assert len(expected) == len(clean) - inj["cross_variant_users"]
    ratio = d["revenue"] / expected["revenue"]
    outliers = ratio.notna() & (ratio != 1)
    assert outliers.sum() == inj["revenue_outliers"]
    assert np.allclose(ratio[outliers], REVENUE_OUTLIER_FACTOR)
    d.loc[outliers, "revenue"] = expected.loc[outliers, "revenue"]
    pd.testing.assert_frame_equal(_labels_as_str(d), _labels_as_str(expected))


def test_clean_data_records_no_problems() -> None:
    inj = simulate(_small()).manifest["injected"]
    assert inj["missing_count_cells"] == {c: 0 for c in COUNTS}
    assert all(v == 0 for k, v in inj.items() if k != "missing_count_cells")


# ------------------------------------------------------------------ writing


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_dataset_round_trip(tmp_path, suffix: str) -> None:
    result = simulate(_small(dirty=0.05))  # dirty: stray whitespace/tabs and NaN must survive
    paths = write_dataset(result, tmp_path / "nested" / "dir" / f"demo{suffix}")
    assert paths["data"] == tmp_path / "nested" / "dir" / f"demo{suffix}"
    assert paths["truth"].name == "demo_truth.csv"
    assert paths["manifest"].name == "demo_manifest.json"
    assert all(p.exists() for p in paths.values())

    if suffix == ".parquet":
        back = pd.read_parquet(paths["data"])
    else:
        back = pd.read_csv(paths["data"], keep_default_na=False, na_values=[""])
        back["assigned_at"] = pd.to_datetime(back["assigned_at"], utc=True).dt.as_unit("us")
    if suffix == ".parquet":  # the label columns come back as categoricals
        assert (back.dtypes == "category").sum() == (result.data.dtypes == "category").sum() == 5
    pd.testing.assert_frame_equal(
        _labels_as_str(back), _labels_as_str(result.data), check_dtype=suffix == ".parquet"
    )
    pd.testing.assert_frame_equal(pd.read_csv(paths["truth"]), result.truth)
    assert json.loads(paths["manifest"].read_text()) == result.manifest


@pytest.mark.parametrize("name", ["demo.json", "demo.txt", "demo"])
def test_write_dataset_rejects_unknown_suffix(tmp_path, name: str) -> None:
    with pytest.raises(ConfigError, match="csv or .parquet"):
        write_dataset(simulate(_small()), tmp_path / name)
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------ configuration errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"open_lift": -1.0}, "open_lift"),
        ({"click_lift": 10.0}, "above 1"),
        ({"split": (0.6, 0.6)}, "sum to 1"),
        ({"actual_split": (0.0, 1.0)}, "positive"),
        ({"n_users": 1}, "n_users"),
        ({"order_value_lift": "big"}, "order_value_lift"),
    ],
)
def test_bad_experiment_spec_raises_config_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExperimentSpec("bad", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"experiments": ()}, "non-empty"),
        ({"experiments": (ExperimentSpec("x"), ExperimentSpec("x"))}, "unique"),
        ({"dirty_fraction": 0.9}, "dirty_fraction"),
        ({"seed": -1}, "seed"),
        ({"start": "not a date"}, "start"),
    ],
)
def test_bad_simulation_config_raises_config_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SimulationConfig(**kwargs)
