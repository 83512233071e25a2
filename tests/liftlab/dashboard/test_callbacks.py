"""The dashboard's callbacks as plain functions, on small published-shaped tables (no browser)."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from liftlab.dashboard import callbacks as cb
from liftlab.dashboard import style
from liftlab.dashboard.app import create_app, render_page
from liftlab.dashboard.data import JOBS, DashboardData
from liftlab.dashboard.pages import experiments
from tests.conftest import REPO_ROOT


def _results() -> pd.DataFrame:
    rows = []
    for exp, decision, lift in (("exp1", "win", 0.12), ("exp2", "loss", -0.08)):
        for metric in ("ctr", "conversion_rate"):
            for segment in ("all", "device=mobile", "device=desktop"):
                rows.append(
                    {
                        "experiment": exp, "segment": segment, "metric": metric,
                        "metric_type": "proportion", "control": "A", "variant": "B",
                        "estimate_control": 0.05, "estimate_variant": 0.05 * (1 + lift),
                        "rel_lift": lift, "rel_ci_low": lift - 0.03, "rel_ci_high": lift + 0.03,
                        "p_value_adjusted": 0.001, "decision": decision, "role": "primary",
                        "guardrail_status": None, "run_date": "2026-12-05", "source": "A/B tests",
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_filters_combine_and_all_means_no_filter() -> None:
    results = _results()
    assert len(cb.filter_results(results)) == 4  # overall rows only by default
    assert len(cb.filter_results(results, segment=cb.ALL)) == 12
    picked = cb.filter_results(results, experiment="exp1", metric="ctr", segment=cb.ALL)
    assert set(picked["segment"]) == {"all", "device=mobile", "device=desktop"}
    assert cb.filter_results(results, decision="loss")["experiment"].unique().tolist() == ["exp2"]
    assert cb.filter_results(results, run_date="2026-01-01").empty
    assert cb.decision_counts(cb.filter_results(results)) == {"win": 2, "loss": 2}


def test_options_put_every_value_first_and_skip_blanks() -> None:
    got = cb.options(["b", "a", None, "", "a"], "every x")
    assert [o["value"] for o in got] == [cb.ALL, "a", "b"]


def test_forest_plot_shows_the_published_interval_coloured_by_decision() -> None:
    rows = cb.filter_results(_results())
    fig = cb.forest_figure(rows)
    by_name = {trace.name: trace for trace in fig.data}
    assert set(by_name) == {"win", "loss"}
    win = by_name["win"]
    assert list(win.x) == pytest.approx([0.12, 0.12])
    assert list(win.error_x.array) == pytest.approx([0.03, 0.03])
    assert win.marker.color == style.DECISION_COLORS["win"]
    assert "No comparison" in cb.forest_figure(rows.iloc[0:0]).layout.annotations[0].text


def test_forest_plot_caps_rows_and_says_so() -> None:
    many = pd.concat([_results()] * 10, ignore_index=True)
    fig = cb.forest_figure(many)
    assert sum(len(t.x) for t in fig.data) == cb.MAX_FOREST_ROWS
    assert f"first {cb.MAX_FOREST_ROWS} of {len(many)}" in fig.layout.title.text


def test_table_rows_use_the_reports_formats() -> None:
    row = cb.results_table_rows(cb.filter_results(_results(), experiment="exp2"))[0]
    assert row["Lift"] == "\u22128.0 %"
    assert row["Control"] == "5.00 %"
    assert row["p (adj.)"] == "0.001"


def test_segment_heatmap_needs_one_experiment_and_metric() -> None:
    results = _results()
    assert "Pick one" in cb.segment_heatmap(results, cb.ALL, "ctr").layout.annotations[0].text
    fig = cb.segment_heatmap(results, "exp1", "ctr")
    assert sorted(fig.data[0].y) == ["device=desktop", "device=mobile"]
    assert "+12.0 %<br>win" in fig.data[0].text[0]


def test_funnel_is_a_share_of_the_first_stage_per_arm() -> None:
    funnel = pd.DataFrame(
        {
            "experiment": ["e"] * 4, "variant": ["A", "A", "B", "B"], "n_units": 10,
            "stage": ["impressions", "clicks"] * 2, "stage_order": [1, 2, 1, 2],
            "total": [100, 10, 200, 40],
        }
    )  # fmt: skip
    fig = cb.funnel_figure(funnel, "e")
    assert [list(t.y) for t in fig.data] == [[1.0, 0.1], [1.0, 0.2]]
    assert "Pick one" in cb.funnel_figure(funnel, cb.ALL).layout.annotations[0].text
    assert "No funnel" in cb.funnel_figure(None, "e").layout.annotations[0].text


def test_health_rows_report_srm_alerts_from_the_published_check() -> None:
    srm = pd.DataFrame(
        {"experiment": ["exp1", "exp2"], "p_value": [0.5, 1e-6], "srm_detected": [False, True]}
    )
    rows = {r["Experiment"]: r for r in cb.health_rows(_results(), srm, cb.ALL)}
    assert rows["exp1"]["Sample ratio (SRM)"].startswith("ok")
    assert rows["exp2"]["Sample ratio (SRM)"].startswith("SRM ALERT")


def test_campaign_figures_read_the_published_intervals() -> None:
    summary = pd.DataFrame(
        {
            "campaign_id": ["C1", "C1"], "campaign_name": ["Spring", "Spring"],
            "category": ["all", "books"], "spend_per_customer_target": [10.0, 2.0],
            "spend_per_customer_control": [6.0, 1.5], "incremental_revenue": [5000.0, 300.0],
            "incremental_revenue_ci_low": [4000.0, -50.0],
            "incremental_revenue_ci_high": [6000.0, 650.0], "roi": [3.0, 0.1],
            "roi_ci_low": [2.0, -0.5], "roi_ci_high": [4.0, 0.7],
            "decision": ["win", "inconclusive"],
            "roi_decision": ["profitable", "inconclusive"],
        }
    )  # fmt: skip
    rows = cb.campaign_rows(summary, "books")
    fig = cb.campaign_interval_figure(rows, "incremental_revenue", "t")
    assert list(fig.data[0].x) == [300.0]
    assert list(fig.data[0].error_x.arrayminus) == [350.0]
    assert fig.data[0].marker.color[0] == style.DECISION_COLORS["inconclusive"]
    spend = cb.campaign_spend_figure(cb.campaign_rows(summary))
    assert [list(t.y) for t in spend.data] == [[6.0], [10.0]]


@pytest.fixture
def project(tmp_path):
    """A project with an A/B run's files and a campaign gold table, nothing else."""
    out = tmp_path / "outputs" / "ab_test"
    out.mkdir(parents=True)
    results = _results().drop(columns=["run_date", "source"])
    results.to_parquet(out / "ab_results.parquet")
    pd.DataFrame(
        {"experiment": ["exp1", "exp2"], "p_value": [0.5, 0.4], "srm_detected": [False, False]}
    ).to_csv(out / "srm.csv", index=False)
    (out / "run_summary.json").write_text(json.dumps({"mlflow_run_id": None}))
    return tmp_path


