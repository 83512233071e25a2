"""Sample-ratio-mismatch (SRM) check: did randomisation deliver the planned split?

A mismatch between the observed and planned unit counts per variant means assignment or
logging is broken, and every comparison in that experiment is suspect however good its p-value
looks. The check is Pearson's χ² goodness-of-fit of the unit counts against the expected shares,
run per experiment and vectorised across experiments. The default threshold (α = 0.001) is
deliberately strict: the test is very powerful at A/B sample sizes, and a false alarm discards an
experiment.

Per segment, too. The same test runs inside every segment value (``segment = "device=mobile"``
…): randomisation is independent of pre-assignment attributes, so every segment should show
the planned split. An imbalance confined to one segment is a classic bug signal (a client
version that drops the treatment's logging, a bot filter applied to one arm). Only the overall
SRM (segment "all") drives the ``srm`` status of result rows: segment-level SRM is
informational, because a run with many segments will see a few p < 0.001 by chance (no
multiple-testing correction is applied to them) and because the overall split is what the
comparisons rely on. A variant with no units in a segment counts as 0 (a strong signal, not a
gap in the table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from strategies.errors import ConfigError
from strategies.stats.schema import OVERALL_SEGMENT, SRM_COLUMNS


def check_expected_split(expected_split: Mapping[str, float] | None) -> None:
    """Raise ConfigError unless every weight is a finite number > 0."""
    if expected_split is None:
        return
    if not isinstance(expected_split, Mapping) or not expected_split:
        raise ConfigError("expected_split must be a non-empty mapping variant -> weight")
    bad = {}
    for variant, weight in expected_split.items():
        try:
            ok = math.isfinite(float(weight)) and float(weight) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad[variant] = weight
    if bad:
        raise ConfigError(f"expected_split weights must be finite numbers > 0, got {bad!r}")


def srm_check(
    unit_counts: pd.DataFrame,
    *,
    expected_split: Mapping[str, float] | None = None,
    srm_alpha: float = 0.001,
    experiment_splits: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """χ² goodness-of-fit of unit counts per variant, for every experiment (× segment) at once.

    ``unit_counts`` has columns ``experiment, variant, n_units`` (one row per variant) and
    optionally ``segment`` (default "all"); each experiment × segment is tested separately.
    ``expected_split`` maps variant → weight; the weights of an experiment's variants
    are normalised to shares within that experiment, so one mapping serves experiments with
    different arms. ``None`` means an equal split. A variant missing from ``expected_split``
    is a ConfigError (its expected share is unknown). Returns one row per experiment × variant
    with the columns in :data:`strategies.stats.schema.SRM_COLUMNS`;
    ``chi2``/``p_value``/``srm_detected`` repeat the experiment × segment result on each of its
    rows. ``experiment_splits`` overrides the split
    for named experiments (e.g. campaigns that held out different control shares).
    """
    check_expected_split(expected_split)
    for split in (experiment_splits or {}).values():
        check_expected_split(split)
    counts = unit_counts[["experiment", "variant", "n_units"]].reset_index(drop=True)
    segment = (
        unit_counts["segment"].to_numpy(dtype=object)
        if "segment" in unit_counts.columns
        else np.full(len(counts), OVERALL_SEGMENT, dtype=object)
    )
    variants = counts["variant"].astype(str)
    if expected_split is None:
        weight = pd.Series(1.0, index=counts.index)
    else:
        weights = {str(k): float(v) for k, v in expected_split.items()}
        weight = variants.map(weights)
        missing = weight.isna()
        if missing.any():
            pairs = counts.loc[missing, ["experiment", "variant"]].drop_duplicates()
            detail = ", ".join(f"{v!r} (experiment {e!r})" for e, v in pairs.to_numpy()[:5])
            raise ConfigError(
                f"expected_split has no weight for variant(s) {detail}; "
                f"it names {', '.join(map(repr, weights))}"
            )
    exp = counts["experiment"]
    for name, split in (experiment_splits or {}).items():
        rows = exp.astype(str) == str(name)
        if rows.any():
            own = variants[rows].map({str(k): float(v) for k, v in split.items()})
            if own.isna().any():
                raise ConfigError(
                    f"the expected split of experiment {name!r} has no weight for variant(s) "
                    f"{sorted(variants[rows][own.isna()].unique())}"
                )
            weight = weight.where(~rows, own)
    n = counts["n_units"].to_numpy(dtype=np.float64)
    w = weight.to_numpy(dtype=np.float64)
    group, _ = pd.factorize(pd.MultiIndex.from_arrays([exp.to_numpy(dtype=object), segment]))
    total_n = np.bincount(group, weights=n)[group]
    total_w = np.bincount(group, weights=w)[group]
    k = np.bincount(group)[group]
    expected_share = w / total_w
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = expected_share * total_n
        observed_share = n / total_n
        contribution = (n - expected) ** 2 / expected
    chi2 = np.bincount(group, weights=contribution)[group]
    p_value = np.where((k > 1) & (total_n > 0), stats.chi2.sf(chi2, np.maximum(k - 1, 1)), np.nan)
    frame = pd.DataFrame(
        {
            "experiment": exp.to_numpy(dtype=object),
            "segment": segment,
            "variant": counts["variant"].to_numpy(dtype=object),
            "n_units": counts["n_units"].to_numpy(dtype=np.int64),
            "expected_share": expected_share,
            "observed_share": observed_share,
            "chi2": chi2,
            "p_value": p_value,
            "srm_detected": p_value < srm_alpha,
        }
    )
    return frame.loc[:, list(SRM_COLUMNS)]
