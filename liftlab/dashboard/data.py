"""Read-only access to what the pipelines published: the DuckDB warehouse's ``gold_*`` tables,
the gold files in each job's ``output_dir`` and the MLflow store (runs and registry).

Why a module of its own: the dashboard must never recompute a statistic a pipeline computed
(DESIGN.md §2, rule 7: a number shown beside a decision comes from the test that decided). Every
number on a page is therefore read here, as published, and the pages only filter, format and
draw. The warehouse and the MLflow database are opened **read-only** for each read and closed
at once, so a pipeline that publishes while the dashboard runs is never blocked by it; reads
are cached per file and invalidated when the file changes, so a re-run shows up on reload.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from liftlab.config.base import owning_prefix
from liftlab.mlops.paths import ProjectPaths
from strategies.engines.dialects import quote_ident

__all__ = ["JOBS", "DashboardData", "Job"]


@dataclass(frozen=True)
class Job:
    """One pipeline whose outputs the dashboard shows, and the command that produces them."""

    key: str
    title: str
    config: str  # run config, relative to the project root
    default_output_dir: str

    @property
    def command(self) -> str:
        return f"liftlab run {self.config}"


JOBS: dict[str, Job] = {
    job.key: job
    for job in (
        Job("ab_testing", "A/B tests", "configs/ab_test.yaml", "outputs/ab_test"),
        Job(
            "growth_analytics",
            "Website experiments and personas",
            "configs/growth_analytics.yaml",
            "outputs/growth_analytics",
        ),
        Job(
            "campaign_uplift",
            "Campaign spend uplift",
            "configs/campaign_uplift.yaml",
            "outputs/campaign_uplift",
        ),
        Job("training", "Conversion models", "configs/training.yaml", "outputs/training"),
        Job("inference", "Batch scoring", "configs/inference.yaml", "outputs/inference"),
        Job("uplift", "Uplift targeting", "configs/uplift.yaml", "outputs/uplift"),
        Job(
            "marketing_mix", "Marketing mix", "configs/marketing_mix.yaml", "outputs/marketing_mix"
        ),
    )
}
"""Every job the dashboard knows, by key (``liftlab run <config>`` produces its data)."""

DEFAULT_WAREHOUSE = "outputs/liftlab.duckdb"
CURRENCY_DEFAULTS = {"campaign_uplift": "", "marketing_mix": "$"}
"""The ``currency`` default of each job's config class (liftlab.config.campaign_uplift and
.marketing_mix), for configs that do not set it."""
EXPERIMENT_SOURCES = {"ab_testing": "A/B tests", "growth_analytics": "Website experiments"}


def _read_only(path: Path, use: Callable[[Any], pd.DataFrame | None]) -> pd.DataFrame | None:
    """``use(connection)`` on the warehouse opened read-only for this one read (a running
    pipeline may need to write it between reads); None when it cannot be opened."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        return use(con)
    finally:
        con.close()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class DashboardData:
    """The published outputs of one liftlab project (``root``), read-only and cached.

    Output folders and the warehouse path are read from the project's run configs
    (``parameters.output_dir`` / ``duckdb_path``), so a project that moved them is still found;
    a config that is absent falls back to the shipped default. A job with several configs
    (``configs/uplift.yaml`` and ``configs/uplift_hillstrom.yaml``) shows the one that
    published last (:meth:`active_config`).
    """

    def __init__(self, root: str | Path, *, mlflow_ui_url: str = "http://127.0.0.1:5000") -> None:
        self.paths = ProjectPaths.from_root(Path(root))
        self.root = self.paths.root
        self.mlflow_ui_url = mlflow_ui_url.rstrip("/")
        self._cache: dict[tuple, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._configs = {key: self._job_configs(job) for key, job in JOBS.items()}

    # ---- where things are ---------------------------------------------------------------------
    def _parameters(self, config: str) -> dict[str, Any]:
        path = self.root / config
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return {}
        params = loaded.get("parameters") if isinstance(loaded, dict) else None
        return params if isinstance(params, dict) else {}

    def _job_configs(self, job: Job) -> dict[str, dict[str, Any]]:
        """``{config: parameters}``: the job's shipped config first, then every other
        ``configs/*.yaml`` of the project that belongs to the job (by the file-name rule of
        :func:`liftlab.config.base.owning_prefix`)."""
        prefixes = [Path(j.config).stem for j in JOBS.values()]
        found = {job.config: self._parameters(job.config)}
        folder = self.root / "configs"
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            config = f"configs/{path.name}"
            if config not in found and owning_prefix(path.stem, prefixes) == Path(job.config).stem:
                found[config] = self._parameters(config)
        return found

    def _resolve(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def _output_dir_of(self, job: str, params: dict[str, Any]) -> Path:
        return self._resolve(str(params.get("output_dir") or JOBS[job].default_output_dir))

    def active_config(self, job: str) -> str:
        """The config of ``job`` whose run published last (newest ``run_summary.json`` in its
        output folder); the shipped config when none has run."""
        if job not in JOBS:
            raise KeyError(f"unknown job {job!r}; jobs are {sorted(JOBS)}")
        active, newest = JOBS[job].config, -1
        for config, params in self._configs[job].items():
            stamp = _stamp(self._output_dir_of(job, params) / "run_summary.json")
            if stamp is not None and stamp[0] > newest:
                active, newest = config, stamp[0]
        return active

    def _active_parameters(self, job: str) -> dict[str, Any]:
        return self._configs[job][self.active_config(job)]

    def output_dir(self, job: str) -> Path:
        return self._output_dir_of(job, self._active_parameters(job))

    @property
    def warehouse(self) -> Path:
        for key in ("campaign_uplift", "growth_analytics", "marketing_mix", "inference"):
            value = self._active_parameters(key).get("duckdb_path")
            if value:
                return self._resolve(str(value))
        return self.root / DEFAULT_WAREHOUSE

    def config_value(self, job: str, key: str, default: Any = None) -> Any:
        return self._active_parameters(job).get(key, default)

    def currency(self, job: str) -> str:
        """How ``job``'s reports print money: its active config's ``currency`` (or that
        config's default: plain numbers for campaigns, '$' for the marketing mix)."""
        return str(self.config_value(job, "currency", CURRENCY_DEFAULTS.get(job, "")) or "")

    def source_note(self, job: str) -> str:
        """Which run a page shows: 'Last run: configs/uplift.yaml, published 2026-12-05 22:44
        UTC' ('' before the job has run)."""
        published = self.published_at(job)
        if published is None:
            return ""
        return (
            f"Last run: {self.active_config(job)}, published "
            f"{published.strftime('%Y-%m-%d %H:%M')} UTC"
        )

    # ---- cached reads -------------------------------------------------------------------------
    def _cached(self, key: tuple, path: Path, load: Callable[[], Any]) -> Any:
        stamp = _stamp(path)
        if stamp is None:
            return None
        # valid while the same file is unchanged: a job whose latest run moved to another
        # config (another output folder) is read afresh
        marker = (str(path), stamp)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == marker:
                return hit[1]
        value = load()
        with self._lock:
            self._cache[key] = (marker, value)
        return value

    def table(self, name: str) -> pd.DataFrame | None:
        """A warehouse table as published, or None when the warehouse or the table is absent."""
        path = self.warehouse

        def load(con: Any) -> pd.DataFrame | None:
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchone()[0]
            return con.execute(f"SELECT * FROM {quote_ident(name)}").df() if found else None

        return self._cached(("table", name), path, lambda: _read_only(path, load))

    def query(self, key: str, sql: str, params: list[Any] | None = None) -> pd.DataFrame | None:
        """A read-only aggregate over the warehouse (e.g. a summary of a large predictions
        table), cached like :meth:`table` under ``key``; None when the warehouse is absent."""
        path = self.warehouse

        def load(con: Any) -> pd.DataFrame | None:
            import duckdb

            try:
                return con.execute(sql, params or []).df()
            except duckdb.CatalogException:
                return None

        return self._cached(("query", key), path, lambda: _read_only(path, load))

    def file(self, job: str, name: str) -> pd.DataFrame | None:
        """``<output_dir>/<name>`` (CSV or Parquet) of ``job``, or None when absent."""
        path = self.output_dir(job) / name

        def load() -> pd.DataFrame:
            return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)

        return self._cached(("file", job, name), path, load)

    def json(self, job: str, name: str = "run_summary.json") -> Any:
        path = self.output_dir(job) / name
        return self._cached(("json", job, name), path, lambda: json.loads(path.read_text()))

    def published_at(self, job: str, name: str = "run_summary.json") -> datetime | None:
        """When ``job`` last published (the modification time of its file), in UTC."""
        stamp = _stamp(self.output_dir(job) / name)
        return None if stamp is None else datetime.fromtimestamp(stamp[0] / 1e9, tz=UTC)

    def has_run(self, job: str) -> bool:
        return (self.output_dir(job) / "run_summary.json").is_file()

    # ---- experiments: both sources in one table ----------------------------------------------
    def experiment_results(self) -> pd.DataFrame:
        """Every experiment result row the pipelines published: the A/B job's
        ``ab_results.parquet`` and the website experiments' ``gold_growth_experiment_results``,
        with ``source`` (which job) and ``run_date`` (the UTC day it was published)."""
        frames = []
        for job, frame in (
            ("ab_testing", self.file("ab_testing", "ab_results.parquet")),
            ("growth_analytics", self.table("gold_growth_experiment_results")),
        ):
            if frame is None or frame.empty:
                continue
            published = self.published_at(job)
            frames.append(
                frame.assign(
                    source=EXPERIMENT_SOURCES[job],
                    run_date=published.date().isoformat() if published else "",
                )
            )
        if not frames:
            return pd.DataFrame()
        return self._cached_concat(frames)

    def _cached_concat(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        key = ("concat", tuple(id(f) for f in frames))
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit[1]
        value = pd.concat(frames, ignore_index=True, sort=False)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "concat"}
            self._cache[key] = (None, value)
        return value

    # ---- MLflow (runs and registry), read-only ------------------------------------------------
    def _mlflow(self, key: tuple, sql: str, params: tuple = ()) -> pd.DataFrame | None:
        path = self.paths.mlflow_db

        def load() -> pd.DataFrame | None:
            try:
                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            except sqlite3.Error:
                return None
            try:
                return pd.read_sql_query(sql, con, params=params)
            except (sqlite3.Error, pd.errors.DatabaseError):
                return None
            finally:
                con.close()

        return self._cached(("mlflow", *key), path, load)

    def mlflow_run_url(self, run_id: str | None) -> str | None:
        """The MLflow UI page of a run (``liftlab ui`` serves it), or None when unknown."""
        if not run_id:
            return None
        found = self._mlflow(
            ("run", run_id), "SELECT experiment_id FROM runs WHERE run_uuid = ?", (run_id,)
        )
        if found is None or found.empty:
            return None
        experiment = found["experiment_id"].iloc[0]
        return f"{self.mlflow_ui_url}/#/experiments/{experiment}/runs/{run_id}"

    def registry_history(self, model_name: str) -> pd.DataFrame | None:
        """Every registered version of ``model_name``: created (UTC), run, status, the aliases
        it holds now and its tags (liftlab records the promotion decision there)."""
        versions = self._mlflow(
            ("versions", model_name),
            "SELECT version, creation_time, run_id, status, description FROM model_versions "
            "WHERE name = ? ORDER BY version",
            (model_name,),
        )
        if versions is None or versions.empty:
            return None
        aliases = self._mlflow(
            ("aliases", model_name),
            "SELECT alias, version FROM registered_model_aliases WHERE name = ?",
            (model_name,),
        )
        tags = self._mlflow(
            ("version_tags", model_name),
            "SELECT version, key, value FROM model_version_tags WHERE name = ?",
            (model_name,),
        )
        out = versions.copy()
        out["created"] = pd.to_datetime(out["creation_time"], unit="ms", utc=True)
        held = {} if aliases is None else aliases.groupby("version")["alias"].agg(", ".join)
        out["aliases"] = [held.get(v, "") for v in out["version"]]
        if tags is not None and not tags.empty:
            wide = tags.pivot_table(index="version", columns="key", values="value", aggfunc="last")
            out = out.merge(wide, left_on="version", right_index=True, how="left")
        return out.drop(columns=["creation_time"])

    # ---- the marketing-mix model a budget scenario runs on -------------------------------------
    def scenario_model(self) -> Any:
        """The last marketing-mix run's fitted model and bootstrap draws (``model.json``,
        ``model_draws.json``) with its plan, as a :class:`~liftlab.dashboard.callbacks.
        ScenarioModel`; None when the run saved no draws. Loaded once per published run."""
        from liftlab.dashboard.callbacks import ScenarioModel

        folder = self.output_dir("marketing_mix")
        draws_path = folder / "model_draws.json"

        def load() -> ScenarioModel | None:
            summary = self.json("marketing_mix") or {}
            plan = self.file("marketing_mix", "budget_plan.csv")
            if plan is None:
                return None
            return ScenarioModel.from_payloads(
                json.loads((folder / "model.json").read_text()),
                json.loads(draws_path.read_text()),
                plan,
                horizon=int(summary.get("horizon") or 13),
                level=float(summary.get("interval_level") or 0.9),
            )

        return self._cached(("scenario",), draws_path, load)