def test_loaders_read_published_files_and_pages_say_what_is_missing(project) -> None:
    data = DashboardData(project)
    results = data.experiment_results()
    assert set(results["source"]) == {"A/B tests"} and len(results) == 12
    assert data.table("gold_campaign_summary") is None  # no warehouse yet
    text = str(render_page(data, "/campaigns"))
    assert "liftlab run configs/campaign_uplift.yaml" in text
    assert "liftlab run configs/marketing_mix.yaml" in str(render_page(data, "/marketing-mix"))
    assert "Page not found" in str(render_page(data, "/nope"))
    out = experiments.update(data, "exp1", cb.ALL, "all", cb.ALL, cb.ALL)
    assert out["summary"] == "2 comparisons: 2 win"


def test_warehouse_is_read_only_and_a_rerun_shows_up(project) -> None:
    warehouse = project / "outputs" / "liftlab.duckdb"
    frame = pd.DataFrame({"campaign_id": ["C1"], "category": ["all"], "x": [1]})
    with duckdb.connect(str(warehouse)) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE gold_campaign_summary AS SELECT * FROM frame")
    data = DashboardData(project)
    assert data.table("gold_campaign_summary")["x"].tolist() == [1]
    with duckdb.connect(str(warehouse)) as con:  # the dashboard holds no lock between reads
        con.execute("UPDATE gold_campaign_summary SET x = 2")
        con.execute("CHECKPOINT")
    assert data.table("gold_campaign_summary")["x"].tolist() == [2]


