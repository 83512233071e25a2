"""Average effects of an e-mail test per arm and outcome (strategies.uplift.effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.uplift.effects import average_effects, outcome_metric


def _email(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Arm B raises visits by 10 points; arm A does nothing; spend is noise."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["none", "A", "B"], n)
    visit = (rng.random(n) < 0.2 + 0.1 * (arm == "B")).astype(int)
    return pd.DataFrame({"arm": arm, "visit": visit, "spend": rng.gamma(2.0, 5.0, n)})


def test_outcome_types_map_to_metric_types() -> None:
    assert outcome_metric("v", "binary", "visit").type == "proportion"
    assert outcome_metric("s", "continuous", "spend").type == "mean"


def test_average_effects_per_arm_and_outcome_without_an_id_column() -> None:
    frame = _email()
    table = average_effects(
        frame,
        treatment_column="arm",
        control="none",
        arms=["A", "B"],
        outcomes=[
            {"name": "visit", "type": "binary", "column": "visit"},
            {"name": "spend", "type": "continuous", "column": "spend"},
        ],
        alpha=0.05,
        correction="holm",
    )
    rows = table.set_index(["metric", "variant"])
    assert set(rows.index) == {("visit", "A"), ("visit", "B"), ("spend", "A"), ("spend", "B")}
    assert set(table["experiment"]) == {"uplift"}
    b = rows.loc[("visit", "B")]
    assert b["abs_ci_low"] > 0 and b["abs_diff"] == pytest.approx(0.1, abs=0.03)
    assert rows.loc[("visit", "A"), "abs_ci_low"] < 0 < rows.loc[("visit", "A"), "abs_ci_high"]
    assert int(b["n_control"] + b["n_variant"]) == int(frame["arm"].isin(["none", "B"]).sum())
    assert "_row" not in frame.columns  # the row-number id is added to a copy only
