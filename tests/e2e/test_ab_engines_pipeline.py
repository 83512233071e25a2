"""The A/B pipeline through ZenML on each engine: a config that only changes ``engine:`` (and
points at a PostgreSQL table loaded with ``liftlab load-table``) gives the same results file,
and MLflow records which engine ran (slow; PostgreSQL and Spark are real services)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.simulate.experiments import SimulationConfig, default_experiments, simulate
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def _run(tmp: Path, name: str, parameters: dict):
    from pipelines.ab_testing import ab_test_pipeline

    path = tmp / f"ab_test_{name}.yaml"
    path.write_text(yaml.safe_dump({"parameters": parameters}))
    return ab_test_pipeline.with_options(config_path=str(path))()


def test_same_config_on_duckdb_postgres_and_spark(
    zenml_stack, tmp_path, postgres_url, spark_settings, monkeypatch
) -> None:
    data = simulate(
        SimulationConfig(
            experiments=default_experiments(n_users=1_500), seed=11, dirty_fraction=0.02
        )
    ).data
    path = tmp_path / "ab_events.parquet"
    data.to_parquet(path)
    monkeypatch.setenv("LIFTLAB_E2E_PG", postgres_url)
    loaded = CliRunner().invoke(
        app, ["load-table", str(path), "e2e_ab_events", "--url-env", "LIFTLAB_E2E_PG"]
    )
    assert loaded.exit_code == 0, loaded.output
    assert f"loaded {len(data):,} rows" in loaded.output

    base = yaml.safe_load((REPO_ROOT / "configs" / "ab_test.yaml").read_text())["parameters"]
    runs = {
        "duckdb": base | {"data_path": str(path)},
        "postgres": {k: v for k, v in base.items() if k != "data_path"}
        | {"table": "e2e_ab_events", "engine": {"name": "postgres", "url_env": "LIFTLAB_E2E_PG"}},
        "spark": base | {"data_path": str(path), "engine": {"name": "spark", "master": "local[2]"}},
    }
    client = mlflow.MlflowClient(tracking_uri=zenml_stack.mlflow_tracking_uri)
    results = {}
    for engine, parameters in runs.items():
        out = tmp_path / engine
        _run(tmp_path, engine, parameters | {"output_dir": str(out)})
        results[engine] = pd.read_csv(out / "ab_results.csv")
        run_id = json.loads((out / "run_summary.json").read_text())["mlflow_run_id"]
        assert client.get_run(run_id).data.tags["liftlab.engine"] == engine
    for engine in ("postgres", "spark"):
        pd.testing.assert_frame_equal(results[engine], results["duckdb"], rtol=1e-9)
    assert (results["duckdb"]["status"] == "ok").any()
