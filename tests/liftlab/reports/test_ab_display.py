"""What a marketer reads in the A/B report: units per metric kind, no scientific notation, the
SRM warning once per experiment, routine cleaning counts not painted as errors (issue #10)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from liftlab.config.ab_testing import MetricConfig
from liftlab.reports.ab_testing import render_ab_report
from liftlab.reports.format import fmt_abs_diff, fmt_estimate, fmt_num, metric_unit
from tests.liftlab.reports.test_ab_testing import _section, _visible_text, example_inputs


@pytest.mark.parametrize(
    ("value", "text"),
    [(6.71e-05, "0.0000671"), (-6.71e-05, "\u22120.0000671"), (0.00544, "0.00544"), (3.26, "3.26")],
)
def test_small_numbers_are_fixed_point(value, text):
    assert fmt_num(value) == text


def test_units_per_metric_kind():
    assert metric_unit("proportion") == "%" and metric_unit("ratio") == ""
    assert metric_unit("ratio", "%") == "%" and metric_unit("mean", "$") == "$"
    assert fmt_estimate(0.0311, "%") == "3.11 %"
    assert fmt_abs_diff(0.00544, "%") == "+0.54 pp"
    assert fmt_abs_diff(-0.0000671, "%") == "\u22120.0067 pp"
    assert fmt_estimate(3.26, "$") == "$3.26"
    assert fmt_abs_diff(-0.665, "$") == "\u2212$0.665"
    assert fmt_abs_diff(0.614, "EUR") == "+0.614 EUR"


def test_unit_is_validated_in_the_config():
    base = {"name": "ctr", "type": "ratio", "numerator": "c", "denominator": "i"}
    assert MetricConfig(**base, unit=" % ").unit == "%"
    with pytest.raises(ValueError, match="unit '100x'"):
        MetricConfig(**base, unit="100x")


def _report(**overrides) -> str:
    inputs = example_inputs()
    inputs.update(overrides)
    return render_ab_report(**inputs)


def test_configured_units_reach_the_results_table():
    inputs = example_inputs()
    config = {
        "metrics": [
            {"name": "click_rate", "type": "ratio", "unit": "%"},
            {"name": "revenue_per_user", "type": "mean", "unit": "$"},
        ]
    }
    table = _section(render_ab_report(**{**inputs, "config": config}), "results")
    row = inputs["results"].query("metric == 'click_rate' and segment == 'all'").iloc[0]
    assert f"{row['estimate_control'] * 100:.2f} %" in table
    revenue = inputs["results"].query("metric == 'revenue_per_user' and segment == 'all'")
    assert f"${revenue.iloc[0]['estimate_control']:.2f}" in table


def test_no_scientific_notation_in_tables():
    inputs = example_inputs()
    results = inputs["results"].copy()
    results.loc[results["metric"] == "click_rate", "abs_diff"] = -6.71e-05
    html = render_ab_report(**{**inputs, "results": results})
    assert "0.0067 pp" in _section(html, "results") or "0.0000671" in _section(html, "results")
    for section in ("results", "guardrails", "segments"):
        if f'id="{section}"' in html or section == "results":
            text = _visible_text(_section(html, section))
            assert not re.search(r"\d(\.\d+)?e[\u2212+-]\d", text), section


def test_srm_warning_once_per_experiment_not_per_row():
    inputs = example_inputs()
    results = inputs["results"].copy()
    srm_rows = (results["experiment"] == "exp06_onboarding_tour") & (results["segment"] == "all")
    note = (
        "sample ratio mismatch in experiment 'exp06_onboarding_tour' (SRM p = 2.1e-06 < 0.001): "
        "the split is broken, do not trust this comparison"
    )
    results.loc[srm_rows, "status"] = "srm"
    results.loc[srm_rows, "message"] = note
    table = _section(render_ab_report(**{**inputs, "results": results}), "results")
    assert srm_rows.sum() > 1
    assert "the split is broken, do not trust" not in table
    assert table.count("data-srm-note") == 1
    assert "Sample ratio mismatch (p &lt; 0.0001): the traffic split is broken" in table


def test_cleaning_counts_are_not_error_coloured():
    audits = [
        {
            "strategy": "drop_duplicate_rows",
            "rows_in": 1000,
            "rows_out": 990,
            "values_changed": 0,
            "details": {"duplicate_rows_dropped": 10},
        }
    ]
    html = _report(audits=audits)
    css = re.search(r"\.delta\s*\{([^}]*)\}", html)
    assert css and "--loss" not in css.group(1)


def test_correction_note_is_in_the_message():
    from strategies.stats.analysis import AnalysisOptions, analyse
    from strategies.stats.metrics import MetricSpec
    from tests.strategies.stats.test_support import stats_frame

    frames = [
        stats_frame([e, e], ["A", "B"], "cr", [2000, 2000], k, k)
        for e, k in (("e1", pd.Series([200.0, 240.0])), ("e2", pd.Series([200.0, 201.0])))
    ]
    out = analyse(
        pd.concat(frames, ignore_index=True),
        [MetricSpec("cr", "proportion", column="c")],
        AnalysisOptions(control="A"),
    )
    inputs = example_inputs()
    html = render_ab_report(**{**inputs, "results": out.results, "srm": out.srm})
    assert "significant only before the holm correction over 2 comparisons" in _section(
        html, "results"
    )


def test_headline_without_a_decision_is_worded_from_the_intervals():
    html = _report()
    head = _section(html, "headline")
    assert "not shown to differ from A on any metric" in head
    assert "No significant difference" not in head


def test_campaign_report_shows_the_configured_currency():
    from liftlab.reports.campaign_uplift import _money, _money_ci

    assert _money(8469.2, signed=True, currency="$") == "+$8,469"
    assert _money(-0.78, signed=True, currency="EUR") == "\u22120.78 EUR"
    assert _money_ci(-4.2, 3.1, "$") == "\u2212$4.20 … +$3.10"
    assert _money(12.5) == "12.50"


def test_results_table_names_the_sequential_decision_and_its_interval():
    from tests.liftlab.reports.test_ab_testing import rich_inputs

    html = render_ab_report(**rich_inputs())
    table = _section(html, "results")
    assert "data-seq-decided" in table
    assert "decided by the sequential test" in table


def test_no_scientific_notation_in_the_optional_sections():
    from tests.liftlab.reports.test_ab_testing import rich_inputs

    inputs = rich_inputs()
    results = inputs["results"].copy()
    results["expected_loss_control"] = 2.19e-05
    html = render_ab_report(**{**inputs, "results": results})
    for section in ("bayesian", "sequential", "robustness", "guardrails"):
        text = _visible_text(_section(html, section))
        assert not re.search(r"\d(\.\d+)?e[\u2212+-]\d", text), section
