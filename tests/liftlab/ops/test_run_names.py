"""Run names tell runs apart: pipeline, config and data (liftlab.ops.runner)."""

from __future__ import annotations

from pathlib import Path

from liftlab.ops.runner import data_label, run_name_template


def test_run_name_names_pipeline_config_and_data() -> None:
    name = run_name_template(
        "pipelines.training.training_pipeline",
        Path("configs/training_kag.yaml"),
        {"parameters": {"data_path": "../shared/data/KAG_conversion_data.csv"}},
    )
    assert name == "training · training_kag · KAG_conversion_data · {date} {time}"


def test_data_label_for_each_kind_of_source() -> None:
    assert data_label({"data_dir": "data/demo/campaigns"}) == "campaigns"
    assert data_label({"table": "ab_events"}) == "ab_events"
    assert data_label({"sql": "SELECT 1", "allowed_paths": ["x"]}) == "sql"
    assert data_label({}) == "data"
