"""Smoke tests of ``benchmarks/ab_warehouse.py`` at a tiny size: the generator plants the dirt
the cleaning chain must remove, the baseline query computes what pandas computes from the same
file, the cross-engine comparison notices a difference, and the script runs end to end (bare
query + engine; the ZenML pipeline, Spark and tea-tasting are too slow or optional here). They
prove the plumbing, not any speed."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from benchmarks import ab_warehouse  # noqa: E402


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("abw") / "events.parquet"
    ab_warehouse.write_data(20_000, 7, path)
    return path


def test_generator_writes_the_demo_columns_with_dirt(small_file: Path) -> None:
    from liftlab.simulate.experiments import COLUMNS, default_experiments

    df = pd.read_parquet(small_file)
    assert list(df.columns) == list(COLUMNS)
    assert sorted(df["experiment"].unique()) == sorted(s.name for s in default_experiments(2))
    assert 20_000 < len(df) < 20_000 * 1.02  # duplicates and cross-arm copies added
    assert df.duplicated().sum() > 0  # exact duplicate rows
    arms = df.assign(v=df["variant"].str.strip().str.upper()).groupby("user_id")["v"].nunique()
    assert (arms > 1).sum() > 0  # units in both arms
    assert (~df["variant"].isin(["A", "B"])).sum() > 0  # whitespace / case labels
    assert df["variant"].str.strip().str.upper().isin(["A", "B"]).all()
    assert df["conversions"].isna().sum() > 0 and df["clicks"].isna().sum() > 0
    # funnel order holds, so only the planted problems are problems
    counts = df[["impressions", "opens", "clicks", "conversions"]].fillna(0)
    assert (counts["opens"] <= counts["impressions"]).all()
    assert (counts["clicks"] <= counts["opens"]).all()
    assert (counts["conversions"] <= counts["clicks"]).all()
    assert ((df["conversions"].fillna(0) > 0).astype(int) == df["converted"]).all()


def test_generator_is_deterministic(small_file: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.parquet"
    ab_warehouse.write_data(20_000, 7, again)
    pd.testing.assert_frame_equal(pd.read_parquet(small_file), pd.read_parquet(again))
    other = tmp_path / "other.parquet"
    ab_warehouse.write_data(20_000, 8, other)
    assert not pd.read_parquet(other)["revenue"].equals(pd.read_parquet(small_file)["revenue"])


def test_bare_query_equals_pandas(small_file: Path) -> None:
    """The baseline computes the sufficient statistics pandas computes from the same rows."""
    import duckdb

    ours = duckdb.sql(ab_warehouse.bare_query_sql(small_file)).df()
    df = pd.read_parquet(small_file)
    df["variant"] = df["variant"].str.strip().str.upper()
    df[["clicks", "conversions"]] = df[["clicks", "conversions"]].fillna(0)
    for a, b in (
        ("impressions", "impressions"),
        ("opens", "opens"),
        ("clicks", "clicks"),
        ("revenue", "revenue"),
        ("pre_revenue", "pre_revenue"),
        ("opens", "impressions"),
        ("clicks", "impressions"),
        ("revenue", "pre_revenue"),
    ):
        name = f"{a}_sq" if a == b else f"{a}_x_{b}"
        df[name] = df[a] * df[b]
    keys = ["experiment", "variant", "device"]
    theirs = df.groupby(keys).agg(
        n=("user_id", "size"), **{c: (c, "sum") for c in ab_warehouse._BARE_SUMS if c != "n"}
    )
    ours = ours.set_index(keys).sort_index()[theirs.columns]
    assert len(ours) == len(theirs) == 8 * 2 * 3
    np.testing.assert_allclose(ours.to_numpy(float), theirs.to_numpy(float), rtol=1e-12)


def _dump(path: Path, stats: pd.DataFrame) -> Path:
    tables = {"stats": stats, "funnel": stats, "nonparametric": None, "results": stats}
    tables |= {"srm": stats, "audits": [{"strategy": "x", "rows_in": 3, "rows_out": 2}]}
    path.write_bytes(pickle.dumps(tables))
    return path


def test_comparison_notices_a_difference(tmp_path: Path) -> None:
    base = pd.DataFrame(
        {"metric": ["a", "b", "c"], "value": [1.0, np.inf, np.nan], "zero": [0.0, 0.0, 1.0]}
    )
    left = _dump(tmp_path / "l.pkl", base)
    same = ab_warehouse.compare_dumps(left, _dump(tmp_path / "s.pkl", base.iloc[::-1]))
    assert same["identical"]  # row order, inf and NaN on both sides do not count
    tiny = base.assign(zero=[1e-13, 0.0, 1.0 + 1e-12])
    assert ab_warehouse.compare_dumps(left, _dump(tmp_path / "t.pkl", tiny))["identical"]
    off = base.assign(zero=[0.0, 0.0, 1.0 + 1e-8])
    result = ab_warehouse.compare_dumps(left, _dump(tmp_path / "o.pkl", off))
    assert not result["identical"]
    assert result["tables"]["stats"]["worst_column"] == "zero"
    assert result["tables"]["stats"]["max_rel_diff"] == pytest.approx(1e-8, rel=1e-3)
    nan = base.assign(value=[1.0, np.inf, 2.0])
    assert not ab_warehouse.compare_dumps(left, _dump(tmp_path / "n.pkl", nan))["identical"]


def test_script_runs_bare_query_and_engine(tmp_path: Path) -> None:
    out = tmp_path / "ab_warehouse.json"
    argv = ["--rows", "4000", "--spark-rows", "0", "--skip-pipeline", "--skip-tea-tasting"]
    argv += ["--workdir", str(tmp_path / "work"), "--quiet-wait", "0", "--out", str(out)]
    assert ab_warehouse.main(argv) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["benchmark"] == "ab_warehouse" and report["rows"] == 4000
    rows = {r["role"]: r for r in report["contenders"]}
    assert set(rows) == {"baseline", "baseline_same", "engine"}
    assert all(r["ok"] for r in rows.values())
    # the fair baseline really computes the pipeline's statistics (cleaning included)
    assert report["same_statistics"]["equal"] and report["same_statistics"]["matched"] > 0
    for r in rows.values():
        assert r["timed_s"] > 0 and r["wall_s"] >= r["timed_s"] and r["peak_rss_mb"] > 0
    engine = rows["engine"]
    assert engine["rows_read"] == report["data"]["rows_written"]
    assert engine["rows_clean"] < engine["rows_read"]  # the cleaning chain had work
    dropped = {a["strategy"]: a["rows_in"] - a["rows_out"] for a in engine["audits"]}
    assert dropped["drop_duplicate_rows"] > 0 and dropped["drop_multi_variant_units"] > 0
    assert engine["sql_profile"][0]["statement"].startswith("TOTAL")
    targets = {t["target"]: t for t in report["targets"]}
    assert len(targets) == 6 and all(t["met"] is None for t in targets.values())
    assert report["data"]["cached"] is False
    # the data file is cached by (rows, seed): a second run reuses it
    assert ab_warehouse.ensure_data(4000, 42, tmp_path / "work")[1]["cached"] is True


def test_demo_parameters_change_only_source_output_and_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from liftlab.config.ab_testing import load_ab_config

    original = yaml.safe_load(ab_warehouse.CONFIG.read_text(encoding="utf-8"))["parameters"]
    monkeypatch.setitem(ab_warehouse.DUCKDB_MEMORY_LIMIT, "value", None)
    duck = ab_warehouse.demo_parameters(tmp_path / "d.parquet", tmp_path / "out")
    changed = {k for k in duck if duck.get(k) != original.get(k)}
    assert changed == {"data_path", "output_dir"}
    monkeypatch.setitem(ab_warehouse.DUCKDB_MEMORY_LIMIT, "value", "1536MB")
    limited = ab_warehouse.demo_parameters(tmp_path / "d.parquet", tmp_path / "out")
    assert load_ab_config(limited).engine.settings().memory_limit == "1536MB"
    spark = load_ab_config(ab_warehouse.demo_parameters(tmp_path / "d", tmp_path / "o", "spark"))
    assert spark.engine.name == "spark"
    assert dict(spark.engine.settings().spark_conf) == ab_warehouse.SPARK_CONF


def test_tea_work_parameters_keep_the_metrics_and_drop_the_extra_work(tmp_path: Path) -> None:
    from liftlab.config.ab_testing import load_ab_config

    demo = ab_warehouse.demo_parameters(tmp_path / "d.parquet", tmp_path / "out")
    cfg = load_ab_config(ab_warehouse.tea_work_parameters(demo))
    assert [m.name for m in cfg.metrics] == [m["name"] for m in demo["metrics"]]
    assert cfg.segment_columns == [] and cfg.funnel == []
    assert all(v is None for v in cfg.layer_options().values())
    assert [c["name"] for c in cfg.cleaning] == [
        "normalize_variant_labels",
        "impute_missing_counts",
    ]
    assert demo["segment_columns"] == ["device"]  # the demo parameters are not changed


def test_compare_effects_names_the_worst_pair_and_missing_ones() -> None:
    liftlab = {"e1/ctr": 0.010, "e1/revenue": 2.0, "e2/ctr": -0.5}
    tea = {"e1/ctr": 0.010, "e1/revenue": 2.002, "e3/ctr": 1.0}
    result = ab_warehouse.compare_effects(liftlab, tea)
    assert result["pairs"] == 2
    assert result["missing"] == ["e2/ctr", "e3/ctr"]
    assert result["worst"] == "e1/revenue"
    assert result["max_rel_diff"] == pytest.approx(0.002 / 2.002)
    assert result["max_rel_diff_by_metric"] == {"ctr": 0.0, "revenue": result["max_rel_diff"]}


def test_engine_doing_tea_tastings_work_gives_tea_tastings_effects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The like-for-like contender computes what tea-tasting computes: on the same file the
    absolute effects of the two agree (CUPED's theta may be estimated a little differently)."""
    pytest.importorskip("tea_tasting", reason="pip install -e '.[bench]'")
    pytest.importorskip("polars", reason="pip install -e '.[bench]'")
    monkeypatch.chdir(tmp_path)  # the worker changes directory; this restores it
    path, _ = ab_warehouse.ensure_data(20_000, 42, tmp_path / "work")
    out = tmp_path / "out"
    out.mkdir()
    ours = ab_warehouse.worker_engine(path, out, "duckdb", None, False, "tea")
    theirs = ab_warehouse.worker_tea(path, "polars")
    result = ab_warehouse.compare_effects(ours["effects"], theirs["effects"])
    assert result["pairs"] == 32 and result["missing"] == []
    for metric in ("ctr", "conversion_rate", "open_rate"):
        assert result["max_rel_diff_by_metric"][metric] < 1e-9, metric
    assert result["max_rel_diff_by_metric"]["revenue_per_user"] < 0.01  # 8e-4 here


def test_same_statistics_check_notices_a_changed_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the engine worker changes directory; this restores it
    path, _ = ab_warehouse.ensure_data(4000, 42, tmp_path / "work")
    out, dump = tmp_path / "out", tmp_path / "tables.pkl"
    out.mkdir()
    ab_warehouse.worker_engine(path, out, "duckdb", dump, False)
    table = ab_warehouse.worker_bare_same(path)["table"]
    assert ab_warehouse.same_statistics_gap(table, dump)["equal"]
    table["revenue"][0] += 0.01  # one cent in one group
    result = ab_warehouse.same_statistics_gap(table, dump)
    assert not result["equal"] and result["worst"] == "revenue_per_user.sum_y"
