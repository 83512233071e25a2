"""Tests for the A/B test HTML report and its charts.

The inputs are small hand-built frames with the schemas the analysis steps produce, so these
tests run in well under a second and need neither ZenML nor MLflow.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from liftlab.plots.ab_testing import (
    forest_plot,
    funnel_plot,
    segment_heatmap,
    sequential_plot,
)
from liftlab.plots.style import DECISION_COLORS, figure_to_svg
from liftlab.reports.ab_testing import OPTIONAL_SECTIONS, SECTION_TITLES, render_ab_report

#: Sections every report has, whatever its inputs.
CORE_TITLES = {k: v for k, v in SECTION_TITLES.items() if k not in OPTIONAL_SECTIONS}

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
    for title in CORE_TITLES.values():
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
    for title in CORE_TITLES.values():
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
    for title in CORE_TITLES.values():
        assert f">{title}<" in out
    for section in OPTIONAL_SECTIONS:
        assert f'id="{section}"' not in out
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


# --- optional layers: CUPED, Fieller, guardrails, Bayesian, sequential, robustness, segments ---

ROLES = {
    "conversion_rate": "primary",
    "click_rate": "secondary",
    "revenue_per_user": "primary",
    "avg_order_value": "guardrail",
}
GUARD_STATUS = {  # overall guardrail verdict per experiment x variant
    ("exp01_homepage_banner", "B"): "pass",
    ("exp02_pricing_page", "B"): "fail",
    ("exp03_checkout_flow", "B"): "inconclusive",
    ("exp04_email_subject", "B"): "pass",
    ("exp04_email_subject", "C"): "inconclusive",
}
HELD = "significant result held back: guardrail(s) not passed (avg_order_value=inconclusive)"
UNBOUNDED = (
    "Fieller interval for the relative lift is unbounded: the control estimate is not "
    "significantly different from 0"
)


def _looks(experiment, metric, variant, *, n_looks, cross_at=None, method="group_sequential"):
    """A plausible look path: z drifting up, O'Brien-Fleming-like boundaries (or an mSPRT CS)."""
    rows = []
    for k in range(1, n_looks + 1):
        z = 0.35 * k if cross_at else 0.4 * np.sin(k)
        bound = 2.05 * np.sqrt(14 / k)
        half = 0.25 / np.sqrt(k)  # the sequence leaves 0 behind at look 7
        rows.append(
            {
                "experiment": experiment,
                "segment": "all",
                "metric": metric,
                "variant": variant,
                "look": k,
                "period": f"2026-01-{4 + k:02d}",
                "statistic": z,
                "boundary": bound if method == "group_sequential" else np.nan,
                "p_value": np.nan if method == "group_sequential" else min(1.0, 0.6 / k**1.3),
                "ci_low": np.nan if method == "group_sequential" else 0.1 - half,
                "ci_high": np.nan if method == "group_sequential" else 0.1 + half,
            }
        )
    return rows