def test_create_app_builds_every_page(project) -> None:
    app = create_app(project)
    assert app.server is not None
    for page in ("/", "/experiments", "/campaigns", "/models", "/uplift", "/personas"):
        assert render_page(app.liftlab_data, page) is not None


class _Concave:
    """A stand-in fitted model: outcome per channel = horizon × scale × sqrt(spend)."""

    def __init__(self, scales):
        self.scales = np.asarray(scales, dtype=float)

    def plan_response(self, levels, horizon):
        return horizon * self.scales * np.sqrt(np.atleast_2d(levels))


def _scenario() -> cb.ScenarioModel:
    draws = [_Concave([1.0 * f, 2.0 * f]) for f in (0.8, 0.9, 1.0, 1.1, 1.2)]
    return cb.ScenarioModel(
        model=_Concave([1.0, 2.0]),
        draws=draws,
        channels=("tv", "search"),
        current=np.array([100.0, 100.0]),
        horizon=4,
        level=0.9,
    )


def test_budget_scenario_moves_spend_to_the_better_channel_with_an_interval() -> None:
    result = cb.run_budget_scenario(_scenario(), 200, {"tv": (50, 150), "search": (50, 150)})
    assert result["ok"]
    table = result["table"].set_index("channel")
    # sqrt curves, search twice as strong: the optimum is search = 4 × tv, capped at 150
    assert table.loc["search", "optimal_spend"] == pytest.approx(150, rel=1e-3)
    assert table.loc["tv", "optimal_spend"] == pytest.approx(50, rel=1e-3)
    expected = 4 * (np.sqrt(50) + 2 * np.sqrt(150) - np.sqrt(100) - 2 * np.sqrt(100))
    assert result["gain"] == pytest.approx(expected, rel=1e-4)
    low, high = result["gain_ci"]
    assert low < result["gain"] < high
    assert result["prob_gain_positive"] == 1.0


def test_budget_scenario_that_the_bounds_cannot_meet_says_why() -> None:
    result = cb.run_budget_scenario(_scenario(), 1000, {"tv": (50, 150), "search": (50, 150)})
    assert not result["ok"] and "cannot meet a total" in result["error"]
    result = cb.run_budget_scenario(_scenario(), 200, {"tv": (150, 50), "search": (50, 150)})
    assert not result["ok"] and "'tv'" in result["error"]
    assert not cb.run_budget_scenario(_scenario(), "lots", {})["ok"]


def test_health_table_lists_at_most_the_cap_and_counts_the_rest() -> None:
    base = cb.filter_results(_results())
    many = pd.concat(
        [base.assign(experiment=f"e{i:03d}") for i in range(cb.MAX_HEALTH_ROWS + 7)],
        ignore_index=True,
    )
    rows = cb.health_rows(many, None, cb.ALL)
    assert len(rows) == cb.MAX_HEALTH_ROWS + 1
    assert rows[-1]["Experiment"] == "… and 7 more"
    guard = base.assign(role="guardrail", guardrail_status="pass")
    assert (
        cb.health_rows(guard, None, "exp1")[0]["Guardrails"]
        == "ctr B: pass, conversion_rate B: pass"
    )


def test_wsgi_entry_serves_the_project_in_liftlab_root(project, monkeypatch) -> None:
    import importlib
    import sys

    monkeypatch.setenv("LIFTLAB_ROOT", str(project))
    sys.modules.pop("liftlab.dashboard.wsgi", None)
    wsgi = importlib.import_module("liftlab.dashboard.wsgi")
    assert wsgi.app.liftlab_data.root == project.resolve()
    assert wsgi.server.test_client().get("/").status_code == 200


def test_sequential_chart_draws_the_published_looks() -> None:
    from strategies.stats.schema import LOOK_COLUMNS

    looks = pd.DataFrame(
        [["e", "ctr", "B", k, k, 100 * k, k / 3, 0.1, 0.02 * k, 1.0, 3.0, 0.1, 0.2,
          0.02 * k - 0.01, 0.02 * k + 0.01] for k in (1, 2, 3)],
        columns=list(LOOK_COLUMNS),
    )  # fmt: skip
    fig = cb.sequential_figure(looks, "e", "ctr")
    assert list(fig.data[0].x) == [1, 2, 3]
    assert list(fig.data[0].y) == pytest.approx([0.02, 0.04, 0.06])
    assert list(fig.data[0].error_y.array) == pytest.approx([0.01] * 3)
    assert "No sequential" in cb.sequential_figure(None, "e", "ctr").layout.annotations[0].text


