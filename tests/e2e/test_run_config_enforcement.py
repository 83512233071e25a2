"""`zenml pipeline run -c FILE` itself refuses the slips ZenML lets through (slow: it goes
through ZenML's own CLI, in the test session's throw-away store)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from strategies.errors import ConfigError

AB = "pipelines.ab_testing.ab_test_pipeline"


def _zenml_run(tmp_path: Path, **content):
    from zenml.cli.cli import cli

    data = tmp_path / "events.csv"
    data.write_text("user_id,variant,converted\n1,A,0\n2,B,1\n")
    config = {
        "parameters": {
            "data_path": str(data),
            "metrics": [{"name": "conv", "type": "proportion", "column": "converted"}],
        }
    }
    config.update(content)
    path = tmp_path / "ab_test_x.yaml"
    path.write_text(yaml.safe_dump(config))
    return CliRunner().invoke(cli, ["pipeline", "run", AB, "-c", str(path)])


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"paramters": {"alpha": 0.1}}, "unknown top-level key 'paramters'"),
        ({"steps": {"ingest_dat": {"enable_cache": False}}}, "unknown step 'ingest_dat'"),
        (
            {"steps": {"summarise_experiment_data": {"enable_cashe": False}}},
            "unknown key 'enable_cashe'",
        ),
    ],
)
def test_zenml_pipeline_run_refuses_unknown_keys(zenml_stack, tmp_path, content, needle) -> None:
    result = _zenml_run(tmp_path, **content)
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError), result.output
    assert needle in str(result.exception)


def test_zenml_pipeline_run_names_an_unknown_parameter(zenml_stack, tmp_path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    result = _zenml_run(
        data,
        parameters={
            "data_path": "unused.csv",
            "metrics": [{"name": "c", "type": "proportion", "column": "converted"}],
            "alpah": 0.1,
        },
    )
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    assert "unknown parameter 'alpah' (did you mean 'alpha'?)" in str(result.exception)
