"""The campaign simulator must write a consistent CRM/POS export whose planted uplift an
independent, naive-but-correct pandas analysis recovers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from liftlab.simulate.campaigns import (
    BOUNDARY_COLUMNS,
    CATEGORIES,
    TABLE_COLUMNS,
    TRUTH_COLUMNS,
    CampaignSimulationConfig,
    CampaignSpec,
    default_campaigns,
    simulate_campaigns,
    write_campaigns,
)
from strategies.errors import ConfigError

ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"


@pytest.fixture(scope="module")
def result():
    return simulate_campaigns()


def _window_spend(tables: dict[str, pd.DataFrame], window_days: int) -> pd.DataFrame:
    """Spend per campaign x contacted customer x category inside [send_at, send_at + window),
    zero-filled, computed from the raw strings only (the independent reference analysis)."""
    campaigns = tables["campaigns"].assign(
        send=lambda d: pd.to_datetime(d["send_at"], utc=True, format="ISO8601")
    )
    tx = tables["transactions"].assign(
        at=lambda d: pd.to_datetime(d["transaction_at"], utc=True, format="ISO8601")
    )
    assigned = tables["assignments"].merge(campaigns[["campaign_id", "send"]], on="campaign_id")
    joined = assigned.merge(tx, on="customer_id")
    window = pd.Timedelta(days=window_days)
    inside = joined[(joined["at"] >= joined["send"]) & (joined["at"] < joined["send"] + window)]
    spend = inside.groupby(["campaign_id", "customer_id", "category"])["amount"].sum()
    full = pd.MultiIndex.from_tuples(
        [
            (c, u, cat)
            for c, u in zip(assigned["campaign_id"], assigned["customer_id"], strict=True)
            for cat in CATEGORIES
        ],
        names=["campaign_id", "customer_id", "category"],
    )
    spend = spend.reindex(full, fill_value=0.0).rename("spend").reset_index()
    return spend.merge(assigned[["campaign_id", "customer_id", "group"]], how="left")


def test_schemas_and_dtypes(result) -> None:
    tables = result.tables
    assert set(tables) == set(TABLE_COLUMNS)
    for name, columns in TABLE_COLUMNS.items():
        frame = tables[name]
        assert tuple(frame.columns) == columns, name
        for column in columns:
            if column in ("amount", "cost_per_contact", "control_share"):
                assert frame[column].dtype == np.float64
            else:
                assert pd.api.types.is_string_dtype(frame[column]), (name, column)
            assert frame[column].notna().all(), (name, column)
    assert tuple(result.truth.columns) == TRUTH_COLUMNS
    assert tuple(result.boundary_cases.columns) == BOUNDARY_COLUMNS
    assert result.boundary_cases["expected_in_window"].dtype == bool

    profiles = tables["profiles"]
    assert len(profiles) == 20_000 and profiles["customer_id"].is_unique
    assert profiles["customer_id"].str.fullmatch(r"U\d{6}").all()
    assert profiles["signup_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(profiles["segment"]) == {"member", "casual"}
    campaigns = tables["campaigns"]
    assert list(campaigns["campaign_id"]) == ["C01", "C02", "C03", "C04"]
    assert set(campaigns["channel"]) <= {"email", "sms"}
    assert campaigns["send_at"].str.fullmatch(r".*T\d{2}:\d{2}:\d{2}\+00:00").all()
    tx = tables["transactions"]
    assert tx["transaction_id"].is_unique
    assert (tx["amount"] > 0).all()
    assert np.allclose(tx["amount"], tx["amount"].round(2))
    assert set(tx["category"]) == set(CATEGORIES)
    assert set(tx["customer_id"]) <= set(profiles["customer_id"])


def test_assignments(result) -> None:
    assignments = result.tables["assignments"]
    assert not assignments.duplicated(["customer_id", "campaign_id"]).any()
    assert set(assignments["group"]) == {"target", "control"}
    counts = assignments.groupby(["campaign_id", "group"]).size().unstack()
    truth = result.truth.drop_duplicates("campaign_id").set_index("campaign_id")
    assert (counts["target"] == truth["n_target"]).all()
    assert (counts["control"] == truth["n_control"]).all()
    for spec in default_campaigns():
        assert counts.loc[spec.campaign_id, "control"] == round(
            spec.control_share * spec.n_contacts
        )
    # Customers are in several campaigns.
    assert assignments["customer_id"].value_counts().max() >= 2


def test_deterministic_for_a_seed() -> None:
    small = CampaignSimulationConfig(n_customers=3_000, seed=11)
    first, again = simulate_campaigns(small), simulate_campaigns(small)
    for name in TABLE_COLUMNS:
        pd.testing.assert_frame_equal(first.tables[name], again.tables[name])
    pd.testing.assert_frame_equal(first.truth, again.truth)
    pd.testing.assert_frame_equal(first.boundary_cases, again.boundary_cases)
    other = simulate_campaigns(CampaignSimulationConfig(n_customers=3_000, seed=12))
    assert not other.tables["transactions"]["amount"].equals(first.tables["transactions"]["amount"])


def test_funnel_is_nested_and_controls_have_no_events(result) -> None:
    inter = result.tables["interactions"]
    assignments = result.tables["assignments"]
    keyed = inter.merge(assignments, on=["customer_id", "campaign_id"], how="left")
    assert (keyed["group"] == "target").all()  # no control (and no unassigned) customer
    targets = assignments[assignments["group"] == "target"]
    sets = {
        event: set(zip(frame["customer_id"], frame["campaign_id"], strict=True))
        for event, frame in inter.groupby("event")
    }
    assert sets["sent"] == set(zip(targets["customer_id"], targets["campaign_id"], strict=True))
    assert sets["opened"] <= sets["sent"]
    assert sets["clicked"] <= sets["opened"]
    assert 0 < len(sets["clicked"]) < len(sets["opened"]) < len(sets["sent"])
    first = (
        inter.assign(at=pd.to_datetime(inter["event_at"], utc=True, format="ISO8601"))
        .groupby(["customer_id", "campaign_id", "event"])["at"]
        .min()
        .unstack()
    )
    opened = first["opened"].notna()
    assert (first.loc[opened, "opened"] > first.loc[opened, "sent"]).all()
    clicked = first["clicked"].notna()
    assert (first.loc[clicked, "clicked"] > first.loc[clicked, "opened"]).all()
    assert inter["event_at"].str.endswith("+00:00").all()


def test_duplicates_and_reopens_at_the_configured_share(result) -> None:
    inter = result.tables["interactions"]
    n_dup = int(inter.duplicated().sum())
    n_unique = len(inter) - n_dup
    assert n_dup == result.manifest["injected"]["interaction_exact_duplicates"]
    assert n_dup == round(0.02 * n_unique)
    opens = inter[inter["event"] == "opened"].drop_duplicates()
    reopened = opens.groupby(["customer_id", "campaign_id"]).size()
    n_openers = len(reopened)
    assert (reopened > 1).sum() == result.manifest["injected"]["interaction_reopens"]
    assert 0.10 < (reopened > 1).sum() / n_openers < 0.20  # reopen_share = 0.15
    assert reopened.max() == 2


def test_local_offsets_follow_daylight_saving(result) -> None:
    at = result.tables["transactions"]["transaction_at"]
    assert at.str.fullmatch(ISO_WITH_OFFSET).all()
    offsets = at.str[-6:]
    assert set(offsets) == {"+01:00", "+02:00"}
    # The local wall-clock string must be the Europe/Berlin rendering of the instant.
    sample = at.iloc[::997]
    instants = pd.to_datetime(sample, utc=True, format="ISO8601")
    local = instants.dt.tz_convert("Europe/Berlin")
    rendered = local.dt.strftime("%Y-%m-%dT%H:%M:%S") + sample.str[-6:]
    assert (rendered == sample).all()
    summer = instants.dt.month.isin([6, 7, 8])
    assert (sample[summer].str.endswith("+02:00")).all()
    winter = instants.dt.month.isin([1, 2, 12])
    assert (sample[winter].str.endswith("+01:00")).all()


def test_truth_table(result) -> None:
    truth = result.truth
    assert len(truth) == 4 * len(CATEGORIES)
    tickets = truth[truth["category"] == "tickets"].set_index("campaign_id")
    assert tickets["true_incremental_spend_per_customer"].to_dict() == {
        "C01": 4.0,
        "C02": 0.0,
        "C03": 2.5,
        "C04": 6.0,
    }
    assert (truth["true_incremental_spend_per_customer"] < 0).any()
    assert (truth["window_days"] == 10).all()
    assert truth["true_control_spend_per_customer"].gt(0).all()
    assert np.allclose(
        truth["true_target_spend_per_customer"] - truth["true_control_spend_per_customer"],
        truth["true_incremental_spend_per_customer"],
    )


def test_boundary_cases_are_on_the_stated_side(result) -> None:
    cases = result.boundary_cases
    assert len(cases) == 4 * 2 * 5
    assert cases["expected_in_window"].any() and (~cases["expected_in_window"]).any()
    assert cases.groupby(["campaign_id", "group"]).size().eq(5).all()
    tx = result.tables["transactions"].set_index("transaction_id")
    assert (tx.loc[cases["transaction_id"], "customer_id"].to_numpy() == cases["customer_id"]).all()
    assert (
        tx.loc[cases["transaction_id"], "transaction_at"].to_numpy() == cases["transaction_at"]
    ).all()
    assignments = result.tables["assignments"]
    merged = cases.merge(assignments, on=["customer_id", "campaign_id"], suffixes=("", "_a"))
    assert len(merged) == len(cases) and (merged["group"] == merged["group_a"]).all()
    send = (
        result.tables["campaigns"]
        .set_index("campaign_id")["send_at"]
        .pipe(pd.to_datetime, utc=True, format="ISO8601")
    )
    at = pd.to_datetime(cases["transaction_at"], utc=True, format="ISO8601")
    start = cases["campaign_id"].map(send)
    end = start + pd.Timedelta(days=10)
    inside = (at >= start) & (at < end)
    assert (inside == cases["expected_in_window"]).all()
    # Each case sits exactly where its name says, relative to send_at and the window end.
    from_send = (at - start).dt.total_seconds()
    from_end = (at - end).dt.total_seconds()
    expected = {
        "before_send": (from_send, -1),
        "at_send": (from_send, 0),
        "last_second": (from_end, -1),
        "at_window_end": (from_end, 0),
        "after_window_end": (from_end, 1),
    }
    for case, (offset, seconds) in expected.items():
        assert (offset[cases["case"] == case] == seconds).all(), case


def test_zero_spend_is_common_and_pre_spend_predicts_post(result) -> None:
    spend = _window_spend(result.tables, 10)
    per_customer = spend.groupby(["campaign_id", "customer_id"])["spend"].sum()
    assert (per_customer == 0).mean() > 0.5
    # CUPED needs the pre-period: spend in the 60 days before C03 vs C03's window, controls only.
    tx = result.tables["transactions"].assign(
        at=lambda d: pd.to_datetime(d["transaction_at"], utc=True, format="ISO8601")
    )
    send = pd.Timestamp("2026-07-07T16:00:00+00:00")
    pre = tx[(tx["at"] >= send - pd.Timedelta(days=60)) & (tx["at"] < send)]
    pre = pre.groupby("customer_id")["amount"].sum()
    c03 = spend[(spend["campaign_id"] == "C03") & (spend["group"] == "control")]
    post = c03.groupby("customer_id")["spend"].sum()
    corr = np.corrcoef(pre.reindex(post.index, fill_value=0.0), post)[0, 1]
    assert corr > 0.2


def test_welch_intervals_cover_the_planted_uplift() -> None:
    """Across 20 seeds the true uplift (and the analytic control spend) lie inside the Welch 95%
    interval of an independent pandas analysis in >= 85% of campaign x category cells."""
    hits, control_hits, cells = 0, 0, 0
    for seed in range(20):
        sim = simulate_campaigns(CampaignSimulationConfig(n_customers=4_000, seed=seed))
        truth = sim.truth.set_index(["campaign_id", "category"])
        spend = _window_spend(sim.tables, 10)
        for (campaign_id, category), cell in spend.groupby(["campaign_id", "category"]):
            target = cell.loc[cell["group"] == "target", "spend"].to_numpy()
            control = cell.loc[cell["group"] == "control", "spend"].to_numpy()
            row = truth.loc[(campaign_id, category)]
            assert len(target) == row["n_target"] and len(control) == row["n_control"]
            ci = stats.ttest_ind(target, control, equal_var=False).confidence_interval(0.95)
            hits += ci.low <= row["true_incremental_spend_per_customer"] <= ci.high
            ci_c = stats.ttest_1samp(control, 0.0).confidence_interval(0.95)
            control_hits += ci_c.low <= row["true_control_spend_per_customer"] <= ci_c.high
            cells += 1
    assert cells == 20 * 4 * len(CATEGORIES)
    assert hits / cells >= 0.85, f"uplift coverage {hits}/{cells}"
    assert control_hits / cells >= 0.85, f"control-spend coverage {control_hits}/{cells}"


def test_large_sample_estimates_are_close_to_the_truth(result) -> None:
    spend = _window_spend(result.tables, 10)
    means = spend.groupby(["campaign_id", "category", "group"])["spend"].mean().unstack()
    truth = result.truth.set_index(["campaign_id", "category"])
    diff = (means["target"] - means["control"]).reindex(truth.index)
    assert np.allclose(diff, truth["true_incremental_spend_per_customer"], atol=1.5)
    # The signs of the clear effects are recovered.
    assert diff.loc[("C04", "tickets")] > 3 and diff.loc[("C01", "tickets")] > 2


def test_write_campaigns_round_trip(result, tmp_path) -> None:
    paths = write_campaigns(result, tmp_path / "crm")
    assert set(paths) == {*TABLE_COLUMNS, "truth", "boundary_cases", "manifest"}
    for name, columns in TABLE_COLUMNS.items():
        back = pd.read_csv(paths[name], dtype=str)
        assert tuple(back.columns) == columns
        assert len(back) == len(result.tables[name])
    tx = pd.read_csv(paths["transactions"], dtype={"transaction_at": str})
    assert (tx["transaction_at"] == result.tables["transactions"]["transaction_at"]).all()
    boundary = pd.read_csv(paths["boundary_cases"])
    assert boundary["expected_in_window"].dtype == bool
    truth = pd.read_csv(paths["truth"])
    assert tuple(truth.columns) == TRUTH_COLUMNS
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["seed"] == 42
    assert manifest["config"]["window_days"] == 10
    assert len(manifest["config"]["campaigns"]) == 4


def _spec(**overrides) -> CampaignSpec:
    kwargs = {
        "campaign_id": "X1",
        "name": "test",
        "channel": "email",
        "send_at": "2026-05-05T09:00:00+00:00",
        "n_contacts": 100,
    }
    return CampaignSpec(**{**kwargs, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"control_share": 1.5}, "control_share must be a number strictly between 0 and 1"),
        ({"control_share": 0.0}, "control_share must be a number strictly between 0 and 1"),
        ({"control_share": 0.001}, "both groups need at least one"),
        ({"cost_per_contact": -0.1}, "cost_per_contact must be a non-negative number"),
        ({"uplift_per_customer": {"popcorn": 1.0}}, r"unknown categories \['popcorn'\]"),
        ({"channel": "fax"}, "channel must be one of"),
        ({"open_rate": 1.2}, r"open_rate must be a probability in \[0, 1\]"),
        ({"send_at": "not a date"}, "send_at must be a datetime or an ISO-8601 string"),
        ({"n_contacts": 1}, "n_contacts must be an integer >= 2"),
    ],
)
def test_bad_campaign_spec_is_a_config_error(overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _spec(**overrides)


def test_bad_simulation_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="exceeds n_customers"):
        CampaignSimulationConfig(n_customers=50, campaigns=(_spec(),))
    with pytest.raises(ConfigError, match="must not overlap"):
        CampaignSimulationConfig(
            campaigns=(_spec(), _spec(campaign_id="X2", send_at="2026-05-10T09:00:00+00:00"))
        )
    with pytest.raises(ConfigError, match="campaign ids must be unique"):
        CampaignSimulationConfig(campaigns=(_spec(), _spec(send_at="2026-08-10T09:00:00+00:00")))
    with pytest.raises(ConfigError, match="strictly inside the simulated period"):
        CampaignSimulationConfig(campaigns=(_spec(send_at="2027-06-01T09:00:00+00:00"),))
    with pytest.raises(ConfigError, match="cannot remove more than all of it"):
        CampaignSimulationConfig(campaigns=(_spec(uplift_per_customer={"tickets": -50.0}),))
    with pytest.raises(ConfigError, match="unknown categories"):
        CampaignSimulationConfig(amount_mean={"tickets": 20.0, "concessions": 8.0, "merch": 5.0})
    with pytest.raises(ConfigError, match="local_timezone"):
        CampaignSimulationConfig(local_timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="duplicate_share"):
        CampaignSimulationConfig(duplicate_share=1.5)
    # Naive datetimes mean UTC; a valid custom config simulates.
    ok = CampaignSimulationConfig(
        n_customers=500, campaigns=(_spec(send_at="2026-05-05 09:00"),), seed=3
    )
    sim = simulate_campaigns(ok)
    assert sim.tables["campaigns"]["send_at"].iloc[0] == "2026-05-05T09:00:00+00:00"
    assert len(sim.truth) == len(CATEGORIES)
