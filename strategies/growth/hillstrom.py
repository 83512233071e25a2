"""Hillstrom's e-mail test (MineThatData, 2008) as a growth-analytics source: personas from the
pre-send covariates and the e-mail effect per persona (issue #14, item 5).

Why a source of its own: the file is not a shop export (no sessions, exposures or orders) but
one row per customer with the randomised arm (``segment``: ``Mens E-Mail``, ``Womens E-Mail``,
``No E-Mail``), the twelve months *before* the send (``recency``, ``history``, ``mens``,
``womens``, ``zip_code``, ``newbie``, ``channel``) and the two weeks *after* it (``visit``,
``conversion``, ``spend``). So the growth pipeline reads it here instead of building the
analysis-ready table in SQL, and hands the next steps the same three frames as the SQL path:

* the analysis table — one row per comparison × customer: two comparisons, men's and women's
  e-mail, each against the no-e-mail customers (who serve as the control of both; the shared
  control is a positive dependence under which Benjamini–Hochberg still controls the FDR);
* the persona features — one row per customer, pre-send columns only, so the personas cannot
  see the treatment (``zip_code`` and ``channel`` one-hot, available but not used by default:
  one-hot columns cut the data into corners after standardising and would define the personas
  instead of describing them);
* the experiments table — control ``A`` (no e-mail), treatment ``B``.

The raw file is checked with Great Expectations first (columns, arm labels, 0/1 flags,
non-negative amounts, recency 1–12 months); a failed suite stops the run with every failure
named, before any frame is built.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from strategies.errors import InputDataError
from strategies.stats.metrics import MetricSpec
from strategies.validation import ValidationRules, validate
from strategies.warehouse.growth_engine import GrowthWarehouse

__all__ = [
    "HILLSTROM_CONTROL_SEGMENT",
    "HILLSTROM_DEFAULT_FEATURES",
    "HILLSTROM_FEATURES",
    "HILLSTROM_FUNNEL_STAGES",
    "HILLSTROM_LOG1P",
    "HILLSTROM_METRICS",
    "HILLSTROM_TABLE",
    "hillstrom_experiments",
    "hillstrom_persona_frame",
    "hillstrom_rules",
    "load_hillstrom",
]

HILLSTROM_TABLE = "hillstrom"
"""The table's name in validation results and audits."""

HILLSTROM_FEATURES: tuple[str, ...] = (
    "recency_months",
    "history",
    "mens",
    "womens",
    "newbie",
    "zip_urban",
    "zip_suburban",
    "zip_rural",
    "channel_phone",
    "channel_web",
    "channel_multichannel",
)
"""Every pre-send covariate as a persona feature (one-hot zip code and channel)."""
HILLSTROM_DEFAULT_FEATURES: tuple[str, ...] = (
    "recency_months",
    "history",
    "mens",
    "womens",
    "newbie",
)
"""The features personas are found on by default: purchase behaviour before the send (module
docstring: why zip code and channel are left out)."""
HILLSTROM_LOG1P: tuple[str, ...] = ("recency_months", "history")
HILLSTROM_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("conversion", "proportion", column="conversion"),
    MetricSpec("visit", "proportion", column="visit"),
    MetricSpec("spend", "mean", column="spend"),
)
"""The outcomes of the two weeks after the send, unit = customer; conversion first (the
headline metric)."""
HILLSTROM_FUNNEL_STAGES: tuple[str, ...] = ("visit", "conversion")
"""Funnel after the customers: visited the site → bought."""
HILLSTROM_CONTROL_SEGMENT = "No E-Mail"
_ARMS = {"mens_email": "Mens E-Mail", "womens_email": "Womens E-Mail"}
_EXPERIMENT_NAMES = {"mens_email": "Men's e-mail", "womens_email": "Women's e-mail"}
_ZIP_CODES = ("Urban", "Surburban", "Rural")  # the source's spelling
_CHANNELS = ("Phone", "Web", "Multichannel")
_FLAGS = ("mens", "womens", "newbie", "visit", "conversion")
_COLUMNS = (
    "recency",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
    "segment",
    "visit",
    "conversion",
    "spend",
)


def hillstrom_rules() -> ValidationRules:
    """The suite of the raw file: every column present and of the right kind, the arm labels,
    zip codes and channels the data set defines, 0/1 flags, recency 1–12 months."""
    return ValidationRules(
        required_columns=_COLUMNS,
        numeric_columns=("recency", "history", "spend", *_FLAGS),
        non_negative_columns=("history", "spend"),
        not_null_columns=_COLUMNS,
        allowed_values={
            "segment": (HILLSTROM_CONTROL_SEGMENT, *_ARMS.values()),
            "zip_code": _ZIP_CODES,
            "channel": _CHANNELS,
            **{flag: (0, 1) for flag in _FLAGS},
            "recency": tuple(range(1, 13)),
        },
        min_rows=1,
        min_rows_reason="the Hillstrom file has no rows",
    )


