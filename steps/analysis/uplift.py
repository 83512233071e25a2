"""Uplift analysis step: average treatment effects per arm and outcome (the A/B engine)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from strategies.stats.corrections import Correction
from strategies.uplift.effects import average_effects


@step
def estimate_average_effects(
    raw_data: pd.DataFrame,
    validation: dict,
    treatment_column: str,
    control: str,
    arms: list[str],
    outcomes: list[dict[str, str]],
    alpha: float,
    correction: Correction,
    id_column: str | None = None,
) -> Annotated[pd.DataFrame, "average_effects"]:
    """Each arm vs control on every outcome, with CIs and corrected p-values. Takes only what
    the estimate needs, so editing learners or money values keeps this step cached."""
    return average_effects(
        raw_data,
        treatment_column=treatment_column,
        control=control,
        arms=arms,
        outcomes=outcomes,
        alpha=alpha,
        correction=correction,
        id_column=id_column,
    )