def test_not_run_notice_names_the_jobs_command_and_the_demo() -> None:
    """Every job is in ``make demo``: each notice names its own command and the demo."""
    from liftlab.dashboard.components import not_run

    for job in JOBS.values():
        notice = _text(not_run(job.key))
        assert f"liftlab run {job.config}" in notice and "make demo" in notice
        assert (REPO_ROOT / job.config).is_file(), job.config


def test_forest_title_explains_intervals_the_correction_left_uncalled() -> None:
    from liftlab.dashboard.callbacks import corrected_away, forest_figure

    rows = pd.DataFrame(
        {
            "experiment": ["a", "b", "c"],
            "metric": "m",
            "segment": "all",
            "rel_lift": [0.1, 0.1, 0.01],
            "rel_ci_low": [0.02, 0.03, -0.02],
            "rel_ci_high": [0.2, 0.2, 0.04],
            "decision": ["inconclusive", "win", "inconclusive"],
        }
    )
    assert corrected_away(rows) == 1
    title = forest_figure(rows).layout.title.text
    assert "1 interval(s) exclude 0 but are not significant after the multiple-testing" in title
    assert "exclude 0" not in forest_figure(rows.iloc[1:]).layout.title.text


def _category_summary() -> pd.DataFrame:
    """Two campaigns × (all, books, games); campaign C2 published no 'games' row."""
    rows = [
        ("C1", "Spring newsletter with a long name", "all", 5.0, 4.0, 6.0, "win"),
        ("C1", "Spring newsletter with a long name", "books", 0.8, 0.55, 1.06, "win"),
        ("C1", "Spring newsletter with a long name", "games", -0.35, -0.57, -0.13, "loss"),
        ("C2", "Easter SMS", "all", 0.2, -1.0, 1.4, "inconclusive"),
        ("C2", "Easter SMS", "books", -0.0919, -1.0, 0.7, "inconclusive"),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "campaign_id", "campaign_name", "category", "incremental_spend_per_customer",
            "incremental_spend_ci_low", "incremental_spend_ci_high", "decision",
        ],
    )  # fmt: skip


def test_campaign_category_heatmap_shows_every_category_with_interval_and_decision() -> None:
    fig = cb.campaign_category_heatmap(_category_summary(), "95 % CI")
    heat = fig.data[0]
    assert list(heat.x) == ["books", "games"]  # the whole basket ("all") is not a column
    assert list(heat.y) == [cb.campaign_label("Spring newsletter with a long name"), "Easter SMS"]
    assert "<br>" in heat.y[0]  # names wrap as on the other campaign charts
    z = np.array(heat.z, dtype=float)
    assert z[0].tolist() == [0.8, -0.35]
    assert z[1, 0] == -0.0919 and np.isnan(z[1, 1])
    assert heat.text[0][0] == "<b>+$0.80</b><br>+$0.55 … +$1.06<br>win"
    assert heat.text[0][1] == "<b>\u2212$0.35</b><br>\u2212$0.57 … \u2212$0.13<br>loss"
    assert heat.text[1][0] == "<b>\u2212$0.09</b><br>\u2212$1.00 … +$0.70<br>inconclusive"
    assert heat.text[1][1] == ""  # C2 published no games row: a blank cell
    assert heat.zmin == -heat.zmax == pytest.approx(-0.8)  # 0 is the neutral colour
    title = fig.layout.title.text
    assert title.startswith("Incremental revenue per customer by product category")
    assert "95 % CI" in title and "exclude 0" not in title


def test_campaign_category_heatmap_counts_intervals_the_correction_left_uncalled() -> None:
    summary = _category_summary()
    summary.loc[1, "decision"] = "inconclusive"  # interval 0.55 … 1.06 excludes 0
    assert "1 interval(s) exclude 0" in cb.campaign_category_heatmap(summary).layout.title.text


