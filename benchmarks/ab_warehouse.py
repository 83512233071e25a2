"""Benchmark: the warehouse-native A/B pipeline (issue #13) against a bare DuckDB query,
tea-tasting, and itself on Spark — same Parquet file, same run.

Why this benchmark: issue #13 moved the A/B pipeline's cleaning, validation and aggregation
into an engine (DuckDB, PostgreSQL, Spark) so that a 100M-row experiment fits on one machine.
The claim is only worth something if it is measured against the cheapest possible way of getting
the same sufficient statistics out of the same file (one DuckDB GROUP BY query), against the
pipeline as it was (89 s / 6.1 GB at 8M rows, quoted from the issue), and against a
well-known library (tea-tasting) doing the same metrics from the same file.

Contenders (each in a fresh interpreter — :func:`harness.run_in_worker` — so its peak RSS is
its own; every one reads the same Parquet file):

a. **bare DuckDB query** — one GROUP BY experiment, variant, device with COUNT, sums, sums of
   squares and the cross-products the ratio and CUPED metrics need (the baseline);
b. **liftlab engine alone** — ``summarise_ab`` (cleaning chain, validation, statistics, rank sums
   and bootstrap buckets in DuckDB, default 1 GB memory limit) + ``analyse_statistics`` (every
   layer ``configs/ab_test.yaml`` turns on);
c. **full ZenML pipeline** on the same config; ZenML's fixed per-run cost is measured as the wall
   time of the same pipeline on a 1,000-row file of the same shape;
d. **tea-tasting** on Polars and on pandas (needs ``pip install -e ".[dev,bench]"``; skipped
   with a message otherwise);
e. **Spark local[*]** — ``summarise_ab`` with ``EngineSettings(name="spark")`` on ``--spark-rows``
   rows, results compared with DuckDB's on the same file (1e-9 relative).

Data: the demo shape of ``liftlab simulate`` (same columns, 8 experiments with the demo's
effects), written by one DuckDB ``COPY (SELECT … FROM range(N)) TO '….parquet'`` so 100M rows
never sit in Python memory, with ~1 % dirt (exact duplicate rows, whitespace/case variant
labels, units in both arms, NULL counts where the true count is 0, revenue outliers). Cached in
``--workdir`` by (rows, seed).

Usage::

    .venv/bin/python benchmarks/ab_warehouse.py                          # 8M rows (+10M Spark)
    .venv/bin/python benchmarks/ab_warehouse.py --rows 100000000 --spark-rows 0 \
        --skip-tea-tasting --out benchmarks/results/ab_warehouse_100m.json
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/ab_warehouse.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import harness  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = REPO_ROOT / "configs" / "ab_test.yaml"
N_EXPERIMENTS = 8
OVERHEAD_ROWS = 1_000
#: Targets of issue #13 ("Performance targets").
TARGET_PIPELINE_RSS_MB = 2048.0  # pipeline peak RSS <= 2 GB at 100M rows
TARGET_PIPELINE_VS_BARE = 3.0  # pipeline wall <= 3x bare query + ZenML overhead
TARGET_VS_TEA_POLARS = 3.0  # engine alone >= 3x faster than tea-tasting on Polars
TARGET_VS_TEA_PANDAS = 10.0  # engine alone >= 10x faster than tea-tasting on pandas
TARGET_SPARK_RTOL = 1e-9
#: Spark session settings of the benchmark (config, not code: the ``engine.conf`` block). The
#: local driver's default 1 GB heap runs out caching the 10M-row cleaned table
#: (java.lang.OutOfMemoryError in InMemoryRelation), so the driver — which is the executor in
#: local mode — gets 4 GB of this 24 GB machine.
SPARK_CONF = {"spark.driver.memory": "4g"}
#: ``engine.memory_limit`` for the DuckDB contenders (None: the config's default, 1GB); set by
#: --memory-limit and passed to the spawned workers as an argument-free module global.
DUCKDB_MEMORY_LIMIT: dict[str, str | None] = {"value": os.environ.get("LIFTLAB_BENCH_MEMORY_LIMIT")}
#: The issue's "before" measurement of the pandas pipeline at 8M rows.
BEFORE_8M = {"rows": 8_000_000, "wall_s": 89.0, "peak_rss_gb": 6.1, "bare_query_s": 1.0}
VERSIONS = ("liftlab", "numpy", "pandas", "pyarrow", "duckdb", "pyspark", "zenml")
VERSIONS += ("polars", "tea-tasting")
#: Dirt rates (share of generated rows) — about 1 % of rows are touched in total.
DIRT = {
    "duplicate_rows": 0.0025,
    "cross_variant_units": 0.001,
    "noisy_variant_labels": 0.003,
    "null_conversions_where_zero": 0.003,
    "null_clicks_where_zero": 0.001,
    "revenue_outliers_among_buyers": 0.01,
}
NOISY_LABELS = {
    "A": (" a", "a ", "A ", " A", "A\t", "a"),
    "B": (" b", "b ", "B ", " B", "B\t", "b"),
}


# --------------------------------------------------------------------------------------------
# data


def _u(k: int, seed: int) -> str:
    """A uniform [0, 1) draw for row ``i``, stream ``k``: a hash, so the file is identical
    whatever DuckDB's thread count or scan order (``random()`` is not)."""
    # One argument: DuckDB's hash of several values combines them too weakly (the streams come
    # out correlated); a single BIGINT per (row, stream, seed) is mixed well.
    return f"((hash(i * 97 + {k} + {seed * 1_000_003}) >> 11)::DOUBLE / 9007199254740992.0)"


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("\t", "' || chr(9) || '") + "'" for v in values) + "]"


