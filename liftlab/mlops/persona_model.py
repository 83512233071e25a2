"""Logging and loading the persona model in MLflow.

Logged as a pyfunc from code (:mod:`liftlab.mlops.persona_pyfunc`) with the model as the
``model.json`` artifact, so batch jobs and ``mlflow models serve`` assign new customers to
personas from their features. liftlab itself loads only ``model.json`` (JSON, rebuilt by
``PersonaModel.from_dict``; DESIGN.md §7) after checking the version directory.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from liftlab.mlops.model_files import check_json_code_model_dir
from liftlab.mlops.tracking import JSON_MODEL_PACKAGES, pinned_requirements

PERSONA_ARTIFACT_NAME = "personas"
MODEL_FILE = "model.json"
CODE_FILE = Path(__file__).with_name("persona_pyfunc.py")


def _is_persona_payload(payload: dict[str, Any]) -> bool:
    from strategies.growth.personas import PersonaModel

    try:
        PersonaModel.from_dict(payload)
    except Exception:  # noqa: BLE001 - any failure means "not a persona model"
        return False
    return True


def log_persona_model(
    model: Mapping[str, Any], example: pd.DataFrame, metadata: Mapping[str, Any]
) -> dict[str, str]:
    """Log the persona model in the active MLflow run (``example``: a few feature rows, the
    input example and signature); returns ``model_id`` and ``model_uri``."""
    import mlflow.pyfunc

    with (
        tempfile.TemporaryDirectory(prefix="liftlab-personas-") as folder,
        warnings.catch_warnings(),
    ):
        # the output's persona_id is an integer that is never missing: MLflow's hint about
        # integer columns and missing values does not apply
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        path = Path(folder) / MODEL_FILE
        path.write_text(json.dumps(model))
        info = mlflow.pyfunc.log_model(
            name=PERSONA_ARTIFACT_NAME,
            python_model=str(CODE_FILE),
            artifacts={"model": str(path)},
            input_example=example,
            metadata=dict(metadata),
            pip_requirements=pinned_requirements(JSON_MODEL_PACKAGES),
        )
    return {"model_id": info.model_id, "model_uri": info.model_uri}


def load_persona_model(uri: str) -> Any:
    """The :class:`~strategies.growth.personas.PersonaModel` of a registered version
    (``models:/liftlab-personas@champion``), from its checked ``model.json`` only."""
    import mlflow.artifacts

    from strategies.growth.personas import PersonaModel

    with tempfile.TemporaryDirectory(prefix="liftlab-personas-") as folder:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder))
        payload_path = check_json_code_model_dir(
            local, uri, code_file=CODE_FILE, accepts=_is_persona_payload, what="persona model"
        )
        return PersonaModel.from_dict(json.loads(payload_path.read_text()))
