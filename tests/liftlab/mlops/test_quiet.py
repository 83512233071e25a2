"""The false-alarm filter drops ZenML's autologging warning only for flavours MLflow lacks."""

from __future__ import annotations

import logging

from liftlab.mlops.quiet import AutologNoiseFilter


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("zenml", logging.WARNING, __file__, 1, message, None, None)


def test_drops_the_warning_for_flavours_mlflow_does_not_ship() -> None:
    text = "Failed to disable MLflow autologging for the following frameworks: ['fastai']."
    assert not AutologNoiseFilter().filter(_record(text))


def test_keeps_the_warning_when_an_existing_flavour_failed() -> None:
    text = "Failed to disable MLflow autologging for the following frameworks: ['sklearn']."
    assert AutologNoiseFilter().filter(_record(text))
    both = (
        "Failed to disable MLflow autologging for the following frameworks: ['fastai', 'sklearn']."
    )
    assert AutologNoiseFilter().filter(_record(both))


def test_keeps_every_other_record() -> None:
    assert AutologNoiseFilter().filter(_record("Step x failed: ValueError"))
