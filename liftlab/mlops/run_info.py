"""What a report says about the run it belongs to (pipeline, run, time, data, commit)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from liftlab.mlops.tracking import git_commit


def step_run_info(data_info: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Run facts for a report footer, from inside a ZenML step: pipeline and run name, when,
    the data source with its hash and row count (when ``data_info`` is given), the git commit,
    then ``extra`` (e.g. the MLflow run id)."""
    from zenml import get_step_context

    context = get_step_context()
    info: dict[str, Any] = {
        "pipeline": context.pipeline.name,
        "run_name": context.pipeline_run.name,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if data_info is not None:
        source = data_info.get("source")
        if data_info.get("engine"):
            source = f"{source} (engine {data_info['engine']})"
        info.update(
            data_source=source,
            data_sha256=data_info.get("sha256"),
            rows_raw=data_info.get("rows"),
        )
    info["git_commit"] = git_commit()
    info.update(extra)
    return info
