"""Silence library warnings that are false alarms for liftlab, and only those.

ZenML's MLflow experiment tracker disables MLflow autologging for a fixed list of frameworks
before every tracked step; MLflow 3 no longer ships some of those flavours (``mlflow.fastai``),
so ZenML warns "Failed to disable MLflow autologging for the following frameworks: ['fastai']"
on every step of a run that is fine: a flavour that does not exist cannot autolog. The filter
below drops that warning when *every* framework it names is a flavour this MLflow lacks; any
other failure (a flavour that exists but could not be switched off) is still shown.

:func:`install` is called when :mod:`pipelines` is imported, so ``liftlab run`` and
``zenml pipeline run`` are equally quiet.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import re

__all__ = ["AutologNoiseFilter", "install"]

_TRACKER_LOGGER = "zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker"
_AUTOLOG_FAILED = re.compile(
    r"Failed to disable MLflow autologging for the following frameworks: (\[.*\])"
)


def _flavour_missing(framework: str) -> bool:
    """True when this MLflow has no ``mlflow.<framework>`` module at all."""
    try:
        return importlib.util.find_spec(f"mlflow.{framework}") is None
    except (ImportError, ValueError):
        return True


class AutologNoiseFilter(logging.Filter):
    """Drops ZenML's autologging warning when it only names flavours MLflow does not ship."""

    def filter(self, record: logging.LogRecord) -> bool:
        match = _AUTOLOG_FAILED.search(record.getMessage())
        if not match:
            return True
        try:
            frameworks = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return True
        return not (frameworks and all(_flavour_missing(str(f)) for f in frameworks))


def install() -> None:
    """Attach the filter to ZenML's tracker logger (idempotent)."""
    logger = logging.getLogger(_TRACKER_LOGGER)
    if not any(isinstance(f, AutologNoiseFilter) for f in logger.filters):
        logger.addFilter(AutologNoiseFilter())
