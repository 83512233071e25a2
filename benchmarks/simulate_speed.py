"""Benchmark: time to simulate and write a large demo dataset, and the memory it takes.

Why: the simulator promises fully vectorised generation so that a 10-million-row dataset is
ready (simulated + written to Parquet) well under a minute; this script measures that claim on
the current machine and keeps the numbers in a JSON file for comparison across changes.

Usage::

    .venv/bin/python benchmarks/simulate_speed.py                 # 10M rows
    .venv/bin/python benchmarks/simulate_speed.py --rows 1000000 --out /tmp/speed.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

if __package__ in (None, ""):  # run as `python benchmarks/simulate_speed.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import harness  # noqa: E402
from liftlab.simulate.experiments import (  # noqa: E402
    SimulationConfig,
    default_experiments,
    simulate,
    write_dataset,
)

TARGET_SECONDS = 60.0


def _config(rows: int, seed: int, dirty_fraction: float) -> SimulationConfig:
    """The default 8-experiment demo scaled so the clean data has exactly `rows` rows."""
    specs = default_experiments()
    base, extra = divmod(rows, len(specs))
    specs = tuple(
        dataclasses.replace(s, n_users=base + (1 if i < extra else 0)) for i, s in enumerate(specs)
    )
    return SimulationConfig(experiments=specs, seed=seed, dirty_fraction=dirty_fraction)


def run(rows: int, seed: int = 42, dirty_fraction: float = 0.0) -> dict:
    """Time simulate() and write_dataset(.parquet) once; return the measurements."""
    config = _config(rows, seed, dirty_fraction)
    t0 = time.perf_counter()
    result = simulate(config)
    t_sim = time.perf_counter() - t0
    rss_after_sim = harness.max_rss_mb()
    with tempfile.TemporaryDirectory(prefix="liftlab_bench_") as tmp:
        t0 = time.perf_counter()
        paths = write_dataset(result, Path(tmp) / "demo.parquet")
        t_write = time.perf_counter() - t0
        size_mb = paths["data"].stat().st_size / 1024**2
    n_rows = len(result.data)
    total = t_sim + t_write
    return {
        "benchmark": "simulate_speed",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows_requested": rows,
        "rows": n_rows,
        "experiments": len(config.experiments),
        "dirty_fraction": dirty_fraction,
        "simulate_s": round(t_sim, 3),
        "write_parquet_s": round(t_write, 3),
        "total_s": round(total, 3),
        "rows_per_s": round(n_rows / total),
        "parquet_mb": round(size_mb, 1),
        "peak_rss_after_simulate_mb": round(rss_after_sim, 1),
        "peak_rss_mb": round(harness.max_rss_mb(), 1),
        "target_s": TARGET_SECONDS,
        "within_target": total < TARGET_SECONDS,
        "machine": harness.machine_facts() | {"pandas": pd.__version__, "pyarrow": pa.__version__},
    }


def _print_table(r: dict) -> None:
    rows = [
        ("rows", f"{r['rows']:,}"),
        ("simulate()", f"{r['simulate_s']:.2f} s"),
        ("write_dataset(.parquet)", f"{r['write_parquet_s']:.2f} s"),
        ("total", f"{r['total_s']:.2f} s (target < {r['target_s']:.0f} s)"),
        ("throughput", f"{r['rows_per_s']:,} rows/s"),
        ("parquet size", f"{r['parquet_mb']:.1f} MiB"),
        ("peak RSS after simulate", f"{r['peak_rss_after_simulate_mb']:.0f} MiB"),
        ("peak RSS", f"{r['peak_rss_mb']:.0f} MiB"),
    ]
    harness.print_table(("measure", "value"), rows, align="ll")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to simulate")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results/simulate_speed.json"),
        help="where to write the JSON result",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-fraction", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.rows < 16:
        parser.error("--rows must be at least 16 (8 experiments x 2 users)")

    result = run(args.rows, seed=args.seed, dirty_fraction=args.dirty_fraction)
    _print_table(result)
    harness.write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