def generator_sql(rows: int, seed: int, path: Path) -> str:
    """The ``COPY (SELECT … FROM range(rows)) TO path`` statement that writes the data.

    The model is a cheap cousin of ``liftlab.simulate.experiments`` (same columns, the demo's
    experiment names and lifts): heavy-tailed engagement drives impressions and the pre-period
    revenue (so CUPED has a covariate), opens ≤ impressions, clicks ≤ opens, conversions ≤ clicks
    by stochastic rounding; B multiplies the experiment's open/click/conversion/order-value rate.
    """
    from liftlab.simulate.experiments import default_experiments

    specs = default_experiments(2)
    names = _sql_list(tuple(s.name for s in specs))

    def per_exp(values: list[float]) -> str:
        return "[" + ", ".join(f"{v!r}" for v in values) + "][e + 1]"

    split_a = per_exp([float(s.actual_split[0]) if s.actual_split else 0.5 for s in specs])
    open_l = per_exp([float(s.open_lift) for s in specs])
    click_l = per_exp([float(s.click_lift) for s in specs])
    conv_l = per_exp([float(s.conversion_lift) for s in specs])
    ov_l = per_exp([float(s.order_value_lift) for s in specs])
    u = {k: _u(k, seed) for k in range(1, 21)}
    d = DIRT
    return f"""
COPY (
WITH b0 AS (
    SELECT i, (i % {N_EXPERIMENTS})::INTEGER AS e,
        CASE WHEN {u[1]} < 0.55 THEN 'mobile' WHEN {u[1]} < 0.90 THEN 'desktop' ELSE 'tablet' END
            AS device,
        CASE WHEN {u[2]} < 0.40 THEN 'US' WHEN {u[2]} < 0.55 THEN 'GB' WHEN {u[2]} < 0.70 THEN 'DE'
             WHEN {u[2]} < 0.80 THEN 'FR' WHEN {u[2]} < 0.90 THEN 'BR' ELSE 'IN' END AS country,
        CASE WHEN {u[3]} < 0.6 THEN 'new' ELSE 'returning' END AS user_type,
        pow(-ln(1 - {u[4]}), 2) / 2 AS eng,
        {u[5]} AS u_arm
    FROM range({rows}) AS t(i)
), b1 AS (
    SELECT *, CASE WHEN u_arm < {split_a} THEN 0 ELSE 1 END AS arm,
        1 + floor(-ln(1 - {u[6]}) * 3.0 * eng)::BIGINT AS impressions,
        floor(4 * 0.0075 * (1 + 3 * eng) + {u[7]})::BIGINT AS pre_orders
    FROM b0
), b2 AS (
    SELECT *, least(impressions, floor(impressions * 0.25
            * CASE device WHEN 'desktop' THEN 1.1 WHEN 'tablet' THEN 0.9 ELSE 1.0 END
            * (1 + arm * {open_l}) + {u[8]})::BIGINT) AS opens
    FROM b1
), b3 AS (
    SELECT *, least(opens, floor(opens * 0.12 * (1 + arm * {click_l}) + {u[9]})::BIGINT) AS clicks
    FROM b2
), b4 AS (
    SELECT *,
        least(clicks, floor(clicks * 0.25 * (1 + arm * {conv_l}) + {u[10]})::BIGINT) AS conversions
    FROM b3
), clean AS (
    SELECT *,
        round(conversions * 55.0 * (1 + arm * {ov_l}) * (0.4 + 1.2 * {u[11]}), 2) AS revenue0,
        round(pre_orders * 55.0 * (0.4 + 1.2 * {u[12]}), 2) AS pre_revenue,
        unnest(CASE WHEN {u[13]} < {d["duplicate_rows"]} THEN [0, 1]
                    WHEN {u[14]} < {d["cross_variant_units"]} THEN [0, 2] ELSE [0] END) AS copy
    FROM b4
)
SELECT
    {names}[e + 1] AS experiment,
    1000000 + i AS user_id,
    CASE WHEN copy = 2 THEN (CASE WHEN arm = 0 THEN 'B' ELSE 'A' END)
         WHEN {u[15]} < {d["noisy_variant_labels"]} THEN
             (CASE WHEN arm = 0 THEN {_sql_list(NOISY_LABELS["A"])}
                   ELSE {_sql_list(NOISY_LABELS["B"])} END)[1 + floor({u[16]} * 6)::INTEGER]
         ELSE (CASE WHEN arm = 0 THEN 'A' ELSE 'B' END) END AS variant,
    TIMESTAMPTZ '2026-01-05 00:00:00+00' + to_days(3 * e)
        + to_seconds(floor({u[17]} * 14 * 86400)::BIGINT) AS assigned_at,
    device, country, user_type, impressions, opens,
    CASE WHEN clicks = 0 AND {u[18]} < {d["null_clicks_where_zero"]} THEN NULL ELSE clicks END
        AS clicks,
    CASE WHEN conversions = 0 AND {u[19]} < {d["null_conversions_where_zero"]} THEN NULL
         ELSE conversions END AS conversions,
    (conversions > 0)::BIGINT AS converted,
    CASE WHEN revenue0 > 0 AND {u[20]} < {d["revenue_outliers_among_buyers"]}
         THEN revenue0 * 50 ELSE revenue0 END AS revenue,
    pre_revenue
FROM clean
) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
"""


def write_data(rows: int, seed: int, path: Path, memory_limit: str = "2GB") -> dict[str, Any]:
    """Write the file (worker body): to a temp name first, renamed when complete, so an
    interrupted run never leaves a half-written file in the cache."""
    import duckdb

    tmp = path.with_name(path.name + ".partial")
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    t0 = time.perf_counter()
    con.execute(generator_sql(rows, seed, tmp))
    seconds = time.perf_counter() - t0
    n = con.execute(f"SELECT COUNT(*) FROM read_parquet('{tmp}')").fetchone()[0]
    con.close()
    os.replace(tmp, path)
    return {"rows_written": int(n), "write_s": seconds, "bytes": path.stat().st_size}


