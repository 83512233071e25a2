"""The base regressors (intercept, trend, Fourier seasonality, controls) of the marketing-mix model.

Why a time index from the training start date rather than row numbers: a CV fold or a forecast
evaluates the base on later dates, and the trend and the seasonal phase must continue from where
training left them (``t = (date - start) / period_days``; the trend is ``t / (T_train - 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strategies.errors import InputDataError

YEAR_DAYS = 365.25


@dataclass(frozen=True)
class BaseDesign:
    """Everything needed to rebuild the base matrix for any dates, fixed at training time."""

    start: np.datetime64
    period_days: float
    n_train: int
    trend: bool = True
    fourier_order: int = 2
    control_names: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in matrix order: intercept, trend, sin_k/cos_k, controls."""
        names = ["intercept"]
        if self.trend:
            names.append("trend")
        for k in range(1, self.fourier_order + 1):
            names += [f"sin_{k}", f"cos_{k}"]
        return (*names, *self.control_names)

    def groups(self) -> dict[str, list[int]]:
        """Column indices of each reported component: baseline, seasonality, each control."""
        names = self.names
        groups: dict[str, list[int]] = {
            "baseline": [i for i, n in enumerate(names) if n in ("intercept", "trend")],
            "seasonality": [i for i, n in enumerate(names) if n[:4] in ("sin_", "cos_")],
        }
        offset = len(names) - len(self.control_names)
        for j, name in enumerate(self.control_names):
            groups[name] = [offset + j]
        return groups

    def time_index(self, dates: np.ndarray) -> np.ndarray:
        """Periods since the training start (float; 0, 1, 2, ... on the training dates)."""
        delta = np.asarray(dates, dtype="datetime64[ns]") - np.datetime64(self.start, "ns")
        return delta.astype("timedelta64[s]").astype(float) / (86400.0 * self.period_days)

    def matrix(self, dates: np.ndarray, controls: np.ndarray | None = None) -> np.ndarray:
        """The base matrix (T, K) for ``dates`` (may lie after the training window)."""
        t = self.time_index(dates)
        cols = [np.ones_like(t)]
        if self.trend:
            cols.append(t / max(self.n_train - 1, 1))
        period = YEAR_DAYS / self.period_days
        for k in range(1, self.fourier_order + 1):
            angle = 2.0 * np.pi * k * t / period
            cols += [np.sin(angle), np.cos(angle)]
        base = np.column_stack(cols)
        n_controls = len(self.control_names)
        if n_controls:
            controls = np.asarray(controls, dtype=float).reshape(len(t), -1)
            if controls.shape[1] != n_controls:
                raise InputDataError(
                    f"expected {n_controls} control column(s) {list(self.control_names)}, "
                    f"got {controls.shape[1]}"
                )
            base = np.column_stack([base, controls])
        return base


def base_design_for(
    dates: np.ndarray,
    period_days: float,
    *,
    trend: bool,
    fourier_order: int,
    control_names: tuple[str, ...],
) -> BaseDesign:
    """The design fixed at the training data's first date and length."""
    return BaseDesign(
        start=np.datetime64(dates[0], "ns"),
        period_days=float(period_days),
        n_train=len(dates),
        trend=trend,
        fourier_order=fourier_order,
        control_names=tuple(control_names),
    )
