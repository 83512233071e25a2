"""The e-commerce simulator must write the tables of the growth data contract, plant the mess it
reports at the stated rates, and plant effects and personas that an independent pandas/sklearn
analysis of the written tables recovers (by simulation, not by reading the generator's numbers
back)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.simulate.ecommerce import (
    DEVICES,
    METRICS,
    PERSONAS,
    TABLE_COLUMNS,
    TRUTH_EFFECT_COLUMNS,
    TRUTH_PERSONA_COLUMNS,
    EcommerceSimulationConfig,
    ExperimentSpec,
    assign_variants,
    default_experiments,
    simulate_ecommerce,
    write_ecommerce,
)
from strategies.errors import ConfigError

ISO_UTC = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00"
FLAGS = ("clicked", "added_to_cart", "purchased")
START = pd.Timestamp("2026-03-02T00:00:00+00:00")
FILES = {
    "users.csv",
    "experiments.csv",
    "sessions.csv",
    "exposures.csv",
    "orders.csv",
    "truth_personas.csv",
    "truth_effects.csv",
    "truth.json",
}


@pytest.fixture(scope="module")
def result():
    return simulate_ecommerce()


def _ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _analysis_table(sim) -> pd.DataFrame:
    """One row per experiment x assigned user with post-exposure session counts, built from the
    raw tables under the contract's rules (the independent reference analysis)."""
    experiments = sim.experiments.assign(start=_ts(sim.experiments["start_at"]))
    experiments["end"] = _ts(experiments["end_at"])
    sessions = sim.sessions.assign(at=_ts(sim.sessions["started_at"]))
    exposures = sim.exposures.drop_duplicates().merge(
        sessions[["session_id", "user_id"]], on="session_id"
    )
    exposures["at"] = _ts(exposures["exposed_at"])
    exposures = exposures.merge(experiments[["experiment_id", "start", "end"]], on="experiment_id")
    exposures = exposures[
        (exposures["at"] >= exposures["start"]) & (exposures["at"] < exposures["end"])
    ]
    users = (
        exposures.groupby(["experiment_id", "user_id"])
        .agg(
            first=("at", "min"),
            arms=("variant", "nunique"),
            variant=("variant", "first"),
            end=("end", "first"),
        )
        .reset_index()
    )
    users = users[users["arms"] == 1]
    joined = users.merge(sessions.drop(columns="session_id"), on="user_id")
    joined = joined[(joined["at"] >= joined["first"]) & (joined["at"] < joined["end"])]
    counts = (
        joined.assign(**{flag: joined[flag].fillna(0).astype(int) for flag in FLAGS})
        .groupby(["experiment_id", "user_id"])
        .agg(
            sessions=("at", "size"),
            clicks=("clicked", "sum"),
            carts=("added_to_cart", "sum"),
            purchases=("purchased", "sum"),
        )
        .reset_index()
    )
    table = users.merge(counts, on=["experiment_id", "user_id"], how="left")
    table[["sessions", "clicks", "carts", "purchases"]] = (
        table[["sessions", "clicks", "carts", "purchases"]].fillna(0).astype(int)
    )
    return table.merge(sim.truth_personas, on="user_id")


def _persona_features(sim) -> pd.DataFrame:
    """The contract's persona features (rows strictly before the feature cutoff), computed
    from the raw tables."""
    cutoff = _ts(sim.experiments["start_at"]).min()
    orders = sim.orders.assign(at=_ts(sim.orders["ordered_at"]))
    orders = orders[orders["at"] < cutoff]
    orders = orders.assign(
        net=orders["amount"] - orders["discount"], discounted=(orders["discount"] > 0) * 1.0
    )
    by_user = orders.groupby("user_id").agg(
        last=("at", "max"),
        frequency=("at", "size"),
        monetary=("net", "mean"),
        discount_share=("discounted", "mean"),
    )
    users = sim.users.set_index("user_id")
    by_user = by_user.reindex(users.index)
    features = pd.DataFrame(index=users.index)
    pre_days = sim.truth["config"]["pre_period_days"]
    features["recency_days"] = ((cutoff - by_user["last"]).dt.total_seconds() / 86_400).fillna(
        pre_days + 1
    )
    features["frequency"] = by_user["frequency"].fillna(0)
    features["monetary"] = by_user["monetary"].fillna(0.0)
    features["discount_share"] = by_user["discount_share"].fillna(0.0)
    features["tenure_days"] = (cutoff - _ts(users["signup_at"])).dt.total_seconds() / 86_400
    for device in DEVICES:
        features[f"device_{device}"] = (users["device"] == device) * 1.0
    features["has_history"] = (features["frequency"] > 0) * 1.0
    return features


