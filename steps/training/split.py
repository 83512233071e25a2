"""Split step: the holdout and cross-validation folds every candidate is judged on."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from liftlab.config.training import load_training_config
from strategies.training import plan_split


@step
def plan_ads_split(
    clean_ads: pd.DataFrame, config: dict[str, Any]
) -> Annotated[dict, "split_plan"]:
    """Holdout rows and CV folds (positions in ``clean_ads``): the same plan scores the
    challenger and the current champion."""
    cfg = load_training_config(config)
    return plan_split(clean_ads, cfg.split, cfg.cv_folds).to_dict()
