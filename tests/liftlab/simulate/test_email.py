"""The e-mail test simulator: its truth is recomputed here from the documented formulas (not
from the simulator's code), the randomisation is exact, the average effects are recovered by a
plain difference in means (scipy's Welch test, independent of liftlab), and writing is all or
nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from liftlab.simulate.email import (
    ARMS,
    CONTROL,
    OUTCOMES,
    EmailSimulationConfig,
    simulate_email_test,
    truth_column,
    write_email_test,
)
from strategies.errors import ConfigError


@pytest.fixture(scope="module")
def sim():
    return simulate_email_test(EmailSimulationConfig(n_customers=30_000, seed=5))


def _documented_visit_uplift(data: pd.DataFrame, arm: str) -> np.ndarray:
    """The module docstring's formulas, written out again."""
    lapsed = (data["recency"] >= 10).to_numpy(float)
    if arm == "Womens E-Mail":
        raw = 0.10 * data["womens"] + 0.05 * (data["channel"] == "Web") - 0.06 * lapsed
    else:
        raw = 0.07 * data["mens"] + 0.02 * data["newbie"] - 0.06 * lapsed
    logit = (
        -2.0
        - 0.08 * (data["recency"] - 6)
        + 0.25 * np.log(data["history"] / 240.0)
        + 0.3 * (data["channel"] == "Multichannel")
    )
    p0 = 1.0 / (1.0 + np.exp(-logit.to_numpy(float)))
    return np.clip(p0 + raw.to_numpy(float), 0.001, 0.999) - p0


def test_table_has_hillstroms_columns_values_and_exact_thirds(sim) -> None:
    data = sim.data
    assert list(data.columns) == [
        "customer_id", "recency", "history", "mens", "womens", "zip_code", "newbie",
        "channel", "segment", "visit", "conversion", "spend",
    ]  # fmt: skip
    assert data["customer_id"].is_unique
    assert set(data["zip_code"]) == {"Urban", "Surburban", "Rural"}
    assert set(data["channel"]) == {"Phone", "Web", "Multichannel"}
    assert data["recency"].between(1, 12).all() and (data["history"] >= 29.99).all()
    assert ((data["mens"] + data["womens"]) >= 1).all()
    sizes = data["segment"].value_counts()
    assert set(sizes.index) == {CONTROL, *ARMS} and sizes.max() - sizes.min() <= 1
    assert (data["conversion"] <= data["visit"]).all()
    assert ((data["spend"] > 0) == (data["conversion"] == 1)).all()


def test_truth_follows_the_documented_model(sim) -> None:
    data, truth = sim.data, sim.truth
    assert (truth["customer_id"] == data["customer_id"]).all()
    for arm in ARMS:
        visit = truth[truth_column("visit", arm)].to_numpy()
        np.testing.assert_allclose(visit, _documented_visit_uplift(data, arm), atol=1e-12)
        q = 1.0 / (1.0 + np.exp(-(-2.4 + 0.4 * np.log(data["history"] / 240.0))))
        np.testing.assert_allclose(truth[truth_column("conversion", arm)], visit * q, atol=1e-12)
        spend = visit * q * (60.0 + 0.1 * data["history"])
        np.testing.assert_allclose(truth[truth_column("spend", arm)], spend, atol=1e-9)
        assert sim.summary["average_effect"]["visit"][arm] == pytest.approx(visit.mean())
    # the story the demo tells: some customers are better left alone
    assert 0.03 < sim.summary["share_harmed"]["Womens E-Mail"] < 0.2
    lapsed = data["recency"] >= 10
    put_off = truth.loc[lapsed & (data["womens"] == 0), truth_column("visit", "Womens E-Mail")]
    assert (put_off < 0).all()


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_difference_in_means_recovers_the_average_effect(sim, outcome) -> None:
    data = sim.data
    control = data.loc[data["segment"] == CONTROL, outcome]
    for arm in ARMS:
        treated = data.loc[data["segment"] == arm, outcome]
        diff = treated.mean() - control.mean()
        se = np.sqrt(treated.var() / len(treated) + control.var() / len(control))
        true = sim.summary["average_effect"][outcome][arm]
        z = stats.norm.ppf(0.9995)  # 24 checks: a 99.9 % interval each
        assert diff - z * se < true < diff + z * se, (outcome, arm, diff, se, true)
        welch = stats.ttest_ind(treated, control, equal_var=False)
        assert np.isfinite(welch.pvalue)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = simulate_email_test(EmailSimulationConfig(n_customers=500, seed=1))
    b = simulate_email_test(EmailSimulationConfig(n_customers=500, seed=1))
    c = simulate_email_test(EmailSimulationConfig(n_customers=500, seed=2))
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data.equals(c.data)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 10}, "n_customers must be an integer >= 300, got 10"),
        ({"n_customers": True}, "n_customers"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
    ],
)
def test_bad_settings_name_the_field(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        EmailSimulationConfig(**kwargs)


def test_write_is_all_or_nothing(tmp_path, monkeypatch) -> None:
    sim = simulate_email_test(EmailSimulationConfig(n_customers=400, seed=3))
    written = write_email_test(sim, tmp_path / "email")
    assert sorted(p.name for p in (tmp_path / "email").iterdir()) == [
        "email_test.csv", "truth.csv", "truth.json",
    ]  # fmt: skip
    assert set(written) == {"email_test.csv", "truth.csv", "truth.json"}
    pd.testing.assert_frame_equal(pd.read_csv(written["email_test.csv"]), sim.data)
    assert json.loads(written["truth.json"].read_text())["arms"] == list(ARMS)

    # a failure while the files are written leaves the folder as it was
    fresh = tmp_path / "again"
    calls = {"n": 0}
    real_open = open

    def failing_open(path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(OSError, match="disk full"):
        write_email_test(sim, fresh)
    monkeypatch.undo()
    assert list(fresh.iterdir()) == []


def test_write_refuses_a_file_where_the_folder_should_be(tmp_path) -> None:
    target = tmp_path / "email"
    target.write_text("not a folder")
    sim = simulate_email_test(EmailSimulationConfig(n_customers=300, seed=3))
    with pytest.raises(ConfigError, match="not a folder"):
        write_email_test(sim, target)


def test_cli_writes_the_test_and_its_truth_and_names_bad_options(tmp_path) -> None:
    from typer.testing import CliRunner

    from liftlab.cli import app

    runner = CliRunner()
    out = tmp_path / "email"
    result = runner.invoke(app, ["simulate-email", "--out", str(out), "--customers", "600"])
    assert result.exit_code == 0, result.output
    for name in ("email_test.csv", "truth.csv", "truth.json"):
        assert str(out / name) in result.output
    assert len(pd.read_csv(out / "email_test.csv")) == 600
    bad = runner.invoke(app, ["simulate-email", "--out", str(out), "--customers", "10"])
    assert bad.exit_code != 0 and "customers" in bad.output
