"""`zenml pipeline run -c <file>` enforces liftlab's "unknown keys are errors" too: every
pipeline checks the config file ZenML was given while it compiles, before ZenML's own (lenient)
handling. Exercised through ZenML's own API (``with_options(config_path=...)`` then ``prepare``,
exactly what ``zenml pipeline run`` does before running), in the test session's throw-away store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from liftlab.config.registry import PIPELINES, load_pipeline
from strategies.errors import ConfigError

AB = "pipelines.ab_testing.ab_test_pipeline"


def _config(tmp_path: Path, **content) -> str:
    data = tmp_path / "events.csv"
    data.write_text("user_id,variant,converted\n1,A,0\n2,B,1\n")
    base = {
        "parameters": {
            "data_path": str(data),
            "metrics": [{"name": "conv", "type": "proportion", "column": "converted"}],
        }
    }
    path = tmp_path / "ab_test_x.yaml"
    path.write_text(yaml.safe_dump(base | content))
    return str(path)


def _prepare(config_path: str, source: str = AB) -> None:
    load_pipeline(source).with_options(config_path=config_path).prepare()


@pytest.mark.parametrize("entry", PIPELINES, ids=lambda e: e.prefix)
def test_every_pipeline_is_strict(entry) -> None:
    from liftlab.config.zenml_run import StrictPipeline

    assert isinstance(load_pipeline(entry.source), StrictPipeline)


def test_a_valid_config_compiles(tmp_path: Path) -> None:
    _prepare(_config(tmp_path))


def test_a_stray_top_level_key_fails_compilation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown top-level key 'paramters'"):
        _prepare(_config(tmp_path, paramters={"alpha": 0.1}))


def test_a_misspelt_step_name_fails_compilation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown step 'ingest_dat' under 'steps'"):
        _prepare(_config(tmp_path, steps={"ingest_dat": {"enable_cache": False}}))


def test_an_unknown_parameter_gets_liftlabs_message(tmp_path: Path) -> None:
    path = _config(tmp_path)
    content = yaml.safe_load(Path(path).read_text())
    content["parameters"]["alpah"] = 0.1
    Path(path).write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError, match=r"unknown parameter 'alpah' \(did you mean 'alpha'\?\)"):
        _prepare(path)
    content["parameters"]["zzz"] = content["parameters"].pop("alpah")  # nothing close: the list
    Path(path).write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError, match=r"unknown parameter 'zzz' \(valid: metrics, "):
        _prepare(path)


def test_an_unknown_keyword_in_code_gets_liftlabs_message() -> None:
    with pytest.raises(ConfigError, match="unknown parameter 'alpah'"):
        load_pipeline(AB).prepare(metrics=[], data_path="x.csv", alpah=0.1)