def test_campaign_category_heatmap_says_why_it_is_empty() -> None:
    summary = _category_summary()
    for empty in (None, summary.iloc[0:0]):
        text = cb.campaign_category_heatmap(empty).layout.annotations[0].text
        assert text == "No campaign summary published."
    only_all = summary[summary["category"] == "all"]
    text = cb.campaign_category_heatmap(only_all).layout.annotations[0].text
    assert "No breakdown by product category" in text


def test_campaign_category_heatmap_tells_campaigns_with_one_name_apart() -> None:
    summary = _category_summary().assign(campaign_name="Newsletter")
    labels = list(cb.campaign_category_heatmap(summary).data[0].y)
    assert labels == [cb.campaign_label("C1 Newsletter"), cb.campaign_label("C2 Newsletter")]


def test_segment_heatmap_leaves_a_missing_cell_blank() -> None:
    results = _results()
    drop = (
        (results["experiment"] == "exp1")
        & (results["metric"] == "ctr")
        & (results["segment"] == "device=mobile")
    )
    extra = results[drop].assign(variant="C", segment="device=desktop", decision="neutral")
    fig = cb.segment_heatmap(pd.concat([results, extra]), "exp1", "ctr")
    heat = fig.data[0]
    assert list(heat.x) == ["variant B", "variant C"]
    assert list(heat.y) == ["device=desktop", "device=mobile"]
    assert list(heat.text[1]) == ["+12.0 %<br>win", ""]  # mobile has no variant C row


def test_metric_label_names_every_metric_the_training_pipeline_ranks_by() -> None:
    from liftlab.plots.training import METRIC_LABELS
    from strategies.evaluation import METRIC_DIRECTIONS

    assert style.metric_label("poisson_deviance") == "Poisson deviance"
    assert style.metric_label("r2") == "R²"
    assert style.metric_label("mae") == "MAE"
    assert style.metric_label("rmse") == "RMSE"
    assert style.metric_label("mape") == "MAPE"
    for metric in METRIC_DIRECTIONS:  # every rankable metric has a readable name, one home
        assert metric in METRIC_LABELS and style.metric_label(metric) == METRIC_LABELS[metric]


def test_metric_label_of_an_unknown_key_reads_its_underscores_as_spaces() -> None:
    assert style.metric_label("n_negative_predictions") == "n negative predictions"
    assert style.metric_label("auc") == "auc"


def test_money_reads_as_in_the_campaign_and_marketing_mix_reports() -> None:
    assert style.fmt_money(0.8, signed=True) == "+$0.80"
    assert style.fmt_money(-0.0919, signed=True) == "\u2212$0.09"
    assert style.fmt_money(4.753, signed=True) == "+$4.75"
    assert style.fmt_money(-441.03, signed=True) == "\u2212$441"
    assert style.fmt_money(30419.29) == "$30,419"
    assert style.fmt_money(None) == style.DASH


def test_models_card_and_tables_name_metrics_readably(tmp_path) -> None:
    from liftlab.dashboard.pages import models, overview

    out = tmp_path / "outputs" / "training"
    out.mkdir(parents=True)
    scores = {"r2": 0.254, "poisson_deviance": 2.0227}
    (out / "run_summary.json").write_text(
        json.dumps({"model_name": "m", "holdout_scores": scores, "best_candidate": "rf"})
    )
    (out / "promotion_decision.json").write_text(json.dumps({"metric": "poisson_deviance"}))
    comparison = {"rank": [1], "candidate": ["rf"], "is_best": [True]}
    comparison |= {"holdout_r2": [0.254], "holdout_poisson_deviance": [2.0227]}
    comparison |= {"rank_by": ["poisson_deviance"], "cv_poisson_deviance_mean": [1.4683]}
    comparison |= {"cv_poisson_deviance_std": [0.0779]}
    pd.DataFrame(comparison).to_csv(out / "model_comparison.csv", index=False)
    data = DashboardData(tmp_path)
    card = str(overview.models_card(data))
    assert "Holdout Poisson deviance" in card and "poisson_deviance" not in card
    row = models.candidate_rows(data)[0]
    assert row["Holdout Poisson deviance"] == "2.023" and row["Holdout R²"] == "0.254"
    # the rank comes from cross-validation: that score stands first, named as such
    assert list(row)[2] == "CV Poisson deviance (ranks)"
    assert row["CV Poisson deviance (ranks)"] == "1.468 ± 0.078"


