"""Marketing-mix analysis step: the validated weekly table and the lift tests in, every table of
the run out (one fit, one set of bootstrap draws behind every number)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.marketing_mix import MarketingMixConfig
from liftlab.mlops.materializers import MMMResultMaterializer
from strategies.mmm.analysis import analyse_marketing_mix
from strategies.mmm.result import MMMResult


@step(output_materializers={"mmm_result": MMMResultMaterializer})
def analyse_marketing_mix_step(
    raw_data: pd.DataFrame,
    lift_tests: pd.DataFrame,
    calibration_notes: list,
    validation: dict,
    config: MarketingMixConfig,
) -> Annotated[MMMResult, "mmm_result"]:
    """``validation`` is an input so the fit runs only after the data passed its suite."""
    data = config.mmm_data(raw_data)
    settings = config.analysis_settings(data.n_periods)
    return analyse_marketing_mix(data, settings, lift_tests, notes=calibration_notes)
