"""Tests for the A/B test HTML report and its charts.

The inputs are small hand-built frames with the schemas the analysis steps produce, so these
tests run in well under a second and need neither ZenML nor MLflow.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from liftlab.plots import DECISION_COLORS, figure_to_svg, forest_plot, funnel_plot
from liftlab.report import SECTION_TITLES, render_ab_report

METRICS = [
    ("conversion_rate", "proportion"),
    ("click_rate", "proportion"),
    ("revenue_per_user", "mean"),
    ("avg_order_value", "ratio"),
]
EXPERIMENTS = [
    "exp01_homepage_banner",
    "exp02_pricing_page",
    "exp03_checkout_flow",
    "exp04_email_subject",
    "exp05_recs_widget",
    "exp06_onboarding_tour",
    "exp07_push_timing",
    "exp08_search_ranking",
]


def _result_row(
    experiment,
    metric,
    mtype,
    variant,
    *,
    segment="all",
    lift=0.01,
    half=0.03,
    decision="inconclusive",
    status="ok",
    message="",
    srm_p=0.5,
    control="A",
    base=0.1,
    n=5000,
):
    """One results row; ``lift``/``half`` are the relative lift and its CI half-width."""
    ok = status == "ok"
    est_v = base * (1 + lift)
    nan = float("nan")
    return {
        "experiment": experiment,
        "segment": segment,
        "metric": metric,
        "metric_type": mtype,
        "control": control,
        "variant": variant,
        "n_control": n,
        "n_variant": n if status != "empty_arm" else 0,
        "estimate_control": base,
        "estimate_variant": est_v if ok else nan,
        "abs_diff": est_v - base if ok else nan,
        "abs_se": base * half / 1.96 if ok else nan,
        "abs_ci_low": base * (lift - half) if ok else nan,
        "abs_ci_high": base * (lift + half) if ok else nan,
        "rel_lift": lift if ok else nan,
        "rel_ci_low": lift - half if ok else nan,
        "rel_ci_high": lift + half if ok else nan,
        "statistic": 2.1 if ok else nan,
        "df": nan,
        "p_value": 0.0004 if decision in ("win", "loss") else (0.41 if ok else nan),
        "p_value_adjusted": 0.003 if decision in ("win", "loss") else (0.82 if ok else nan),
        "test": "z-test" if mtype == "proportion" else "welch-t",
        "alpha": 0.05,
        "decision": decision if ok else "inconclusive",
        "status": status,
        "message": message,
        "srm_p_value": srm_p,
    }


def example_inputs(n_experiments: int = 8, *, segments: bool = True, funnel: bool = True) -> dict:
    """A realistic set of report inputs: wins, a loss, neutral, NaN rows, one SRM experiment."""
    rng = np.random.default_rng(7)
    experiments = EXPERIMENTS[:n_experiments]
    bases = {
        "conversion_rate": 0.052,
        "click_rate": 0.21,
        "revenue_per_user": 3.84,
        "avg_order_value": 71.5,
    }
    rows = []
    for e_idx, exp in enumerate(experiments):
        variants = ["B", "C"] if exp == "exp04_email_subject" else ["B"]
        srm_p = 2.1e-6 if exp == "exp06_onboarding_tour" else 0.63
        for metric, mtype in METRICS:
            for variant in variants:
                # inconclusive: wide CI across zero; neutral: narrow CI inside +-2 %
                lift = float(rng.normal(0, 0.015))
                half = max(float(abs(rng.normal(0.04, 0.008))), abs(lift) + 0.005)
                decision = "inconclusive"
                if rng.uniform() < 0.3:
                    lift, half = float(rng.normal(0, 0.004)), float(rng.uniform(0.008, 0.014))
                    decision = "neutral"
                kwargs = {}
                if exp == "exp03_checkout_flow" and metric == "conversion_rate":
                    lift, half, decision = 0.182, 0.094, "win"
                if exp == "exp03_checkout_flow" and metric == "revenue_per_user":
                    lift, half, decision = 0.121, 0.08, "win"
                if exp == "exp04_email_subject" and variant == "C" and metric == "click_rate":
                    lift, half, decision = -0.087, 0.04, "loss"
                if exp == "exp07_push_timing" and metric == "avg_order_value":
                    kwargs = {
                        "status": "zero_variance",
                        "message": "all values identical in both arms",
                    }
                if exp == "exp08_search_ranking" and metric == "revenue_per_user":
                    half, decision = 0.012, "neutral"
                rows.append(
                    _result_row(
                        exp,
                        metric,
                        mtype,
                        variant,
                        lift=lift,
                        half=half,
                        decision=decision,
                        srm_p=srm_p,
                        base=bases[metric],
                        n=48_000 + 1_000 * e_idx,
                        **kwargs,
                    )
                )
                if segments and exp in ("exp03_checkout_flow", "exp05_recs_widget"):
                    for seg in ("device=mobile", "device=desktop"):
                        rows.append(
                            _result_row(
                                exp,
                                metric,
                                mtype,
                                variant,
                                segment=seg,
                                lift=lift * 1.3,
                                half=half * 1.6,
                                decision="inconclusive",
                                base=bases[metric],
                                n=24_000,
                            )
                        )
    results = pd.DataFrame(rows)

    srm_rows = []
    for exp in experiments:
        bad = exp == "exp06_onboarding_tour"
        variants = ["A", "B", "C"] if exp == "exp04_email_subject" else ["A", "B"]
        share = 1 / len(variants)
        for i, v in enumerate(variants):
            obs = share + ((0.012 if i == 0 else -0.012) if bad else 0.0003 * (1 - 2 * i))
            srm_rows.append(
                {
                    "experiment": exp,
                    "segment": "all",
                    "variant": v,
                    "n_units": int(96_000 * obs),
                    "expected_share": share,
                    "observed_share": obs,
                    "chi2": 22.4 if bad else 0.23,
                    "p_value": 2.1e-6 if bad else 0.63,
                    "srm_detected": bad,
                }
            )
    srm = pd.DataFrame(srm_rows)

    funnel_rows = []
    if funnel:
        stages = ["impressions", "opens", "clicks", "conversions"]
        for exp in experiments:
            variants = ["A", "B", "C"] if exp == "exp04_email_subject" else ["A", "B"]
            used = stages[1:] if exp == "exp02_pricing_page" else stages
            step_rates = rng.uniform(0.08, 0.45, size=len(used))
            for v in variants:
                n_units = 48_000
                total = n_units * 6.0
                effect = {"A": 1.0, "B": 1.06, "C": 0.95}[v]
                for order, stage in enumerate(used):
                    funnel_rows.append(
                        {
                            "experiment": exp,
                            "variant": v,
                            "n_units": n_units,
                            "stage": stage,
                            "stage_order": order,
                            "total": round(total),
                        }
                    )
                    total *= step_rates[order] * effect * float(rng.uniform(0.98, 1.02))
    funnel_df = pd.DataFrame(
        funnel_rows,
        columns=["experiment", "variant", "n_units", "stage", "stage_order", "total"],
    )

    audits = [
        {
            "strategy": "drop_duplicates",
            "description": "Remove exact duplicate event rows",
            "rows_in": 412_345,
            "rows_out": 410_002,
            "values_changed": 0,
            "details": {"duplicates": 2_343, "subset": ["user_id", "event_ts"]},
        },
        {
            "strategy": "winsorize",
            "description": "Cap revenue at the 99.9th percentile",
            "rows_in": 410_002,
            "rows_out": 410_002,
            "values_changed": 411,
            "details": {"column": "revenue", "upper": 1843.2, "quantile": 0.999},
        },
        {
            "strategy": "drop_missing_variant",
            "description": "Rows without an assigned variant",
            "rows_in": 410_002,
            "rows_out": 409_870,
            "values_changed": 0,
            "details": {},
        },
    ]
    validation = {
        "success": False,
        "n_rows": 409_870,
        "outcomes": [
            {
                "expectation": "expect_column_values_to_not_be_null",
                "column": "user_id",
                "success": True,
                "unexpected_count": 0,
                "unexpected_examples": [],
                "description": "every row has a user",
            },
            {
                "expectation": "expect_column_values_to_be_in_set",
                "column": "variant",
                "success": False,
                "unexpected_count": 3,
                "unexpected_examples": ["b ", "ctrl"],
                "description": "variant labels are known",
            },
        ],
    }
    config = {
        "data": {"path": "data/events.parquet", "unit": "user_id"},
        "analysis": {
            "alpha": 0.05,
            "correction": "holm",
            "min_effect": 0.01,
            "metrics": [m for m, _ in METRICS],
        },
        "srm": {"threshold": 0.001},
    }
    run_info = {
        "pipeline": "ab_test_pipeline",
        "run_name": "ab_test_pipeline-2025_11_22-17_09_01",
        "generated_at": "2025-11-22T17:09:44Z",
        "data_source": "data/events.parquet",
        "data_sha256": "9f2c" * 16,
        "git_commit": "c03491b",
        "mlflow_run_id": "4f1e0c2b9a7d4b0e8f3a1c2d3e4f5a6b",
        "mlflow_tracking_uri": "http://127.0.0.1:5000",
    }
    return {
        "results": results,
        "srm": srm,
        "funnel": funnel_df,
        "audits": audits,
        "validation": validation,
        "config": config,
        "run_info": run_info,
    }


@pytest.fixture(scope="module")
def inputs() -> dict:
    return example_inputs()


@pytest.fixture(scope="module")
def html(inputs) -> str:
    return render_ab_report(**inputs)


def _section(html: str, section_id: str) -> str:
    """The HTML of one <section id=...>, so assertions do not pass thanks to another section."""
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.DOTALL)
    assert match, f"section {section_id} missing"
    return match.group(0)


# --- report -------------------------------------------------------------------------------


def test_every_section_heading_and_experiment_present(html, inputs):
    for title in SECTION_TITLES.values():
        assert f">{title}<" in html, title
    for exp in inputs["results"]["experiment"].unique():
        assert exp in html


def test_decision_badges_match_input(html, inputs):
    res = inputs["results"]
    overall = _section(html, "results")
    segs = _section(html, "segments")
    for decision in DECISION_COLORS:
        want_all = int(((res["segment"] == "all") & (res["decision"] == decision)).sum())
        want_seg = int(((res["segment"] != "all") & (res["decision"] == decision)).sum())
        assert overall.count(f'data-decision="{decision}"') == want_all, decision
        assert segs.count(f'data-decision="{decision}"') == want_seg, decision


def test_kpis_count_decisions_and_srm(html, inputs):
    res = inputs["results"]
    kpis = _section(html, "summary")
    n_all = int((res["segment"] == "all").sum())
    assert re.search(rf'data-kpi="comparisons">\s*{n_all}\s*<', kpis)
    assert re.search(r'data-kpi="wins">\s*2\s*<', kpis)
    assert re.search(r'data-kpi="losses">\s*1\s*<', kpis)
    assert re.search(r'data-kpi="srm">\s*1\s*<', kpis)
    assert re.search(r'data-kpi="experiments">\s*8\s*<', kpis)


def test_headline_sentences(html):
    head = _section(html, "headline")
    assert "B wins on conversion_rate" in head
    assert "+18.2 %" in head
    assert "C loses on click_rate" in head
    assert "results not trustworthy" in head
    # the SRM warning is attached to the SRM experiment, not to others
    srm_item = re.search(r'<li[^>]*data-experiment="exp06_onboarding_tour".*?</li>', head, re.S)
    assert srm_item and "not trustworthy" in srm_item.group(0)
    ok_item = re.search(r'<li[^>]*data-experiment="exp03_checkout_flow".*?</li>', head, re.S)
    assert ok_item and "not trustworthy" not in ok_item.group(0)


def test_nan_rows_render_status_and_message(html):
    table = _section(html, "results")
    assert "zero_variance" in table
    assert "all values identical in both arms" in table
    assert "nan" not in table.lower().replace("nano", "")  # no raw NaN leaks into cells


def test_hostile_strings_are_escaped():
    inputs = example_inputs(2)
    evil = "<script>alert(1)</script>"
    res = inputs["results"].copy()
    res.loc[res["experiment"] == "exp01_homepage_banner", "experiment"] = evil
    res.loc[0, "message"] = '"><img src=x onerror=alert(2)>'
    res.loc[1, "metric"] = "$rev$ & <b>"
    inputs["results"] = res
    inputs["srm"].loc[0, "experiment"] = evil
    inputs["funnel"].loc[
        inputs["funnel"]["experiment"] == "exp01_homepage_banner", "experiment"
    ] = evil
    inputs["audits"][0]["details"] = {"<k>": "</td><script>x</script>"}
    inputs["validation"]["outcomes"][1]["unexpected_examples"] = ["<iframe src=//evil>"]
    inputs["config"]["note"] = "</pre><script>bad()</script>"
    inputs["run_info"]["run_name"] = "<svg onload=alert(3)>"
    out = render_ab_report(**inputs)
    assert "<script" not in out.lower()
    assert "<img" not in out.lower()
    assert "<iframe" not in out.lower()
    assert "<svg onload" not in out.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "$rev$ &amp; &lt;b&gt;" in out


def test_no_external_references(html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert "<script" not in html.lower()  # no JS at all: nothing can be fetched
    # the tracking URI is shown as text, not as a link
    assert "http://127.0.0.1:5000" in html


def test_empty_funnel_and_no_segments():
    inputs = example_inputs(3, segments=False, funnel=False)
    assert inputs["funnel"].empty
    out = render_ab_report(**inputs)
    assert "No funnel" in _section(out, "funnel")
    assert "<svg" not in _section(out, "funnel")
    assert "No segment" in _section(out, "segments")


def test_single_experiment_and_minimal_inputs():
    inputs = example_inputs(1)
    out = render_ab_report(**inputs)
    assert "exp01_homepage_banner" in out
    out = render_ab_report(
        results=inputs["results"],
        srm=pd.DataFrame(),
        funnel=pd.DataFrame(),
        audits=[],
        validation={},
        config={},
        run_info={},
    )
    for title in SECTION_TITLES.values():
        assert f">{title}<" in out


def test_all_rows_failed_still_renders():
    row = _result_row(
        "exp_x",
        "conversion_rate",
        "proportion",
        "B",
        status="empty_arm",
        message="variant B has no units",
    )
    out = render_ab_report(
        results=pd.DataFrame([row]),
        srm=pd.DataFrame(),
        funnel=pd.DataFrame(),
        audits=[],
        validation={},
        config={},
        run_info={},
    )
    assert "variant B has no units" in out
    assert "empty_arm" in out


def test_config_is_yaml_in_details(html):
    run = _section(html, "run")
    assert "<details" in run
    assert "correction: holm" in run


# --- plots --------------------------------------------------------------------------------


def _markers(fig) -> int:
    return sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections)


def test_forest_one_marker_per_overall_row(inputs):
    res = inputs["results"]
    fig = forest_plot(res)
    assert _markers(fig) == int((res["segment"] == "all").sum())
    assert len(fig.axes) == res["metric"].nunique()  # one panel per metric


def test_forest_colours_follow_decisions(inputs):
    res = inputs["results"]
    fig = forest_plot(res)
    colors = []
    for ax in fig.axes:
        for coll in ax.collections:
            if coll.get_paths() and len(coll.get_facecolors()) == len(coll.get_offsets()):
                colors.extend(tuple(np.round(c, 3)) for c in coll.get_facecolors())
    from matplotlib.colors import to_rgba

    win = tuple(np.round(to_rgba(DECISION_COLORS["win"]), 3))
    loss = tuple(np.round(to_rgba(DECISION_COLORS["loss"]), 3))
    assert colors.count(win) == 2
    assert colors.count(loss) == 1


def test_forest_handles_nan_and_hostile_names():
    rows = [
        _result_row("$a$_b", "m", "mean", "B", lift=0.1, decision="win"),
        _result_row("$a$_b", "m", "mean", "C", status="zero_variance"),
    ]
    fig = forest_plot(pd.DataFrame(rows))
    assert _markers(fig) == 2
    svg = figure_to_svg(fig)  # draws: would raise on bad mathtext
    assert svg.startswith("<svg")


def test_funnel_panels_and_empty():
    inputs = example_inputs(3)
    fig = funnel_plot(inputs["funnel"], controls={"exp01_homepage_banner": "A"})
    assert len(fig.axes) == 3
    empty = funnel_plot(pd.DataFrame())
    assert empty.texts and "No funnel" in empty.texts[0].get_text()


def test_figure_to_svg_self_contained_and_unique_ids(inputs):
    a = figure_to_svg(forest_plot(inputs["results"]))
    b = figure_to_svg(funnel_plot(inputs["funnel"]))
    assert a.startswith("<svg") and a.rstrip().endswith("</svg>")
    assert "<?xml" not in a and "<!DOCTYPE" not in a
    ids_a = set(re.findall(r'\bid="([^"]+)"', a))
    ids_b = set(re.findall(r'\bid="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", a + b)


def test_srm_badges_match_input(html, inputs):
    table = _section(html, "srm")
    srm = inputs["srm"]
    n_fail = srm.loc[srm["srm_detected"], "experiment"].nunique()
    n_pass = srm.loc[~srm["srm_detected"], "experiment"].nunique()
    assert table.count('data-srm="fail"') == n_fail == 1
    assert table.count('data-srm="pass"') == n_pass


def test_empty_and_odd_inputs_do_not_crash():
    """The report must never be what fails a pipeline: None, empty frames, odd types."""
    out = render_ab_report(results=pd.DataFrame(), srm=None, funnel=None, audits=None,
                           validation=None, config=None, run_info=None)  # fmt: skip
    for title in SECTION_TITLES.values():
        assert f">{title}<" in out
    odd = render_ab_report(
        results=pd.DataFrame([{"experiment": "e", "segment": np.nan, "metric": "m",
                               "variant": "B", "decision": "WIN", "rel_lift": 0.1}]),
        srm=pd.DataFrame([{"experiment": "e", "variant": "A", "srm_detected": np.nan}]),
        funnel=pd.DataFrame(columns=["experiment"]),
        audits=[{"strategy": "x"}],
        validation={"outcomes": [{"expectation": "e", "success": False,
                                  "unexpected_examples": "single"}]},
        config={"path": __import__("pathlib").Path("/x"), "alpha": np.float64(0.5),
                "arr": np.arange(3)},
        run_info={"run_name": None, "custom_key": 5},
    )  # fmt: skip
    assert 'data-decision="win"' in odd  # NaN segment counts as overall, "WIN" normalised
    assert 'data-srm="fail"' not in odd  # a NaN SRM flag is not an alarm
    assert "path: /x" in odd and "alpha: 0.5" in odd
    assert "Custom key" in odd
