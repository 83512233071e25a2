"""The marketing-mix model as an MLflow pyfunc ("models from code"): MLflow stores this file
with the model and runs it to serve predictions (``mlflow models serve``, ``liftlab serve``).

The model itself is the JSON file ``model.json`` (:meth:`strategies.mmm.fit.FittedMMM.to_dict`):
plain numbers and names, rebuilt by ``from_dict``, which checks every transform name against
liftlab's own registries. Nothing is unpickled. liftlab's own code (promotion, the dashboard)
never runs this file: it reads ``model.json`` directly (:mod:`liftlab.mlops.mmm_model`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class MarketingMixPlanModel(PythonModel):
    """Input: one row per future period with ``date``, spend per channel (columns named as the
    channels) and the model's controls. Output: ``predicted`` outcome and each channel's
    contribution per row."""

    def load_context(self, context: Any) -> None:
        from strategies.mmm.fit import FittedMMM

        payload = json.loads(Path(context.artifacts["model"]).read_text())
        self.model = FittedMMM.from_dict(payload)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        from strategies.mmm.scoring import predict_plan

        return predict_plan(self.model, pd.DataFrame(model_input))


mlflow.models.set_model(MarketingMixPlanModel())
