"""The shipped Hillstrom A/B config end to end on the real file (skipped when ../shared is
absent)."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import REPO_ROOT, shared_file

pytestmark = pytest.mark.shared_data
CONFIG = REPO_ROOT / "configs" / "ab_test_hillstrom.yaml"


def test_hillstrom_config_runs_end_to_end(zenml_stack, tmp_path) -> None:
    from pipelines.ab_testing import ab_test_pipeline

    data = shared_file("hillstrom.csv")
    content = yaml.safe_load(CONFIG.read_text())
    content["parameters"].update(data_path=str(data), output_dir=str(tmp_path / "out"))
    path = tmp_path / "ab_test_hillstrom.yaml"
    path.write_text(yaml.safe_dump(content))
    run = ab_test_pipeline.with_options(config_path=str(path))()
    assert run.status == "completed"
    assert (tmp_path / "out" / "ab_results.csv").is_file()
