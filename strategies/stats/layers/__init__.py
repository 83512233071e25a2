"""Optional inference layers on top of the fixed-horizon A/B results, one module each.

* :mod:`.bayesian` — posterior probability, expected losses, credible intervals
  (:data:`~strategies.stats.schema.BAYES_COLUMNS`);
* :mod:`.sequential` — mSPRT or group-sequential monitoring over looks
  (:data:`~strategies.stats.schema.SEQUENTIAL_COLUMNS`, per-look
  :data:`~strategies.stats.schema.LOOK_COLUMNS`);
* :mod:`.nonparametric` — Mann–Whitney and bootstrap for selected metrics
  (:data:`~strategies.stats.schema.NONPARAMETRIC_COLUMNS`).

Each layer adds columns to the results table, keyed by
:data:`~strategies.stats.schema.RESULT_KEYS`, and never removes any; the fixed-horizon
columns stay as they are so runs stay comparable. Only the sequential layer changes
``decision``. :func:`strategies.stats.run.run_ab_analysis` is the one entry point that runs
them; the options classes are re-exported here for the typed config.
"""

from __future__ import annotations

from strategies.stats.layers.bayesian import BayesianOptions, bayesian_columns
from strategies.stats.layers.nonparametric import NonparametricOptions, nonparametric_columns
from strategies.stats.layers.sequential import (
    SequentialOptions,
    SequentialOutcome,
    sequential_analysis,
    sequential_decisions,
)

__all__ = [
    "BayesianOptions",
    "NonparametricOptions",
    "SequentialOptions",
    "SequentialOutcome",
    "bayesian_columns",
    "nonparametric_columns",
    "sequential_analysis",
    "sequential_decisions",
]
