"""``output_dir`` of every pipeline config (README, Trust model): inside the project or an
absolute path; a relative path escaping through ``..`` and an existing file are refused with a
clear message. Checked for each registered pipeline on its shipped config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from liftlab.config.registry import PIPELINES
from strategies.errors import ConfigError
from tests.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"


def _shipped(prefix: str) -> dict:
    path = min(
        (
            p
            for p in CONFIGS.glob(f"{prefix}*.yaml")
            if p.stem == prefix or p.stem.startswith(f"{prefix}_")
        ),
        key=lambda p: len(p.stem),
    )
    return dict(yaml.safe_load(path.read_text())["parameters"])


ENTRIES = [pytest.param(e, id=e.prefix) for e in PIPELINES]


def test_every_pipeline_config_has_an_output_dir() -> None:
    assert {e.prefix for e in PIPELINES} == {
        "ab_test", "training", "campaign_uplift", "uplift", "inference", "marketing_mix",
        "growth_analytics",
    }  # fmt: skip
    assert all("output_dir" in e.config_class.model_fields for e in PIPELINES)


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("good", ["outputs/x", "outputs/../elsewhere", "./out", "/tmp/liftlab-out"])
def test_paths_inside_the_project_and_absolute_paths_are_accepted(entry, good) -> None:
    assert entry.load({**_shipped(entry.prefix), "output_dir": good}).output_dir == good


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("escaping", ["../outside", "outputs/../../outside", "./../x", ".."])
def test_relative_paths_escaping_the_project_are_refused(entry, escaping) -> None:
    with pytest.raises(ConfigError) as caught:
        entry.load({**_shipped(entry.prefix), "output_dir": escaping})
    message = str(caught.value)
    assert "output_dir" in message and repr(escaping) in message
    assert "leaves the project folder" in message and "absolute path" in message


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_existing_file_is_refused_by_name(entry, tmp_path: Path) -> None:
    existing = tmp_path / "report.csv"
    existing.write_text("a,b\n")
    with pytest.raises(ConfigError, match=r"output_dir.*report\.csv.*existing file, not a folder"):
        entry.load({**_shipped(entry.prefix), "output_dir": str(existing)})
    assert existing.read_text() == "a,b\n"