def hillstrom_experiments() -> pd.DataFrame:
    """The two Hillstrom comparisons as an experiments table (control "A" = no e-mail)."""
    return pd.DataFrame(
        {
            "experiment_id": list(_ARMS),
            "name": [_EXPERIMENT_NAMES[e] for e in _ARMS],
            "description": [f"{arm} vs No E-Mail" for arm in _ARMS.values()],
            "control": "A",
            "treatment": "B",
        }
    )


def _read(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"Hillstrom file not found: {str(path)!r}")
    return pd.read_csv(path)


def _frames(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, outcomes) of a file that passed :func:`hillstrom_rules`."""
    user_id = pd.Series([f"H{i:05d}" for i in range(1, len(raw) + 1)], dtype=object)
    zip_code = raw["zip_code"].astype(str)
    channel = raw["channel"].astype(str)
    features = pd.DataFrame(
        {
            "user_id": user_id,
            "recency_months": raw["recency"].astype(float).to_numpy(),
            "history": raw["history"].astype(float).to_numpy(),
            "mens": raw["mens"].astype(int).to_numpy(),
            "womens": raw["womens"].astype(int).to_numpy(),
            "newbie": raw["newbie"].astype(int).to_numpy(),
            "zip_urban": (zip_code == "Urban").astype(int).to_numpy(),
            "zip_suburban": (zip_code == "Surburban").astype(int).to_numpy(),
            "zip_rural": (zip_code == "Rural").astype(int).to_numpy(),
            "channel_phone": (channel == "Phone").astype(int).to_numpy(),
            "channel_web": (channel == "Web").astype(int).to_numpy(),
            "channel_multichannel": (channel == "Multichannel").astype(int).to_numpy(),
        }
    )
    segment = raw["segment"].astype(str)
    control = (segment == HILLSTROM_CONTROL_SEGMENT).to_numpy()
    blocks = []
    for experiment, arm in _ARMS.items():
        rows = control | (segment == arm).to_numpy()
        blocks.append(
            pd.DataFrame(
                {
                    "experiment_id": experiment,
                    "user_id": user_id[rows].to_numpy(),
                    "variant": np.where(control[rows], "A", "B"),
                    "visit": raw.loc[rows, "visit"].astype(int).to_numpy(),
                    "conversion": raw.loc[rows, "conversion"].astype(int).to_numpy(),
                    "spend": raw.loc[rows, "spend"].astype(float).to_numpy(),
                }
            )
        )
    return features, pd.concat(blocks, ignore_index=True)


def hillstrom_persona_frame(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hillstrom's e-mail test as ``(features, outcomes)`` for personas and persona lift.

    ``features``: one row per customer, ``user_id`` (``H00001``… in file order) and
    :data:`HILLSTROM_FEATURES`. ``outcomes``: ``experiment_id`` (``mens_email``,
    ``womens_email``), ``user_id``, ``variant`` (``A`` = no e-mail, ``B`` = that e-mail),
    ``visit``, ``conversion``, ``spend``. Raises InputDataError naming every failed check of
    :func:`hillstrom_rules`. Analyse with ``metrics=HILLSTROM_METRICS`` and
    ``experiments=hillstrom_experiments()``.
    """
    raw = _read(path)
    report = validate(raw, hillstrom_rules())
    report.raise_for_failures()
    return _frames(raw)


def load_hillstrom(path: str | Path) -> GrowthWarehouse:
    """Read and validate the file, then build the pipeline's three frames and the audits
    (rows read, customers per comparison and arm), as the SQL path's
    :class:`~strategies.warehouse.growth_engine.GrowthWarehouse` (nothing staged: the file is
    the bronze table). A failed suite comes back with ``success`` False and no frames."""
    raw = _read(path)
    report = validate(raw, hillstrom_rules())
    validation = {HILLSTROM_TABLE: report}
    if not report.success:
        return GrowthWarehouse(bronze_audit=[], validation=validation)
    features, analysis = _frames(raw)
    assigned = {
        str(exp): {str(v): int(n) for v, n in sub["variant"].value_counts().sort_index().items()}
        for exp, sub in analysis.groupby("experiment_id", sort=True)
    }
    audits = {
        "rows": int(len(raw)),
        "assigned_users": assigned,
        "pre_period": "the 12 months before the send (the file's recency and history)",
    }
    return GrowthWarehouse(
        bronze_audit=[],
        validation=validation,
        audits=audits,
        experiments=hillstrom_experiments(),
        analysis=analysis,
        features=features,
    )
