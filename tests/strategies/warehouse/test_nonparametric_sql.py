"""Mann–Whitney and bootstrap from small tables computed in SQL
(strategies.warehouse.nonparametric_sql).

The pandas path in strategies.stats.nonparametric is the reference: Mann–Whitney must equal
it (1e-9, and scipy on a few cells); the bootstrap must equal it exactly where both use one
bucket per unit, and agree within Monte-Carlo tolerance (and cover the truth) where the SQL
hash buckets differ from the pandas path's random buckets. The engine is the real DuckDB engine
over a pandas frame (tests/strategies/warehouse/conftest.py), which also checks that every query
transpiles to PostgreSQL and Spark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from strategies.errors import ConfigError, InputDataError
from strategies.stats.layers.nonparametric import NonparametricOptions, nonparametric_columns
from strategies.stats.metrics import MetricSpec
from strategies.stats.nonparametric import (
    bootstrap_bucket_sums,
    bootstrap_ci,
    mann_whitney,
    mann_whitney_rank_sums,
)
from strategies.stats.schema import (
    BOOTSTRAP_COLUMNS,
    MANN_WHITNEY_COLUMNS,
    NONPARAMETRIC_COLUMNS,
    RESULT_KEYS,
)
from strategies.warehouse.nonparametric_sql import (
    bootstrap_in_engine,
    bucket_sum_tables,
    mann_whitney_in_engine,
    nonparametric_in_engine,
    rank_sum_tables,
)
from tests.strategies.warehouse.conftest import LocalDuckDB

KW = {"value_column": "y", "variant_column": "variant", "experiment_column": "experiment"}


@pytest.fixture(scope="module")
def tied_data() -> pd.DataFrame:
    """Three experiments (one A/B/C), integer values full of ties (±0.0 included), a string,
    an integer and a nullable segment column, a segment where the control has no units, a
    segment cell holding only variant C, and unit ids in shuffled order."""
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
                        "y": np.where(rng.random(n) < 0.6, 0, rng.integers(1, 8, n)) * 1.0,
                        "x": rng.integers(1, 4, n) * 1.0,
                        "device": rng.choice(["desktop", "mobile", "tablet"], n),
                        "tier": rng.choice([2, 10], n),
                        "country": rng.choice(["de", "fr", None], n),
                    }
                )
            )
    df = pd.concat(parts, ignore_index=True)
    df.loc[df["y"] == 0, "y"] = np.where(rng.random(int((df["y"] == 0).sum())) < 0.5, 0.0, -0.0)
    df = df[~((df["experiment"] == "e2") & (df["variant"] == "A") & (df["device"] == "tablet"))]
    # e1 tier=10 & country=fr holds only C: comparison (e1, B) there has both arms empty.
    only_c = (df["experiment"] == "e1") & (df["tier"] == 10) & (df["country"] == "fr")
    df = df[~only_c | (df["variant"] == "C")].reset_index(drop=True)
    df["user_id"] = rng.permutation(len(df)) + 1000
    return df


SEGMENTS = ["device", "tier", "country"]


# --------------------------------------------------------------------------------------------
# Mann–Whitney


def test_rank_sum_tables_equal_the_pandas_tables(tied_data):
    with LocalDuckDB(tied_data) as engine:
        sql = rank_sum_tables(engine, "source", control="A", segment_columns=SEGMENTS, **KW)
    ref = mann_whitney_rank_sums(tied_data, control="A", segment_columns=SEGMENTS, **KW)
    assert len(sql) == len(ref) == 4
    for got, want in zip(sql, ref, strict=True):
        pd.testing.assert_frame_equal(got, want, rtol=1e-12, check_dtype=False)


def test_mann_whitney_in_engine_equals_pandas_and_scipy(tied_data):
    with LocalDuckDB(tied_data) as engine:
        got = mann_whitney_in_engine(
            engine, "source", control="A", segment_columns=SEGMENTS, metric_name="rev", **KW
        )
    want = mann_whitney(tied_data, control="A", segment_columns=SEGMENTS, metric_name="rev", **KW)
    assert list(got.columns) == list(MANN_WHITNEY_COLUMNS)
    pd.testing.assert_frame_equal(got, want, rtol=1e-9)
    # the edge cases the data was built for are really there
    assert {"ok", "empty_arm"} <= set(got["status"])
    assert (got["segment"] == "country=<NA>").any()
    assert got["segment"].str.startswith("tier=").sum() > 0
    tiers = got.loc[got["segment"].str.startswith("tier="), "segment"].unique().tolist()
    assert tiers == ["tier=2", "tier=10"]  # value order, not string order

    # independent check: scipy on a few cells
    ok = got[got["status"] == "ok"]
    for _, row in ok.iloc[[0, len(ok) // 2, len(ok) - 1]].iterrows():
        cell = tied_data["experiment"] == row["experiment"]
        if row["segment"] != "all":
            column, value = row["segment"].split("=", 1)
            values = tied_data[column]
            cell &= values.isna() if value == "<NA>" else values.astype(str) == value
        variant = tied_data.loc[cell & (tied_data["variant"] == row["variant"]), "y"]
        control = tied_data.loc[cell & (tied_data["variant"] == "A"), "y"]
        ref = stats.mannwhitneyu(variant, control, method="asymptotic", use_continuity=True)
        assert row["u_statistic"] == pytest.approx(ref.statistic, rel=1e-12)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_mann_whitney_in_engine_integer_variants_quoted_labels_and_zero_variance():
    df = pd.DataFrame(
        {
            "experiment": ["it's"] * 8 + ["flat"] * 4,
            "variant": [0, 0, 0, 1, 1, 1, 10, 10] + [0, 0, 1, 1],
            "y": [1.0, 2.0, 2.0, 3.0, 2.0, 5.0, 0.0, 1.0] + [4.0] * 4,
        }
    )
    with LocalDuckDB(df) as engine:
        got = mann_whitney_in_engine(engine, "source", control="0", **KW)
    want = mann_whitney(df, control="0", **KW)
    pd.testing.assert_frame_equal(got, want, rtol=1e-9)
    assert got["variant"].tolist() == ["1", "1", "10"]  # 'flat' < "it's"; 1 < 10
    assert got.loc[got["experiment"] == "flat", "status"].item() == "zero_variance"


# --------------------------------------------------------------------------------------------
# bootstrap: small arms are exact


def test_small_arm_bucket_tables_and_intervals_equal_pandas(tied_data):
    """Every arm ≤ n_buckets → one bucket per unit on both paths; with rows in unit-id order
    the tables and the intervals are identical (mean and ratio metrics)."""
    ordered = tied_data.sort_values("user_id").reset_index(drop=True)
    args = {"control": "A", "segment_columns": SEGMENTS, **KW}
    for denominator in (None, "x"):
        with LocalDuckDB(tied_data) as engine:  # the engine holds the *unordered* rows
            sql_tables = bucket_sum_tables(
                engine, "source", unit_column="user_id", denominator_column=denominator, **args
            )
            got = bootstrap_in_engine(
                engine,
                "source",
                unit_column="user_id",
                denominator_column=denominator,
                n_resamples=300,
                seed=4,
                **args,
            )
        ref_tables = bootstrap_bucket_sums(ordered, denominator_column=denominator, **args)
        for s, r in zip(sql_tables, ref_tables, strict=True):
            pd.testing.assert_frame_equal(s, r, check_dtype=False)
        want = bootstrap_ci(
            ordered, denominator_column=denominator, n_resamples=300, seed=4, **args
        )
        assert list(got.columns) == list(BOOTSTRAP_COLUMNS)
        pd.testing.assert_frame_equal(got, want)
        assert (got["status"] == "ok").sum() > 20 and (got["status"] == "empty_arm").any()


def test_bootstrap_in_engine_is_deterministic_and_seeded(tied_data):
    args = {
        "control": "A",
        "segment_columns": ["device"],
        "unit_column": "user_id",
        "n_buckets": 50,  # most arms above it: hash buckets
        "n_resamples": 200,
        **KW,
    }
    with LocalDuckDB(tied_data) as engine:
        first = bootstrap_in_engine(engine, "source", seed=3, **args)
        again = bootstrap_in_engine(engine, "source", seed=3, **args)
        other = bootstrap_in_engine(engine, "source", seed=4, **args)
    shuffled = tied_data.sample(frac=1.0, random_state=5)
    with LocalDuckDB(shuffled) as engine:
        reordered = bootstrap_in_engine(engine, "source", seed=3, **args)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, reordered)  # row order does not matter
    ok = first["status"] == "ok"
    assert not np.allclose(first.loc[ok, "boot_abs_ci_low"], other.loc[ok, "boot_abs_ci_low"])


# --------------------------------------------------------------------------------------------
# bootstrap: large arms agree with pandas and cover the truth


def _lognormal_frame(rng: np.random.Generator, n: int, experiments: int) -> pd.DataFrame:
    parts = []
    for e in range(experiments):
        for arm in "AB":
            buys = rng.random(n) < 0.3
            parts.append(
                pd.DataFrame(
                    {
                        "experiment": f"e{e:02d}",
                        "variant": arm,
                        "y": np.where(buys, rng.lognormal(1.0, 1.0, n), 0.0),
                    }
                )
            )
    df = pd.concat(parts, ignore_index=True)
    df["user_id"] = rng.permutation(len(df))
    return df


def test_large_arms_agree_with_pandas_within_monte_carlo_tolerance():
    rng = np.random.default_rng(21)
    df = _lognormal_frame(rng, 6000, 6)
    args = {"control": "A", "n_resamples": 1500, "n_buckets": 400, **KW}
    with LocalDuckDB(df) as engine:
        got = bootstrap_in_engine(engine, "source", unit_column="user_id", seed=1, **args)
    want = bootstrap_ci(df, seed=1, **args)
    # Width SE from 1,500 resamples ≈ 3 %, from 400 random buckets ≈ 3.5 % per path: compare
    # widths per comparison loosely and on average tightly; centres within 0.15 widths.
    width_sql = got["boot_abs_ci_high"] - got["boot_abs_ci_low"]
    width_pd = want["boot_abs_ci_high"] - want["boot_abs_ci_low"]
    ratio = width_sql / width_pd
    assert ratio.between(0.8, 1.25).all()
    assert abs(ratio.mean() - 1) < 0.06
    centre = (got["boot_abs_ci_high"] + got["boot_abs_ci_low"]) / 2
    centre_pd = (want["boot_abs_ci_high"] + want["boot_abs_ci_low"]) / 2
    assert ((centre - centre_pd).abs() < 0.15 * width_pd).all()
    assert (got["n_resamples"] == 1500).all()


def test_large_arm_intervals_cover_the_truth_at_the_nominal_rate():
    """200 A/A-like experiments with a known lift of 0 (same lognormal-mixture distribution),
    3,000 units per arm bucketed by hash into 200 buckets: the 90 % interval of the
    difference must cover 0 in about 90 % of them (binomial SD 2.1 points)."""
    rng = np.random.default_rng(8)
    df = _lognormal_frame(rng, 3000, 200)
    with LocalDuckDB(df) as engine:
        out = bootstrap_in_engine(
            engine,
            "source",
            unit_column="user_id",
            control="A",
            n_resamples=400,
            n_buckets=200,
            ci_level=0.9,
            seed=2,
            **KW,
        )
    covered = (out["boot_abs_ci_low"] <= 0) & (out["boot_abs_ci_high"] >= 0)
    assert len(out) == 200 and (out["status"] == "ok").all()
    assert 0.84 <= covered.mean() <= 0.96


# --------------------------------------------------------------------------------------------
# the layer


def test_nonparametric_in_engine_matches_the_pandas_layer(tied_data):
    metrics = [
        MetricSpec("revenue", "mean", column="y"),
        MetricSpec("per_x", "ratio", numerator="y", denominator="x"),
        MetricSpec("unused", "mean", column="x"),
    ]
    options = NonparametricOptions(metrics=("revenue", "per_x"), n_resamples=200, seed=9)
    args = {
        "experiment_column": "experiment",
        "variant_column": "variant",
        "control": "A",
        "segment_columns": ["device"],
        "metrics": metrics,
        "options": options,
    }
    with LocalDuckDB(tied_data) as engine:
        got = nonparametric_in_engine(engine, "source", unit_column="user_id", **args)
    ordered = tied_data.sort_values("user_id").reset_index(drop=True)
    want = nonparametric_columns(ordered, **args)
    assert list(got.columns) == [*RESULT_KEYS, *NONPARAMETRIC_COLUMNS]
    pd.testing.assert_frame_equal(got, want, rtol=1e-9)
    assert got.loc[got["metric"] == "per_x", "mw_p_value"].isna().all()  # no MW for ratios
    assert set(got["metric"]) == {"revenue", "per_x"}
    with LocalDuckDB(tied_data) as engine, pytest.raises(ConfigError, match="unknown metric"):
        nonparametric_in_engine(
            engine,
            "source",
            unit_column="user_id",
            **{**args, "options": NonparametricOptions(metrics=("nope",))},
        )


# --------------------------------------------------------------------------------------------
# input errors


def _frame(**changes) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "experiment": ["e"] * 6,
            "variant": ["A", "A", "A", "B", "B", "B"],
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "label": list("abcdef"),
            "user_id": np.arange(6),
        }
    )
    for column, values in changes.items():
        df[column] = values
    return df


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (_frame(), {"value_column": "nope"}, InputDataError, "'nope' \\(needed by value_column"),
        (_frame(), {"value_column": "label"}, InputDataError, "must be numeric: 'label'"),
        (_frame(y=[1.0, None, 3, 4, 5, 6]), {}, InputDataError, "'y' \\(1 missing"),
        (_frame(y=[1.0, np.inf, 3, -np.inf, 5, 6]), {}, InputDataError, "2 NaN or infinite"),
        (
            _frame(variant=["A", None, "A", "B", "B", "B"]),
            {},
            InputDataError,
            "'variant' has 1 missing",
        ),
        (_frame(variant=["A"] * 6), {}, InputDataError, "single variant"),
        (_frame(), {"control": "Z"}, InputDataError, "control variant 'Z' not found"),
        (_frame(), {"control": ""}, ConfigError, "control must be"),
        (_frame(), {"segment_columns": [3]}, ConfigError, "segment_columns must name"),
    ],
)
@pytest.mark.parametrize("which", ["mann_whitney", "bootstrap"])
def test_bad_input_raises_named_errors(frame, kwargs, error, match, which):
    args = {"control": "A", **KW, **kwargs}
    with LocalDuckDB(frame) as engine, pytest.raises(error, match=match):
        if which == "mann_whitney":
            mann_whitney_in_engine(engine, "source", **args)
        else:
            bootstrap_in_engine(engine, "source", unit_column="user_id", **args)


def test_bootstrap_specific_errors():
    frame = _frame(user_id=[1, 2, None, 4, 5, 6])
    with LocalDuckDB(frame) as engine:
        with pytest.raises(InputDataError, match="unit column 'user_id' has 1 missing"):
            bootstrap_in_engine(engine, "source", unit_column="user_id", control="A", **KW)
        # a real NaN (pandas NaN arrives in DuckDB as NULL), in a temp table of the session
        engine.create_temp_table(
            "with_nan",
            "SELECT experiment, variant, CASE WHEN y = 3 THEN CAST('NaN' AS DOUBLE) ELSE y END"
            ' AS y, label FROM "source"',
        )
        with pytest.raises(InputDataError, match="'y' \\(1 NaN or infinite\\)"):
            mann_whitney_in_engine(engine, "with_nan", control="A", **KW)
    with LocalDuckDB(frame) as engine:
        with pytest.raises(ConfigError, match="n_resamples"):
            bootstrap_in_engine(
                engine, "source", unit_column="user_id", control="A", n_resamples=1, **KW
            )
        with pytest.raises(InputDataError, match="'nope' \\(needed by unit_column"):
            bootstrap_in_engine(engine, "source", unit_column="nope", control="A", **KW)
        assert not engine.queries  # options and columns are checked before any query runs


def test_one_unnamed_experiment_is_labelled_like_the_pandas_path(tied_data):
    """Data without an experiment column is one experiment named ``experiment_name``, as in
    ``run_ab_analysis``; the result equals the same rows with that label as a column."""
    first = tied_data["experiment"].dropna().iloc[0]
    one = tied_data[tied_data["experiment"] == first].drop(columns="experiment")
    labelled = one.assign(experiment="hillstrom")
    args = {
        "variant_column": "variant",
        "control": "A",
        "segment_columns": ["device"],
        "metrics": [MetricSpec("revenue", "mean", column="y")],
        "options": NonparametricOptions(metrics=("revenue",), n_resamples=100, seed=3),
        "unit_column": "user_id",
    }
    with LocalDuckDB(one) as engine:
        got = nonparametric_in_engine(
            engine, "source", experiment_column=None, experiment_name="hillstrom", **args
        )
    with LocalDuckDB(labelled) as engine:
        want = nonparametric_in_engine(engine, "source", experiment_column="experiment", **args)
    assert set(got["experiment"]) == {"hillstrom"}
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    reserved = one.assign(ll_experiment=1)
    with LocalDuckDB(reserved) as engine, pytest.raises(InputDataError, match="ll_experiment"):
        nonparametric_in_engine(engine, "source", experiment_column=None, **args)


def test_rank_sums_in_experiment_batches_equal_one_query(tied_data, monkeypatch):
    """On large DuckDB inputs experiments are ranked in batches (whole experiments): the
    tables equal those of one query."""
    from strategies.warehouse import nonparametric_sql

    with LocalDuckDB(tied_data) as engine:
        whole = rank_sum_tables(engine, "source", control="A", segment_columns=SEGMENTS, **KW)
        monkeypatch.setattr(nonparametric_sql, "_ROWS_PER_BATCH", 10)
        batched = rank_sum_tables(engine, "source", control="A", segment_columns=SEGMENTS, **KW)
    assert tied_data["experiment"].nunique() > 1
    for got, want in zip(batched, whole, strict=True):
        pd.testing.assert_frame_equal(got, want)


def test_hashed_only_bucket_query_equals_the_general_one(tied_data, monkeypatch):
    """When every arm is larger than n_buckets the one-scan hashed query runs; it gives the
    tables the general query (small-arm numbering + hashing) gives."""
    from strategies.warehouse import nonparametric_sql

    args = {"control": "A", "segment_columns": SEGMENTS, "unit_column": "user_id", **KW}
    with LocalDuckDB(tied_data) as engine:
        fast = bucket_sum_tables(engine, "source", n_buckets=2, seed=5, **args)
        monkeypatch.setattr(nonparametric_sql, "_has_small_arm", lambda *a: True)
        general = bucket_sum_tables(engine, "source", n_buckets=2, seed=5, **args)
    for got, want in zip(fast, general, strict=True):
        pd.testing.assert_frame_equal(got, want)
