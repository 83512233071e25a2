"""Run-scoped staging folders for row tables that travel from an engine step to publish.

On the embedded DuckDB path the campaign pipeline's engine step writes its bronze/silver rows
as Parquet into a hidden folder inside ``output_dir``; the publish step loads them into the
warehouse in one transaction and removes the folder. When a step *between* the two fails, no
step is left to remove it, so the pipeline carries :func:`remove_staging_on_failure` as its
``on_failure`` hook: ZenML runs it inside the failing step, where the run's step
configurations say which staging folder this run made. Only folders whose name carries
:data:`STAGING_PREFIX` are ever removed (a parameter is not trusted to point elsewhere).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

STAGING_PREFIX = ".liftlab-rows-"
#: The step parameter that names a run's staging folder.
STAGING_PARAMETER = "staging_dir"


def new_staging_dir(output_dir: str | Path) -> str:
    """A fresh, run-scoped staging folder path inside ``output_dir`` (not created here)."""
    return str(Path(output_dir).resolve() / f"{STAGING_PREFIX}{uuid.uuid4().hex}")


def remove_staging_dir(folder: str | Path) -> bool:
    """Remove a staging folder made by :func:`new_staging_dir`; anything else is left alone.
    Returns whether something was removed."""
    path = Path(folder)
    if not path.name.startswith(STAGING_PREFIX) or not path.is_dir():
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


def remove_staging_on_failure(exception: BaseException) -> None:
    """ZenML ``on_failure`` hook: remove the staging folder of the failing run (the one its
    steps got as ``staging_dir``), so a failed run leaves no rows behind."""
    from zenml import get_step_context
    from zenml.client import Client

    del exception  # the hook cleans up whatever the failure was
    run = Client().get_pipeline_run(get_step_context().pipeline_run.id)
    for step in run.steps.values():
        folder = step.config.parameters.get(STAGING_PARAMETER)
        if isinstance(folder, str) and folder:
            remove_staging_dir(folder)
