"""Logging and loading the marketing-mix model in MLflow.

Logged as a pyfunc from code (:mod:`liftlab.mlops.mmm_pyfunc`) with the fitted parameters as the
``model.json`` artifact, so ``mlflow models serve`` predicts the outcome of a spend plan. liftlab
itself loads only ``model.json`` (JSON, rebuilt by ``FittedMMM.from_dict``; DESIGN.md §7): the
code file stored with a version is never imported by liftlab.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from liftlab.mlops.model_files import UntrustedModelError, check_mmm_model_dir
from liftlab.mlops.tracking import JSON_MODEL_PACKAGES, pinned_requirements

MMM_ARTIFACT_NAME = "marketing_mix"
MODEL_FILE = "model.json"
_CODE = Path(__file__).with_name("mmm_pyfunc.py")


def plan_example(model: Mapping[str, Any], periods: int = 4) -> pd.DataFrame:
    """A spend plan for the periods right after training at the recent spend per period (the
    input example and signature of the logged model)."""
    from strategies.mmm.fit import FittedMMM

    fitted = FittedMMM.from_dict(model)
    start = pd.Timestamp(fitted.start_date) + pd.Timedelta(days=fitted.n_train * fitted.period_days)
    dates = pd.date_range(start, periods=periods, freq=pd.Timedelta(days=fitted.period_days))
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d")})
    for channel, spend in zip(fitted.channels, fitted.recent_spend, strict=True):
        frame[channel] = float(spend)
    for control in fitted.control_names:
        frame[control] = 0.0
    return frame


def log_mmm_model(model: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, str]:
    """Log the fitted model in the active MLflow run; returns ``model_id`` and ``model_uri``."""
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory(prefix="liftlab-mmm-") as folder:
        path = Path(folder) / MODEL_FILE
        path.write_text(json.dumps(model))
        info = mlflow.pyfunc.log_model(
            name=MMM_ARTIFACT_NAME,
            python_model=str(_CODE),
            artifacts={"model": str(path)},
            input_example=plan_example(model),
            metadata=dict(metadata),
            pip_requirements=pinned_requirements(JSON_MODEL_PACKAGES),
        )
    return {"model_id": info.model_id, "model_uri": info.model_uri}


def load_mmm_payload(uri: str) -> dict[str, Any]:
    """The ``model.json`` of a registered marketing-mix version (``models:/name@champion``),
    read as JSON and nothing else. Raises UntrustedModelError naming ``uri`` when the version
    is not a liftlab marketing-mix model."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="liftlab-mmm-") as folder:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder))
        payload = json.loads(check_mmm_model_dir(local, uri).read_text())
    if "spec" not in payload:
        raise UntrustedModelError(f"{uri}: {MODEL_FILE} is not a marketing-mix model")
    return payload
