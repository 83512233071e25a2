"""The persona model as an MLflow pyfunc ("models from code"): MLflow stores this file with
the model and runs it to assign personas (``mlflow models serve``, ``mlflow.pyfunc``).

The model itself is ``model.json`` (:meth:`strategies.growth.personas.PersonaModel.to_dict`):
the feature definitions (columns, log1p columns), scaling, weights, centroids and names —
plain numbers, rebuilt by ``from_dict``. Nothing is unpickled. liftlab's own code reads
``model.json`` directly (:mod:`liftlab.mlops.persona_model`) and never runs this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class PersonaAssignmentModel(PythonModel):
    """Input: one row per customer with the persona features (``user_id`` optional).
    Output: ``persona_id`` and ``persona`` per row."""

    def load_context(self, context: Any) -> None:
        from strategies.growth.personas import PersonaModel

        payload = json.loads(Path(context.artifacts["model"]).read_text())
        self.model = PersonaModel.from_dict(payload)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        return pd.DataFrame(
            {
                "persona_id": self.model.assign_ids(frame).to_numpy(),
                "persona": self.model.assign(frame).to_numpy(),
            }
        )


mlflow.models.set_model(PersonaAssignmentModel())