def _uplift_project(root, low: float, high: float):
    """The uplift job's published files, hand-made: a policy e-mailing 80 % of customers whose
    gain over e-mailing nobody has the interval (low, high)."""
    out = root / "outputs" / "uplift"
    out.mkdir(parents=True)
    summary = {
        "policy_outcome": "visit",
        "share_to_email": 0.8,
        "policy_incremental_profit_per_customer": (low + high) / 2,
        "policy_incremental_ci": [low, high],
        "best_learners": {"visit": "t_learner"},
        "decisions": {"visit": "Promoted: first champion."},
    }
    (out / "run_summary.json").write_text(json.dumps(summary))
    policy = pd.DataFrame(
        {
            "outcome": "visit",
            "policy": ["model", "send_all", "send_nobody"],
            "arm": [None, "Mail", None],
            "share_contacted": [0.8, 1.0, 0.0],
            "profit_per_customer": [0.2, 0.18, 0.1],
            "incremental_profit_per_customer": [(low + high) / 2, 0.08, 0.0],
            "incremental_ci_low": [low, 0.01, 0.0],
            "incremental_ci_high": [high, 0.15, 0.0],
        }
    )
    policy.to_csv(out / "policy_comparison.csv", index=False)
    pd.DataFrame(
        {
            "feature": ["channel", "channel"],
            "value": ["Web", "Phone"],
            "customers": [600, 400],
            "share_to_email": [1.0, 0.5],
            "share_Mail": [1.0, 0.5],
            "mean_expected_profit": [0.05, -0.01],
        }
    ).to_csv(out / "targeting_summary.csv", index=False)
    pd.DataFrame(
        {
            "segment": "all",
            "metric": ["visit", "spend"],
            "metric_type": ["proportion", "mean"],
            "variant": "Mail",
            "estimate_control": [0.1, 1.0],
            "estimate_variant": [0.15, 1.2],
            "rel_lift": [0.5, 0.2],
            "rel_ci_low": [0.2, -0.1],
            "rel_ci_high": [0.8, 0.5],
            "p_value_adjusted": [0.001, 0.3],
            "decision": ["win", "inconclusive"],
        }
    ).to_csv(out / "average_effects.csv", index=False)
    pd.DataFrame(
        {
            "outcome": "visit",
            "arm": "Mail",
            "learner": ["t_learner", "s_learner"],
            "qini_coefficient": [25.0, 20.0],
            "qini_normalized": [0.1, 0.08],
            "uplift_at_30": [0.095, 0.09],
            "rank": [1, 2],
            "is_best": [True, False],
        }
    ).to_csv(out / "learner_comparison.csv", index=False)
    pd.DataFrame(
        {
            "outcome": "visit",
            "fraction": [0.0, 0.5, 1.0],
            "incremental_profit_per_customer": [0.0, 0.06, 0.05],
        }
    ).to_csv(out / "profit_curves.csv", index=False)
    (root / "configs").mkdir()
    (root / "configs" / "uplift.yaml").write_text(
        "parameters:\n  arms: [Mail]\n  output_dir: outputs/uplift\n"
    )
    return DashboardData(root)


def _text(node: object) -> str:
    if isinstance(node, str):
        return node
    children = getattr(node, "children", None)
    if isinstance(children, list | tuple):
        return "".join(_text(c) for c in children)
    return "" if children is None else _text(children)


@pytest.mark.parametrize(("low", "high", "recommends"), [(0.02, 0.08, True), (-0.01, 0.05, False)])
def test_uplift_page_words_the_policy_from_its_interval(tmp_path, low, high, recommends) -> None:
    from liftlab.dashboard.pages import overview, uplift

    data = _uplift_project(tmp_path, low, high)
    page = render_page(data, "/uplift")
    text = _text(page)
    assert ("Recommendation:" in text) == recommends
    assert ("is not shown to beat sending nobody" in text) == (not recommends)
    assert "+50.0 %" in text and style.fmt_ci(0.2, 0.8) in text  # as the A/B tables print
    assert "+9.5 pp" in text  # a 0/1 outcome's uplift in percentage points, not "%"
    assert "Promoted: first champion." in text
    card = _text(overview.uplift_card(data))
    assert "80.0 %" in card and "t_learner" in card and "share_to_email" not in card
    fig = uplift.profit_figure(data.file("uplift", "profit_curves.csv"), 0.8)
    assert fig.layout.shapes[0].x0 == 0.8  # the policy's share is marked on the curve