def rich_inputs(*, method: str = "group_sequential") -> dict:
    """example_inputs(4) with every optional layer filled in, as the new engine writes it."""
    inputs = example_inputs(4)
    res = inputs["results"].copy()
    overall = res["segment"] == "all"
    ok = res["status"] == "ok"
    res["role"] = res["metric"].map(ROLES)
    res["guardrail_status"] = None
    guard = res["role"] == "guardrail"
    for (exp, var), status in GUARD_STATUS.items():
        hit = guard & overall & (res["experiment"] == exp) & (res["variant"] == var)
        res.loc[hit, "guardrail_status"] = status
    res.loc[guard & ~overall, "guardrail_status"] = "inconclusive"
    # exp03's wins are held back by its inconclusive guardrail, as apply_guardrails does
    held = overall & (res["experiment"] == "exp03_checkout_flow") & (res["decision"] == "win")
    res.loc[held, "decision"] = "inconclusive"
    res.loc[held, "message"] = HELD
    # notes appended after the guardrail note must not hide it
    seq_note = "; decision from the sequential test (group_sequential)"
    res.loc[held & (res["metric"] == "revenue_per_user"), "message"] = HELD + seq_note
    # CUPED on revenue_per_user
    cuped = (res["metric"] == "revenue_per_user") & ok
    res["variance_reduction"] = np.where(cuped, 0.3, np.nan)
    res["cuped_theta"] = np.where(cuped, 0.412, np.nan)
    res.loc[cuped, "test"] = "welch_t_cuped"
    # Fieller everywhere; one unbounded interval
    res["rel_ci_method"] = "fieller"
    unb = overall & (res["experiment"] == "exp02_pricing_page") & (res["metric"] == "click_rate")
    res.loc[unb, ["rel_ci_low", "rel_ci_high"]] = [-np.inf, np.inf]
    res.loc[unb, "message"] = UNBOUNDED
    # Bayesian view on the overall rows
    prob = np.where(
        res["decision"] == "win", 0.9991, np.where(res["decision"] == "loss", 0.004, 0.62)
    )
    bayes = overall & ok
    res["prob_variant_better"] = np.where(bayes, prob, np.nan)
    res["expected_loss_variant"] = np.where(bayes, res["estimate_control"] * 0.0004, np.nan)
    res["expected_loss_control"] = np.where(bayes, res["estimate_control"] * 0.012, np.nan)
    res["bayes_abs_cri_low"] = np.where(bayes, res["abs_ci_low"], np.nan)
    res["bayes_abs_cri_high"] = np.where(bayes, res["abs_ci_high"], np.nan)
    res["bayes_rel_cri_low"] = np.where(bayes, res["rel_ci_low"], np.nan)
    res["bayes_rel_cri_high"] = np.where(bayes, res["rel_ci_high"], np.nan)
    res["bayes_decision"] = np.where(
        bayes, np.where(prob > 0.99, "win", np.where(prob < 0.01, "loss", "inconclusive")), None
    )
    # sequential monitoring: exp03 conversion_rate crossed at look 6 of 14
    res["seq_method"] = np.where(overall, method, None)
    res["seq_look"] = np.where(overall, 9, np.nan)
    res["seq_planned_looks"] = np.where(
        overall, 14 if method == "group_sequential" else np.nan, np.nan
    )
    res["seq_statistic"] = np.where(overall & ok, 1.1, np.nan)
    res["seq_boundary"] = np.where(overall & (method == "group_sequential"), 3.01, np.nan)
    res["seq_p_value"] = np.where(overall & ok & (method == "msprt"), 0.41, np.nan)
    res["seq_ci_low"] = np.where(overall & ok & (method == "msprt"), -0.002, np.nan)
    res["seq_ci_high"] = np.where(overall & ok & (method == "msprt"), 0.004, np.nan)
    crossed = (
        overall
        & (res["experiment"] == "exp03_checkout_flow")
        & (res["metric"] == "conversion_rate")
    )
    res["seq_crossed"] = np.where(overall, crossed, None)
    res["seq_crossed_look"] = np.where(crossed, 6, np.nan)
    # non-parametric checks for revenue only
    rev = overall & (res["metric"] == "revenue_per_user") & ok
    res["mw_p_value"] = np.where(rev, 0.0312, np.nan)
    res["prob_superiority"] = np.where(rev, 0.513, np.nan)
    res["boot_abs_ci_low"] = np.where(rev, res["abs_ci_low"] * 1.1, np.nan)
    res["boot_abs_ci_high"] = np.where(rev, res["abs_ci_high"] * 1.1, np.nan)
    res["boot_rel_ci_low"] = np.where(rev, res["rel_ci_low"] * 1.1, np.nan)
    res["boot_rel_ci_high"] = np.where(rev, res["rel_ci_high"] * 1.1, np.nan)
    # one comparison where the bootstrap disagrees with the normal approximation
    flip = rev & (res["experiment"] == "exp03_checkout_flow")
    res.loc[flip, "boot_rel_ci_low"] = -0.01
    inputs["results"] = res

    het = []
    for metric in ROLES:
        het.append(
            {
                "experiment": "exp03_checkout_flow",
                "variant": "B",
                "metric": metric,
                "segment_column": "device",
                "n_segments": 2,
                "q": 6.2 if metric == "click_rate" else 0.4,
                "df": 1.0,
                "p_value": 0.0128 if metric == "click_rate" else 0.527,
                "i2": 0.84 if metric == "click_rate" else 0.0,
                "heterogeneous": metric == "click_rate",
            }
        )
    inputs["heterogeneity"] = pd.DataFrame(het)

    srm_seg = []
    for seg, bad in (("device=mobile", False), ("device=desktop", True)):
        for i, v in enumerate(("A", "B")):
            obs = 0.5 + ((0.02 if i == 0 else -0.02) if bad else 0.001 * (1 - 2 * i))
            srm_seg.append(
                {
                    "experiment": "exp03_checkout_flow",
                    "segment": seg,
                    "variant": v,
                    "n_units": int(24_000 * obs * 2),
                    "expected_share": 0.5,
                    "observed_share": obs,
                    "chi2": 19.2 if bad else 0.1,
                    "p_value": 1.2e-5 if bad else 0.75,
                    "srm_detected": bad,
                }
            )
    inputs["srm"] = pd.concat([inputs["srm"], pd.DataFrame(srm_seg)], ignore_index=True)

    looks = []
    for row in res[overall].itertuples():
        looks += _looks(
            row.experiment,
            row.metric,
            row.variant,
            n_looks=9,
            cross_at=6 if bool(crossed[row.Index]) else None,
            method=method,
        )
    inputs["sequential_looks"] = pd.DataFrame(looks)
    inputs["config"]["metrics"] = [
        {"name": "conversion_rate", "type": "proportion", "column": "converted"},
        {
            "name": "avg_order_value",
            "type": "ratio",
            "role": "guardrail",
            "non_inferiority_margin": 0.02,
        },
    ]
    return inputs


