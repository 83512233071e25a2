"""Every shipped run config is checked strictly against its pipeline, and the checker itself
rejects the slips ZenML would let through silently."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from liftlab.config.ab_testing import load_ab_config
from liftlab.config.registry import (
    PIPELINES,
    PipelineEntry,
    check_run_config,
    load_pipeline,
    pipeline_for_config,
)
from strategies.errors import ConfigError
from tests.conftest import REPO_ROOT

CONFIGS = sorted((REPO_ROOT / "configs").glob("*.yaml"))


def test_configs_exist() -> None:
    names = {p.name for p in CONFIGS}
    assert {"ab_test.yaml", "ab_test_hillstrom.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_is_valid(path: Path) -> None:
    check_run_config(path)


@pytest.mark.parametrize("entry", PIPELINES, ids=lambda e: e.prefix)
def test_every_registered_pipeline_keeps_its_config_contract(
    entry: PipelineEntry, tmp_path: Path
) -> None:
    """For each pipeline of the registry: its signature is its config model (same names, same
    required ones), every shipped config of its prefix validates into that model, and an
    unknown parameter is an error that names it (in the file check and in the model)."""
    signature = inspect.signature(load_pipeline(entry.source).entrypoint).parameters
    fields = entry.config_class.model_fields
    assert set(signature) == set(fields)
    required = {n for n, p in signature.items() if p.default is inspect.Parameter.empty}
    assert required == {n for n, f in fields.items() if f.is_required()}

    shipped = [p for p in CONFIGS if pipeline_for_config(p) == entry]
    assert shipped, f"no config under configs/ for {entry.prefix}"
    for path in shipped:
        parameters = check_run_config(path).get("parameters") or {}
        assert isinstance(entry.config(parameters), entry.config_class)

    content = yaml.safe_load(shipped[0].read_text())
    content["parameters"]["surely_not_a_key"] = 1
    with pytest.raises(ConfigError, match="unknown parameter 'surely_not_a_key'"):
        check_run_config(_write(tmp_path, content, name=f"{entry.prefix}_contract.yaml"))
    with pytest.raises(ConfigError, match="surely_not_a_key: unknown key"):
        entry.config(content["parameters"])


def test_registry_has_one_entry_per_prefix_and_pipeline() -> None:
    assert len({e.prefix for e in PIPELINES}) == len(PIPELINES)
    assert len({e.source for e in PIPELINES}) == len(PIPELINES)
    assert pipeline_for_config(Path("campaign_uplift_x.yaml")).prefix == "campaign_uplift"
    assert pipeline_for_config(Path("uplift_x.yaml")).prefix == "uplift"


def _write(tmp_path: Path, content: dict, name: str = "ab_test_case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content))
    return path


def _base() -> dict:
    return {
        "parameters": {
            "data_path": "x.parquet",
            "metrics": [{"name": "conv", "type": "proportion", "column": "converted"}],
        }
    }


def test_misspelt_step_name_is_an_error(tmp_path: Path) -> None:
    content = _base() | {"steps": {"ingest_dat": {"enable_cache": False}}}
    with pytest.raises(ConfigError, match="unknown step 'ingest_dat'"):
        check_run_config(_write(tmp_path, content))


def test_known_step_with_unknown_setting_is_an_error(tmp_path: Path) -> None:
    content = _base() | {"steps": {"summarise_experiment_data": {"enable_cashe": False}}}
    with pytest.raises(ConfigError, match="enable_cashe"):
        check_run_config(_write(tmp_path, content))


def test_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    content = {"paramters": _base()["parameters"]}
    with pytest.raises(ConfigError, match="unknown top-level key 'paramters'"):
        check_run_config(_write(tmp_path, content))


def test_unknown_parameter_is_an_error(tmp_path: Path) -> None:
    content = _base()
    content["parameters"]["alpah"] = 0.1
    with pytest.raises(ConfigError, match="unknown parameter 'alpah'"):
        check_run_config(_write(tmp_path, content))


def test_config_file_with_unknown_pipeline_prefix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="which pipeline"):
        check_run_config(_write(tmp_path, _base(), name="whatever.yaml"))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"metrics": [{"name": "m", "type": "median", "column": "x"}]}, "unknown metric type"),
        ({"metrics": [{"name": "m", "type": "ratio", "column": "x"}]}, "numerator"),
        ({"metrics": [{"name": "m", "type": "mean", "colum": "x"}]}, "metrics.0.colum"),
        ({"metrics": []}, "metrics"),
        ({"alpha": 0.7}, "alpha"),
        ({"correction": "fdr"}, "correction"),
        ({"control": "B", "variants": ["B"]}, "also listed"),
        ({"expected_split": {"A": 1.0}}, "expected_split"),
        ({"data_path": None}, "data_path"),
        ({"cleaning": [{"column": "x"}]}, "needs a 'name'"),
    ],
)
def test_bad_parameters_name_the_problem(change: dict, needle: str) -> None:
    values = {
        "data_path": "x.parquet",
        "metrics": [{"name": "conv", "type": "proportion", "column": "converted"}],
    }
    values.update(change)
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ConfigError, match=needle):
        load_ab_config(values)