def test_a_job_shows_the_config_that_published_last(tmp_path) -> None:
    """Two uplift configs (the demo's and Hillstrom's): the pages follow whichever ran last."""
    import os

    configs = tmp_path / "configs"
    configs.mkdir()
    for name, arms in (("uplift", "[Mail]"), ("uplift_hillstrom", "[Mens E-Mail]")):
        (configs / f"{name}.yaml").write_text(
            f"parameters:\n  arms: {arms}\n  output_dir: outputs/{name}\n"
        )
    (configs / "campaign_uplift_x.yaml").write_text("parameters:\n  output_dir: outputs/x\n")
    data = DashboardData(tmp_path)
    assert data.active_config("uplift") == "configs/uplift.yaml"  # nothing ran: the shipped one
    assert data.source_note("uplift") == ""
    for name, when in (("uplift", 1_000_000), ("uplift_hillstrom", 2_000_000)):
        out = tmp_path / "outputs" / name
        out.mkdir(parents=True)
        (out / "run_summary.json").write_text(json.dumps({"policy_outcome": name}))
        os.utime(out / "run_summary.json", (when, when))
    assert data.active_config("uplift") == "configs/uplift_hillstrom.yaml"
    assert data.output_dir("uplift") == tmp_path / "outputs" / "uplift_hillstrom"
    assert data.config_value("uplift", "arms") == ["Mens E-Mail"]
    assert data.json("uplift")["policy_outcome"] == "uplift_hillstrom"
    assert data.source_note("uplift").startswith("Last run: configs/uplift_hillstrom.yaml")
    # campaign_uplift_x.yaml belongs to the campaign job, not to uplift, however recent its run
    (tmp_path / "outputs" / "x").mkdir()
    (tmp_path / "outputs" / "x" / "run_summary.json").write_text("{}")
    assert data.active_config("uplift") == "configs/uplift_hillstrom.yaml"
    assert data.active_config("campaign_uplift") == "configs/campaign_uplift_x.yaml"
    # the shipped config's summary, same size and same time as the cached one: the shipped
    # config wins the tie and its own file is read, not the cached file of the other folder
    shipped = tmp_path / "outputs" / "uplift" / "run_summary.json"
    shipped.write_text(json.dumps({"policy_outcome": "uplift_shipped__"}))
    assert (
        shipped.stat().st_size
        == (tmp_path / "outputs" / "uplift_hillstrom" / "run_summary.json").stat().st_size
    )
    os.utime(shipped, (2_000_000, 2_000_000))
    assert data.active_config("uplift") == "configs/uplift.yaml"
    assert data.json("uplift")["policy_outcome"] == "uplift_shipped__"
    os.utime(shipped, (3_000_000, 3_000_000))
    assert data.active_config("uplift") == "configs/uplift.yaml"
    assert "Last run: configs/uplift.yaml" in _text(render_page(data, "/uplift"))
    # the overview card says it too (a card of a job that never ran says nothing of a config)
    overview = _text(render_page(data, "/"))
    assert "from configs/uplift.yaml" in overview
    assert "from configs/marketing_mix" not in overview


def test_uplift_calibration_warning_points_at_nothing_the_page_lacks() -> None:
    from liftlab.dashboard.pages.uplift import calibration_warning

    text = (
        "The model expects +0.194 per customer from its policy, 3.2× the holdout estimate of "
        "+0.0606. Its own forecasts (the “predicted” column, the dashed profit curve …) are "
        "over-optimistic: plan with the holdout estimate."
    )
    shown = calibration_warning({"flag": "overstated", "text": text})
    assert "dashed" not in shown and "3.2× the holdout estimate of +0.0606." in shown
    assert shown.endswith("not the expected profit per group below.")