@pytest.fixture(scope="module")
def rich() -> dict:
    return rich_inputs()


@pytest.fixture(scope="module")
def rich_html(rich) -> str:
    return render_ab_report(**rich)


def _visible_text(html: str) -> str:
    """The page's text without inline SVG, tags and attributes: what a reader sees."""
    text = re.sub(r"<svg\b.*?</svg>", " ", html, flags=re.S)
    text = re.sub(r"<style\b.*?</style>", " ", text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", text)


def _nav(html: str) -> str:
    match = re.search(r'<nav class="toc".*?</nav>', html, re.S)
    assert match
    return match.group(0)


def test_optional_sections_only_with_their_data(html, rich_html):
    """An old results frame (no new columns) renders without the new sections, and the
    navigation never links to a section that is not there."""
    for section in OPTIONAL_SECTIONS:
        assert f'id="{section}"' not in html, section
        assert f'href="#{section}"' not in _nav(html)
        assert f'id="{section}"' in rich_html, section
        assert f'href="#{section}"' in _nav(rich_html)
    text = _visible_text(html)
    for marker in ("CUPED", "unbounded", "guardrail", "Cochran", "Per-segment checks"):
        assert marker not in text, marker
    assert 'data-kpi="cuped"' not in html and 'data-kpi="guardrails"' not in html


def test_all_nan_layer_columns_do_not_conjure_sections(inputs):
    res = inputs["results"].copy()
    for col in ("prob_variant_better", "mw_p_value", "boot_rel_ci_low", "seq_method"):
        res[col] = np.nan
    res["bayes_decision"] = None
    out = render_ab_report(**{**inputs, "results": res})
    for section in OPTIONAL_SECTIONS:
        assert f'id="{section}"' not in out, section


def test_cuped_notes_kpi_and_headline(rich_html, rich):
    res = rich["results"]
    n_cuped = int(((res["segment"] == "all") & res["test"].str.endswith("_cuped")).sum())
    table = _section(rich_html, "results")
    assert table.count("CUPED \u221230 % variance") == n_cuped
    assert "θ = 0.412" in table  # the tooltip names theta
    assert re.search(r'data-kpi="cuped">\s*\u221230 %\s*<', _section(rich_html, "summary"))
    head = _section(rich_html, "headline")
    assert "CUPED on revenue_per_user (\u221230 % variance)" in head


def test_unbounded_fieller_ci_renders_as_infinity(rich_html):
    table = _section(rich_html, "results")
    assert "\u2212∞ … +∞" in table
    assert table.count("data-unbounded") == 1
    assert "unbounded (Fieller)" in table
    assert "Relative CIs: Fieller" in table
    assert "open-lo" in table and "open-hi" in table  # the mini bar gets arrowheads
    text = _visible_text(rich_html)
    assert not re.search(r"\b(inf|nan|None)\b", text, re.I)


def test_forest_draws_unbounded_ci_with_arrows():
    rows = [
        _result_row("e", "m", "mean", "B", lift=0.05, half=0.02, decision="inconclusive"),
        _result_row("e", "m", "mean", "C", lift=0.02, decision="inconclusive"),
    ]
    df = pd.DataFrame(rows)
    df.loc[1, ["rel_ci_low", "rel_ci_high"]] = [-np.inf, np.inf]
    fig = forest_plot(df)
    ax = fig.axes[0]
    markers = {line.get_marker() for line in ax.lines}
    assert {"<", ">"} <= markers
    texts = [t.get_text() for t in ax.texts]
    assert any("\u2212∞" in t and "+∞" in t for t in texts)
    assert not any("inf" in t for t in texts)
    lo, hi = ax.get_xlim()
    assert np.isfinite(lo) and np.isfinite(hi) and hi - lo < 1  # inf does not blow the axis up
    assert figure_to_svg(fig).startswith("<svg")


def test_guardrail_table_badges_margin_and_held_back(rich_html, rich):
    sec = _section(rich_html, "guardrails")
    statuses = list(GUARD_STATUS.values())
    for status in ("pass", "fail", "inconclusive"):
        assert sec.count(f'data-guardrail="{status}"') == statuses.count(status), status
    assert sec.count('<tr class="group"') == len(GUARD_STATUS)  # one group per exp x variant
    assert sec.count("\u22122.0 %") == len(GUARD_STATUS)  # margin from config metrics
    assert "holds back the win on conversion_rate, revenue_per_user" in sec
    assert sec.count("data-held-back") == 1
    kpis = _section(rich_html, "summary")
    assert re.search(r'data-kpi="guardrails">\s*3\s*<', kpis)  # fail + 2 inconclusive


def test_guardrail_margin_unknown_without_config(rich):
    out = render_ab_report(**{**rich, "config": {}})
    sec = _section(out, "guardrails")
    assert "margin not found in the configuration" in sec
    assert "\u22122.0 %" not in sec


def test_headline_says_guardrail_blocks_the_win(rich_html):
    head = _section(rich_html, "headline")
    item = re.search(r'<li[^>]*data-experiment="exp03_checkout_flow".*?</li>', head, re.S)
    assert item
    li = item.group(0)
    assert "B wins on conversion_rate" in li
    assert "but guardrail avg_order_value (inconclusive) is not passed → not a win" in li
    assert li.count("data-held") == 2  # conversion_rate and revenue_per_user
    assert 'class="held"' in li
    # a decision from the sequential test is credited in the headline of a real win
    other = re.search(r'<li[^>]*data-experiment="exp04_email_subject".*?</li>', head, re.S)
    assert other and "C loses on click_rate" in other.group(0)


def test_bayesian_view_values_and_chips(rich_html, rich):
    sec = _section(rich_html, "bayesian")
    res = rich["results"]
    rows = res[(res["segment"] == "all") & res["prob_variant_better"].notna()]
    assert sec.count("data-prob") == len(rows)
    assert sec.count("&gt;99.9 %") == int((rows["prob_variant_better"] > 0.999).sum())
    assert sec.count("<0.1 %") == 0  # never a raw '<' in HTML text
    assert sec.count("&lt;0.1 %") == int((rows["prob_variant_better"] < 0.001).sum())
    assert sec.count("62.0 %") == int((rows["prob_variant_better"] == 0.62).sum())
    for d in ("win", "loss", "inconclusive"):
        assert sec.count(f'data-bayes="{d}"') == int((rows["bayes_decision"] == d).sum()), d
    assert "frequentist: " in sec
    assert 'title="P(C beats A)"' in sec  # the bar names the arms
    assert "1.20 % of control" in sec  # expected loss of keeping the control, relative
    assert "95 % CrI" in sec


def test_sequential_section_states_and_chart(rich_html, rich):
    sec = _section(rich_html, "sequential")
    res = rich["results"]
    n_overall = int((res["segment"] == "all").sum())
    assert sec.count("data-seq=") == n_overall
    assert sec.count('data-seq="stopped"') == 1
    assert "stopped at look 6" in sec
    assert sec.count('data-seq="running"') == n_overall - 1  # look 9 of 14: keep going
    assert "9 of 14" in sec and "±3.01" in sec
    assert "Always-valid p" not in sec  # GST only: no mSPRT columns
    assert "<svg" in sec and "Path over looks" in sec
    no_looks = render_ab_report(**{**rich, "sequential_looks": None})
    sec = _section(no_looks, "sequential")
    assert "<svg" not in sec and 'data-seq="stopped"' in sec


def test_sequential_msprt_columns():
    inputs = rich_inputs(method="msprt")
    out = render_ab_report(**inputs)
    sec = _section(out, "sequential")
    assert "Always-valid p" in sec and "Confidence sequence" in sec
    assert "Boundary" not in sec
    assert "0.410" in sec
    assert "\u22120.20 pp … +0.40 pp" in sec  # proportion CS on the absolute scale
    assert "<svg" in sec


def test_robustness_table(rich_html, rich):
    sec = _section(rich_html, "robustness")
    res = rich["results"]
    rows = res[res["mw_p_value"].notna()]
    assert sec.count("<tr>") == len(rows) + 1  # + the header row
    assert "click_rate" not in sec  # only metrics that have the checks
    assert sec.count("0.031") == len(rows) and sec.count("51.3 %") == len(rows)
    assert sec.count('data-agree="no"') == 1  # exp03: bootstrap covers 0, parametric not
    assert sec.count('data-agree="yes"') == len(rows) - 1


def test_heterogeneity_table_and_badges(rich_html, rich):
    seg = _section(rich_html, "segments")
    het = rich["heterogeneity"]
    assert seg.count('data-het="yes"') == int(het["heterogeneous"].sum()) == 1
    assert seg.count('data-het="no"') == int((~het["heterogeneous"]).sum())
    assert "≠ differs by device" in seg
    assert "1 of 4 effects differ" in seg
    # the differing effect is listed first
    assert seg.index('data-het="yes"') < seg.index('data-het="no"')
    assert "Does the effect differ" not in _section(
        render_ab_report(**example_inputs(4)), "segments"
    )


def test_heatmap_in_segments_section(rich_html):
    seg = _section(rich_html, "segments")
    assert 'data-chart="heatmap"' in seg and "<svg" in seg
    assert "<details" in seg  # the long per-segment table is collapsible


def test_srm_segment_rows_in_details(rich_html, rich):
    sec = _section(rich_html, "srm")
    main, _, details = sec.partition("<details")
    srm = rich["srm"]
    overall = srm[srm["segment"] == "all"]
    assert main.count("data-srm=") == overall["experiment"].nunique()
    assert "device=" not in main
    assert details.count("data-srm=") == 2
    assert details.count('data-srm="fail"') == 1
    assert "⚠ 1 with SRM" in details
    assert details.index("device=desktop") < details.index("device=mobile")  # flagged first
    kpis = _section(rich_html, "summary")
    assert re.search(r'data-kpi="srm">\s*0\s*<', kpis)  # segment SRM is informational


def test_rich_report_self_contained(rich_html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", rich_html, re.I)
    assert "<script" not in rich_html.lower()
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", rich_html, re.I)


def test_nan_everywhere_in_new_columns_renders_cleanly(rich):
    res = rich["results"].copy()
    for col in (
        "variance_reduction",
        "cuped_theta",
        "prob_variant_better",
        "seq_look",
        "seq_planned_looks",
        "seq_crossed_look",
        "boot_rel_ci_high",
        "mw_p_value",
    ):
        res[col] = np.nan  # fmt: skip
    res["seq_crossed"] = np.nan
    res.loc[res.index[:6], "rel_ci_method"] = np.nan
    res.loc[res.index[:6], "role"] = np.nan
    res["expected_loss_control"] = np.inf
    res["bayes_rel_cri_high"] = np.inf
    res["boot_rel_ci_low"] = -np.inf
    het = rich["heterogeneity"].copy()
    het.loc[0, ["q", "p_value", "i2", "df"]] = np.nan
    out = render_ab_report(**{**rich, "results": res, "heterogeneity": het})
    text = _visible_text(out)
    assert not re.search(r"\b(inf|nan|None)\b", text, re.I)
    assert "CUPED" in _section(out, "results")  # the test suffix still marks CUPED rows
    assert 'data-het="na"' in out
    assert "+∞" in _section(out, "bayesian")


def test_hostile_strings_in_new_sections(rich):
    evil = "<script>alert(1)</script>"
    res = rich["results"].copy()
    res.loc[res["metric"] == "revenue_per_user", "metric"] = evil
    res.loc[res["experiment"] == "exp03_checkout_flow", "message"] = (
        "significant result held back: guardrail(s) not passed (<img src=x onerror=a()>=fail)"
    )
    res.loc[res["segment"] == "device=mobile", "segment"] = "device=<b onmouseover=x>"
    res["seq_method"] = res["seq_method"].where(res["seq_method"].isna(), "<i>gst</i>")
    res["bayes_decision"] = res["bayes_decision"].where(res["bayes_decision"].isna(), evil)
    het = rich["heterogeneity"].assign(segment_column=evil, metric="$x$ <u>")
    looks = rich["sequential_looks"].assign(experiment="$5_off <svg onload=1>")
    srm = rich["srm"].copy()
    srm.loc[srm["segment"] != "all", "segment"] = "<iframe src=//evil>"
    config = {**rich["config"], "metrics": [{"name": evil, "non_inferiority_margin": "<x>"}]}
    out = render_ab_report(**{**rich, "results": res, "heterogeneity": het,
                              "sequential_looks": looks, "srm": srm, "config": config})  # fmt: skip
    low = out.lower()
    for bad in ("<script", "<img", "<iframe", "<svg onload", "<b onmouseover", "<i>gst", "<u>"):
        assert bad not in low, bad
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _section(out, "results")
    assert "&lt;img src=x onerror=a()&gt; (fail)" in _section(out, "headline")
    assert "&lt;iframe src=//evil&gt;" in _section(out, "srm")


def test_multi_variant_heatmap_and_non_ok_cells():
    inputs = example_inputs(8)
    res = inputs["results"].copy()
    seg = res["segment"] != "all"
    first = res.index[seg][0]
    res.loc[first, ["status", "rel_lift"]] = ["empty_arm", np.nan]
    fig = segment_heatmap(res)
    n_metrics = res["metric"].nunique()
    assert len(fig.axes) == 2 * n_metrics  # a panel and a colour bar per metric
    hatched = [p for ax in fig.axes for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "empty_arm" in texts or any("empty" in t for t in texts)
    assert any(t.endswith("%") for t in texts)
    assert segment_heatmap(res[~seg]).texts  # no segments: a figure that says so
    # an experiment with two treatments gets one column per treatment
    two = res[seg].copy()
    two.loc[two["experiment"] == "exp03_checkout_flow", "variant"] = "C"
    two = pd.concat([res[seg], two[two["experiment"] == "exp03_checkout_flow"]])
    labels = [t.get_text() for t in segment_heatmap(two).axes[0].get_xticklabels()]
    assert "exp03_checkout_flow · B" in labels and "exp03_checkout_flow · C" in labels


def test_heatmap_caps_rows():
    rows = [
        _result_row("e", "m", "mean", "B", segment=f"country=c{i:03d}", lift=0.01 * (i % 7 - 3),
                    n=100 + i)
        for i in range(60)
    ]  # fmt: skip
    fig = segment_heatmap(pd.DataFrame(rows), max_rows=25)
    assert len(fig.axes[0].get_yticklabels()) == 25
    assert any("25 of 60 segment values" in t.get_text() for t in fig.texts)


def test_sequential_plot_kinds_and_crossing():
    gst = pd.DataFrame(_looks("e", "m", "B", n_looks=9, cross_at=6))
    fig = sequential_plot(gst, crossed_looks={("e", "m", "B"): 6})
    ax = fig.axes[0]
    assert any(t.get_text() == "stopped at look 6" for t in ax.texts)
    assert any(line.get_linestyle() == "--" for line in ax.lines)  # the boundaries
    ms = pd.DataFrame(_looks("e", "m", "B", n_looks=9, method="msprt"))
    fig = sequential_plot(ms)  # crossing found from the data: p < alpha or CS excludes 0
    ax = fig.axes[0]
    assert ax.collections  # the confidence-sequence band
    assert any(t.get_text() == "stopped at look 7" for t in ax.texts)
    # the results are the authority: a comparison they call "not crossed" gets no ring
    fig = sequential_plot(ms, crossed_looks={("e", "m", "B"): float("nan")})
    assert not any(t.get_text().startswith("stopped") for t in fig.axes[0].texts)
    assert sequential_plot(pd.DataFrame()).texts
    svg = figure_to_svg(sequential_plot(gst.assign(experiment="$a$_b")))
    assert svg.startswith("<svg")


def test_report_from_the_real_engine():
    """End to end on simulated data through the stats engine: CUPED, Fieller, a guardrail,
    device segments with per-segment SRM and Cochran's Q."""
    from liftlab.simulate.experiments import SimulationConfig, default_experiments, simulate
    from strategies.stats.analysis import AnalysisOptions
    from strategies.stats.heterogeneity import heterogeneity
    from strategies.stats.metrics import MetricSpec
    from strategies.stats.run import ABDesign, run_ab_analysis

    data = simulate(SimulationConfig(experiments=default_experiments(4_000))).data
    metrics = [
        MetricSpec(name="conversion_rate", type="proportion", column="converted"),
        MetricSpec(name="revenue_per_user", type="mean", column="revenue",
                   covariate="pre_revenue"),
        MetricSpec(name="open_rate", type="ratio", numerator="opens", denominator="impressions",
                   role="guardrail", non_inferiority_margin=0.02),
    ]  # fmt: skip
    design = ABDesign(unit_column="user_id", variant_column="variant", control="A",
                      variants=("B",), experiment_column="experiment",
                      segment_columns=("device",))  # fmt: skip
    out = run_ab_analysis(
        data, design, metrics, AnalysisOptions(control="A", rel_ci_method="fieller"),
        funnel_stages=("impressions", "opens", "clicks", "conversions"),
    )  # fmt: skip
    html = render_ab_report(
        results=out.results,
        srm=out.srm,
        funnel=out.funnel,
        audits=[],
        validation={},
        config={"metrics": [vars(m) for m in metrics]},
        run_info={},
        heterogeneity=heterogeneity(out.results),
    )
    assert 'id="guardrails"' in html and "\u22122.0 %" in _section(html, "guardrails")
    assert "CUPED \u2212" in _section(html, "results")
    assert "Relative CIs: Fieller" in html
    assert "data-het=" in _section(html, "segments")
    assert "Per-segment checks" in _section(html, "srm")
    for section in ("bayesian", "sequential", "robustness"):
        assert f'id="{section}"' not in html
    assert not re.search(r"\b(inf|nan|None)\b", _visible_text(html), re.I)


def _without_svg(html: str) -> str:
    """The page with each chart replaced by a marker (SVG ids are random per render)."""
    return re.sub(r"<svg.*?</svg>", "<svg/>", html, flags=re.S)


def test_typed_config_renders_like_its_values(rich):
    """The pipeline hands the report its typed ABTestConfig: the page is the one its values
    give (the config YAML in the same key order, the guardrail margins of its metrics)."""
    import yaml

    from liftlab.config.ab_testing import load_ab_config
    from tests.conftest import REPO_ROOT

    content = yaml.safe_load((REPO_ROOT / "configs" / "ab_test.yaml").read_text())
    cfg = load_ab_config(content["parameters"])
    typed = render_ab_report(**{**rich, "config": cfg})
    plain = render_ab_report(**{**rich, "config": cfg.model_dump(mode="json")})
    assert _without_svg(typed) == _without_svg(plain)
    assert "data_path: data/demo/ab_events.parquet" in typed
