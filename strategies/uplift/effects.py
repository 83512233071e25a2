"""Average treatment effects of an e-mail test, per arm and outcome, with the A/B engine.

Before any uplift model, the report states what each arm did on average: every arm against
control on every outcome, with confidence intervals and multiple-testing-corrected p-values
(:func:`strategies.stats.run.run_ab_analysis`). A 0/1 outcome is a proportion, any other a mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from strategies.stats.analysis import AnalysisOptions
from strategies.stats.corrections import Correction
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis
from strategies.uplift.workflow import check_arms_present

__all__ = ["average_effects", "outcome_metric"]

ROW_ID = "_row"
"""Unit id made from the row number when the table has no customer id (Hillstrom)."""


def outcome_metric(name: str, outcome_type: str, column: str) -> MetricSpec:
    """An outcome as an A/B metric: ``binary`` → proportion, ``continuous`` → mean."""
    return MetricSpec(
        name=name, type="proportion" if outcome_type == "binary" else "mean", column=column
    )


def average_effects(
    frame: pd.DataFrame,
    *,
    treatment_column: str,
    control: str,
    arms: Sequence[str],
    outcomes: Sequence[Mapping[str, str]],
    alpha: float,
    correction: Correction,
    id_column: str | None = None,
) -> pd.DataFrame:
    """Each arm vs control on every outcome (``name``, ``type``, ``column``): the A/B results
    table (experiment ``uplift``), overall and without segments."""
    data = frame.reset_index(drop=True)
    if treatment_column in data.columns:
        check_arms_present(
            data[treatment_column], treatment_column=treatment_column, control=control, arms=arms
        )
    unit = id_column or ROW_ID
    if id_column is None:
        data = data.assign(**{ROW_ID: np.arange(len(data))})
    metrics = [outcome_metric(o["name"], o["type"], o["column"]) for o in outcomes]
    design = ABDesign(
        unit_column=unit,
        variant_column=treatment_column,
        control=control,
        variants=tuple(arms),
        experiment_name="uplift",
    )
    options = AnalysisOptions(control=control, alpha=alpha, correction=correction)
    return run_ab_analysis(data, design, metrics, options).results