def test_money_follows_each_jobs_configured_currency(tmp_path) -> None:
    """As the reports do: a campaign config with `currency: EUR` shows '+0.80 EUR', never '$';
    a config without one shows its class default (plain numbers for campaigns, '$' for the
    marketing mix)."""
    from liftlab.dashboard.pages import overview

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "campaign_uplift.yaml").write_text("parameters:\n  currency: EUR\n")
    (configs / "marketing_mix.yaml").write_text("parameters:\n  currency: '€'\n")
    out = tmp_path / "outputs" / "campaign_uplift"
    out.mkdir(parents=True)
    (out / "run_summary.json").write_text(
        json.dumps({"campaigns": 2, "incremental_revenue": 8469.2, "campaign_cost": 950.0})
    )
    data = DashboardData(tmp_path)
    assert data.currency("campaign_uplift") == "EUR" and data.currency("marketing_mix") == "€"
    card = _text(overview.campaigns_card(data))
    assert "8,469 EUR" in card and "950 EUR" in card and "$" not in card

    fig = cb.campaign_category_heatmap(_category_summary(), currency="EUR")
    assert "+0.80 EUR" in fig.data[0].text[0][0] and "$" not in str(fig.data[0].text)
    assert fig.data[0].colorbar.ticksuffix == " EUR" and not fig.data[0].colorbar.tickprefix
    spend = cb.campaign_spend_figure(
        pd.DataFrame(
            {"campaign_name": ["C"], "spend_per_customer_control": [1.0],
             "spend_per_customer_target": [2.0]}
        ),
        "€",
    )  # fmt: skip
    assert spend.layout.yaxis.tickprefix == "€"
    assert style.money_ticks("") == {}

    plain = tmp_path / "plain"
    (plain / "configs").mkdir(parents=True)
    (plain / "configs" / "campaign_uplift.yaml").write_text("parameters:\n  alpha: 0.05\n")
    defaults = DashboardData(plain)
    assert defaults.currency("campaign_uplift") == "" and defaults.currency("marketing_mix") == "$"


def test_persona_table_names_the_features_the_run_clustered_on() -> None:
    """The personas table uses the report's feature names and formats for whatever features
    the run used (the shop's or Hillstrom's), with no currency the growth config never set."""
    from liftlab.dashboard.pages.personas import persona_rows

    shop = pd.DataFrame(
        {"persona_id": [1], "persona": ["bargain"], "size": [10], "share": [0.5]}
        | {"monetary": [43.4249], "recency_days": [47.2], "z_monetary": [-0.7]}
    )
    hillstrom = pd.DataFrame(
        {"persona_id": [1], "persona": ["returning"], "size": [3], "share": [0.25]}
        | {"recency_months": [6.14], "womens": [0.09]}
    )
    assert persona_rows(shop)[0] == {
        "Persona": "bargain",
        "Customers": "10",
        "Share": "50.0 %",
        "Avg. order": "43.42",
        "Recency": "47 d",
    }
    row = persona_rows(hillstrom)[0]
    assert row["Months since purchase"] == "6.1 mo" and row["Bought women's"] == "9 %"
    assert "Orders" not in row and "Avg. order" not in row


def test_experiments_card_names_every_config_it_counts(tmp_path) -> None:
    """The experiments card counts the A/B and the website experiments: it names both runs'
    configs, and only the A/B config while the growth job has not run."""
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("ab_test", "growth_analytics"):
        (configs / f"{name}.yaml").write_text(f"parameters:\n  output_dir: outputs/{name}\n")
    out = tmp_path / "outputs" / "ab_test"
    out.mkdir(parents=True)
    pd.DataFrame(
        {"experiment": ["e1"], "segment": ["all"], "metric": ["m"], "decision": ["win"]}
    ).to_parquet(out / "ab_results.parquet")
    (out / "run_summary.json").write_text("{}")
    data = DashboardData(tmp_path)
    text = _text(render_page(data, "/"))
    assert "from configs/ab_test.yaml" in text and "from configs/ab_test.yaml and" not in text
    (tmp_path / "outputs" / "growth_analytics").mkdir()
    (tmp_path / "outputs" / "growth_analytics" / "run_summary.json").write_text("{}")
    data = DashboardData(tmp_path)
    text = _text(render_page(data, "/"))
    assert "from configs/ab_test.yaml and configs/growth_analytics.yaml" in text