# --------------------------------------------------------------------------------------------
# Schema and consistency of the tables
# --------------------------------------------------------------------------------------------


def test_tables_follow_the_contract(result) -> None:
    tables = result.tables
    assert set(tables) == set(TABLE_COLUMNS)
    for name, columns in TABLE_COLUMNS.items():
        assert tuple(tables[name].columns) == columns, name
    assert tuple(result.truth_personas.columns) == TRUTH_PERSONA_COLUMNS
    assert tuple(result.truth_effects.columns) == TRUTH_EFFECT_COLUMNS

    users = result.users
    assert len(users) == 8_000 and users["user_id"].is_unique
    assert users["user_id"].str.fullmatch(r"U\d{6}").all()
    assert users["signup_at"].str.fullmatch(ISO_UTC).all()
    assert (_ts(users["signup_at"]) < START).all()
    assert set(users["device"]) == set(DEVICES)
    assert users.notna().all().all()

    experiments = result.experiments
    assert list(experiments["experiment_id"]) == [f"E0{i}" for i in range(1, 9)]
    assert experiments["name"].str.fullmatch(r"[a-z][a-z0-9_]*").all()
    assert {"discount_label", "free_shipping_badge", "one_click_checkout"} <= set(
        experiments["name"]
    )
    assert (experiments["control"] == "A").all() and (experiments["treatment"] == "B").all()
    start, end = _ts(experiments["start_at"]), _ts(experiments["end_at"])
    assert (start >= START).all() and (end <= START + pd.Timedelta(days=28)).all()
    assert (start < end).all() and start.min() == START

    sessions = result.sessions
    assert sessions["session_id"].is_unique
    assert sessions["started_at"].str.fullmatch(ISO_UTC).all()
    at = _ts(sessions["started_at"])
    assert (at >= START).all() and (at < START + pd.Timedelta(days=28)).all()
    assert set(sessions["user_id"]) <= set(users["user_id"])
    for flag in FLAGS:
        assert sessions[flag].dtype == "Int64"
        assert set(sessions[flag].dropna().unique()) == {0, 1}
    # The funnel is nested wherever both flags are known.
    for upper, lower in (("clicked", "added_to_cart"), ("added_to_cart", "purchased")):
        known = sessions[upper].notna() & sessions[lower].notna()
        assert (sessions.loc[known, lower] <= sessions.loc[known, upper]).all()

    exposures = result.exposures
    assert set(exposures["variant"]) == {"A", "B"}
    assert set(exposures["experiment_id"]) == set(experiments["experiment_id"])
    assert set(exposures["session_id"]) <= set(sessions["session_id"])
    started = sessions.set_index("session_id")["started_at"]
    assert (exposures["exposed_at"].to_numpy() == started[exposures["session_id"]].to_numpy()).all()

    orders = result.orders
    assert orders["order_id"].is_unique
    assert orders["ordered_at"].str.fullmatch(ISO_UTC).all()
    assert set(orders["user_id"]) <= set(users["user_id"])
    assert orders["amount"].dtype == np.float64 and (orders["amount"] > 0).all()
    assert (orders["discount"] >= 0).all() and (orders["discount"] < orders["amount"]).all()
    assert np.allclose(orders["amount"], orders["amount"].round(2))
    ordered = _ts(orders["ordered_at"])
    assert (ordered >= START - pd.Timedelta(days=180)).all()
    # Pre-period orders are histories: no session. Session orders follow their session.
    assert orders.loc[ordered < START, "session_id"].isna().all()
    with_session = orders.dropna(subset=["session_id"]).merge(
        sessions, on="session_id", suffixes=("", "_s")
    )
    assert (with_session["user_id"] == with_session["user_id_s"]).all()
    assert (_ts(with_session["ordered_at"]) > _ts(with_session["started_at"])).all()
    assert with_session["purchased"].fillna(1).eq(1).all()
    assert with_session["session_id"].is_unique


