"""Exceptions that name the problem with the user's input or configuration.

Every error a user can trigger with bad data or a bad config is one of these, so the CLI,
the pipeline steps and the tests can tell "your input is wrong" apart from a bug.
"""

from __future__ import annotations


class LiftlabError(Exception):
    """Base class for every error liftlab raises on purpose."""


class ConfigError(LiftlabError, ValueError):
    """The configuration is invalid: unknown key, unknown metric type, bad value."""


class InputDataError(LiftlabError, ValueError):
    """The input data cannot be analysed: missing file, empty table, missing column, wrong type,
    an experiment with a single variant."""


class DataValidationError(LiftlabError, ValueError):
    """A data-quality expectation failed (Great Expectations). The message names the
    expectation, the column, the number of bad rows and a few examples."""
