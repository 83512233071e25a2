"""Split step: the holdout and cross-validation folds every candidate is judged on."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from strategies.training import plan_split


@step
def plan_ads_split(
    clean_ads: pd.DataFrame, split: dict[str, Any], cv_folds: int
) -> Annotated[dict, "split_plan"]:
    """Holdout rows and CV folds (positions in ``clean_ads``): the same plan scores the
    challenger and the current champion."""
    return plan_split(clean_ads, split, cv_folds).to_dict()