def test_default_sizes_are_those_of_the_issue(result) -> None:
    rows = result.truth["rows"]
    assert rows == {name: len(frame) for name, frame in result.tables.items()}
    assert rows["users"] == 8_000 and rows["experiments"] == 8
    assert 70_000 <= rows["sessions"] <= 90_000
    assert 27_000 <= rows["orders"] <= 35_000
    counts = result.truth_personas["persona"].value_counts()
    assert set(counts.index) == set(PERSONAS)
    assert (counts / 8_000 - pd.Series(result.truth["personas"]["shares"])).abs().max() < 0.03


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    small = EcommerceSimulationConfig(n_users=1_500, seed=11)
    first = write_ecommerce(simulate_ecommerce(small), tmp_path / "a")
    again = write_ecommerce(simulate_ecommerce(small), tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == again[name].read_bytes(), name
    other = simulate_ecommerce(EcommerceSimulationConfig(n_users=1_500, seed=12))
    assert not other.sessions["started_at"].equals(pd.read_csv(first["sessions"])["started_at"])
    assert not other.orders["amount"].equals(pd.read_csv(first["orders"])["amount"])


def test_assignment_is_a_stable_fifty_fifty_hash(result) -> None:
    users = result.users["user_id"].to_numpy()
    variant = assign_variants(42, "E01", users)
    assert abs(variant.mean() - 0.5) < 0.02
    assert (variant == assign_variants(42, "E01", users)).all()
    # Independent across experiments and seeds.
    assert abs((variant == assign_variants(42, "E02", users)).mean() - 0.5) < 0.02
    assert abs((variant == assign_variants(43, "E01", users)).mean() - 0.5) < 0.02


# --------------------------------------------------------------------------------------------
# The mess exists at the stated rates, and truth.json counts it exactly
# --------------------------------------------------------------------------------------------


def test_mess_is_planted_at_the_stated_rates(result) -> None:
    injected = result.truth["mess"]["injected"]
    rates = result.truth["mess"]["rates"]
    sessions, exposures, orders = result.sessions, result.exposures, result.orders

    nulls = int(sessions[list(FLAGS)].isna().sum().sum())
    assert nulls == injected["null_flags"]
    cells = 3 * len(sessions)
    assert abs(nulls / cells - rates["null_flag_rate"]) < 4 * np.sqrt(0.01 * 0.99 / cells)

    n_dup = int(exposures.duplicated().sum())
    assert n_dup == injected["duplicate_exposure_rows"] > 0
    assert n_dup == round(rates["duplicate_exposure_rate"] * (len(exposures) - n_dup))

    exposed = set(exposures["session_id"])
    without = int((~sessions["session_id"].isin(exposed)).sum())
    assert without == injected["sessions_without_exposure"]
    assert 0.05 < without / len(sessions) < 0.5

    windows = result.experiments.set_index("experiment_id")
    at = _ts(exposures["exposed_at"])
    start = _ts(exposures["experiment_id"].map(windows["start_at"]))
    end = _ts(exposures["experiment_id"].map(windows["end_at"]))
    early = exposures[at < start].drop_duplicates()
    assert len(early) == injected["exposures_before_window"] > 0
    assert (at < end).all()

    inside = exposures[(at >= start) & (at < end)].drop_duplicates()
    inside = inside.merge(sessions[["session_id", "user_id"]], on="session_id")
    arms = inside.groupby(["experiment_id", "user_id"])["variant"].nunique()
    both = int((arms > 1).sum())
    assert both == injected["users_in_both_arms"] > 0
    assert len(arms) == injected["exposed_user_experiment_pairs"]
    assert both == round(rates["both_arms_rate"] * len(arms))
    # The hashed variant is the one of the user's first exposure, even for users in both arms.
    first = inside.merge(sessions[["session_id", "started_at"]], on="session_id")
    first = first.sort_values("started_at").groupby(["experiment_id", "user_id"]).first()
    for experiment_id, frame in first.groupby(level="experiment_id"):
        users = frame.index.get_level_values("user_id").to_numpy()
        hashed = np.where(assign_variants(42, str(experiment_id), users) == 1, "B", "A")
        assert (frame["variant"].to_numpy() == hashed).all()

    in_period = orders[_ts(orders["ordered_at"]) >= START]
    phone = int(in_period["session_id"].isna().sum())
    assert phone == injected["orders_without_session_in_experiment_period"] > 0
    assert abs(phone / len(in_period) - rates["phone_order_rate"]) < 0.005


# --------------------------------------------------------------------------------------------
# The truth: effects and personas, recovered from the data
# --------------------------------------------------------------------------------------------


def test_truth_effects_table(result) -> None:
    effects = result.truth_effects
    assert len(effects) == 8 * len(PERSONAS) * len(METRICS)
    assert not effects.duplicated(["experiment_id", "persona", "metric"]).any()
    assert set(effects["metric"]) == set(METRICS)
    values = effects["relative_effect"]
    assert (values > 0).any() and (values == 0).any() and (values < 0).any()
    assert (
        effects.groupby("experiment_id")["relative_effect"].apply(lambda v: (v == 0).all())
    ).any()
    purchase = effects[effects["metric"] == "purchase"]
    assert 0.15 <= purchase["relative_effect"].max() <= 0.40
    # At least one experiment helps one persona and hurts another on the same metric.
    signs = effects.groupby(["experiment_id", "metric"])["relative_effect"].agg(["min", "max"])
    both_ways = signs[(signs["min"] < 0) & (signs["max"] > 0)]
    assert ("E01", "purchase") in both_ways.index
    e01 = purchase[purchase["experiment_id"] == "E01"].set_index("persona")["relative_effect"]
    assert e01["bargain_hunter"] > 0 > e01["loyal_high_spender"]
    # truth.json's unconditional per-session lifts are the products of the stages.
    rates = pd.DataFrame(result.truth["session_rate_effects"]).set_index(
        ["experiment_id", "persona"]
    )
    stage = effects.pivot_table(
        index=["experiment_id", "persona"], columns="metric", values="relative_effect"
    )
    product = (1 + stage["click"]) * (1 + stage["add_to_cart"]) * (1 + stage["purchase"]) - 1
    assert np.allclose(rates.loc[product.index, "purchase_rate"], product)


def test_planted_effects_are_recovered_from_the_tables() -> None:
    """On a larger simulation every experiment x persona x metric estimate (ratio of the
    conditional rates, treatment over control, among sessions after the first exposure) agrees
    with truth_effects.csv within its sampling error. Session outcomes are independent given
    persona and arm in the generating model, so the binomial standard error of a log ratio is
    the right yardstick."""
    sim = simulate_ecommerce(EcommerceSimulationConfig(n_users=24_000, seed=5))
    table = _analysis_table(sim)
    sums = table.groupby(["experiment_id", "persona", "variant"])[
        ["sessions", "clicks", "carts", "purchases"]
    ].sum()
    truth = sim.truth_effects.set_index(["experiment_id", "persona", "metric"])["relative_effect"]
    stages = {
        "click": ("clicks", "sessions"),
        "add_to_cart": ("carts", "clicks"),
        "purchase": ("purchases", "carts"),
    }
    rows = []
    for (experiment_id, persona, metric), true in truth.items():
        hits, trials = stages[metric]
        a = sums.loc[(experiment_id, persona, "A")]
        b = sums.loc[(experiment_id, persona, "B")]
        p_a, p_b = a[hits] / a[trials], b[hits] / b[trials]
        se = np.sqrt((1 - p_a) / a[hits] + (1 - p_b) / b[hits])
        estimate = np.log(p_b / p_a)
        z = (estimate - np.log1p(true)) / se
        rows.append((experiment_id, persona, metric, true, np.expm1(estimate), z))
    check = pd.DataFrame(rows, columns=["experiment", "persona", "metric", "true", "est", "z"])
    assert len(check) == 96
    # Under a correct truth z is about N(0, 1): |z| > 2 in ~5 % of 96 cells, |z| > 4 never.
    assert check["z"].abs().max() < 4, check.loc[check["z"].abs().idxmax()]
    assert (check["z"].abs() > 2).mean() <= 0.12
    # The headline both-ways effect, directly: E01 purchase, +30 % vs -20 %.
    headline = check.set_index(["experiment", "persona", "metric"])["est"]
    assert abs(headline[("E01", "bargain_hunter", "purchase")] - 0.30) < 0.08
    assert abs(headline[("E01", "loyal_high_spender", "purchase")] + 0.20) < 0.08


def test_biggest_effects_are_detectable_at_the_default_size(result) -> None:
    """At 8,000 users the user-level difference in purchases per user (after first exposure)
    of the biggest per-persona purchase effects is clearly significant, in both directions."""
    table = _analysis_table(result)
    for experiment_id, persona, sign in (
        ("E01", "bargain_hunter", 1),
        ("E01", "loyal_high_spender", -1),
        ("E08", "loyal_high_spender", 1),
    ):
        cell = table[(table["experiment_id"] == experiment_id) & (table["persona"] == persona)]
        b = cell.loc[cell["variant"] == "B", "purchases"]
        a = cell.loc[cell["variant"] == "A", "purchases"]
        z = (b.mean() - a.mean()) / np.sqrt(b.var() / len(b) + a.var() / len(a))
        assert sign * z > 2.0, (experiment_id, persona, z)


def test_personas_are_separable_but_not_trivially(result) -> None:
    """k-means (k = 4, standardised contract features) recovers the latent personas with an
    adjusted Rand index of about 0.7 (measured 0.69-0.72 over seeds 1-4 and 42). The lower
    bound 0.6 is the bottom of the range the issue asks for and leaves a margin of ~0.1 (ten
    times the seed-to-seed spread); the upper bound 0.9 guards against personas so far apart
    that the clustering step would be tested on a trivial problem."""
    features = _persona_features(result)
    truth = result.truth_personas.set_index("user_id")["persona"].reindex(features.index)
    scaled = StandardScaler().fit_transform(features)
    labels = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(scaled)
    ari = adjusted_rand_score(truth, labels)
    assert 0.6 <= ari <= 0.9, ari
    # The traits the personas are named from show in the features.
    means = features.groupby(truth).mean()
    assert means["discount_share"].idxmax() == "bargain_hunter"
    assert means["monetary"].idxmax() == "loyal_high_spender"
    assert means["tenure_days"].idxmin() == "new_visitor"
    assert means["has_history"].idxmin() == "new_visitor"
    assert means.loc["new_visitor", "tenure_days"] < 60


# --------------------------------------------------------------------------------------------
# Writing, the CLI and the config
# --------------------------------------------------------------------------------------------


def test_write_ecommerce_round_trip(result, tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    paths = write_ecommerce(result, folder)
    assert {path.name for path in paths.values()} == FILES
    assert {p.name for p in folder.iterdir()} == FILES  # no staging left behind
    for name, columns in TABLE_COLUMNS.items():
        back = pd.read_csv(paths[name], dtype=str, keep_default_na=False)
        assert tuple(back.columns) == columns
        assert len(back) == len(result.tables[name])
    sessions = pd.read_csv(paths["sessions"], dtype=str, keep_default_na=False)
    assert (sessions[list(FLAGS)] == "").sum().sum() == result.truth["mess"]["injected"][
        "null_flags"
    ]
    assert set(sessions["clicked"]) == {"0", "1", ""}
    orders = pd.read_csv(paths["orders"], dtype=str, keep_default_na=False)
    assert (orders["session_id"] == "").sum() == result.orders["session_id"].isna().sum()
    effects = pd.read_csv(paths["truth_effects"])
    assert tuple(effects.columns) == TRUTH_EFFECT_COLUMNS and len(effects) == 96
    truth = json.loads(paths["truth"].read_text())
    assert truth["seed"] == 42
    assert truth["dates"]["feature_cutoff"] == "2026-03-02T00:00:00+00:00"
    assert truth["dates"]["pre_period_start"] == "2025-09-03T00:00:00+00:00"
    assert truth["personas"]["shares"]["bargain_hunter"] == 0.3
    assert truth["mess"]["rates"]["null_flag_rate"] == 0.01
    with pytest.raises(ConfigError, match="not a folder"):
        write_ecommerce(result, paths["users"])


def test_cli_simulate_ecommerce_writes_the_files(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ecommerce"
    run = runner.invoke(app, ["simulate-ecommerce", "--out", str(out), "--users", "300"])
    assert run.exit_code == 0, run.output
    assert {p.name for p in out.iterdir()} == FILES
    for name in FILES:
        assert str(out / name) in run.output
    assert len(pd.read_csv(out / "users.csv")) == 300
    again = runner.invoke(
        app, ["simulate-ecommerce", "--out", str(out), "--users", "300", "--seed", "3"]
    )
    assert again.exit_code == 0, again.output
    assert json.loads((out / "truth.json").read_text())["seed"] == 3
    bad = runner.invoke(app, ["simulate-ecommerce", "--out", str(out), "--users", "5"])
    assert bad.exit_code == 2


def _spec(**overrides) -> ExperimentSpec:
    kwargs = {
        "experiment_id": "X1",
        "name": "test_badge",
        "description": "a test",
        "surface": "cart",
        "start_day": 0,
        "end_day": 10,
    }
    return ExperimentSpec(**{**kwargs, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_users": 10}, "n_users must be an integer >= 50"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"start": "not a date"}, "start must be a datetime or an ISO-8601 string"),
        ({"pre_period_days": 0}, "pre_period_days must be an integer >= 1"),
        ({"experiment_days": 2.5}, "experiment_days must be an integer >= 1"),
        ({"sessions_per_user": 0}, "sessions_per_user must be a positive number"),
        ({"persona_shares": {"browser": 1.0}}, r"persona_shares must give a share for exactly"),
        (
            {"persona_shares": dict.fromkeys(PERSONAS, 0.3)},
            "persona_shares must sum to 1",
        ),
        ({"null_flag_rate": 0.9}, r"null_flag_rate must be a rate in \[0, 0.5\]"),
        ({"both_arms_rate": -0.1}, "both_arms_rate must be a rate"),
        ({"phone_order_rate": 1.0}, r"phone_order_rate must be a share in \[0, 1\)"),
        ({"experiment_days": 20}, "experiments: 'E01' ends on day 21"),
        ({"experiments": ()}, "experiments must be a non-empty list"),
        ({"experiments": (_spec(), _spec())}, "experiment ids must be unique"),
        (
            {"experiments": (_spec(effects={"loyal_high_spender": {"purchase": 0.9}}),)},
            r"experiments: the positive effects on 'purchase' for 'loyal_high_spender'",
        ),
    ],
)
def test_bad_config_names_the_field(overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        EcommerceSimulationConfig(**overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Bad Name"}, "name must be snake_case"),
        ({"surface": "footer"}, "surface must be one of"),
        ({"end_day": 0}, r"end_day \(0\) must be after start_day"),
        ({"start_day": -1}, "start_day must be an integer >= 0"),
        ({"effects": {"robot": {"click": 0.1}}}, r"effects has unknown personas \['robot'\]"),
        ({"effects": {"browser": {"bounce": 0.1}}}, r"unknown metrics \['bounce'\]"),
        ({"effects": {"browser": {"click": -1.0}}}, r"effects\['browser'\]\['click'\] must be"),
    ],
)
def test_bad_experiment_spec_names_the_field(overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _spec(**overrides)


def test_custom_experiments_and_zero_effects_fill_in() -> None:
    spec = _spec(effects={"browser": {"click": 0.2}})
    assert spec.effects["browser"] == {"click": 0.2, "add_to_cart": 0.0, "purchase": 0.0}
    assert spec.effects["new_visitor"] == dict.fromkeys(METRICS, 0.0)
    later = _spec(experiment_id="X2", start_day=3, end_day=9)
    config = EcommerceSimulationConfig(
        n_users=200, experiments=(later, spec), experiment_days=14, start="2026-05-04"
    )
    assert config.feature_cutoff.isoformat() == "2026-05-04T00:00:00+00:00"
    sim = simulate_ecommerce(config)
    assert list(sim.experiments["experiment_id"]) == ["X2", "X1"]
    assert sim.experiments["end_at"].iloc[0] == "2026-05-13T00:00:00+00:00"
    assert len(sim.truth_effects) == 2 * len(PERSONAS) * len(METRICS)
    assert default_experiments()[0].name == "discount_label"
