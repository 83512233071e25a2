"""Hillstrom as a growth-analytics source: the raw-file suite, the frames handed to the
personas and the lift, and (with ``../shared``) the real file end to end in the strategies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategies.errors import DataValidationError, InputDataError
from strategies.growth.hillstrom import (
    HILLSTROM_DEFAULT_FEATURES,
    HILLSTROM_FEATURES,
    HILLSTROM_LOG1P,
    HILLSTROM_METRICS,
    HILLSTROM_TABLE,
    hillstrom_experiments,
    hillstrom_persona_frame,
    load_hillstrom,
)
from strategies.growth.lift import experiment_lift, persona_lift
from strategies.growth.personas import PersonaOptions, fit_personas
from tests.conftest import shared_file
from tests.strategies.growth.test_lift import assert_decisions_match_intervals

#: Six hand-made customers: two per arm, every zip code and channel once at least.
ROWS = [
    # recency, history, mens, womens, zip_code, newbie, channel, segment, visit, conversion, spend
    (10, 142.44, 1, 0, "Surburban", 0, "Phone", "Womens E-Mail", 0, 0, 0.0),
    (6, 329.08, 1, 1, "Rural", 1, "Web", "No E-Mail", 0, 0, 0.0),
    (7, 180.65, 0, 1, "Surburban", 1, "Web", "Womens E-Mail", 1, 0, 0.0),
    (9, 675.83, 1, 0, "Rural", 1, "Web", "Mens E-Mail", 1, 1, 29.99),
    (2, 45.34, 1, 0, "Urban", 0, "Web", "Womens E-Mail", 0, 0, 0.0),
    (6, 134.83, 0, 1, "Surburban", 0, "Multichannel", "No E-Mail", 1, 0, 0.0),
    (1, 29.99, 0, 1, "Urban", 1, "Phone", "Mens E-Mail", 0, 0, 0.0),
]
COLUMNS = [
    "recency", "history", "mens", "womens", "zip_code", "newbie", "channel", "segment",
    "visit", "conversion", "spend",
]  # fmt: skip


def _write(tmp_path: Path, rows=ROWS, **changes) -> Path:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column, (index, value) in changes.items():
        frame[column] = frame[column].astype(object)
        frame.loc[index, column] = value
    path = tmp_path / "hillstrom.csv"
    frame.to_csv(path, index=False)
    return path


def test_frames_share_the_no_email_control_and_keep_pre_send_columns_only(tmp_path) -> None:
    tables = load_hillstrom(_write(tmp_path))
    assert tables.success and tables.validation[HILLSTROM_TABLE].n_rows == 7
    features, analysis = tables.features, tables.analysis
    assert list(features.columns) == ["user_id", *HILLSTROM_FEATURES]
    assert list(features["user_id"]) == [f"H{i:05d}" for i in range(1, 8)]
    # one-hot columns: exactly one zip code and one channel per customer, source spelling read
    assert (features[["zip_urban", "zip_suburban", "zip_rural"]].sum(axis=1) == 1).all()
    assert features.loc[0, "zip_suburban"] == 1 and features.loc[5, "channel_multichannel"] == 1
    assert not {"visit", "conversion", "spend", "segment"} & set(features.columns)
    # the two no-e-mail customers (rows 2 and 6) are the control "A" of both comparisons
    for experiment, treated in (("mens_email", {"H00004", "H00007"}),
                                ("womens_email", {"H00001", "H00003", "H00005"})):  # fmt: skip
        rows = analysis[analysis["experiment_id"] == experiment]
        assert set(rows.loc[rows["variant"] == "A", "user_id"]) == {"H00002", "H00006"}
        assert set(rows.loc[rows["variant"] == "B", "user_id"]) == treated
    assert analysis.loc[analysis["user_id"] == "H00004", "spend"].tolist() == [29.99]
    assert tables.audits["assigned_users"] == {
        "mens_email": {"A": 2, "B": 2},
        "womens_email": {"A": 2, "B": 3},
    }
    assert set(tables.experiments["experiment_id"]) == {"mens_email", "womens_email"}


@pytest.mark.parametrize(
    ("change", "column", "shown"),
    [
        ({"segment": (3, "Both E-Mails")}, "segment", "Both E-Mails"),
        ({"recency": (0, 13)}, "recency", "13"),
        ({"conversion": (1, 2)}, "conversion", "2"),
        ({"spend": (3, -5.0)}, "spend", "-5"),
        ({"zip_code": (4, "Suburban")}, "zip_code", "Suburban"),
    ],
)
def test_a_bad_value_fails_the_suite_naming_column_and_value(tmp_path, change, column, shown):
    tables = load_hillstrom(_write(tmp_path, **change))
    assert not tables.success and tables.analysis is None and tables.features is None
    failures = [o for o in tables.validation[HILLSTROM_TABLE].outcomes if not o.success]
    assert {o.column for o in failures} == {column}
    with pytest.raises(DataValidationError, match=rf"{column}.*{shown}"):
        hillstrom_persona_frame(tmp_path / "hillstrom.csv")


def test_missing_column_and_missing_file(tmp_path) -> None:
    path = _write(tmp_path)
    pd.read_csv(path).drop(columns=["newbie"]).to_csv(path, index=False)
    tables = load_hillstrom(path)
    assert not tables.success
    assert any(
        o.column == "newbie" and not o.success for o in tables.validation["hillstrom"].outcomes
    )
    with pytest.raises(InputDataError, match="not found"):
        load_hillstrom(tmp_path / "nope.csv")


@pytest.mark.shared_data
def test_real_hillstrom_personas_and_email_effect_per_persona() -> None:
    """The real file: the README's visit rates, personas found on the pre-send behaviour, and
    the e-mail effect per persona with decisions that agree with the printed intervals."""
    features, outcomes = hillstrom_persona_frame(shared_file("hillstrom.csv"))
    assert len(features) == 64_000 and features["user_id"].is_unique
    visit = outcomes.groupby(["experiment_id", "variant"])["visit"].mean()
    # the README's known visit rates: 18.28 % / 15.14 % / 10.62 %
    assert visit[("mens_email", "B")] == pytest.approx(0.1828, abs=5e-5)
    assert visit[("womens_email", "B")] == pytest.approx(0.1514, abs=5e-5)
    assert visit[("mens_email", "A")] == pytest.approx(0.1062, abs=5e-5)

    options = PersonaOptions(
        features=HILLSTROM_DEFAULT_FEATURES, log1p=HILLSTROM_LOG1P, k_range=(2, 3, 4, 5, 6),
        n_init=4, n_bootstrap=10, seed=0,
    )  # fmt: skip
    personas = fit_personas(features, options)
    assert personas.structure_found and personas.k >= 3
    assert (personas.clusters["share"] >= 0.05).all()
    names = set(personas.clusters["persona"])
    assert any("new customers" in n for n in names) and any("returning" in n for n in names)

    overall = experiment_lift(outcomes, hillstrom_experiments(), metrics=HILLSTROM_METRICS)
    lift = persona_lift(
        outcomes, personas.assignments, hillstrom_experiments(),
        metrics=HILLSTROM_METRICS, overall=overall.results,
    )  # fmt: skip
    assert len(lift.results) == 2 * personas.k * len(HILLSTROM_METRICS)
    assert_decisions_match_intervals(lift.results)
    # Both e-mails raise visits overall (known: +7.7 and +4.5 points, p < 1e-50)
    visits = overall.results.query("metric == 'visit'")
    assert (visits["decision"] == "win").all()
    # ... and in most personas: the BH family finds at least one win per e-mail
    per = lift.results.query("metric == 'visit' and decision == 'win'")
    assert set(per["experiment"]) == {"mens_email", "womens_email"}
    assert np.isfinite(lift.results["ci_level"]).all()
