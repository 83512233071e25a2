"""Benchmark: the campaign-uplift warehouse (bronze → silver → gold) on DuckDB vs a plain pandas
implementation of the same silver step, same data, same run.

The data is ``liftlab.simulate.campaigns`` at ``--customers`` customers (4 campaigns; about 13
transactions per customer per year), written as the CSV export the pipeline reads. Timed:

* **liftlab** — :func:`build_bronze` (DuckDB reads and types the five CSVs), :func:`build_silver`
  (the attribution-window SQL) and :func:`summarise_campaigns` (gold statistics), separately.
* **pandas baseline** — ``pd.read_csv`` of the same files, ``pd.to_datetime(utc=True)`` of the
  offset timestamps, then assignments ⋈ campaigns ⋈ transactions, the half-open window filter
  and a pivot to one row per campaign × customer (what a notebook would do).

The simulation and each contender run in their own worker process (:func:`harness.run_in_worker`)
started from a small parent, so peak memory (``ru_maxrss``) is the contender's own. The run
checks that both produce the same window spend for every campaign × customer.

Usage::

    .venv/bin/python benchmarks/campaign_warehouse.py                      # 200k customers
    .venv/bin/python benchmarks/campaign_warehouse.py --customers 1000000
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as `python benchmarks/campaign_warehouse.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import harness  # noqa: E402

TABLES = ("campaigns", "profiles", "assignments", "interactions", "transactions")
WINDOW_DAYS = 10
CONTENDERS = {"liftlab": "liftlab (DuckDB SQL)", "pandas": "pandas baseline"}


def simulate_to_csv(customers: int, seed: int, folder: Path) -> int:
    """Simulate ``customers`` customers, write the CSV export; return the transaction count."""
    from liftlab.simulate.campaigns import (
        CampaignSimulationConfig,
        simulate_campaigns,
        write_campaigns,
    )

    result = simulate_campaigns(CampaignSimulationConfig(n_customers=customers, seed=seed))
    write_campaigns(result, folder)
    return len(result.tables["transactions"])


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


def contender(kind: str, folder: Path, spend_out: Path) -> dict[str, float]:
    """One contender's timings (run in a worker); its window spend goes to ``spend_out`` as
    Parquet, inside the worker, so the parent never holds both contenders' data at once."""
    runner = run_liftlab if kind == "liftlab" else run_pandas
    timings, spend = runner(folder)
    spend.to_parquet(spend_out, index=False)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/campaign_warehouse.json")
    )
    args = parser.parse_args(argv)

    # Every piece runs in its own worker started from this small parent: on Linux a child's
    # ru_maxrss starts from the parent's, so the parent must never hold the data itself.
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        simulated = harness.run_in_worker(simulate_to_csv, args.customers, args.seed, folder)
        n_tx, simulate_seconds = simulated.value, simulated.wall_s
        runs = {}
        spends = {}
        for kind in CONTENDERS:
            spend_path = folder / f"spend_{kind}.parquet"
            result = harness.run_in_worker(contender, kind, folder, spend_path)
            runs[kind] = {"timings": result.value, "peak_mb": result.peak_rss_mb}
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
                "contender": CONTENDERS[kind],
                "bronze_s": round(t["bronze"], 3),
                "silver_s": round(t["silver"], 3),
                "gold_s": round(t.get("gold", float("nan")), 3),
                "bronze_plus_silver_s": round(t["bronze"] + t["silver"], 3),
                "peak_rss_mb": round(run["peak_mb"], 1),
            }
        )
    ratio = rows[1]["bronze_plus_silver_s"] / rows[0]["bronze_plus_silver_s"]
    print(
        f"\n{args.customers:,} customers, {n_tx:,} transactions "
        f"(simulated and written in {simulate_seconds:.1f} s); window {WINDOW_DAYS} days\n"
    )
    harness.print_table(
        ("contender", "bronze s", "silver s", "gold s", "b+s s", "peak MB"),
        [
            (
                r["contender"],
                f"{r['bronze_s']:.3f}",
                f"{r['silver_s']:.3f}",
                r["gold_s"] if math.isnan(r["gold_s"]) else f"{r['gold_s']:.3f}",  # NaN: "—"
                f"{r['bronze_plus_silver_s']:.3f}",
                f"{r['peak_rss_mb']:.1f}",
            )
            for r in rows
        ],
    )
    print(f"\npandas / liftlab (bronze + silver): {ratio:.2f}x; same window spend: {same}")
    payload = {
        "benchmark": "campaign_warehouse",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": harness.machine_facts(("liftlab", "numpy", "pandas", "pyarrow", "duckdb")),
        "customers": args.customers,
        "transactions": n_tx,
        "window_days": WINDOW_DAYS,
        "rows": rows,
        "pandas_over_liftlab": ratio,
        "same_results": bool(same),
    }
    harness.write_result(args.out, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
