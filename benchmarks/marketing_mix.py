"""Benchmark: the marketing-mix model — one plain fit (the baseline) vs the full analysis.

Workload: the default MMM simulator world (``liftlab.simulate.mmm.default_mmm_config``: 3 years
of weekly data, 6 channels, 4 controls, a go-dark test of tv and a small test of social), fitted
with the demo run config ``configs/marketing_mix.yaml`` (true transform names per channel, max
lag 8, trend, Fourier order 2, 8 starts, calibration weight ``auto``). Rows:

* **plain fit** — ``fit_mmm(data, spec)``, 8 starts, no lift tests: the baseline in the same
  run; median of ``--repeat`` timed runs after one warm-up;
* **full analysis** — ``analyse_marketing_mix``: the calibrated fit, a 200-draw moving-block
  bootstrap, 4-fold rolling CV and the budget optimiser on the point fit and on every draw (what
  one pipeline run computes); ``--repeat-full`` timed runs (default 1), no warm-up — a pipeline
  runs it once per process.

Each row runs in its own fresh interpreter (``harness.run_in_worker``) started from this small
parent; peak RSS is the worker's ``ru_maxrss`` (the whole process: interpreter, libraries, data,
work) and, separately, the peak over the data already loaded (``harness.measure``). Targets
from the issue, printed as met / NOT met (never asserted): full analysis <= 20 s on 2 cores,
peak RSS <= 1 GB.

Usage::

    .venv/bin/python benchmarks/marketing_mix.py         # -> benchmarks/results/marketing_mix.json
    .venv/bin/python benchmarks/marketing_mix.py --quick --out /tmp/mmm.json   # smoke size
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/marketing_mix.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import harness  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "marketing_mix.yaml"
TARGET_FULL_S = 20.0
TARGET_RSS_MB = 1024.0
TARGET_CPUS = 2
VERSIONS = ("liftlab", "numpy", "scipy", "pandas", "pyarrow")


def _workload(n_periods: int, seed: int, n_draws: int, cv_folds: int):
    """Simulated table, lift tests, model data and analysis settings (inside a worker)."""
    import yaml

    from liftlab.config.marketing_mix import load_marketing_mix_config
    from liftlab.simulate.mmm import default_mmm_config, simulate_mmm

    sim = simulate_mmm(default_mmm_config(seed=seed, n_periods=n_periods))
    values = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["parameters"]
    values["bootstrap"] = {**values.get("bootstrap", {}), "n_draws": n_draws}
    values["cv"] = {**values.get("cv", {}), "n_folds": cv_folds}
    config = load_marketing_mix_config(values)
    data = config.mmm_data(sim.frame)
    return data, sim.lift_tests, config.analysis_settings(data.n_periods)


def fit_worker(n_periods: int, seed: int, repeat: int, warmup: int) -> dict[str, Any]:
    """The plain fit, timed inside a worker."""
    from strategies.mmm.fit import fit_mmm

    data, _, settings = _workload(n_periods, seed, n_draws=20, cv_folds=1)
    summary, runs = harness.measure(
        harness.timed(lambda: fit_mmm(data, settings.spec)), repeat, warmup
    )
    fit = runs.output
    return summary | {
        "n_starts": int(settings.spec.n_starts),
        "r2": float(fit.r2),
        "converged": bool(fit.success),
    }


def full_worker(
    n_periods: int, seed: int, n_draws: int, cv_folds: int, repeat: int
) -> dict[str, Any]:
    """The full analysis, timed inside a worker."""
    from strategies.mmm.analysis import analyse_marketing_mix

    data, tests, settings = _workload(n_periods, seed, n_draws=n_draws, cv_folds=cv_folds)
    summary, runs = harness.measure(
        harness.timed(lambda: analyse_marketing_mix(data, settings, tests)), repeat, warmup=0
    )
    stats = runs.output.fit_stats
    return summary | {
        "n_draws": int(stats["n_draws"]),
        "n_draws_failed": int(stats["n_draws_failed"]),
        "cv_folds": int(stats["cv_n_folds"]),
        "n_lift_tests": int(stats["n_lift_tests"]),
        "point_fit_s": float(stats["fit_seconds"]),
        "r2": float(stats["r2"]),
    }


def _row(label: str, worker: harness.WorkerResult, time_s: float) -> dict[str, Any]:
    out = worker.value
    return {
        "contender": label,
        "time_s": round(time_s, 3),
        "times_s": [round(t, 3) for t in out["times_s"]],
        "cpu_times_s": [round(t, 3) for t in out["cpu_times_s"]],
        "peak_rss_mb": round(worker.peak_rss_mb, 1),
        "peak_rss_over_data_mb": round(out["peak_rss_over_data_mb"], 1),
        "rss_method": out["rss_method"],
        "worker_wall_s": round(worker.wall_s, 2),
        "disturbance": round(harness.disturbance(out), 3),
        **{k: v for k, v in out.items() if k not in harness_keys()},
    }


def harness_keys() -> set[str]:
    return {
        "times_s", "time_s", "cpu_times_s", "baseline_rss_mb", "peak_rss_mb",
        "peak_rss_over_data_mb", "rss_method", "other_processes_cpu_s", "timed_window_s",
    }  # fmt: skip


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3, help="years of weekly data")
    parser.add_argument("--draws", type=int, default=200, help="bootstrap draws")
    parser.add_argument("--folds", type=int, default=4, help="rolling-CV folds")
    parser.add_argument("--repeat", type=int, default=5, help="timed plain fits (median)")
    parser.add_argument("--repeat-full", type=int, default=1, help="timed full analyses")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke size for the tests: 2 years, 20 draws, 2 folds, one timed run each",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/marketing_mix.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.years, args.draws, args.folds, args.repeat, args.repeat_full = 2, 20, 2, 1, 1
    n_periods = 52 * args.years
    warmup = 0 if args.quick else 1

    print(f"running plain fit ({args.repeat} timed runs after {warmup} warm-up) ...", flush=True)
    fit = harness.run_in_worker(fit_worker, n_periods, args.seed, args.repeat, warmup)
    print(f"running full analysis ({args.draws} draws, {args.folds} CV folds) ...", flush=True)
    full = harness.run_in_worker(
        full_worker, n_periods, args.seed, args.draws, args.folds, args.repeat_full
    )
    fit_s = statistics.median(fit.value["times_s"])
    full_s = statistics.median(full.value["times_s"])
    rows = [
        _row("plain fit (fit_mmm, 8 starts)", fit, fit_s),
        _row(f"full analysis ({args.draws} draws, {args.folds}-fold CV, optimiser)", full, full_s),
    ]
    machine = harness.machine_facts(VERSIONS)
    targets = {
        "full_analysis_s": {
            "threshold": TARGET_FULL_S,
            "value": round(full_s, 3),
            "met": full_s <= TARGET_FULL_S,
        },
        "peak_rss_mb": {
            "threshold": TARGET_RSS_MB,
            "value": max(r["peak_rss_mb"] for r in rows),
            "met": max(r["peak_rss_mb"] for r in rows) <= TARGET_RSS_MB,
        },
    }

    print(
        f"\n{n_periods} weekly periods x 6 channels, {machine['cpus']} CPUs "
        f"(targets are for {TARGET_CPUS})\n"
    )
    harness.print_table(
        ("contender", "time s (median)", "runs", "× plain fit", "peak RSS MB", "over data MB"),
        [
            (
                r["contender"],
                f"{r['time_s']:.3f}",
                len(r["times_s"]),
                f"{r['time_s'] / rows[0]['time_s']:.1f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['peak_rss_over_data_mb']:.0f}",
            )
            for r in rows
        ],
    )
    print()
    harness.print_table(
        ("target", "threshold", "value", "verdict"),
        [
            (
                "full analysis wall time",
                f"<= {TARGET_FULL_S:.0f} s",
                f"{full_s:.2f} s",
                _verdict(targets["full_analysis_s"]["met"]),
            ),
            (
                "peak RSS (whole process)",
                f"<= {TARGET_RSS_MB:.0f} MB",
                f"{targets['peak_rss_mb']['value']:.0f} MB",
                _verdict(targets["peak_rss_mb"]["met"]),
            ),
        ],  # fmt: skip
        align="llrl",
    )
    if machine["cpus"] != TARGET_CPUS:
        print(f"note: this machine has {machine['cpus']} CPUs; the time target is for 2")
    for r in rows:
        if r["disturbance"] > harness.DISTURBED_SHARE:
            print(
                f"note: other processes used {r['disturbance']:.0%} of a CPU during "
                f"{r['contender']!r}; its time may be inflated"
            )
    payload = {
        "benchmark": "marketing_mix",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "workload": {
            "n_periods": n_periods,
            "frequency": "weekly",
            "channels": 6,
            "n_draws": args.draws,
            "cv_folds": args.folds,
            "seed": args.seed,
            "config": "configs/marketing_mix.yaml",
        },
        "rows": rows,
        "full_over_fit": full_s / fit_s,
        "targets": targets,
        "load_average": harness.load_average(),
        "machine": machine,
    }
    harness.write_result(args.out, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
