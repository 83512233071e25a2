"""The A/B pipeline end to end in a throw-away ZenML store and MLflow (slow)."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from zenml.enums import ExecutionStatus

from liftlab.simulate.experiments import ExperimentSpec, SimulationConfig, simulate, write_dataset
from strategies.errors import ConfigError, DataValidationError, InputDataError
from tests.conftest import REPO_ROOT

RESULT_COLUMNS = [
    "experiment", "segment", "metric", "control", "variant", "n_control", "n_variant",
    "estimate_control", "estimate_variant", "abs_diff", "abs_ci_low", "abs_ci_high", "rel_lift",
    "rel_ci_low", "rel_ci_high", "p_value", "p_value_adjusted", "test", "decision", "status",
]  # fmt: skip

METRICS = [
    {"name": "ctr", "type": "ratio", "numerator": "clicks", "denominator": "impressions"},
    {"name": "conversion_rate", "type": "proportion", "column": "converted"},
    {"name": "revenue_per_user", "type": "mean", "column": "revenue"},
]


def _config(data: Path, out: Path, **overrides) -> dict:
    parameters = {
        "data_path": str(data),
        "experiment_column": "experiment",
        "variants": ["B"],
        "segment_columns": ["device"],
        "metrics": METRICS,
        "cleaning": [
            {"name": "normalize_variant_labels"},
            {"name": "drop_duplicate_rows"},
            {"name": "drop_multi_variant_units"},
            {"name": "impute_missing_counts", "columns": ["opens", "clicks", "conversions"]},
        ],
        "output_dir": str(out),
    }
    parameters.update(overrides)
    return {"parameters": parameters}


def _run(tmp: Path, config: dict):
    from pipelines.ab_testing import ab_test_pipeline

    path = tmp / "ab_test_e2e.yaml"
    path.write_text(yaml.safe_dump(config))
    return ab_test_pipeline.with_options(config_path=str(path))()


@pytest.fixture(scope="module")
def big_effects(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("data")
    sim = simulate(
        SimulationConfig(
            experiments=(
                ExperimentSpec("exp_up", n_users=60_000, click_lift=0.3, conversion_lift=0.3),
                ExperimentSpec("exp_flat", n_users=60_000),
                ExperimentSpec("exp_down", n_users=60_000, click_lift=-0.3, conversion_lift=-0.3),
                ExperimentSpec(
                    "exp_srm", n_users=60_000, actual_split=(0.55, 0.45), click_lift=0.3
                ),
            ),
            seed=7,
            dirty_fraction=0.002,
        )
    )
    files = write_dataset(sim, folder / "events.parquet")
    return files["data"], sim.truth


@pytest.fixture(scope="module")
def demo_run(zenml_stack, big_effects, tmp_path_factory):
    """One pipeline run on data with large known effects, shared by the tests below. Every
    log record of the run is kept, for the quiet-output test."""
    data, truth = big_effects
    tmp = tmp_path_factory.mktemp("run")
    out = tmp / "out"
    records = _Records()
    loggers = [logging.getLogger(), logging.getLogger("zenml")]
    for logger in loggers:
        logger.addHandler(records)
    try:
        run = _run(tmp, _config(data, out))
        # proves the capture sees ZenML's warnings (tests run at ZENML_LOGGING_VERBOSITY=WARN)
        logging.getLogger("zenml.artifacts.utils").warning("capture probe")
    finally:
        for logger in loggers:
            logger.removeHandler(records)
    _LOG_LINES[:] = [record.getMessage() for record in records.records]
    return run, out, truth


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_LOG_LINES: list[str] = []


def test_a_clean_run_says_failed_only_when_something_failed(demo_run) -> None:
    """No false alarms: ZenML's autologging warning for flavours MLflow 3 does not ship
    (fastai) and its "Failed to save artifact visualizations" for the empty sequential_looks
    frame of a fixed-horizon run are gone (liftlab.mlops.quiet, ZstdPandasMaterializer)."""
    run, _, _ = demo_run
    assert run.status == "completed"
    assert "capture probe" in _LOG_LINES
    alarms = [line for line in _LOG_LINES if "failed" in line.lower()]
    assert not alarms, alarms


def test_pipeline_recovers_known_effects_and_tracks_to_mlflow(zenml_stack, demo_run) -> None:
    run, out, truth = demo_run
    assert run.status == "completed"

    results = pd.read_csv(out / "ab_results.csv")
    assert list(results.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS or set(
        RESULT_COLUMNS
    ) <= set(results.columns)
    overall = results[results["segment"] == "all"].set_index(["experiment", "metric"])
    assert overall.loc[("exp_up", "ctr"), "decision"] == "win"
    assert overall.loc[("exp_up", "conversion_rate"), "decision"] == "win"
    assert overall.loc[("exp_down", "ctr"), "decision"] == "loss"
    assert overall.loc[("exp_down", "conversion_rate"), "decision"] == "loss"
    assert not overall.loc["exp_flat", "decision"].isin(["win", "loss"]).any()
    # SRM: flagged, and never a win even though the effect is large
    assert (overall.loc["exp_srm", "status"] == "srm").all()
    assert not (overall.loc["exp_srm", "decision"] == "win").any()
    # the CI of every overall comparison covers the simulator's true relative lift
    merged = overall.reset_index().merge(truth, on=["experiment", "metric"])
    assert len(merged) == 12
    ok = merged[merged["status"] == "ok"]
    covered = (ok["rel_ci_low"] <= ok["rel_lift_y"]) & (ok["rel_lift_y"] <= ok["rel_ci_high"])
    assert covered.mean() >= 0.75
    assert (results["segment"].str.startswith("device=")).any()
    assert (out / "ab_report.html").read_text().count("exp_up") > 0

    tracking_uri = zenml_stack.mlflow_tracking_uri
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name("ab_test_pipeline")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
    mlrun = runs[0]
    assert mlrun.data.metrics["exp_up.B.ctr.rel_lift"] == pytest.approx(
        overall.loc[("exp_up", "ctr"), "rel_lift"]
    )
    assert mlrun.data.params["control"] == "A"
    assert len(mlrun.data.tags["liftlab.data_sha256"]) == 64
    artifacts = {a.path for a in client.list_artifacts(mlrun.info.run_id)}
    assert {"ab_results.csv", "ab_report.html", "cleaning_audit.json", "validation.json"} <= (
        artifacts
    )


def test_failed_validation_writes_nothing(zenml_stack, tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "experiment": ["e1"] * 6,
            "user_id": range(6),
            "variant": ["A", "B"] * 3,
            "impressions": [5, 5, 5, 5, 5, 5],
            "clicks": [1, 9, 0, 2, 1, 0],  # 9 > 5 impressions
            "conversions": [0, 1, 0, 0, 1, 0],
            "converted": [0, 1, 0, 0, 1, 0],
            "revenue": [0.0, 10.0, 0, 0, 5.0, 0],
        }
    )
    data = tmp_path / "bad.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="summarise_experiment_data"):
        _run(tmp_path, _config(data, out, segment_columns=[], cleaning=[]))
    assert not out.exists()
    # the validation result is kept as an artifact and names the rule, column and bad rows
    from zenml.client import Client

    kept = Client().get_artifact_version("validation_failure").load()
    failed = [o for o in kept["outcomes"] if not o["success"] and not o.get("skipped")]
    assert [(o["column"], o["unexpected_count"]) for o in failed] == [("clicks <= impressions", 1)]
    # and the step raised the specific error (the local orchestrator reports it as a failed run)
    from strategies.validation import build_ab_rules, validate

    rules = build_ab_rules(
        list(frame.columns), unit_column="user_id", variant_column="variant",
        variants=["A", "B"], experiment_column="experiment",
    )  # fmt: skip
    with pytest.raises(DataValidationError, match="clicks <= impressions': 1 of 6 rows"):
        validate(frame, rules).raise_for_failures()


@pytest.mark.parametrize(
    ("overrides", "error", "needle"),
    [
        (
            {"metrics": [{"name": "m", "type": "median", "column": "revenue"}]},
            ConfigError,
            "median",
        ),
        ({"output_dri": "x"}, Exception, "output_dri"),
        ({"data_path": "/nonexistent/file.csv"}, InputDataError, "not found"),
    ],
)
def test_bad_config_fails_before_running(zenml_stack, tmp_path, overrides, error, needle) -> None:
    out = tmp_path / "out"
    config = _config(tmp_path / "unused.csv", out)
    (tmp_path / "unused.csv").write_text("x\n1\n")
    config["parameters"].update(overrides)
    with pytest.raises(error) as excinfo:
        _run(tmp_path, config)
    assert needle in str(excinfo.value) or needle in repr(excinfo.value.__cause__)
    assert not out.exists()


def test_walkthrough_notebook_executes(demo_run) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook_dir = REPO_ROOT / "notebooks"
    notebook = nbformat.read(notebook_dir / "ab_test_walkthrough.ipynb", as_version=4)
    resources = {"metadata": {"path": str(notebook_dir)}}
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources=resources).execute()
    outputs = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
    assert "exp_up" in outputs
    assert "result rows" in outputs


def test_stack_init_is_idempotent(zenml_stack, project_dir) -> None:
    from liftlab.mlops.stack import init_stack

    again = init_stack(project_dir)
    assert again.created == ()
    assert again.stack_name == zenml_stack.stack_name
    from zenml.client import Client

    assert Client().active_stack_model.name == zenml_stack.stack_name


def test_changed_data_file_is_not_served_from_cache(zenml_stack, tmp_path) -> None:
    rng = np.random.default_rng(3)
    n = 400
    impressions = rng.integers(1, 6, n)
    clicks = rng.binomial(impressions, 0.2)
    frame = pd.DataFrame(
        {
            "experiment": "e1",
            "user_id": np.arange(n),
            "variant": np.where(np.arange(n) % 2 == 0, "A", "B"),
            "impressions": impressions,
            "clicks": clicks,
            "conversions": rng.binomial(clicks, 0.3),
        }
    )
    frame["converted"] = (frame["conversions"] > 0).astype(int)
    frame["revenue"] = frame["converted"] * 20.0
    data = tmp_path / "events.csv"
    frame.to_csv(data, index=False)
    config = _config(data, tmp_path / "out", segment_columns=[], cleaning=[])

    first = _run(tmp_path, config)
    second = _run(tmp_path, config)
    assert first.steps["summarise_experiment_data"].status == ExecutionStatus.COMPLETED
    assert second.steps["summarise_experiment_data"].status == ExecutionStatus.CACHED
    # the tracked step is never cached, so every run appears in MLflow
    assert second.steps["publish_ab_results"].status == ExecutionStatus.COMPLETED

    frame.loc[0, "revenue"] = 999.0
    frame.to_csv(data, index=False)
    third = _run(tmp_path, config)
    assert third.steps["summarise_experiment_data"].status == ExecutionStatus.COMPLETED
    stats = third.steps["summarise_experiment_data"].outputs["ab_statistics"][0].load().stats
    revenue = stats[(stats["metric"] == "revenue_per_user") & (stats["segment"] == "all")]
    assert revenue["sum_y"].sum() == pytest.approx(frame["revenue"].sum())


def test_unrelated_config_change_keeps_earlier_steps_cached(zenml_stack, tmp_path) -> None:
    """Steps get only their part of the config: a new alpha re-runs the analysis but serves
    ingest, cleaning and validation from the cache."""
    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame(
        {
            "experiment": "e1",
            "user_id": np.arange(n),
            "variant": np.where(np.arange(n) % 2 == 0, "A", "B"),
            "impressions": 4,
            "opens": 3,
            "clicks": rng.integers(0, 3, n),
            "conversions": 0,
        }
    )
    frame["converted"] = (frame["clicks"] > 1).astype(int)
    frame["conversions"] = frame["converted"]
    frame["revenue"] = frame["converted"] * 15.0
    data = tmp_path / "events.csv"
    frame.to_csv(data, index=False)
    config = _config(data, tmp_path / "out", segment_columns=[])
    _run(tmp_path, config)
    config["parameters"]["alpha"] = 0.1
    again = _run(tmp_path, config)
    assert again.steps["summarise_experiment_data"].status == ExecutionStatus.CACHED
    assert again.steps["analyse_experiments"].status == ExecutionStatus.COMPLETED
    results = pd.read_csv(tmp_path / "out" / "ab_results.csv")
    assert (results["alpha"] == 0.1).all()


def test_wiped_artifact_folder_gets_a_fresh_store_and_no_stale_cache(
    zenml_stack, project_dir, tmp_path
) -> None:
    """``make clean`` (or a new clone at the same path) deletes the artifact files while the
    ZenML store still remembers them; cached steps must not point at missing files."""
    from liftlab.mlops.stack import init_stack

    frame = pd.DataFrame(
        {
            "experiment": "e1",
            "user_id": np.arange(200),
            "variant": np.where(np.arange(200) % 2 == 0, "A", "B"),
            "impressions": 3,
            "clicks": 1,
            "conversions": np.arange(200) % 3 == 0,
        }
    )
    frame["converted"] = frame["conversions"].astype(int)
    frame["conversions"] = frame["converted"]
    frame["revenue"] = frame["converted"] * 10.0
    data = tmp_path / "events.csv"
    frame.to_csv(data, index=False)
    config = _config(data, tmp_path / "out", segment_columns=[], cleaning=[])
    _run(tmp_path, config)
    step = "summarise_experiment_data"
    assert _run(tmp_path, config).steps[step].status == ExecutionStatus.CACHED

    (project_dir / ".liftlab" / "artifacts" / ".zenml-artifact-store-id").unlink()
    renewed = init_stack(project_dir)
    assert renewed.artifact_store != zenml_stack.artifact_store
    assert renewed.artifact_store in renewed.created
    after = _run(tmp_path, config)
    assert after.steps[step].status == ExecutionStatus.COMPLETED
    assert init_stack(project_dir).created == ()


def test_shipped_sequential_config_runs_with_every_layer(
    zenml_stack, big_effects, tmp_path
) -> None:
    """configs/ab_test_sequential.yaml (CUPED, guardrail, Bayesian, group-sequential) plus the
    non-parametric layer, end to end on data with known effects."""
    data, _ = big_effects
    shipped = REPO_ROOT / "configs" / "ab_test_sequential.yaml"
    content = yaml.safe_load(shipped.read_text())
    out = tmp_path / "out"
    content["parameters"].update(
        data_path=str(data),
        output_dir=str(out),
        nonparametric={"metrics": ["revenue_per_user"], "n_resamples": 500},
    )
    run = _run(tmp_path, content)
    assert run.status == "completed"
    results = pd.read_csv(out / "ab_results.csv")
    overall = results[results["segment"] == "all"].set_index(["experiment", "metric"])
    assert overall.loc[("exp_up", "ctr"), "decision"] == "win"
    assert overall.loc[("exp_up", "ctr"), "seq_crossed"]
    assert overall.loc[("exp_down", "conversion_rate"), "decision"] == "loss"
    assert (overall.xs("revenue_per_user", level="metric")["variance_reduction"] > 0).all()
    assert overall.loc[("exp_up", "open_rate"), "role"] == "guardrail"
    assert overall["prob_variant_better"].notna().all()
    assert overall.xs("revenue_per_user", level="metric")["mw_p_value"].notna().all()
    looks = pd.read_csv(out / "sequential_looks.csv")
    assert looks["look"].max() == 14
    assert (out / "heterogeneity.csv").is_file()
    funnel = pd.read_csv(out / "funnel.csv")  # published for the dashboard and BI tools
    assert set(funnel["experiment"]) == set(results["experiment"])
    html = (out / "ab_report.html").read_text()
    assert "Sequential" in html and "Bayes" in html
