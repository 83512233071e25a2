"""Dashboard speed: every callback's time and the first page load, on the demo project and on a
synthetic copy whose experiment results have 10,000 rows.

Targets (issue 15): every callback ≤ 300 ms, first page load ≤ 2 s. A callback here is the
server-side work of one Dash callback (the page callback for each page, the filters of the
experiments, campaigns and personas pages, the budget scenario), timed as the best of
``--repeat`` runs after a warm-up, with the loaders' caches warm as they are while someone
clicks. The first page load is a fresh app answering the requests a browser makes for ``/``
(the HTML, the layout, the dependencies and the page callback) through Flask's test client,
with cold caches; the browser's own drawing time is not in it.

Run ``make demo`` first, then ``python benchmarks/dashboard.py`` (``--root`` for another
project). Prints a table and writes ``benchmarks/results/dashboard.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as `python benchmarks/dashboard.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import harness  # noqa: E402

CALLBACK_TARGET_S = 0.3
FIRST_LOAD_TARGET_S = 2.0
SYNTHETIC_ROWS = 10_000


def synthetic_project(demo: Path, folder: Path, rows: int = SYNTHETIC_ROWS) -> Path:
    """A copy of the demo project whose ``ab_results.parquet`` has ``rows`` rows: the demo's
    rows repeated over renamed experiments (each with its SRM row), so every filter still
    finds data."""
    shutil.copytree(demo / "outputs", folder / "outputs")
    shutil.copytree(demo / "configs", folder / "configs")
    mlflow_db = demo / ".liftlab" / "artifacts" / "mlflow.db"
    if mlflow_db.is_file():  # runs and registry only (the run links, the models page)
        (folder / ".liftlab" / "artifacts").mkdir(parents=True)
        shutil.copy2(mlflow_db, folder / ".liftlab" / "artifacts" / "mlflow.db")
    out = folder / "outputs" / "ab_test"
    results = pd.read_parquet(out / "ab_results.parquet")
    srm = pd.read_csv(out / "srm.csv")
    copies = int(np.ceil(rows / len(results)))
    frames, srm_frames = [], []
    for i in range(copies):
        rename = {name: f"{name}_{i:03d}" for name in results["experiment"].unique()}
        frames.append(results.assign(experiment=results["experiment"].map(rename)))
        srm_frames.append(srm.assign(experiment=srm["experiment"].map(rename)))
    pd.concat(frames, ignore_index=True).head(rows).to_parquet(out / "ab_results.parquet")
    pd.concat(srm_frames, ignore_index=True).to_csv(out / "srm.csv", index=False)
    (out / "ab_results.csv").unlink(missing_ok=True)
    return folder


def callbacks(root: Path) -> dict[str, Callable[[], Any]]:
    """Each callback's server-side work as a no-argument function over one warm app."""
    from liftlab.dashboard import callbacks as cb
    from liftlab.dashboard.app import PAGES, budget_scenario, create_app, render_page
    from liftlab.dashboard.pages import campaigns, experiments, personas

    data = create_app(root).liftlab_data
    results = data.experiment_results()
    experiment = sorted(results["experiment"].astype(str).unique())[0]
    metric = sorted(results["metric"].astype(str).unique())[0]
    runs: dict[str, Callable[[], Any]] = {
        f"page {page.PATH}": (lambda page=page: render_page(data, page.PATH)) for page in PAGES
    }
    runs["experiments: no filter"] = lambda: experiments.update(
        data, cb.ALL, cb.ALL, "all", cb.ALL, cb.ALL
    )
    runs["experiments: every segment"] = lambda: experiments.update(
        data, cb.ALL, cb.ALL, cb.ALL, cb.ALL, cb.ALL
    )
    runs["experiments: one experiment + metric"] = lambda: experiments.update(
        data, experiment, metric, "all", cb.ALL, cb.ALL
    )
    runs["experiments: decision = win"] = lambda: experiments.update(
        data, cb.ALL, cb.ALL, "all", "win", cb.ALL
    )
    summary = data.table("gold_campaign_summary")
    if summary is not None:
        category = sorted(summary["category"].astype(str).unique())[-1]
        campaign = str(summary["campaign_id"].iloc[0])
        runs["campaigns: category"] = lambda: campaigns.update(data, category, campaign)
    lift = data.table("gold_persona_lift")
    if lift is not None:
        runs["personas: experiment"] = lambda: personas.update(
            data, str(lift["experiment"].iloc[0]), str(lift["metric"].iloc[0])
        )
    plan = data.table("gold_mmm_budget_plan")
    if plan is not None and data.scenario_model() is not None:
        mins = (100 * plan["lower_bound"] / plan["current_spend"]).round(2).tolist()
        maxs = (100 * plan["upper_bound"] / plan["current_spend"]).round(2).tolist()
        total = round(float(plan["optimal_spend"].sum()) * 0.9, 2)
        runs["marketing mix: budget scenario"] = lambda: budget_scenario(
            data, total, mins, maxs, plan["channel"].tolist()
        )
    return runs


def first_page_load(root: Path) -> None:
    """A fresh app (cold caches) answering what a browser asks for when it opens ``/``."""
    from liftlab.dashboard.app import create_app

    client = create_app(root).server.test_client()
    for path in ("/", "/_dash-layout", "/_dash-dependencies"):
        assert client.get(path).status_code == 200, path
    body = {
        "output": "..page.children...nav.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "nav", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
        "changedPropIds": ["url.pathname"],
        "state": [],
    }
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.data[:500]


def bench_project(label: str, root: Path, repeat: int) -> list[dict[str, Any]]:
    rows = []
    for name, func in callbacks(root).items():
        runs = harness.best_of(harness.timed(func), repeat=repeat, warmup=1)
        rows.append(
            {"project": label, "what": name, "time_s": runs.best(), "target_s": CALLBACK_TARGET_S}
        )
    runs = harness.best_of(harness.timed(lambda: first_page_load(root)), repeat=repeat, warmup=1)
    rows.append(
        {"project": label, "what": "first page load (/)", "time_s": runs.best(),
         "target_s": FIRST_LOAD_TARGET_S}
    )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="project after make demo")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=SYNTHETIC_ROWS)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dashboard.json"))
    args = parser.parse_args()
    root = args.root.resolve()
    if not (root / "outputs" / "ab_test" / "ab_results.parquet").is_file():
        sys.exit(f"no demo outputs under {root}/outputs: run `make demo` first")
    rows = bench_project("demo", root, args.repeat)
    with tempfile.TemporaryDirectory(prefix="liftlab-dash-bench-") as folder:
        big = synthetic_project(root, Path(folder), args.rows)
        rows += bench_project(f"{args.rows:,} result rows", big, args.repeat)
    for row in rows:
        row["met"] = row["time_s"] <= row["target_s"]
    harness.print_table(
        ["project", "callback / load", "best time (ms)", "target (ms)", "met"],
        [
            [
                r["project"],
                r["what"],
                f"{r['time_s'] * 1000:.0f}",
                f"{r['target_s'] * 1000:.0f}",
                "met" if r["met"] else "NOT MET",
            ]
            for r in rows
        ],  # fmt: skip
        align="llrrl",
    )
    payload = {
        "benchmark": "dashboard",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "repeat": args.repeat,
        "synthetic_rows": args.rows,
        "all_met": all(r["met"] for r in rows),
        "rows": rows,
        "machine": harness.machine_facts(("liftlab", "dash", "plotly", "pandas", "duckdb")),
    }
    harness.write_result(args.out, payload)
    print(json.dumps({"all_met": payload["all_met"]}))


if __name__ == "__main__":
    main()
