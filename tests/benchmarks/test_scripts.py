"""Smoke tests: every benchmark script still runs end to end at a tiny size and writes the
result keys its README documents. They prove the plumbing, not any speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_simulate_speed(tmp_path: Path) -> None:
    from benchmarks import simulate_speed

    out = tmp_path / "simulate_speed.json"
    assert simulate_speed.main(["--rows", "2000", "--out", str(out)]) == 0
    result = _read(out)
    assert result["benchmark"] == "simulate_speed"
    assert result["rows"] > 0
    assert result["peak_rss_mb"] >= result["peak_rss_after_simulate_mb"] > 0
    assert {"simulate_s", "write_parquet_s", "total_s", "rows_per_s", "within_target"} <= set(
        result
    )
    assert {"python", "cpus", "numpy", "pandas", "pyarrow"} <= set(result["machine"])


def test_a_script_runs_as_python_benchmarks_file(tmp_path: Path) -> None:
    """``python benchmarks/x.py`` (the Makefile's way) finds the harness without PYTHONPATH."""
    out = tmp_path / "s.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "simulate_speed.py"),
            "--rows",
            "2000",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert _read(out)["benchmark"] == "simulate_speed"


def test_campaign_warehouse(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    from benchmarks import campaign_warehouse

    out = tmp_path / "campaign_warehouse.json"
    assert campaign_warehouse.main(["--customers", "300", "--out", str(out)]) == 0
    result = _read(out)
    assert result["benchmark"] == "campaign_warehouse"
    assert result["same_results"] is True
    assert [r["contender"] for r in result["rows"]] == ["liftlab (DuckDB SQL)", "pandas baseline"]
    assert all(r["peak_rss_mb"] > 0 for r in result["rows"])
    assert {"customers", "transactions", "window_days", "pandas_over_liftlab"} <= set(result)


def test_ab_engine_liftlab_only(tmp_path: Path) -> None:
    from benchmarks import ab_engine

    out = tmp_path / "ab_engine.json"
    argv = ["--rows", "2000", "--skip-tea", "--repeat", "1", "--warmup", "0", "--retries", "0"]
    argv += ["--quiet-wait", "0", "--n-segments", "10", "--out", str(out)]
    assert ab_engine.main(argv) == 0
    report = _read(out)
    assert report["benchmark"] == "ab_engine"
    assert report["contenders"] and all(c["ok"] for c in report["contenders"])
    ref = report["contenders"][0]
    assert ref["reference"] and len(ref["results"]) == 8 * 4
    assert {"time_s", "times_s", "cpu_times_s", "peak_rss_over_data_mb", "rss_method"} <= set(ref)
    assert all(
        c["agree"] for check in report["cross_check"].values() for c in check["metrics"].values()
    )
    assert report["segments"]["segments"] == 10
    assert {"machine", "engine_code", "targets"} <= set(report)
    assert {"cpus", "memory_gb", "versions"} <= set(report["machine"])


def test_ab_engine_against_tea_tasting(tmp_path: Path) -> None:
    pytest.importorskip("tea_tasting")
    pytest.importorskip("polars")
    from benchmarks import ab_engine

    out = tmp_path / "ab_engine.json"
    argv = ["--rows", "2000", "--repeat", "1", "--warmup", "0", "--retries", "0"]
    argv += ["--quiet-wait", "0", "--no-segments-bench", "--out", str(out)]
    assert ab_engine.main(argv) == 0
    report = _read(out)
    labels = [c["label"] for c in report["contenders"] if c["ok"]]
    assert {"tea-tasting on pandas", "tea-tasting on Polars"} <= set(labels)
    assert {"tea-tasting on pandas", "tea-tasting on Polars"} <= set(report["cross_check"])


@pytest.mark.slow  # two fresh interpreters and a 20-draw analysis: ~6 s
def test_marketing_mix(tmp_path: Path) -> None:
    from benchmarks import marketing_mix

    out = tmp_path / "marketing_mix.json"
    assert marketing_mix.main(["--quick", "--out", str(out)]) == 0
    result = _read(out)
    assert result["benchmark"] == "marketing_mix" and result["quick"] is True
    assert [r["contender"].split(" (")[0] for r in result["rows"]] == ["plain fit", "full analysis"]
    fit, full = result["rows"]
    assert full["n_draws"] == result["workload"]["n_draws"] == 20
    assert full["n_draws_failed"] == 0 and full["cv_folds"] == 2 and full["n_lift_tests"] == 2
    assert fit["n_starts"] == 8 and fit["r2"] > 0.9
    for row in result["rows"]:
        assert row["peak_rss_mb"] >= row["peak_rss_over_data_mb"] >= 0
        assert row["time_s"] > 0 and row["times_s"]
    assert result["full_over_fit"] > 1  # the full analysis includes at least one such fit
    assert set(result["targets"]) == {"full_analysis_s", "peak_rss_mb"}
    assert all(isinstance(t["met"], bool) for t in result["targets"].values())
    assert {"cpus", "memory_gb", "versions"} <= set(result["machine"])
