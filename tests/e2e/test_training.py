"""Conversion prediction end to end in a throw-away ZenML store and MLflow (slow).

One module-scoped story, in order: first training run (becomes champion) → a worse challenger is
refused → a failing run moves nothing → batch inference uses the champion → bad scoring data is
refused → serving answers like batch inference → the scheduler retrains only on new data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from liftlab.simulate.ads import AdSimulationConfig, simulate_ads, write_ads
from strategies.errors import ConfigError
from tests.conftest import REPO_ROOT
from tests.services import free_port

MODEL = "test-conversion"
FAST_CANDIDATES = [
    {"name": "baseline_mean"},
    {"name": "linear"},
    {"name": "poisson"},
    {"name": "gradient_boosting", "params": {"n_estimators": 80, "max_depth": 2}},
]


def _training_config(folder: Path, data: Path, out: Path, **overrides) -> Path:
    parameters = {
        "data_path": str(data),
        "candidates": FAST_CANDIDATES,
        "cv_folds": 3,
        "importance_repeats": 2,
        "model_name": MODEL,
        "output_dir": str(out),
    }
    parameters.update(overrides)
    path = folder / f"training_{len(list(folder.glob('training_*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({"parameters": parameters}))
    return path


def _inference_config(folder: Path, data: Path, out: Path, **overrides) -> Path:
    parameters = {
        "data_path": str(data),
        "model_name": MODEL,
        "output_dir": str(out),
        "duckdb_path": str(out / "gold.duckdb"),
    }
    parameters.update(overrides)
    path = folder / f"inference_{len(list(folder.glob('inference_*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({"parameters": parameters}))
    return path


def _client(stack) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=stack.mlflow_tracking_uri)


def _alias(stack, alias: str) -> str:
    return str(_client(stack).get_model_version_by_alias(MODEL, alias).version)


def _n_versions(stack) -> int:
    return len(_client(stack).search_model_versions(f"name = '{MODEL}'"))


@pytest.fixture(scope="module")
def story(zenml_stack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("training")
    data = folder / "ads.csv"
    write_ads(simulate_ads(AdSimulationConfig(n_ads=600, seed=11)), data)
    new_ads = folder / "new_ads.csv"
    write_ads(simulate_ads(AdSimulationConfig(n_ads=150, seed=12)), new_ads)
    return {"folder": folder, "data": data, "new_ads": new_ads, "stack": zenml_stack}


@pytest.fixture(scope="module")
def first_run(story):
    from liftlab.ops.runner import run_config

    out = story["folder"] / "out1"
    summary = run_config(_training_config(story["folder"], story["data"], out))
    return summary, out


def test_first_model_is_registered_and_becomes_champion(story, first_run) -> None:
    summary, out = first_run
    stack = story["stack"]
    assert summary["promoted"] is True
    assert summary["aliases_moved"] == ["challenger", "champion"]
    assert _alias(stack, "champion") == summary["version"] == _alias(stack, "challenger")

    client = _client(stack)
    version = client.get_model_version(MODEL, summary["version"])
    assert str(version.version) == summary["version"]
    assert version.source == f"models:/{summary['model_id']}"  # MLflow 3 logged model, not runs:/
    assert len(version.tags["liftlab.data_sha256"]) == 64
    assert version.tags["liftlab.promotion"] == "promoted"

    # the model loads from the registry and has a signature + input example
    mlflow.set_tracking_uri(stack.mlflow_tracking_uri)
    info = mlflow.models.get_model_info(f"models:/{MODEL}@champion")
    assert [c["name"] for c in info.signature.inputs.to_dict()] == [
        "age", "gender", "interest", "Clicks", "Impressions", "Spent",
    ]  # fmt: skip
    assert info.saved_input_example_info is not None

    # parent run: comparison table, report, decision; one nested run per candidate
    comparison = pd.read_csv(out / "model_comparison.csv")
    assert set(comparison["candidate"]) == {c["name"] for c in FAST_CANDIDATES}
    parent = client.get_run(summary["mlflow_run_id"])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"model_comparison.csv", "training_report.html", "promotion_decision.json"} <= artifacts
    assert parent.data.tags["liftlab.promotion"] == "promote"
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert {r.data.tags["liftlab.candidate"] for r in children} == set(comparison["candidate"])
    for child in children:
        assert "holdout_poisson_deviance" in child.data.metrics
        assert "cv_r2_mean" in child.data.metrics
        plots = {a.path for a in client.list_artifacts(child.info.run_id, "plots")}
        assert {"plots/predicted_vs_actual.png", "plots/residuals.png"} <= plots
    # the best model beats the baseline on the holdout, as the decision requires
    best = comparison.loc[comparison["is_best"]].iloc[0]
    base = comparison.loc[comparison["model"] == "baseline_mean"].iloc[0]
    assert best["holdout_poisson_deviance"] < base["holdout_poisson_deviance"]
    report = (out / "training_report.html").read_text()
    assert "Promoted" in report and str(best["candidate"]) in report


def test_identical_rerun_registers_nothing_new(story, first_run) -> None:
    """`liftlab run` trains anyway on unchanged data, but the refit equals the latest version
    (same content hash), so no version is added and no alias moves."""
    from liftlab.ops.runner import run_config

    summary, _ = first_run
    stack = story["stack"]
    n_before = _n_versions(stack)
    again = run_config(_training_config(story["folder"], story["data"], story["folder"] / "out1b"))
    assert again["unchanged"] is True and again["version"] == summary["version"]
    assert again["aliases_moved"] == [] and again["promoted"] is False
    assert _n_versions(stack) == n_before
    assert _alias(stack, "champion") == summary["version"]


def test_worse_challenger_is_refused(story, first_run) -> None:
    from liftlab.ops.runner import run_config

    stack = story["stack"]
    champion_before = _alias(stack, "champion")
    out = story["folder"] / "out_worse"
    config = _training_config(
        story["folder"],
        story["data"],
        out,
        candidates=[{"name": "baseline_mean"}, {"name": "linear"}],
    )
    summary = run_config(config)
    assert summary["promoted"] is False
    assert _alias(stack, "champion") == champion_before
    assert _alias(stack, "challenger") == summary["version"] != champion_before
    decision = json.loads((out / "promotion_decision.json").read_text())
    assert decision["champion"]["version"] == champion_before
    assert "scores" in decision["champion"]  # the champion was scored on the same holdout
    assert decision["summary"].startswith("Not promoted")


def test_failed_run_moves_nothing_and_registers_nothing(story, first_run) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    stack = story["stack"]
    champion_before, n_before = _alias(stack, "champion"), _n_versions(stack)
    # an output folder where a folder sits in place of one of the published files: the
    # config is valid, the run trains, and publishing fails at the last moment
    blocker = story["folder"] / "blocked_outputs"
    (blocker / "model_comparison.csv").mkdir(parents=True)
    changed = story["folder"] / "ads_changed.csv"
    write_ads(simulate_ads(AdSimulationConfig(n_ads=600, seed=21)), changed)
    with pytest.raises(PipelineRunFailed, match="publish_training_results"):
        run_config(_training_config(story["folder"], changed, blocker))
    assert _alias(stack, "champion") == champion_before
    assert _n_versions(stack) == n_before


def test_batch_inference_scores_with_the_champion(story, first_run) -> None:
    from liftlab.mlops.registry import load_sklearn
    from liftlab.ops.runner import run_config, use_stack_mlflow

    out = story["folder"] / "scored"
    summary = run_config(_inference_config(story["folder"], story["new_ads"], out))
    champion = _alias(story["stack"], "champion")
    assert summary["model_version"] == champion
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert len(predictions) == 150 == summary["rows_scored"]
    assert (predictions["model_version"] == int(champion)).all()
    assert pd.read_csv(out / "predictions.csv")["ad_id"].tolist() == predictions["ad_id"].tolist()
    with duckdb.connect(str(out / "gold.duckdb"), read_only=True) as con:
        gold = con.sql("SELECT * FROM gold_conversion_predictions ORDER BY ad_id").df()
    assert len(gold) == 150 and set(gold["model_version"]) == {int(champion)}

    use_stack_mlflow()
    model = load_sklearn(f"models:/{MODEL}/{champion}")
    new = pd.read_csv(story["new_ads"])
    expected = model.predict(new[["age", "gender", "interest", "Clicks", "Impressions", "Spent"]])
    np.testing.assert_allclose(predictions["predicted_conversions"], expected)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.drop(columns=["Clicks"]), "missing column(s): Clicks"),
        (lambda d: d.assign(interest=d["interest"].map(lambda v: f"code-{v}")), "interest"),
        (lambda d: d.assign(Spent=-d["Spent"] - 1), "failed on 'Spent'"),
    ],
)
def test_batch_inference_refuses_bad_data(story, first_run, tmp_path, mutate, needle) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    bad = tmp_path / "bad.csv"
    mutate(pd.read_csv(story["new_ads"])).to_csv(bad, index=False)
    out = tmp_path / "out"
    with pytest.raises(PipelineRunFailed) as excinfo:
        run_config(_inference_config(tmp_path, bad, out))
    assert needle in str(excinfo.value)
    assert not out.exists()


def test_batch_inference_warns_about_or_refuses_unseen_categories(
    story, first_run, tmp_path
) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    new = pd.read_csv(story["new_ads"])
    new.loc[new.index[:3], "interest"] = 999
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    summary = run_config(_inference_config(tmp_path, data, tmp_path / "warned"))
    assert summary["rows_scored"] == len(new)
    predictions = pd.read_parquet(tmp_path / "warned" / "predictions.parquet")
    flagged = predictions["unknown_categories"].tolist()
    assert flagged[:3] == ["interest=999"] * 3  # (the simulator's new ads have new codes too)
    assert all(f in ("", f"interest={v}") for f, v in zip(flagged, new["interest"], strict=True))
    assert summary["unknown_categories"] == {"interest": sum(f != "" for f in flagged)}
    out = tmp_path / "refused"
    with pytest.raises(
        PipelineRunFailed, match=r"never seen in training.*interest: \d+ row\(s\) \('999'"
    ):
        run_config(_inference_config(tmp_path, data, out, unknown_categories="error"))
    assert not out.exists()


def test_inference_without_a_registered_model_says_so(story, tmp_path) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    with pytest.raises(PipelineRunFailed, match="run the training pipeline first"):
        run_config(
            _inference_config(tmp_path, story["new_ads"], tmp_path / "o", model_name="no-such")
        )


def test_served_champion_answers_like_batch_inference(story, first_run, tmp_path) -> None:
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    if not mlflow_bin.exists():
        mlflow_bin = Path(shutil.which("mlflow") or "mlflow")
    port = free_port()
    # mlflow starts uvicorn by name: the venv's bin folder must be on PATH (as when activated)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": story["stack"].mlflow_tracking_uri,
        "PATH": f"{mlflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(mlflow_bin), "models", "serve", "-m", f"models:/{MODEL}@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow models serve did not start in 120 s"
            time.sleep(0.5)
        rows = pd.read_csv(story["new_ads"]).head(10)
        inputs = rows[["age", "gender", "interest", "Clicks", "Impressions", "Spent"]]
        payload = json.dumps({"dataframe_split": inputs.to_dict(orient="split")}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=payload,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            served = json.loads(response.read())["predictions"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    batch = pd.read_parquet(story["folder"] / "scored" / "predictions.parquet").head(10)
    np.testing.assert_allclose(served, batch["predicted_conversions"], rtol=1e-9)


def test_scheduler_retrains_only_when_data_changes(story, first_run) -> None:
    from typer.testing import CliRunner

    from liftlab.cli import app

    stack = story["stack"]
    data = story["folder"] / "scheduled_ads.csv"
    write_ads(simulate_ads(AdSimulationConfig(n_ads=600, seed=31)), data)
    config = _training_config(story["folder"], data, story["folder"] / "out_sched")
    n_before = _n_versions(stack)
    result = CliRunner().invoke(
        app, ["schedule", "run", str(config), "--every", "1s", "--max-runs", "2"]
    )
    assert result.exit_code == 0, result.output
    assert _n_versions(stack) == n_before + 1  # first tick trained, second skipped
    lines = [ln for ln in result.output.splitlines() if "  trained  " in ln or "  skipped  " in ln]
    assert len(lines) == 2 and "trained" in lines[0] and "skipped" in lines[1], result.output
    assert "data unchanged" in lines[1]

    write_ads(simulate_ads(AdSimulationConfig(n_ads=600, seed=32)), data)  # new data arrives
    result = CliRunner().invoke(app, ["schedule", "run-once", str(config)])
    assert result.exit_code == 0, result.output
    assert _n_versions(stack) == n_before + 2


def test_kag_grouped_cv_best_model_beats_baseline(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import run_config
    from tests.conftest import shared_file

    kag = shared_file("KAG_conversion_data.csv")
    repo = REPO_ROOT
    content = yaml.safe_load((repo / "configs" / "training_kag.yaml").read_text())
    parameters = content["parameters"]
    parameters.update(
        data_path=str(kag), output_dir=str(tmp_path / "out"), model_name="test-kag", cv_folds=3
    )
    parameters["candidates"] = [c for c in parameters["candidates"] if "search" not in c]
    config = tmp_path / "training_kag_test.yaml"
    config.write_text(yaml.safe_dump(content))
    summary = run_config(config)
    comparison = pd.read_csv(tmp_path / "out" / "model_comparison.csv")
    best = comparison.loc[comparison["is_best"]].iloc[0]
    base = comparison.loc[comparison["model"] == "baseline_mean"].iloc[0]
    assert best["cv_r2_mean"] > base["cv_r2_mean"] + 0.1
    assert best["cv_r2_mean"] > 0.2
    print(f"KAG grouped-CV R² of {best['candidate']}: {best['cv_r2_mean']:.3f}")  # noqa: T201
    assert summary["promoted"] is True
    report = (tmp_path / "out" / "training_report.html").read_text()
    assert str(best["candidate"]) in report


def test_unknown_candidate_fails_before_running(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import run_config

    config = _training_config(
        tmp_path, tmp_path / "ads.csv", tmp_path / "o", candidates=[{"name": "xgboostt"}]
    )
    with pytest.raises(ConfigError, match="xgboostt"):
        run_config(config)


def test_schedule_config_on_the_local_stack_explains_what_to_do(story, tmp_path) -> None:
    from liftlab.ops.runner import run_config

    repo = REPO_ROOT
    content = yaml.safe_load((repo / "configs" / "training_schedule.yaml").read_text())
    content["parameters"].update(data_path=str(story["data"]), output_dir=str(tmp_path / "o"))
    config = tmp_path / "training_schedule.yaml"
    config.write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError, match="liftlab schedule install"):
        run_config(config)
    assert not (tmp_path / "o").exists()


def test_interrupted_run_moves_nothing(story, first_run, tmp_path) -> None:
    """Kill a training run (SIGKILL, as a crash or a cancelled job would) while it trains."""
    stack = story["stack"]
    champion_before, n_before = _alias(stack, "champion"), _n_versions(stack)
    data = tmp_path / "ads.csv"
    write_ads(simulate_ads(AdSimulationConfig(n_ads=600, seed=41)), data)
    config = _training_config(tmp_path, data, tmp_path / "out")
    log_path = tmp_path / "run.log"
    # the installed `liftlab` command, as a user runs it (not `python -c`: pyspark's import,
    # pulled in by Great Expectations, exits a process whose __main__ has no file)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("liftlab")), "run", str(config)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            env={**os.environ, "ZENML_LOGGING_VERBOSITY": "INFO"},  # to see the step start
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while "train_candidate_models has started" not in _plain(log_path.read_text()):
                assert process.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "training never started"
                time.sleep(0.2)
            time.sleep(1.0)
        finally:
            process.kill()
            process.wait(timeout=30)
    assert _alias(stack, "champion") == champion_before
    assert _n_versions(stack) == n_before
    assert not (tmp_path / "out").exists()


def _plain(text: str) -> str:
    """Log text without ANSI colour codes."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
