"""Predict the outcome of a spend plan with a fitted marketing-mix model: what the registered
model's pyfunc serves (one row per future period, spend per channel, controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies.errors import InputDataError
from strategies.mmm.data import MMMData
from strategies.mmm.fit import FittedMMM


def predict_plan(
    model: FittedMMM, plan: pd.DataFrame, *, date_column: str = "date"
) -> pd.DataFrame:
    """``plan`` has ``date``, one spend column per channel (named as the channel) and every
    control the model was fitted with. Returns ``date``, ``predicted`` and one ``<channel>``
    contribution column per channel, per row in date order.

    Carry-over: a plan that starts right after the training data continues its adstock (the
    model keeps the last spend rows); any other start assumes no earlier spend.
    """
    needed = [date_column, *model.channels, *model.control_names]
    missing = [c for c in needed if c not in plan.columns]
    if missing:
        raise InputDataError(
            f"the spend plan has no column {missing[0]!r}; it needs {needed} "
            "(spend per period per channel, and the model's controls)"
        )
    dates = pd.to_datetime(plan[date_column], errors="coerce")
    if dates.isna().any():
        raise InputDataError(
            f"column {date_column!r} of the spend plan has values that are not dates"
        )
    order = np.argsort(dates.to_numpy(), kind="stable")

    def numeric(columns: tuple[str, ...]) -> np.ndarray:
        if not columns:
            return np.zeros((len(plan), 0))
        values = plan.loc[:, list(columns)].apply(pd.to_numeric, errors="coerce")
        bad = values.columns[values.isna().any()].tolist()
        if bad:
            raise InputDataError(
                f"column {bad[0]!r} of the spend plan has missing or non-numeric values"
            )
        return values.to_numpy(float)[order]

    spend = numeric(model.channels)
    if (spend < 0).any():
        raise InputDataError("the spend plan has negative spend")
    data = MMMData(
        dates=dates.to_numpy()[order].astype("datetime64[ns]"),
        y=np.zeros(len(plan)),
        spend=spend,
        controls=numeric(model.control_names),
        channels=model.channels,
        control_names=model.control_names,
    )
    follows = np.datetime64(model.start_date, "ns") + np.timedelta64(
        int(round(model.n_train * model.period_days * 86400)), "s"
    )
    carry_in = model.carry_in if len(plan) and data.dates[0] == follows else None
    contributions = model.channel_contributions(data.spend, carry_in)
    out = pd.DataFrame(
        {date_column: pd.to_datetime(data.dates), "predicted": model.predict(data, carry_in)}
    )
    for i, channel in enumerate(model.channels):
        out[channel] = contributions[:, i]
    return out