def ensure_data(rows: int, seed: int, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """The cached Parquet file for (rows, seed), written in a worker when missing."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"ab_events_{rows}_seed{seed}.parquet"
    if path.is_file():
        return path, {"cached": True, "bytes": path.stat().st_size}
    print(f"writing {rows:,} rows to {path} ...", flush=True)
    done = harness.run_in_worker(write_data, rows, seed, path)
    return path, done.value | {"cached": False, "wall_s": done.wall_s}


# --------------------------------------------------------------------------------------------
# measuring a worker: process-tree peak RSS (Spark's JVM is a child process)


class TreeRSS:
    """Peak RSS of this process plus its children (sampled every 0.1 s with psutil), next to
    the kernel's exact ``ru_maxrss`` of this process and of its reaped children — the JVM of a
    Spark session is a child, which ``ru_maxrss`` of the Python process does not see."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):
                for proc in [me, *me.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 1024**2)
            time.sleep(self.interval_s)

    def __enter__(self) -> TreeRSS:
        self._load = harness.OtherLoad().__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._load.__exit__()

    def result(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return {
            "tree_peak_rss_sampled_mb": self.peak_mb,
            "self_max_rss_mb": harness.max_rss_mb(),
            "children_max_rss_mb": children,
            # CPU seconds other processes (a Spark JVM included) used in the window: on a
            # shared 2-core machine a neighbour's test suite slows every contender down.
            "other_processes_cpu_s": self._load.other_cpu_s,
            "window_s": self._load.wall_s,
            "load_average_after": harness.load_average(),
        }


# --------------------------------------------------------------------------------------------
# the demo config


def demo_parameters(data_path: Path, output_dir: Path, engine: str = "duckdb") -> dict[str, Any]:
    """``configs/ab_test.yaml``'s parameters with the benchmark file, an output folder of the
    benchmark and (for Spark) the engine block; nothing else changed."""
    import yaml

    params = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["parameters"]
    params["data_path"] = str(data_path)
    params["output_dir"] = str(output_dir)
    if engine == "duckdb" and DUCKDB_MEMORY_LIMIT["value"]:
        params["engine"] = {"name": "duckdb", "memory_limit": DUCKDB_MEMORY_LIMIT["value"]}
    elif engine == "spark":
        params["engine"] = {"name": engine, "conf": dict(SPARK_CONF)}
    elif engine != "duckdb":
        params["engine"] = {"name": engine}
    return params


def tea_work_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """The demo parameters cut down to the work tea-tasting does in :func:`worker_tea`: the
    same 4 metrics (CUPED on revenue) per experiment, labels stripped/upper-cased and NULL
    clicks read as 0 (liftlab's ``normalize_variant_labels`` and ``impute_missing_counts``);
    no segments, funnel, de-duplication, multi-arm check, outlier cap, Bayesian or
    non-parametric layers. liftlab still runs its validation suite, SRM, the Holm correction
    and Fieller intervals: it does a little more than tea-tasting, never less."""
    out = dict(params)
    out["segment_columns"] = []
    out["funnel"] = []
    out.pop("bayesian", None)
    out.pop("nonparametric", None)
    out["cleaning"] = [
        {"name": "normalize_variant_labels"},
        {"name": "impute_missing_counts", "columns": ["clicks"]},
    ]
    return out


# --------------------------------------------------------------------------------------------
# contenders (module-level: each runs in its own interpreter)

#: One expression per sufficient statistic; the metric columns of the demo config.
_BARE_SUMS = {
    "n": "COUNT(*)",
    "impressions": "SUM(impressions)",
    "impressions_sq": "SUM(impressions * impressions)",
    "opens": "SUM(opens)",
    "opens_sq": "SUM(opens * opens)",
    "opens_x_impressions": "SUM(opens * impressions)",
    "clicks": "SUM(coalesce(clicks, 0))",
    "clicks_sq": "SUM(coalesce(clicks, 0) * coalesce(clicks, 0))",
    "clicks_x_impressions": "SUM(coalesce(clicks, 0) * impressions)",
    "conversions": "SUM(coalesce(conversions, 0))",
    "converted": "SUM(converted)",
    "revenue": "SUM(revenue)",
    "revenue_sq": "SUM(revenue * revenue)",
    "pre_revenue": "SUM(pre_revenue)",
    "pre_revenue_sq": "SUM(pre_revenue * pre_revenue)",
    "revenue_x_pre_revenue": "SUM(revenue * pre_revenue)",
}


def bare_query_sql(path: Path) -> str:
    """The baseline: the demo config's sufficient statistics per experiment × variant × device
    in one pass (labels trimmed/upper-cased and NULL counts read as 0 — cheap per-row fixes —
    but no de-duplication, no multi-arm check, no validation, no outlier cap, no rank sums)."""
    sums = ",\n    ".join(f"{expr} AS {name}" for name, expr in _BARE_SUMS.items())
    return f"""
SELECT experiment, upper(trim(variant, ' ' || chr(9))) AS variant, device,
    {sums}
FROM read_parquet('{path}')
GROUP BY ALL
"""


#: The sums of the "same statistics" query: the demo metrics after the config's cleaning
#: (counts already imputed, revenue capped as ``r``).
_CLEAN_SUMS = {
    "n": "COUNT(*)",
    "impressions": "SUM(impressions)",
    "opens": "SUM(opens)",
    "clicks": "SUM(clicks)",
    "clicks_sq": "SUM(clicks * clicks)",
    "clicks_x_impressions": "SUM(clicks * impressions)",
    "converted": "SUM(converted)",
    "revenue": "SUM(r)",
    "revenue_sq": "SUM(r * r)",
    "revenue_x_pre_revenue": "SUM(r * pre_revenue)",
    "pre_revenue": "SUM(pre_revenue)",
    "pre_revenue_sq": "SUM(pre_revenue * pre_revenue)",
}


def bare_same_statistics_sql(path: Path) -> str:
    """The fair baseline for the pipeline: ONE hand-written DuckDB query giving the same
    sufficient statistics the pipeline analyses — the config's 5 cleaning steps written as
    CTEs (labels stripped and matched to A/B, exact duplicate rows dropped, units seen in both
    arms dropped, NULL counts as 0, revenue capped at its 0.999 quantile) then one GROUP BY
    experiment × variant × device. No audits, validation, funnel, rank sums or bootstrap:
    the least work that yields the pipeline's numbers (checked equal to the engine's)."""
    ws = "' ' || chr(9) || chr(10) || chr(13)"
    sums = ",\n    ".join(f"{expr} AS {name}" for name, expr in _CLEAN_SUMS.items())
    return f"""
WITH labelled AS (
    SELECT * REPLACE (
        trim(experiment, {ws}) AS experiment,
        CASE WHEN upper(trim(variant, {ws})) IN ('A', 'B') THEN upper(trim(variant, {ws}))
             ELSE trim(variant, {ws}) END AS variant)
    FROM read_parquet('{path}')
), distinct_rows AS (SELECT DISTINCT * FROM labelled),
two_arms AS (
    SELECT experiment, user_id FROM distinct_rows WHERE user_id IS NOT NULL
    GROUP BY experiment, user_id HAVING MIN(variant) <> MAX(variant)
), kept AS (
    SELECT * REPLACE (coalesce(opens, 0) AS opens, coalesce(clicks, 0) AS clicks,
                      coalesce(conversions, 0) AS conversions)
    FROM distinct_rows d ANTI JOIN two_arms t USING (experiment, user_id)
), cap AS (SELECT quantile_cont(revenue, 0.999) AS q FROM kept),
capped AS (SELECT kept.*, least(revenue, cap.q) AS r FROM kept, cap)
SELECT experiment, variant, device,
    {sums}
FROM capped
GROUP BY ALL
"""


def worker_bare_same(path: Path) -> dict[str, Any]:
    """(a') The same-statistics baseline (:func:`bare_same_statistics_sql`), DuckDB's
    defaults; returns its rows for the equality check against the engine."""
    import duckdb

    with TreeRSS() as tree:
        t0 = time.perf_counter()
        con = duckdb.connect()
        frame = con.execute(bare_same_statistics_sql(path)).df()
        seconds = time.perf_counter() - t0
        con.close()
    return {
        "timed_s": seconds,
        "groups": len(frame),
        "table": frame.to_dict("list"),
        **tree.result(),
    }


def same_statistics_gap(bare_rows: dict[str, list], dump: Path) -> dict[str, Any]:
    """Worker body: the largest relative difference between the same-statistics query and the
    engine's sufficient statistics (device segments; n, impressions, clicks, converted,
    capped revenue and the CUPED sums), matched by experiment × variant × device."""
    import pickle

    import pandas as pd

    bare = pd.DataFrame(bare_rows)
    stats = pickle.loads(dump.read_bytes())["stats"]
    stats = stats[stats["segment"].str.startswith("device=")].copy()
    stats["device"] = stats["segment"].str.slice(len("device="))
    pairs = {  # engine metric and column -> bare column
        ("ctr", "n"): "n",
        ("ctr", "sum_y"): "clicks",
        ("ctr", "sum_x"): "impressions",
        ("ctr", "sum_y2"): "clicks_sq",
        ("ctr", "sum_xy"): "clicks_x_impressions",
        ("open_rate", "sum_y"): "opens",
        ("conversion_rate", "sum_y"): "converted",
        ("revenue_per_user", "sum_y"): "revenue",
        ("revenue_per_user", "sum_y2"): "revenue_sq",
        ("revenue_per_user", "sum_z"): "pre_revenue",
        ("revenue_per_user", "sum_z2"): "pre_revenue_sq",
        ("revenue_per_user", "sum_yz"): "revenue_x_pre_revenue",
    }
    keys = ["experiment", "variant", "device"]
    worst, where, matched = 0.0, "", 0
    for (metric, column), bare_column in pairs.items():
        engine = stats[stats["metric"] == metric][[*keys, column]]
        theirs = bare[[*keys, bare_column]].rename(columns={bare_column: "bare"})
        merged = engine.merge(theirs, on=keys, how="outer", indicator=True)
        if (merged["_merge"] != "both").any():
            return {"equal": False, "error": f"groups differ for {metric}.{column}"}
        a, b = merged[column].astype(float), merged["bare"].astype(float)
        gap = float(
            (
                (a - b).abs() / pd.concat([a.abs(), b.abs()], axis=1).max(axis=1).clip(lower=1e-300)
            ).max()
        )
        matched += len(merged)
        if gap > worst:
            worst, where = gap, f"{metric}.{column}"
    return {
        "equal": worst <= TARGET_SPARK_RTOL,
        "max_rel_diff": worst,
        "worst": where,
        "matched": matched,
    }


def worker_bare(path: Path) -> dict[str, Any]:
    """(a) One DuckDB query from the file to the statistics (DuckDB's defaults)."""
    import duckdb

    with TreeRSS() as tree:
        t0 = time.perf_counter()
        con = duckdb.connect()
        out = con.execute(bare_query_sql(path)).fetchall()
        seconds = time.perf_counter() - t0
        con.close()
    return {"timed_s": seconds, "groups": len(out), **tree.result()}


def _engine_run(params: dict[str, Any]) -> tuple[dict[str, float], Any, Any, Any]:
    """summarise_ab + analyse_statistics as the pipeline's two steps call them."""
    from liftlab.config.ab_testing import load_ab_config
    from strategies.stats.run import analyse_statistics
    from strategies.warehouse.ab_summary import summarise_ab

    cfg = load_ab_config(params)
    spec = cfg.warehouse_spec()
    t0 = time.perf_counter()
    summary = summarise_ab(spec.engine.settings(), spec.source_config().source_spec(), spec.plan())
    t1 = time.perf_counter()
    if not summary.validation.success:
        raise RuntimeError(f"validation failed: {summary.validation.failure_message()}")
    layers = cfg.layer_options()
    outcome = analyse_statistics(
        summary.statistics,
        cfg.design(),
        cfg.metric_specs(),
        cfg.analysis_options(),
        bayesian=layers["bayesian"],
        sequential=layers["sequential"],
        nonparametric_columns=summary.statistics.nonparametric,
    )
    t2 = time.perf_counter()
    times = {"summarise_s": t1 - t0, "analyse_s": t2 - t1, "timed_s": t2 - t0}
    return times, summary, outcome, cfg


def worker_engine(
    path: Path,
    output_dir: Path,
    engine: str,
    dump: Path | None,
    profile: bool,
    work: str = "demo",
) -> dict[str, Any]:
    """(b)/(e) The liftlab engine alone; ``dump`` receives the small tables (pickle) for the
    cross-engine comparison; ``profile`` times each SQL statement the engine runs. ``work``
    "demo" runs the demo config, "tea" only what tea-tasting does (:func:`tea_work_parameters`)
    and returns the effects to compare with tea-tasting's."""
    os.chdir(output_dir)  # the DuckDB spill folder is relative to the project folder
    params = demo_parameters(path, output_dir, engine)
    if work == "tea":
        params = tea_work_parameters(params)
    sql_log: list[tuple[str, float]] = []
    if profile:
        _instrument_engines(sql_log)
    with TreeRSS() as tree:
        times, summary, outcome, _ = _engine_run(params)
    out: dict[str, Any] = {**times, **tree.result()}
    out["rows_read"] = int(summary.data_info.get("rows", 0))
    out["rows_clean"] = int(summary.data_info.get("rows_clean", 0))
    out["audits"] = [
        {k: a.to_dict()[k] for k in ("strategy", "rows_in", "rows_out", "values_changed")}
        for a in summary.audits
    ]
    out["results_rows"] = len(outcome.results)
    if work == "tea":
        overall = outcome.results[outcome.results["segment"] == "all"]
        out["effects"] = {
            f"{e}/{m}": float(d)
            for e, m, d in zip(
                overall["experiment"], overall["metric"], overall["abs_diff"], strict=True
            )
        }
    if profile:
        out["sql_profile"] = _summarise_sql_log(sql_log)
    if dump is not None:
        import pickle

        stats = summary.statistics
        tables = {
            "stats": stats.stats,
            "funnel": stats.funnel,
            "nonparametric": stats.nonparametric,
            "results": outcome.results,
            "srm": outcome.srm,
            "audits": [a.to_dict() for a in summary.audits],
        }
        dump.write_bytes(pickle.dumps(tables))
    return out


def _instrument_engines(log: list[tuple[str, float]]) -> None:
    """Wrap every engine's ``fetch``, ``create_temp_table``, ``columns`` and
    ``register_source`` to record each call's wall time (for the profile: which SQL step the
    time goes to; what is left of ``summarise_s`` is Python, GE and engine start-up)."""
    from strategies.engines import duckdb_engine, postgres_engine, spark_engine

    for module in (duckdb_engine, postgres_engine, spark_engine):
        for cls in vars(module).values():
            if not isinstance(cls, type) or not hasattr(cls, "create_temp_table"):
                continue
            for method in ("fetch", "create_temp_table", "columns", "register_source"):
                original = cls.__dict__.get(method)
                if original is None:
                    continue

                def wrapper(self, *a, __orig=original, __m=method, **k):  # type: ignore[no-untyped-def]
                    t0 = time.perf_counter()
                    try:
                        return __orig(self, *a, **k)
                    finally:
                        text = " ".join(str(a[0] if a else "").split())[:160]
                        log.append((f"{__m}: {text}", time.perf_counter() - t0))

                setattr(cls, method, wrapper)


def _summarise_sql_log(log: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """The 12 slowest statements (and the total) of one engine run."""
    top = sorted(log, key=lambda x: -x[1])[:12]
    total = sum(s for _, s in log)
    return [{"statement": f"TOTAL ({len(log)} statements)", "s": total}] + [
        {"statement": text, "s": s} for text, s in top
    ]


def worker_pipeline(path: Path, project_dir: Path, output_dir: Path) -> dict[str, Any]:
    """(c) The full ZenML pipeline (local stack of ``project_dir``, cache off) on the demo
    config. ZenML's environment points at the benchmark's own throw-away project."""
    os.environ["ZENML_CONFIG_PATH"] = str(project_dir / "zenml-config")
    os.environ["ZENML_REPOSITORY_PATH"] = str(project_dir)
    os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.environ.setdefault("AUTO_OPEN_DASHBOARD", "false")
    os.chdir(project_dir)
    import yaml

    with TreeRSS() as tree:
        t0 = time.perf_counter()
        from liftlab.mlops.stack import init_stack
        from pipelines.ab_testing import ab_test_pipeline

        init_stack(project_dir)
        t_ready = time.perf_counter() - t0
        config = project_dir / f"ab_warehouse_{path.stem}.yaml"
        config.write_text(yaml.safe_dump({"parameters": demo_parameters(path, output_dir)}))
        run = ab_test_pipeline.with_options(config_path=str(config), enable_cache=False)()
        seconds = time.perf_counter() - t0
    status = str(getattr(getattr(run, "status", None), "value", getattr(run, "status", "?")))
    steps = {}
    with contextlib.suppress(Exception):
        for name, step in run.steps.items():
            start, end = step.start_time, step.end_time
            if start is not None and end is not None:
                steps[name] = (end - start).total_seconds()
    return {
        "timed_s": seconds,
        "imports_and_stack_s": t_ready,
        "status": status,
        "step_seconds": steps,
        **tree.result(),
    }


def setup_zenml_project(project_dir: Path) -> None:
    """Create the benchmark's ZenML project once (worker body; not timed): the store's first
    initialisation is a one-off cost, not a per-run one."""
    os.environ["ZENML_CONFIG_PATH"] = str(project_dir / "zenml-config")
    os.environ["ZENML_REPOSITORY_PATH"] = str(project_dir)
    os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.chdir(project_dir)
    from liftlab.mlops.stack import init_stack

    init_stack(project_dir)


#: The demo config's metrics in tea-tasting (liftlab's default test conventions, as in
#: benchmarks/ab_engine.py).
def _tea_experiment() -> Any:
    import tea_tasting as tt

    return tt.Experiment(
        ctr=tt.RatioOfMeans("clicks", "impressions", use_t=False),
        conversion_rate=tt.Proportion("converted", method="norm", correction=False, equal_var=True),
        revenue_per_user=tt.Mean("revenue", covariate="pre_revenue"),
        open_rate=tt.RatioOfMeans("opens", "impressions", use_t=False),
        variant="variant",
    )


TEA_COLUMNS = ["experiment", "variant", "impressions", "opens", "clicks", "converted"]
TEA_COLUMNS += ["revenue", "pre_revenue"]


def worker_tea(path: Path, backend: str) -> dict[str, Any]:
    """(d) tea-tasting from the file: read the columns it needs, the same cheap fixes as the
    bare query (labels trimmed/upper-cased, NULL clicks as 0), split by experiment and analyse
    each (tea-tasting analyses one experiment per call). No de-duplication, no validation, no
    segments, no Bayesian/non-parametric layers — tea-tasting does less than the engine."""
    experiment = _tea_experiment()
    results: dict[str, Any] = {}
    with TreeRSS() as tree:
        t0 = time.perf_counter()
        if backend == "polars":
            import polars as pl

            df = pl.read_parquet(path, columns=TEA_COLUMNS).with_columns(
                pl.col("variant").str.strip_chars().str.to_uppercase(),
                pl.col("clicks").fill_null(0),
            )
            t_read = time.perf_counter() - t0
            for (name,), frame in df.partition_by("experiment", as_dict=True).items():
                results[str(name)] = experiment.analyze(frame.drop("experiment"), control="A")
        else:
            import pandas as pd

            df = pd.read_parquet(path, columns=TEA_COLUMNS)
            df["variant"] = df["variant"].str.strip().str.upper()
            df["clicks"] = df["clicks"].fillna(0)
            t_read = time.perf_counter() - t0
            for name, frame in df.groupby("experiment", sort=True):
                results[str(name)] = experiment.analyze(
                    frame.drop(columns="experiment"), control="A"
                )
        seconds = time.perf_counter() - t0
    effects = {
        f"{exp}/{metric}": float(r.effect_size)
        for exp, res in results.items()
        for metric, r in res.items()
    }
    return {"timed_s": seconds, "read_s": t_read, "effects": effects, **tree.result()}


def compare_effects(liftlab: dict[str, float], tea: dict[str, float]) -> dict[str, Any]:
    """How far tea-tasting's absolute effects are from liftlab's on the same rows: the largest
    relative difference over the experiment × metric pairs both report (equal work gives
    equal numbers, up to CUPED's estimator details)."""
    keys = sorted(set(liftlab) & set(tea))
    diffs = {k: abs(liftlab[k] - tea[k]) / max(abs(liftlab[k]), abs(tea[k]), 1e-300) for k in keys}
    worst = max(diffs, key=diffs.__getitem__) if diffs else None
    by_metric: dict[str, float] = {}
    for k, d in diffs.items():
        metric = k.split("/", 1)[1]
        by_metric[metric] = max(by_metric.get(metric, 0.0), d)
    return {
        "pairs": len(keys),
        "missing": sorted(set(liftlab) ^ set(tea)),
        "max_rel_diff": diffs[worst] if worst else None,
        "worst": worst,
        "max_rel_diff_by_metric": by_metric,
    }


def compare_dumps(left: Path, right: Path, rtol: float = TARGET_SPARK_RTOL) -> dict[str, Any]:
    """Worker body: the largest relative difference per table between two engines' small tables
    (rows matched by their key columns, numbers compared to ``rtol``, the rest exactly)."""
    import pickle

    import numpy as np
    import pandas as pd

    a, b = pickle.loads(left.read_bytes()), pickle.loads(right.read_bytes())
    out: dict[str, Any] = {"audits_equal": a["audits"] == b["audits"], "tables": {}}
    for name in ("stats", "funnel", "nonparametric", "results", "srm"):
        x, y = a[name], b[name]
        if x is None or y is None:
            out["tables"][name] = {"equal": x is None and y is None}
            continue
        # label columns (object or pandas 3's str dtype) identify a row; sort both by them
        keys = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c]) and c in y.columns]
        x = x.sort_values(keys).reset_index(drop=True) if keys else x.reset_index(drop=True)
        y = y.sort_values(keys).reset_index(drop=True) if keys else y.reset_index(drop=True)
        entry: dict[str, Any] = {"rows": len(x), "same_shape": x.shape == y.shape}
        worst, worst_col = 0.0, None
        if entry["same_shape"] and list(x.columns) == list(y.columns):
            for col in x.columns:
                if pd.api.types.is_numeric_dtype(x[col]) and pd.api.types.is_numeric_dtype(y[col]):
                    xv, yv = x[col].to_numpy(float), y[col].to_numpy(float)
                    # Equal values (±inf included) and NaN on both sides agree; otherwise the
                    # difference relative to the larger magnitude, with 1e-12 absolute slack
                    # for values that should be exactly 0.
                    same = (xv == yv) | (np.isnan(xv) & np.isnan(yv))
                    with np.errstate(invalid="ignore", divide="ignore"):
                        diff = np.abs(xv - yv)
                        scale = np.maximum(np.maximum(np.abs(xv), np.abs(yv)), 1e-300)
                        rel = np.where(same | (diff <= 1e-12), 0.0, diff / scale)
                    rel = np.where(np.isnan(rel), np.inf, rel)
                    m = float(rel.max()) if len(rel) else 0.0
                    if m > worst:
                        worst, worst_col = m, col
                elif not x[col].astype(str).equals(y[col].astype(str)):
                    worst, worst_col = float("inf"), col
        else:
            worst = float("inf")
        entry |= {"max_rel_diff": worst, "worst_column": worst_col, "equal": worst <= rtol}
        out["tables"][name] = entry
    out["identical"] = out["audits_equal"] and all(t["equal"] for t in out["tables"].values())
    return out


