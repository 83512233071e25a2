"""The shared benchmark harness, on tiny functions: what it returns, never how fast."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks import harness

# -- worker bodies (module level: a spawned worker imports them by name) ----------------------


def _square(x: int, *, plus: int = 0) -> int:
    return x * x + plus


def _touch_mib(mib: int) -> int:
    block = bytearray(b"\x01") * (mib * 1024**2)  # written, so every page is resident
    return len(block)


def _fail() -> None:
    raise ValueError("boom")


# -- workers --------------------------------------------------------------------------------


def test_run_in_worker_returns_value_wall_time_and_rss() -> None:
    done = harness.run_in_worker(_square, 7, plus=1)
    assert done.value == 50
    assert done.wall_s > 0
    assert done.peak_rss_mb > 0
    assert done.peak_rss_mb >= done.start_rss_mb


def test_run_in_worker_peak_rss_covers_what_the_worker_allocated() -> None:
    done = harness.run_in_worker(_touch_mib, 96)
    assert done.value == 96 * 1024**2
    assert done.peak_rss_mb >= 96


def test_run_in_worker_raises_when_the_function_fails() -> None:
    with pytest.raises(harness.WorkerFailed) as excinfo:
        harness.run_in_worker(_fail)
    assert excinfo.value.exitcode == 1


# -- timing ---------------------------------------------------------------------------------


def _scripted(totals: list[float]) -> tuple[harness.Run, list[int]]:
    """A run whose timings come from ``totals`` in order; counts its calls."""
    calls = [0]

    def run() -> tuple[dict[str, float], str]:
        total = totals[calls[0]]
        calls[0] += 1
        return {"total_s": total, "part_s": total / 2}, f"output {calls[0]}"

    return run, calls


def test_best_of_warms_up_then_picks_the_minimum() -> None:
    run, calls = _scripted([9.0, 3.0, 1.0, 2.0])
    runs = harness.best_of(run, repeat=3, warmup=1)
    assert calls[0] == 4  # 1 warm-up + 3 timed
    assert runs.values() == [3.0, 1.0, 2.0]  # the warm-up is not among them
    assert runs.best() == 1.0
    assert runs.best("part_s") == 0.5
    assert runs.best_run()["total_s"] == 1.0
    assert runs.output == "output 4"  # the last run's
    assert all("cpu_s" in t and t["cpu_s"] >= 0 for t in runs.timings)


def test_best_of_needs_one_timed_run() -> None:
    run, _ = _scripted([1.0])
    with pytest.raises(ValueError):
        harness.best_of(run, repeat=0)


def test_timed_wraps_a_plain_function() -> None:
    runs = harness.best_of(harness.timed(lambda: 42), repeat=2, warmup=0)
    assert runs.output == 42
    assert len(runs.values()) == 2
    assert all(t >= 0 for t in runs.values())


def test_measure_summarises_under_the_result_file_keys() -> None:
    summary, runs = harness.measure(harness.timed(lambda: sum(range(1000))), repeat=2, warmup=0)
    assert runs.output == sum(range(1000))
    assert summary["time_s"] == min(summary["times_s"])
    assert len(summary["cpu_times_s"]) == 2
    assert summary["peak_rss_over_data_mb"] >= 0
    assert summary["peak_rss_mb"] > 0
    assert summary["rss_method"]
    assert summary["timed_window_s"] >= 0
    assert "other_processes_cpu_s" in summary


def test_peak_rss_sees_an_allocation_inside_the_block() -> None:
    with harness.PeakRSS() as mem:
        block = np.ones(32 * 1024**2 // 8)  # 32 MiB, touched
        del block
    assert mem.over_baseline_mb >= 24


# -- a quiet machine ------------------------------------------------------------------------


def test_wait_for_quiet_with_zero_timeout_returns_at_once() -> None:
    t0 = time.perf_counter()
    assert harness.wait_for_quiet(0) is None
    assert time.perf_counter() - t0 < 5  # a hang guard, not a speed claim


def test_wait_for_quiet_reports_after_its_timeout() -> None:
    quiet = harness.wait_for_quiet(0.01, sample_s=0.01)
    if quiet is None:  # no /proc/stat: never waits
        return
    assert set(quiet) == {"waited_s", "busy_cpus", "quiet"}


def test_disturbance_is_other_cpu_over_the_window() -> None:
    assert harness.disturbance({"other_processes_cpu_s": 0.5, "timed_window_s": 2.0}) == 0.25
    assert harness.disturbance({"other_processes_cpu_s": None, "timed_window_s": 2.0}) == 0.0
    assert harness.disturbance({}) == 0.0


def test_retry_while_disturbed_keeps_the_least_disturbed_attempt() -> None:
    outs = iter(
        [
            {"time_s": 1.0, "other_processes_cpu_s": 0.5, "timed_window_s": 1.0},
            {"time_s": 2.0, "other_processes_cpu_s": 0.3, "timed_window_s": 1.0},
            {"time_s": 3.0, "other_processes_cpu_s": 0.4, "timed_window_s": 1.0},
        ]
    )
    retried = harness.retry_while_disturbed(lambda: next(outs), label="x", retries=2, quiet_wait=0)
    assert retried.attempts == 3
    assert retried.best["time_s"] == 2.0
    assert retried.quiet is None


def test_retry_while_disturbed_stops_when_quiet_or_failed() -> None:
    quiet_out = {"time_s": 1.0, "other_processes_cpu_s": 0.0, "timed_window_s": 1.0}
    retried = harness.retry_while_disturbed(lambda: quiet_out, label="x", retries=5, quiet_wait=0)
    assert retried.attempts == 1
    assert retried.best is quiet_out
    failed = harness.retry_while_disturbed(lambda: None, label="x", retries=5, quiet_wait=0)
    assert failed.attempts == 1
    assert failed.best is None


# -- output ---------------------------------------------------------------------------------


def test_format_table_is_an_aligned_markdown_table() -> None:
    text = harness.format_table(
        ("contender", "time (s)", "note"),
        [("liftlab", "0.155", None), ("tea-tasting", "1.792", math.nan)],
        align="lrl",
    )
    assert text.splitlines() == [
        "| contender   | time (s) | note |",
        "|-------------|---------:|------|",
        "| liftlab     |    0.155 |      |",
        "| tea-tasting |    1.792 | —    |",
    ]


def test_format_table_right_aligns_all_but_the_first_column_by_default() -> None:
    lines = harness.format_table(("a", "b"), [("x", 1)]).splitlines()
    assert lines[1] == "|---|--:|"
    with pytest.raises(ValueError):
        harness.format_table(("a", "b"), [("only one",)])


def test_machine_facts_name_the_machine() -> None:
    facts = harness.machine_facts(["numpy", "no-such-distribution-xyz"])
    assert facts["cpus"] >= 1
    assert facts["python"]
    assert facts["numpy"] == np.__version__
    assert "OPENBLAS_NUM_THREADS" in facts["thread_env"]
    assert facts["versions"] == {
        "numpy": np.__version__,
        "no-such-distribution-xyz": "not installed",
    }
    assert facts["memory_gb"] is None or facts["memory_gb"] > 0


def test_write_result_writes_json_with_machine_facts(tmp_path: Path) -> None:
    path = harness.write_result(
        tmp_path / "nested" / "result.json",
        {"benchmark": "tiny", "time_s": np.float64(0.5), "n": np.int64(3), "where": tmp_path},
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["benchmark"] == "tiny"
    assert data["time_s"] == 0.5 and data["n"] == 3 and data["where"] == str(tmp_path)
    assert {"python", "platform", "cpus", "memory_gb", "numpy", "thread_env"} <= set(
        data["machine"]
    )


def test_write_result_keeps_a_machine_the_script_gave(tmp_path: Path) -> None:
    path = harness.write_result(tmp_path / "r.json", {"machine": {"python": "3.x"}})
    assert json.loads(path.read_text(encoding="utf-8"))["machine"] == {"python": "3.x"}
