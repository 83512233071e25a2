"""Campaign uplift domain: bronze parsing, the silver attribution window (hand-made tables with
boundary cases and time zones), gold statistics, and recovery of the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from liftlab.simulate.campaigns import (
    CampaignSimulationConfig,
    simulate_campaigns,
    write_campaigns,
)
from strategies.campaign_uplift import (
    CampaignOptions,
    bronze_rules,
    build_bronze,
    build_silver,
    summarise_campaigns,
)
from strategies.errors import ConfigError, InputDataError
from strategies.validation import validate

TABLES = ("campaigns", "profiles", "assignments", "interactions", "transactions")
SEND = "2026-03-01T10:00:00+00:00"


def _write(folder: Path, frames: dict[str, pd.DataFrame]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _tiny(transaction_times: list[str], *, extra: dict | None = None) -> dict[str, pd.DataFrame]:
    """One campaign, targets t1/t2 and controls c1/c2; t1 buys at the given instants with
    amounts 1, 2, 4, 8, … so the window sum says exactly which purchases counted."""
    amounts = [2.0**i for i in range(len(transaction_times))]
    frames = {
        "campaigns": pd.DataFrame(
            {
                "campaign_id": ["K1"],
                "campaign_name": ["Spring"],
                "channel": ["Email"],
                "send_at": [SEND],
                "cost_per_contact": [0.5],
            }
        ),
        "profiles": pd.DataFrame({"customer_id": ["t1", "t2", "c1", "c2"]}),
        "assignments": pd.DataFrame(
            {
                "customer_id": ["t1", "t2", "c1", "c2"],
                "campaign_id": ["K1"] * 4,
                "group": ["target", "Target ", "control", "control"],
            }
        ),
        "interactions": pd.DataFrame(
            {
                "customer_id": ["t1", "t1", "t1", "t1", "t2"],
                "campaign_id": ["K1"] * 5,
                "event": ["sent", "opened", "opened", "opened", "sent"],
                "event_at": [
                    SEND,
                    "2026-03-01T11:00:00Z",
                    "2026-03-01T11:00:00Z",
                    "2026-03-02T08:00:00Z",
                    SEND,
                ],
            }
        ),  # fmt: skip
        "transactions": pd.DataFrame(
            {
                "transaction_id": [f"x{i}" for i in range(len(transaction_times))] + ["y1"],
                "customer_id": ["t1"] * len(transaction_times) + ["c1"],
                "transaction_at": [*transaction_times, "2026-03-05T12:00:00+00:00"],
                "amount": [*amounts, 3.0],
                "category": ["tickets"] * len(transaction_times) + ["tickets"],
            }
        ),
    }
    for name, frame in (extra or {}).items():
        frames[name] = frame
    return frames


def _silver(tmp_path: Path, frames, *, window_days: int = 10, tz: str = "UTC"):
    tables, _ = build_bronze(_write(tmp_path, frames), naive_timezone=tz)
    return tables, build_silver(tables, window_days=window_days, pre_window_days=30)


def test_window_is_half_open_to_the_second(tmp_path) -> None:
    times = [
        "2026-03-01T09:59:59+00:00",  # 1 s before the send: pre-period, not in the window
        "2026-03-01T10:00:00+00:00",  # exactly at the send: in
        "2026-03-11T09:59:59+00:00",  # last second of the 10-day window: in
        "2026-03-11T10:00:00+00:00",  # exactly at the end: out
        "2026-03-11T10:00:01+00:00",  # one second after the end: out
    ]
    _, silver = _silver(tmp_path, _tiny(times))
    row = silver.outcomes.set_index("customer_id").loc["t1"]
    assert row["spend__all"] == 2 + 4
    assert row["pre_spend__all"] == 1
    assert row["converted__all"] == 1
    assert row["transactions__all"] == 2


def test_offsets_and_naive_timestamps_are_instants(tmp_path) -> None:
    # the same instants as above, written in Berlin local time (+01:00 in March) ...
    local = [
        "2026-03-01T10:59:59+01:00",
        "2026-03-01T11:00:00+01:00",
        "2026-03-11T10:59:59+01:00",
        "2026-03-11T11:00:00+01:00",
    ]
    _, silver = _silver(tmp_path / "a", _tiny(local))
    assert silver.outcomes.set_index("customer_id").loc["t1", "spend__all"] == 2 + 4
    # ... and without an offset, read in the configured zone
    naive = [t.removesuffix("+01:00") for t in local]
    _, silver = _silver(tmp_path / "b", _tiny(naive), tz="Europe/Berlin")
    assert silver.outcomes.set_index("customer_id").loc["t1", "spend__all"] == 2 + 4
    # read as UTC instead, every naive time moves one hour later: a different answer
    _, silver = _silver(tmp_path / "c", _tiny(naive), tz="UTC")
    assert silver.outcomes.set_index("customer_id").loc["t1", "spend__all"] == 1 + 2


def test_customers_without_purchases_count_as_zero_and_engagement_is_unique(tmp_path) -> None:
    tables, silver = _silver(tmp_path, _tiny(["2026-03-02T10:00:00+00:00"]))
    out = silver.outcomes.set_index("customer_id")
    assert set(out.index) == {"t1", "t2", "c1", "c2"}
    assert out.loc["t2", "spend__all"] == 0 and out.loc["c2", "spend__all"] == 0
    assert out.loc["t2", "converted__all"] == 0
    assert not out[["spend__all", "spend__tickets", "pre_spend__all"]].isna().any().any()
    assert out.loc["t1", "opened"] == 1 and out.loc["t1", "sent"] == 1  # 3 opens → 1
    assert out.loc["t2", "opened"] == 0
    assert out.loc["t2", "group"] == "target"  # "Target " standardised in bronze
    assert tables["campaigns"].loc[0, "channel"] == "email"


def test_ambiguous_assignments_are_excluded_and_contamination_is_counted(tmp_path) -> None:
    frames = _tiny(["2026-03-02T10:00:00+00:00"])
    frames["assignments"] = pd.concat(
        [
            frames["assignments"],
            pd.DataFrame(
                {
                    "customer_id": ["t2", "c1"],
                    "campaign_id": ["K1", "K1"],
                    "group": ["control", "control"],  # t2 in both groups; c1 duplicated
                }
            ),
        ]
    )
    frames["interactions"] = pd.concat(
        [
            frames["interactions"],
            pd.DataFrame(
                {
                    "customer_id": ["c2"],
                    "campaign_id": ["K1"],
                    "event": ["sent"],
                    "event_at": [SEND],
                }
            ),  # fmt: skip
        ]
    )
    _, silver = _silver(tmp_path, frames)
    assert "t2" not in set(silver.outcomes["customer_id"])
    assert (silver.outcomes["customer_id"] == "c1").sum() == 1
    assert silver.audit["ambiguous_assignments_excluded"] == {"K1": 1}
    assert silver.audit["contaminated_controls"] == {"K1": 1}


def test_events_before_the_send_do_not_count(tmp_path) -> None:
    frames = _tiny([])
    frames["interactions"] = pd.DataFrame(
        {"customer_id": ["t1", "t1"], "campaign_id": ["K1", "K1"], "event": ["sent", "opened"],
         "event_at": [SEND, "2026-02-28T10:00:00Z"]}
    )  # fmt: skip
    _, silver = _silver(tmp_path, frames)
    assert silver.outcomes.set_index("customer_id").loc["t1", "opened"] == 0


@pytest.mark.parametrize(
    ("table", "change", "error", "needle"),
    [
        ("transactions", lambda d: d.drop(columns=["amount"]), InputDataError, "amount"),
        (
            "transactions",
            lambda d: d.assign(transaction_at=["yesterday"] * len(d)),
            InputDataError,
            "'yesterday'",
        ),
        ("transactions", lambda d: d.assign(amount=["12,50"] * len(d)), InputDataError, "12,50"),
        (
            "assignments",
            lambda d: d.assign(campaign_id=["K9"] * len(d)),
            InputDataError,
            "K9",
        ),
        ("assignments", lambda d: d.assign(group=["target"] * len(d)), InputDataError, "control"),
    ],
)
def test_bad_input_names_the_problem(tmp_path, table, change, error, needle) -> None:
    frames = _tiny(["2026-03-02T10:00:00+00:00"])
    frames[table] = change(frames[table])
    with pytest.raises(error, match=needle):
        _silver(tmp_path, frames)


def test_unknown_or_missing_tables_and_zones_are_config_errors(tmp_path) -> None:
    paths = _write(tmp_path, _tiny([]))
    with pytest.raises(ConfigError, match="orders"):
        build_bronze({**paths, "orders": paths["campaigns"]})
    with pytest.raises(ConfigError, match="profiles"):
        build_bronze({k: v for k, v in paths.items() if k != "profiles"})
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        build_bronze(paths, naive_timezone="Mars/Olympus")


def test_bronze_suites_catch_value_problems(tmp_path) -> None:
    frames = _tiny(["2026-03-02T10:00:00+00:00"])
    frames["transactions"].loc[0, "amount"] = -5.0
    frames["interactions"].loc[0, "event"] = "bounced"
    tables, _ = build_bronze(_write(tmp_path, frames))
    bad_amount = validate(tables["transactions"], bronze_rules("transactions"))
    assert not bad_amount.success
    bad_event = validate(tables["interactions"], bronze_rules("interactions"))
    assert any("bounced" in str(o.unexpected_examples) for o in bad_event.outcomes)
    assert validate(tables["campaigns"], bronze_rules("campaigns")).success


# -- gold --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaigns")
    result = simulate_campaigns(CampaignSimulationConfig(n_customers=6000, seed=5))
    files = write_campaigns(result, folder)
    tables, _ = build_bronze({t: files[t] for t in TABLES})
    silver = build_silver(tables, window_days=10, pre_window_days=30)
    summary, funnel, tests = summarise_campaigns(
        silver.outcomes, tables["campaigns"], silver.categories, CampaignOptions()
    )
    return result, silver, tables, summary, funnel


def test_gold_matches_an_independent_welch_computation(simulated) -> None:
    result, silver, tables, _, _ = simulated
    summary, _, _ = summarise_campaigns(
        silver.outcomes, tables["campaigns"], silver.categories, CampaignOptions(cuped=False)
    )
    row = summary[(summary["campaign_id"] == "C01") & (summary["category"] == "tickets")].iloc[0]
    sub = silver.outcomes[silver.outcomes["campaign_id"] == "C01"]
    t = sub.loc[sub["group"] == "target", "spend__tickets"]
    c = sub.loc[sub["group"] == "control", "spend__tickets"]
    welch = stats.ttest_ind(t, c, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert row["incremental_spend_per_customer"] == pytest.approx(t.mean() - c.mean())
    assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-6)
    assert row["incremental_spend_ci_low"] == pytest.approx(ci.low, rel=1e-6)
    assert row["incremental_spend_ci_high"] == pytest.approx(ci.high, rel=1e-6)
    # revenue and ROI follow from the per-customer effect and the cost
    n_t = len(t)
    assert row["incremental_revenue"] == pytest.approx(n_t * row["incremental_spend_per_customer"])
    cost = row["cost_per_contact"] * n_t
    assert row["campaign_cost"] == pytest.approx(cost)
    assert row["roi"] == pytest.approx((row["incremental_revenue"] - cost) / cost)
    assert row["roi_ci_low"] == pytest.approx((ci.low * n_t - cost) / cost, rel=1e-6)


def test_cuped_reduces_variance_and_sizes_match_the_truth(simulated) -> None:
    result, _, _, summary, funnel = simulated
    overall = summary[summary["category"] == "all"].set_index("campaign_id")
    assert (overall["variance_reduction"] > 0.05).all()
    truth = result.truth.groupby("campaign_id")[["n_target", "n_control"]].first()
    assert overall["n_target"].to_dict() == truth["n_target"].to_dict()
    assert overall["n_control"].to_dict() == truth["n_control"].to_dict()
    assert not overall["srm_detected"].any()  # planned shares come from the campaigns table
    c01 = funnel[(funnel["campaign_id"] == "C01") & (funnel["group"] == "target")]
    counts = c01.set_index("stage")["customers"]
    assert counts["assigned"] >= counts["sent"] >= counts["opened"] >= counts["clicked"]
    assert set(funnel.loc[funnel["group"] == "control", "stage"]) == {"assigned", "purchased"}


def test_window_boundary_cases_of_the_simulator(simulated) -> None:
    result, silver, tables, _, _ = simulated
    cases = result.boundary_cases
    tx = tables["transactions"].set_index("transaction_id")
    sends = tables["campaigns"].set_index("campaign_id")["send_at"]
    for case in cases.itertuples(index=False):
        at = tx.loc[case.transaction_id, "transaction_at"]
        send = sends[case.campaign_id]
        inside = send <= at < send + pd.Timedelta(days=10)
        assert inside == case.expected_in_window, case


def test_truth_is_recovered_within_the_ci_in_most_seeds(tmp_path) -> None:
    covered, cells = 0, 0
    for seed in range(20):
        result = simulate_campaigns(CampaignSimulationConfig(n_customers=3000, seed=100 + seed))
        files = write_campaigns(result, tmp_path / str(seed))
        tables, _ = build_bronze({t: files[t] for t in TABLES})
        silver = build_silver(tables, window_days=10, pre_window_days=30)
        summary, _, _ = summarise_campaigns(
            silver.outcomes, tables["campaigns"], silver.categories, CampaignOptions()
        )
        merged = summary.merge(result.truth, on=["campaign_id", "category"])
        assert len(merged) == len(result.truth)
        truth = merged["true_incremental_spend_per_customer"]
        inside = (merged["incremental_spend_ci_low"] <= truth) & (
            truth <= merged["incremental_spend_ci_high"]
        )
        covered += int(inside.sum())
        cells += len(merged)
    assert covered / cells >= 0.90, f"coverage {covered}/{cells}"


def test_options_validate_shares_and_windows() -> None:
    with pytest.raises(ConfigError, match="window_days"):
        CampaignOptions(window_days=0)
    with pytest.raises(ConfigError, match="C9"):
        CampaignOptions(control_shares={"C9": 1.5})
    shares = CampaignOptions(control_shares={"K1": 0.3}).planned_shares(
        pd.DataFrame({"campaign_id": ["K1", "K2", "K3"], "control_share": ["", "0.25", None]})
    )
    assert shares == {"K1": 0.3, "K2": 0.25, "K3": 0.2}
    assert np.isclose(sum(shares.values()), 0.75)


def test_bronze_refuses_a_column_named_twice(tmp_path) -> None:
    result = simulate_campaigns(CampaignSimulationConfig(n_customers=500, seed=2))
    files = write_campaigns(result, tmp_path)
    path = files["transactions"]
    lines = Path(path).read_text().splitlines()
    header = lines[0].split(",")
    lines = [f"{line},{line.split(',')[-1]}" for line in lines]
    lines[0] = ",".join([*header, header[-1]])
    Path(path).write_text("\n".join(lines) + "\n")
    with pytest.raises(
        InputDataError, match=rf"transactions: .*duplicate column name.*{header[-1]}"
    ):
        build_bronze({t: files[t] for t in TABLES})