# --------------------------------------------------------------------------------------------
# orchestration


#: Seconds to wait for an idle machine before each contender (set from --quiet-wait).
QUIET_WAIT = {"s": 0.0}


def _run(label: str, rows: int, func: Any, *args: Any) -> dict[str, Any]:
    """One contender in its own interpreter; a failure becomes a row saying so."""
    quiet = harness.wait_for_quiet(QUIET_WAIT["s"])
    print(f"running {label} on {rows:,} rows ...", flush=True)
    t0 = time.perf_counter()
    try:
        done = harness.run_in_worker(func, *args)
    except harness.WorkerFailed as exc:
        # the cause (e.g. DuckDB's out-of-memory error) is in the worker's stderr above
        seconds = time.perf_counter() - t0
        print(f"  {label} failed after {seconds:.1f} s: {exc}", flush=True)
        return {
            "label": label,
            "rows": rows,
            "ok": False,
            "error": str(exc),
            "wall_s_to_failure": seconds,
        }
    value = done.value
    peak = max(done.peak_rss_mb, value.get("tree_peak_rss_sampled_mb", 0.0))
    row = {"label": label, "rows": rows, "ok": True, "wall_s": done.wall_s, "peak_rss_mb": peak}
    row |= {"worker_max_rss_mb": done.peak_rss_mb, "quiet_wait": quiet, **value}
    print(f"  {label}: {done.wall_s:.1f} s wall, peak RSS {peak:,.0f} MB", flush=True)
    return row


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Write/reuse the data, run every contender, evaluate the targets; return the report."""
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = workdir / "outputs"
    outputs.mkdir(exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "ab_warehouse",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "spark_rows": args.spark_rows,
        "seed": args.seed,
        "config": str(CONFIG.relative_to(REPO_ROOT)),
        "dirt_rates": DIRT,
        "spark_conf": SPARK_CONF,
        "duckdb_memory_limit": args.memory_limit or "config default (1GB)",
        "before_8m": BEFORE_8M,
        "contenders": [],
        "notes": {},
    }
    path, data = ensure_data(args.rows, args.seed, workdir)
    report["data"] = {"path": str(path), **data}
    rows_ = report["contenders"]

    bare = _run("bare DuckDB query", args.rows, worker_bare, path)
    bare["role"] = "baseline"
    rows_.append(bare)
    same: dict[str, Any] = {"ok": False, "skipped": True}
    if not args.skip_same_statistics:
        same = _run("bare DuckDB query, same statistics", args.rows, worker_bare_same, path)
        same["role"] = "baseline_same"
        rows_.append(same)
    dump = workdir / f"tables_engine_{args.rows}.pkl"
    engine = _run(
        "liftlab engine (DuckDB)", args.rows, worker_engine, path, outputs, "duckdb", dump, True
    )
    engine["role"] = "engine"
    rows_.append(engine)
    if same.get("ok") and engine.get("ok"):
        report["same_statistics"] = harness.run_in_worker(
            same_statistics_gap, same["table"], dump
        ).value
    same.pop("table", None)

    if not args.skip_pipeline:
        project = workdir / "zenml-project"
        project.mkdir(exist_ok=True)
        harness.run_in_worker(setup_zenml_project, project)
        small, _ = ensure_data(OVERHEAD_ROWS, args.seed, workdir)
        over = _run(
            "ZenML pipeline, 1,000 rows", OVERHEAD_ROWS, worker_pipeline, small, project, outputs
        )
        over["role"] = "pipeline_overhead"
        rows_.append(over)
        small_engine = _run(
            "liftlab engine (DuckDB), 1,000 rows",
            OVERHEAD_ROWS,
            worker_engine,
            small,
            outputs,
            "duckdb",
            None,
            False,
        )
        small_engine["role"] = "engine_small"
        rows_.append(small_engine)
        pipe = _run("ZenML pipeline", args.rows, worker_pipeline, path, project, outputs)
        pipe["role"] = "pipeline"
        rows_.append(pipe)

    if not args.skip_tea_tasting:
        if _available("tea_tasting") and _available("polars"):
            tea_labels = {"polars": "tea-tasting on Polars", "pandas": "tea-tasting on pandas"}
            same = _run(
                "liftlab engine (DuckDB), tea-tasting's work",
                args.rows,
                worker_engine,
                path,
                outputs,
                "duckdb",
                None,
                False,
                "tea",
            )
            same["role"] = "engine_tea_work"
            rows_.append(same)
            for backend, label in tea_labels.items():
                row = _run(label, args.rows, worker_tea, path, backend)
                row["role"] = f"tea_{backend}"
                if same.get("ok") and row.get("ok"):
                    row["effects_vs_liftlab"] = compare_effects(same["effects"], row["effects"])
                rows_.append(row)
        else:
            report["notes"]["tea_tasting"] = (
                "skipped: tea-tasting/polars not installed (pip install -e '.[dev,bench]')"
            )
            print(report["notes"]["tea_tasting"], flush=True)

    if args.spark_rows > 0:
        report["spark"] = run_spark(args, workdir, outputs)
        rows_.extend(report["spark"].pop("rows"))

    base = bare.get("timed_s") if bare.get("ok") else None
    for r in rows_:
        if r.get("ok") and base and r["rows"] == args.rows:
            r["x_vs_baseline"] = r["timed_s"] / base
    report["targets"] = evaluate_targets(report, args)
    report["machine"] = harness.machine_facts(VERSIONS)
    return report


def run_spark(args: argparse.Namespace, workdir: Path, outputs: Path) -> dict[str, Any]:
    """(e) DuckDB and Spark on the same ``--spark-rows`` file; compare their small tables."""
    out: dict[str, Any] = {"rows": []}
    if not _available("pyspark") or not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        out["skipped"] = "pyspark or Java missing (pip install -e '.[spark]'; apt openjdk-17)"
        return out
    path, _ = ensure_data(args.spark_rows, args.seed, workdir)
    dumps = {e: workdir / f"tables_{e}_{args.spark_rows}.pkl" for e in ("duckdb", "spark")}
    labels = {"duckdb": "liftlab engine (DuckDB)", "spark": "liftlab engine (Spark local[*])"}
    for engine, label in labels.items():
        profile = engine == "spark"
        row = _run(
            label, args.spark_rows, worker_engine, path, outputs, engine, dumps[engine], profile
        )
        row["role"] = f"spark_cmp_{engine}"
        out["rows"].append(row)
    if all(r.get("ok") for r in out["rows"]):
        out["comparison"] = harness.run_in_worker(
            compare_dumps, dumps["duckdb"], dumps["spark"]
        ).value
        d, s = (r["timed_s"] for r in out["rows"])
        out["spark_over_duckdb"] = s / d
    return out


def evaluate_targets(report: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The issue's targets with the measured value and met / NOT met / not measured."""
    by_role = {r.get("role"): r for r in report["contenders"] if r.get("ok")}
    failed = {r.get("role") for r in report["contenders"] if not r.get("ok")}
    targets: list[dict[str, Any]] = []

    def add(name: str, threshold: str, value: float | None, met: bool | None, note: str) -> None:
        targets.append(
            {
                "target": name,
                "threshold": threshold,
                # tiny values (a relative difference of 1e-14) keep their digits
                "value": value if value is None or abs(value) < 1e-3 else round(value, 3),
                "met": met,
                "note": note,
            }
        )

    bare, pipe, over = (
        by_role.get("baseline"),
        by_role.get("pipeline"),
        by_role.get("pipeline_overhead"),
    )
    at = f"at {args.rows:,} rows"
    if pipe:
        rss = pipe["peak_rss_mb"]
        scope = "" if args.rows >= 100_000_000 else " (target is stated for 100M rows)"
        add(
            "pipeline peak RSS <= 2 GB",
            "<= 2048 MB",
            rss,
            rss <= TARGET_PIPELINE_RSS_MB,
            at + scope,
        )
    elif "pipeline" in failed:
        # a pipeline that cannot finish (e.g. DuckDB out of memory) misses every target
        add("pipeline peak RSS <= 2 GB", "<= 2048 MB", None, False, at + ": pipeline FAILED")
    else:
        add("pipeline peak RSS <= 2 GB", "<= 2048 MB", None, None, "pipeline not run")
    same = by_role.get("baseline_same")
    check = report.get("same_statistics") or {}
    for base, name in (
        (bare, "pipeline wall <= 3x bare query + ZenML overhead"),
        (same, "pipeline wall <= 3x bare query of the same statistics + ZenML overhead"),
    ):
        if pipe and base and over:
            allowed = TARGET_PIPELINE_VS_BARE * base["timed_s"] + over["wall_s"]
            net = pipe["wall_s"] - over["wall_s"]
            note = (
                f"{at}; pipeline {pipe['wall_s']:.1f} s - overhead {over['wall_s']:.1f} s = "
                f"{net:.1f} s = {net / base['timed_s']:.1f}x the query ({base['timed_s']:.2f} s)"
            )
            if base is same:
                note += f"; same statistics as the engine: {check.get('equal')}"
            met = pipe["wall_s"] <= allowed and (base is not same or bool(check.get("equal")))
            add(name, f"<= {allowed:.1f} s", pipe["wall_s"], met, note)
        elif "pipeline" in failed:
            add(name, "<= 3x", None, False, "FAILED")
        else:
            add(name, "<= 3x", None, None, "not run")
    # like for like: the engine doing tea-tasting's work (the full demo config's ratio is in
    # the note: the engine then also cleans, validates and runs 3 more layers)
    eng = by_role.get("engine_tea_work")
    full = by_role.get("engine")
    for role, ratio, label in (
        ("tea_polars", TARGET_VS_TEA_POLARS, "tea-tasting on Polars"),
        ("tea_pandas", TARGET_VS_TEA_PANDAS, "tea-tasting on pandas"),
    ):
        other = by_role.get(role)
        name = f"engine alone >= {ratio:g}x faster than {label}"
        if eng and other:
            x = other["timed_s"] / eng["timed_s"]
            same = other.get("effects_vs_liftlab") or {}
            gap = same.get("max_rel_diff", float("nan"))
            note = f"{at}, same work (effects max rel diff {gap:.1e})"
            if full:
                note += f"; full demo config: {other['timed_s'] / full['timed_s']:.2f}x"
            add(name, f">= {ratio:g}x", x, x >= ratio, note)
        elif other and "engine_tea_work" in failed:
            add(name, f">= {ratio:g}x", None, False, at + ": engine FAILED")
        else:
            add(name, f">= {ratio:g}x", None, None, report["notes"].get("tea_tasting", "not run"))
    spark = report.get("spark") or {}
    cmp_ = spark.get("comparison")
    if cmp_:
        worst = max(t.get("max_rel_diff", 0.0) for t in cmp_["tables"].values())
        add(
            "Spark results identical to DuckDB",
            "<= 1e-9 relative",
            worst,
            cmp_["identical"],
            f"at {args.spark_rows:,} rows; audits equal: {cmp_['audits_equal']}",
        )
    else:
        add(
            "Spark results identical to DuckDB",
            "<= 1e-9 relative",
            None,
            None,
            spark.get("skipped", "not run"),
        )
    return targets


