"""The sequential layer (issue #10, items 3–5), checked by simulation and against independent
computations on the raw data — never against numbers the layer itself produced.

* group-sequential alpha is spent by *observed* information (units so far / planned
  maximum), so uneven daily traffic does not inflate false positives;
* the mSPRT mixing variance τ² is fixed once per comparison and recorded: re-running on more
  data changes nothing about the looks already analysed;
* a sequential decision is reported with the estimate and the sequential interval *at the
  stopping look*, and a sequential win never sits beside an interval that includes 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from strategies.errors import ConfigError
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.layers import SequentialOptions
from strategies.stats.layers.sequential import (
    PER_LOOK_COLUMNS,
    sequential_decisions,
    sequential_from_looks,
)
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis
from strategies.stats.schema import LOOK_COLUMNS, SEQUENTIAL_COLUMNS
from strategies.stats.sequential import group_sequential

ALPHA = 0.05
LOOKS = 14
RAMP = np.arange(1, LOOKS + 1)  # daily units per arm ∝ day: a linear ramp-up


def _simulate_looks(
    rng: np.random.Generator,
    n_experiments: int,
    *,
    per_day: np.ndarray,
    effects: dict[str, float],
    mean: float = 10.0,
    sd: float = 4.0,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per-look sufficient statistics of normal outcomes, drawn per arm and day directly
    (Σy ~ N(nμ, nσ²), within-day sum of squares ~ σ²χ²(n−1)), cumulated, and turned into the
    per-look analysis (Welch difference of means) by hand. Returns the per-look frame the
    layer takes and the (looks, experiments) arrays of each arm's difference and SE."""
    arms = ["A", *effects]
    n_day = np.asarray(per_day, dtype=float)
    cum_n = np.cumsum(n_day)
    means, variances = {}, {}
    for arm in arms:
        mu = mean + (effects.get(arm, 0.0))
        s1 = rng.normal(
            n_day[:, None] * mu, np.sqrt(n_day)[:, None] * sd, (len(n_day), n_experiments)
        )
        ss = sd**2 * rng.chisquare(n_day[:, None] - 1, (len(n_day), n_experiments))
        s2 = ss + s1**2 / n_day[:, None]
        c1, c2 = np.cumsum(s1, axis=0), np.cumsum(s2, axis=0)
        means[arm] = c1 / cum_n[:, None]
        variances[arm] = (c2 - cum_n[:, None] * means[arm] ** 2) / (cum_n[:, None] - 1)
    frames, truth = [], {}
    for arm in effects:
        diff = means[arm] - means["A"]
        se = np.sqrt(variances[arm] / cum_n[:, None] + variances["A"] / cum_n[:, None])
        truth[arm] = np.stack([diff, se])
        look, exp = np.meshgrid(
            np.arange(1, len(n_day) + 1), np.arange(n_experiments), indexing="ij"
        )
        frames.append(
            pd.DataFrame(
                {
                    "experiment": [f"e{j}" for j in exp.ravel()],
                    "segment": "all",
                    "metric": "m",
                    "variant": arm,
                    "look": look.ravel(),
                    "period": "",
                    "abs_diff": diff.ravel(),
                    "abs_se": se.ravel(),
                    "rel_lift": (diff / means["A"]).ravel(),
                    "estimate_control": means["A"].ravel(),
                    "status": "ok",
                    "n_units": (cum_n[look.ravel() - 1] * len(arms)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[list(PER_LOOK_COLUMNS)], truth


def _results_for_decisions(columns: pd.DataFrame, control: float) -> pd.DataFrame:
    """A results frame as run_ab_analysis builds it around the layer's columns."""
    return columns.assign(
        decision="inconclusive", message="", status="ok", estimate_control=control
    )


METRIC = [MetricSpec("m", "mean", column="y", min_effect=0.02)]


# --- item 3: information, not calendar -----------------------------------------------------


@pytest.mark.parametrize(
    ("plan_factor", "planned_looks"), [(1.0, LOOKS), (1.0, None), (1.25, LOOKS)]
)
def test_gst_false_positive_rate_with_ramp_up_traffic(plan_factor, planned_looks) -> None:
    """A/A tests with a linear traffic ramp-up over 14 daily looks. Spending alpha by the
    look's index (k/14, the old layer) rejects ~6 % of them; by observed information (units so
    far / the planned maximum) the rate is α: exactly α when the plan is met, and also when
    traffic falls short of the plan and look 14 is declared final."""
    rng = np.random.default_rng(20260510)
    reps = 20_000
    per_look, truth = _simulate_looks(rng, reps, per_day=40 * RAMP, effects={"B": 0.0})
    diff, se = truth["B"]
    z = diff / se
    # the old layer: information fraction k / planned_looks whatever the traffic
    calendar = group_sequential(z, np.arange(1, LOOKS + 1) / LOOKS, ALPHA).crossed.mean()
    assert calendar > ALPHA + 0.005

    total_units = 40 * RAMP.sum() * 2
    options = SequentialOptions(
        method="group_sequential",
        planned_sample_size=int(round(plan_factor * total_units)),
        planned_looks=planned_looks,
    )
    out = sequential_from_looks(
        per_look,
        analysis_options=AnalysisOptions(control="A", alpha=ALPHA, correction="none"),
        options=options,
    )
    fpr = out.columns["seq_crossed"].mean()
    se_mc = np.sqrt(ALPHA * (1 - ALPHA) / reps)
    assert fpr <= ALPHA + 0.005
    if planned_looks is not None or plan_factor == 1.0:
        assert fpr == pytest.approx(ALPHA, abs=4 * se_mc)  # spends it all, not conservative
    # the spending follows the observed units: look k's fraction is n_k / planned
    fractions = out.looks.groupby("look")["information_fraction"].first().to_numpy()
    expected = np.cumsum(RAMP) / RAMP.sum() / plan_factor
    np.testing.assert_allclose(fractions, expected, rtol=1e-4)


def test_group_sequential_needs_a_planned_maximum() -> None:
    with pytest.raises(ConfigError, match="planned_sample_size"):
        SequentialOptions(method="group_sequential", planned_looks=14)
    with pytest.raises(ConfigError, match="planned_sample_size"):
        SequentialOptions(method="group_sequential", planned_sample_size=0)
    with pytest.raises(ConfigError, match="no entry for experiment"):
        SequentialOptions(method="group_sequential", planned_sample_size={"x": 100}).sample_size_of(
            np.array(["x", "y"])
        )


# --- item 4: a fixed mixing variance --------------------------------------------------------


def _unit_rows(rng: np.random.Generator, days: int, per_day: int, rates: dict[str, list]):
    """Unit-level rows of one experiment: ``per_day`` units per arm and day, converting with
    the arm's rate of that day."""
    start = pd.Timestamp("2026-03-02", tz="UTC")
    parts = []
    for arm, daily in rates.items():
        for d in range(days):
            parts.append(
                pd.DataFrame(
                    {
                        "variant": arm,
                        "assigned_at": start + pd.Timedelta(days=d, hours=9),
                        "converted": (rng.random(per_day) < daily[d]).astype(int),
                    }
                )
            )
    df = pd.concat(parts, ignore_index=True)
    return df.assign(user_id=np.arange(len(df)), experiment="exp")


def test_msprt_mixing_variance_is_fixed_across_reruns() -> None:
    rng = np.random.default_rng(4)
    # the control rate drifts over the days: today's control mean is not the first look's
    rates = {"A": np.linspace(0.05, 0.15, 10), "B": np.linspace(0.05, 0.15, 10) * 1.05}
    df = _unit_rows(rng, 10, 400, rates)
    design = ABDesign("user_id", "variant", "A", ("B",), "experiment")
    metric = [MetricSpec("conversion_rate", "proportion", column="converted")]
    options = SequentialOptions(method="msprt", mde=0.1)

    def run(data):
        return run_ab_analysis(
            data, design, metric, AnalysisOptions(control="A"), sequential=options
        )

    early = run(df[df["assigned_at"] < pd.Timestamp("2026-03-07", tz="UTC")])
    full = run(df)
    assert early.sequential_looks["look"].max() == 5 and full.sequential_looks["look"].max() == 10
    # the looks both runs saw are analysed identically
    cols = ["p_value", "ci_low", "ci_high"]
    first_five = full.sequential_looks[full.sequential_looks["look"] <= 5]
    np.testing.assert_allclose(
        early.sequential_looks[cols].to_numpy(), first_five[cols].to_numpy(), rtol=1e-12
    )
    # τ² = (mde · control rate at look 1)², recorded in both tables
    day1 = df[(df["variant"] == "A") & (df["assigned_at"] < pd.Timestamp("2026-03-03", tz="UTC"))]
    expected = (0.1 * day1["converted"].mean()) ** 2
    for out in (early, full):
        row = out.results.query("segment == 'all'")
        assert row["seq_tau2"].item() == pytest.approx(expected, rel=1e-12)
        assert (out.sequential_looks["tau2"] == row["seq_tau2"].item()).all()


def test_msprt_planned_baseline_sets_the_mixing_variance() -> None:
    rng = np.random.default_rng(5)
    df = _unit_rows(rng, 4, 300, {"A": [0.1] * 4, "B": [0.1] * 4})
    design = ABDesign("user_id", "variant", "A", ("B",), "experiment")
    metric = [MetricSpec("conversion_rate", "proportion", column="converted")]
    options = SequentialOptions(method="msprt", mde=0.2, baselines={"conversion_rate": 0.08})
    out = run_ab_analysis(df, design, metric, AnalysisOptions(control="A"), sequential=options)
    assert out.results.query("segment == 'all'")["seq_tau2"].item() == pytest.approx(0.016**2)
    with pytest.raises(ConfigError, match="baselines"):
        SequentialOptions(baselines={"conversion_rate": 0.0})


# --- item 5: the numbers at the stopping look ----------------------------------------------


def _interim_stop_data() -> pd.DataFrame:
    """B converts 11.5 % vs 10 % for 9 days, then 8.5 %: a group-sequential boundary is
    crossed around look 8, and by look 14 the cumulative difference is no longer significant.
    Deterministic counts (1,000 units per arm and day)."""
    start = pd.Timestamp("2026-04-06", tz="UTC")
    parts = []
    for arm in ("A", "B"):
        for d in range(LOOKS):
            k = 100 if arm == "A" else (115 if d < 9 else 85)
            y = np.zeros(1000, dtype=int)
            y[:k] = 1
            parts.append(
                pd.DataFrame(
                    {
                        "variant": arm,
                        "assigned_at": start + pd.Timedelta(days=d, hours=12),
                        "converted": y,
                    }
                )
            )
    df = pd.concat(parts, ignore_index=True)
    return df.assign(user_id=np.arange(len(df)), experiment="exp")


def _by_hand(df: pd.DataFrame, through_day: int) -> tuple[float, float]:
    """(difference of conversion rates, unpooled SE) of the units up to a day, from the rows."""
    start = df["assigned_at"].min().normalize()
    part = df[df["assigned_at"] < start + pd.Timedelta(days=through_day)]
    g = part.groupby("variant")["converted"].agg(["mean", "count"])
    var = g["mean"] * (1 - g["mean"]) / g["count"]
    return g.loc["B", "mean"] - g.loc["A", "mean"], float(np.sqrt(var.sum()))


def test_interim_stop_reports_the_stopping_look() -> None:
    df = _interim_stop_data()
    design = ABDesign("user_id", "variant", "A", ("B",), "experiment")
    metric = [MetricSpec("conversion_rate", "proportion", column="converted")]
    options = SequentialOptions(
        method="group_sequential", planned_sample_size=2 * 1000 * LOOKS, planned_looks=LOOKS
    )
    out = run_ab_analysis(df, design, metric, AnalysisOptions(control="A"), sequential=options)
    row = out.results.query("segment == 'all'").iloc[0]
    # fixed horizon on all the data: not significant
    assert row["p_value"] > 0.05 and row["abs_ci_low"] < 0 < row["abs_ci_high"]
    # the sequential test stopped earlier, with a win
    assert row["decision"] == "win" and row["seq_crossed"]
    stop = int(row["seq_crossed_look"])
    assert 3 <= stop < LOOKS and row["seq_decision_look"] == stop and row["seq_look"] == LOOKS
    diff, se = _by_hand(df, stop)
    assert row["seq_estimate"] == pytest.approx(diff, rel=1e-9)
    # (rel 2e-3: the per-look analysis may use a pooled or unpooled SE, which differ by 3e-4)
    assert row["seq_statistic"] == pytest.approx(diff / se, rel=2e-3)
    assert row["seq_information_fraction"] == pytest.approx(stop / LOOKS, rel=1e-12)
    # the repeated CI at the stopping look: estimate ± boundary · SE, excluding 0
    half = row["seq_boundary"] * se
    assert row["seq_ci_low"] == pytest.approx(diff - half, rel=2e-3)
    assert row["seq_ci_high"] == pytest.approx(diff + half, rel=2e-3)
    assert 0 < row["seq_ci_low"] < row["seq_estimate"]
    # the statistic was below the boundary at the look before: a first crossing
    looks = out.sequential_looks.set_index("look")
    assert abs(looks.loc[stop - 1, "statistic"]) < looks.loc[stop - 1, "boundary"]
    assert abs(looks.loc[LOOKS, "statistic"]) < looks.loc[LOOKS, "boundary"]
    # the looks table fills its interval columns for group-sequential looks too
    assert looks["ci_low"].notna().all() and looks["ci_high"].notna().all()
    assert tuple(out.sequential_looks.columns) == LOOK_COLUMNS
    assert set(SEQUENTIAL_COLUMNS) <= set(out.results.columns)


@pytest.mark.parametrize("method", ["group_sequential", "msprt"])
def test_sequential_win_never_beside_an_interval_including_zero(method) -> None:
    """Over simulated experiments with two treatment arms (effects from none to large), every
    sequential win or loss sits beside a sequential interval on its side of 0, and every
    number is the one at the decision look (checked against the simulated looks)."""
    rng = np.random.default_rng(7 if method == "msprt" else 8)
    reps = 1_500
    per_look, truth = _simulate_looks(rng, reps, per_day=30 * RAMP, effects={"B": 0.35, "C": -0.15})
    options = SequentialOptions(
        method=method,
        planned_sample_size=int(30 * RAMP.sum() * 3),
        planned_looks=LOOKS,
        mde=0.03,
    )
    analysis = AnalysisOptions(
        control="A", alpha=ALPHA, correction="holm", correction_scope="experiment"
    )
    out = sequential_from_looks(per_look, analysis_options=analysis, options=options)
    cols = out.columns
    decision, _ = sequential_decisions(_results_for_decisions(cols, 10.0), METRIC, analysis)
    win, loss = decision == "win", decision == "loss"
    assert win.sum() > 200 and loss.sum() > 50  # both directions are exercised
    low, high = cols["seq_ci_low"].to_numpy(), cols["seq_ci_high"].to_numpy()
    assert (low[win] > 0).all() and (high[loss] < 0).all()
    assert ((win | loss) == cols["seq_crossed"].to_numpy()).all()
    # the numbers are those of the decision look
    for arm in ("B", "C"):
        here = (cols["variant"] == arm).to_numpy()
        k = cols.loc[here, "seq_decision_look"].to_numpy(int) - 1
        j = cols.loc[here, "experiment"].str[1:].astype(int).to_numpy()
        diff, se = truth[arm]
        np.testing.assert_allclose(cols.loc[here, "seq_estimate"], diff[k, j], rtol=1e-12)
        np.testing.assert_allclose(
            cols.loc[here, "seq_statistic"], diff[k, j] / se[k, j], rtol=1e-12
        )
        if method == "msprt":
            # the always-valid CI at that look, by Johari et al.'s formula, intersected
            tau2 = cols.loc[here, "seq_tau2"].to_numpy()
            v = se**2
            half = np.sqrt(v * (v + tau2) / tau2 * (np.log((v + tau2) / v) - 2 * np.log(ALPHA)))
            lo = np.maximum.accumulate(diff - half, axis=0)[k, j]
            np.testing.assert_allclose(cols.loc[here, "seq_ci_low"], lo, rtol=1e-9)
            first_control = per_look.query("variant == @arm and look == 1")["estimate_control"]
            np.testing.assert_allclose(tau2, (0.03 * first_control.to_numpy()) ** 2, rtol=1e-12)
        else:
            b = cols.loc[here, "seq_boundary"].to_numpy()
            np.testing.assert_allclose(
                cols.loc[here, "seq_ci_low"], diff[k, j] - b * se[k, j], rtol=1e-9
            )


def test_a_stopped_test_keeps_its_decision_when_the_estimate_turns() -> None:
    """Hand-made path: z crosses the boundary at look 6, the estimate turns negative later.
    The decision follows the crossing (win), with the crossing look's numbers."""
    z_path = np.array([0.5, 1.0, 1.8, 2.4, 3.0, 3.6, 2.0, 0.5, -0.5, -1.0, -1.2, -1.1, -1.3, -1.4])
    se = 0.01 / np.sqrt(np.arange(1, LOOKS + 1))
    per_look = pd.DataFrame(
        {
            "experiment": "e",
            "segment": "all",
            "metric": "m",
            "variant": "B",
            "look": np.arange(1, LOOKS + 1),
            "period": "",
            "abs_diff": z_path * se,
            "abs_se": se,
            "rel_lift": z_path * se / 10.0,
            "estimate_control": 10.0,
            "status": "ok",
            "n_units": 1000 * np.arange(1, LOOKS + 1),
        }
    )
    options = SequentialOptions(
        method="group_sequential", planned_sample_size=14_000, planned_looks=LOOKS
    )
    analysis = AnalysisOptions(control="A", alpha=ALPHA, correction="none")
    cols = sequential_from_looks(per_look, analysis_options=analysis, options=options).columns
    assert bool(cols["seq_crossed"].item()) and cols["seq_crossed_look"].item() == 6
    assert stats.norm.isf(0.025) < cols["seq_boundary"].item() < 3.6
    decision, _ = sequential_decisions(_results_for_decisions(cols, 10.0), METRIC, analysis)
    assert decision[0] == "win"
    assert cols["seq_estimate"].item() == pytest.approx(3.6 * se[5])
    assert cols["seq_ci_low"].item() > 0
