"""Benchmark: the campaign-uplift warehouse (bronze → silver → gold) on DuckDB vs a plain pandas
implementation of the same silver step, same data, same run.

The data is ``liftlab.simulate.campaigns`` at ``--customers`` customers (4 campaigns; about 13
transactions per customer per year), written as the CSV export the pipeline reads. Timed:

* **liftlab** — :func:`build_bronze` (DuckDB reads and types the five CSVs), :func:`build_silver`
  (the attribution-window SQL) and :func:`summarise_campaigns` (gold statistics), separately.
* **pandas baseline** — ``pd.read_csv`` of the same files, ``pd.to_datetime(utc=True)`` of the
  offset timestamps, then assignments ⋈ campaigns ⋈ transactions, the half-open window filter
  and a pivot to one row per campaign × customer (what a notebook would do).

Each contender runs in its own subprocess so peak memory (``ru_maxrss``) is its own. The run
checks that both produce the same window spend for every campaign × customer.

Usage::

    .venv/bin/python benchmarks/campaign_warehouse.py                      # 200k customers
    .venv/bin/python benchmarks/campaign_warehouse.py --customers 1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("campaigns", "profiles", "assignments", "interactions", "transactions")
WINDOW_DAYS = 10


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_liftlab(folder: Path) -> tuple[dict, pd.DataFrame]:
    from strategies.campaign_uplift import (
        CampaignOptions,
        build_bronze,
        build_silver,
        summarise_campaigns,
    )

    timings = {}
    start = time.perf_counter()
    tables, _ = build_bronze({t: folder / f"{t}.csv" for t in TABLES})
    timings["bronze"] = time.perf_counter() - start
    start = time.perf_counter()
    silver = build_silver(tables, window_days=WINDOW_DAYS, pre_window_days=30)
    timings["silver"] = time.perf_counter() - start
    start = time.perf_counter()
    summarise_campaigns(silver.outcomes, tables["campaigns"], silver.categories, CampaignOptions())
    timings["gold"] = time.perf_counter() - start
    spend = silver.outcomes[["campaign_id", "customer_id", "spend__all"]]
    return timings, spend


def run_pandas(folder: Path) -> tuple[dict, pd.DataFrame]:
    timings = {}
    start = time.perf_counter()
    frames = {t: pd.read_csv(folder / f"{t}.csv") for t in TABLES}  # bronze reads all five
    campaigns, assignments, transactions = (
        frames["campaigns"],
        frames["assignments"],
        frames["transactions"],
    )
    campaigns["send_at"] = pd.to_datetime(campaigns["send_at"], utc=True, format="ISO8601")
    transactions["transaction_at"] = pd.to_datetime(
        transactions["transaction_at"], utc=True, format="ISO8601"
    )
    frames["interactions"]["event_at"] = pd.to_datetime(
        frames["interactions"]["event_at"], utc=True, format="ISO8601"
    )
    timings["bronze"] = time.perf_counter() - start
    start = time.perf_counter()
    population = assignments.drop_duplicates().merge(campaigns, on="campaign_id")
    population["window_end"] = population["send_at"] + pd.Timedelta(days=WINDOW_DAYS)
    joined = population.merge(transactions, on="customer_id", how="inner")
    inside = joined[
        (joined["transaction_at"] >= joined["send_at"])
        & (joined["transaction_at"] < joined["window_end"])
    ]
    spend = inside.groupby(["campaign_id", "customer_id"], as_index=False)["amount"].sum()
    spend = population[["campaign_id", "customer_id"]].merge(
        spend, on=["campaign_id", "customer_id"], how="left"
    )
    spend["spend__all"] = spend.pop("amount").fillna(0.0)
    timings["silver"] = time.perf_counter() - start
    return timings, spend


def worker(kind: str, folder: Path, out: Path) -> None:
    runner = run_liftlab if kind == "liftlab" else run_pandas
    before = _peak_mb()
    timings, spend = runner(folder)
    spend.to_parquet(out, index=False)
    print(json.dumps({"timings": timings, "peak_mb": _peak_mb(), "start_mb": before}))  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/campaign_warehouse.json")
    )
    parser.add_argument(
        "--worker", choices=["simulate", "liftlab", "pandas"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spend-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "simulate":
        from liftlab.simulate.campaigns import (
            CampaignSimulationConfig,
            simulate_campaigns,
            write_campaigns,
        )

        result = simulate_campaigns(
            CampaignSimulationConfig(n_customers=args.customers, seed=args.seed)
        )
        write_campaigns(result, args.folder)
        print(len(result.tables["transactions"]))  # noqa: T201
        return
    if args.worker:
        worker(args.worker, args.folder, args.spend_out)
        return

    # Every piece runs in its own subprocess started from this small parent: on Linux a child's
    # ru_maxrss starts from the parent's, so the parent must never hold the data itself.
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", "simulate", "--folder", str(folder),
             "--customers", str(args.customers), "--seed", str(args.seed)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        n_tx = int(proc.stdout.strip().splitlines()[-1])
        simulate_seconds = time.perf_counter() - start
        runs = {}
        spends = {}
        for kind in ("liftlab", "pandas"):
            spend_path = folder / f"spend_{kind}.parquet"
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", kind, "--folder", str(folder),
                 "--spend-out", str(spend_path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
            spends[kind] = pd.read_parquet(spend_path)

    key = ["campaign_id", "customer_id"]
    merged = spends["liftlab"].merge(spends["pandas"], on=key, suffixes=("_duckdb", "_pandas"))
    same = len(merged) == len(spends["liftlab"]) == len(spends["pandas"]) and np.allclose(
        merged["spend__all_duckdb"], merged["spend__all_pandas"]
    )
    rows = []
    for kind, run in runs.items():
        t = run["timings"]
        rows.append(
            {
                "contender": "liftlab (DuckDB SQL)" if kind == "liftlab" else "pandas baseline",
                "bronze_s": round(t["bronze"], 3),
                "silver_s": round(t["silver"], 3),
                "gold_s": round(t.get("gold", float("nan")), 3),
                "bronze_plus_silver_s": round(t["bronze"] + t["silver"], 3),
                "peak_rss_mb": round(run["peak_mb"], 1),
            }
        )
    ratio = rows[1]["bronze_plus_silver_s"] / rows[0]["bronze_plus_silver_s"]
    print(
        f"\n{args.customers:,} customers, {n_tx:,} transactions "  # noqa: T201
        f"(simulated and written in {simulate_seconds:.1f} s); window {WINDOW_DAYS} days\n"
    )
    header = (
        f"{'contender':<22}{'bronze s':>10}{'silver s':>10}{'gold s':>9}{'b+s s':>9}{'peak MB':>10}"
    )
    print(header)  # noqa: T201
    for r in rows:
        print(  # noqa: T201
            f"{r['contender']:<22}{r['bronze_s']:>10.3f}{r['silver_s']:>10.3f}{r['gold_s']:>9.3f}"
            f"{r['bronze_plus_silver_s']:>9.3f}{r['peak_rss_mb']:>10.1f}"
        )
    print(f"\npandas / liftlab (bronze + silver): {ratio:.2f}x; same window spend: {same}")  # noqa: T201
    payload = {
        "benchmark": "campaign_warehouse",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "customers": args.customers,
        "transactions": n_tx,
        "window_days": WINDOW_DAYS,
        "rows": rows,
        "pandas_over_liftlab": ratio,
        "same_results": bool(same),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written: {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