def _fmt(v: float | None, spec: str) -> str:
    return "" if v is None else format(v, spec)


def print_report(report: dict[str, Any]) -> None:
    """The contender table, the targets and the comparison with the issue's 'before'."""
    print()
    print(
        f"A/B warehouse benchmark — {report['rows']:,} rows generated (+~0.35 % dirt rows), "
        f"config {report['config']}"
    )
    header = ("contender", "rows", "timed s", "process wall s", "peak RSS MB", "× vs baseline")
    table = []
    for r in report["contenders"]:
        if not r.get("ok"):
            table.append((r["label"], f"{r['rows']:,}", "failed", "", "", ""))
            continue
        table.append(
            (
                r["label"],
                f"{r['rows']:,}",
                f"{r['timed_s']:.2f}",
                f"{r['wall_s']:.2f}",
                f"{r['peak_rss_mb']:,.0f}",
                _fmt(r.get("x_vs_baseline"), ".2f"),
            )
        )
    harness.print_table(header, table)
    print(
        "timed s: inside the worker (reading included); process wall s: the fresh interpreter "
        "from start to result (imports included)."
    )
    for r in report["contenders"]:
        if r.get("ok") and "summarise_s" in r:
            print(
                f"  {r['label']} ({r['rows']:,}): summarise_ab {r['summarise_s']:.2f} s + "
                f"analyse_statistics {r['analyse_s']:.2f} s"
            )
        if r.get("ok") and r.get("step_seconds"):
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in r["step_seconds"].items())
            print(f"  {r['label']} ({r['rows']:,}) steps: {steps}")
    for r in report["contenders"]:
        for s in (r.get("sql_profile") or [])[:6]:
            print(f"    [{r['label']}] {s['s']:7.2f} s  {s['statement'][:110]}")
    check = report.get("same_statistics")
    if check:
        print(
            f"  same-statistics query vs engine: equal (1e-9) = {check.get('equal')}, "
            f"max rel diff {check.get('max_rel_diff', float('nan')):.1e} "
            f"({check.get('worst') or check.get('error', '')})"
        )
    for key, note in report["notes"].items():
        print(f"  note ({key}): {note}")
    spark = report.get("spark")
    if spark and spark.get("comparison"):
        c = spark["comparison"]
        print(
            f"Spark vs DuckDB ({report['spark_rows']:,} rows): identical (1e-9) = "
            f"{c['identical']}; Spark/DuckDB time {spark['spark_over_duckdb']:.1f}x"
        )
        for name, t in c["tables"].items():
            print(
                f"    {name}: max rel diff {t.get('max_rel_diff', 0):.2e} ({t.get('worst_column')})"
            )
    pipe = next((r for r in report["contenders"] if r.get("role") == "pipeline" and r["ok"]), None)
    b = report["before_8m"]
    if pipe:
        print(
            f"Before (issue #13, pandas pipeline, {b['rows']:,} rows): {b['wall_s']:.0f} s, "
            f"{b['peak_rss_gb']} GB. Now ({pipe['rows']:,} rows): {pipe['wall_s']:.1f} s, "
            f"{pipe['peak_rss_mb'] / 1024:.2f} GB."
        )
    print()
    print("Targets")
    for t in report["targets"]:
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        value = "n/a" if t["value"] is None else f"{t['value']:g}"
        print(f"  {t['target']:<52} {t['threshold']:<18} {value:<12} {met:<13} {t['note']}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=8_000_000, help="rows to generate")
    parser.add_argument(
        "--spark-rows", type=int, default=10_000_000, help="rows for the Spark check (0: skip)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/ab_warehouse.json"), help="JSON result"
    )
    parser.add_argument("--skip-pipeline", action="store_true", help="no ZenML pipeline runs")
    parser.add_argument(
        "--skip-same-statistics",
        action="store_true",
        help="no hand-written same-statistics query (it needs ~20 GB of RAM at 100M rows)",
    )
    parser.add_argument("--skip-tea-tasting", action="store_true", help="no tea-tasting runs")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".liftlab/benchmarks/ab_warehouse"),
        help="data cache (Parquet files by rows and seed), ZenML project and outputs",
    )
    parser.add_argument("--seed", type=int, default=42, help="data generator seed")
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB engine.memory_limit for the engine and pipeline runs (default: the "
        "config's default, 1GB)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each contender, wait up to this many seconds for an idle machine",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.rows < 100 * N_EXPERIMENTS:
        parser.error(f"--rows must be at least {100 * N_EXPERIMENTS}")
    if args.spark_rows < 0:
        parser.error("--spark-rows must be >= 0")
    QUIET_WAIT["s"] = args.quiet_wait
    if args.memory_limit:
        # spawned workers re-import this module: the environment carries the value to them
        os.environ["LIFTLAB_BENCH_MEMORY_LIMIT"] = args.memory_limit
        DUCKDB_MEMORY_LIMIT["value"] = args.memory_limit
    report = run(args)
    print_report(report)
    harness.write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
