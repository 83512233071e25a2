"""The marketing-mix HTML report on the synthetic result of :mod:`tests.liftlab.mmm_fixtures`.

Expected numbers are recomputed here from the fixture's inputs (its spend and closed-form
curves), not read back from the report's own formatting code: shares from the decomposition over
time, ROAS from spend and contribution, money with the configured currency.
"""

from __future__ import annotations

import copy
import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape as html_escape

from liftlab.reports.marketing_mix import SECTION_TITLES, build_marketing_mix_report, period_word
from tests.liftlab.mmm_fixtures import (
    BOUND_ACTIVE_CHANNEL,
    CHANNELS,
    LIFT_TEST_CHANNEL,
    TRUTH,
    WARNINGS,
    hill,
    make_mmm_result,
    make_spend,
    mmm_config_values,
)

RUN_INFO = {
    "pipeline": "marketing_mix",
    "run_name": "weekly-<7>",
    "generated_at": "2025-01-06T06:00:00+00:00",
    "data_source": "data/demo/mmm/mmm_weekly.csv",
    "git_commit": "deadbeef",
    "mlflow_run_id": "0123456789abcdef",
}


@pytest.fixture(scope="module")
def result():
    return make_mmm_result()


@pytest.fixture(scope="module")
def html(result) -> str:
    return build_marketing_mix_report(result, config=mmm_config_values(), run_info=RUN_INFO)


def _text(html: str) -> str:
    """The page's body without its inline SVG charts (their glyphs are paths, not text)."""
    return re.sub(r"<svg\b.*?</svg>", "", html.split("<body>")[1], flags=re.DOTALL)


def _row(html: str, table: str, channel: str) -> str:
    section = html.split(f'data-table="{table}"')[1].split("</table>")[0]
    match = re.search(rf'<tr[^>]*data-channel="{re.escape(channel)}".*?</tr>', section, re.S)
    assert match, f"no row for {channel} in {table}"
    return match.group(0)


def _section(html: str, section_id: str) -> str:
    return html.split(f'<section class="card" id="{section_id}">')[1].split("</section>")[0]


def test_sections_in_reading_order(html: str) -> None:
    positions = [html.index(f'id="{key}"') for key in SECTION_TITLES if key != "summary"]
    assert positions == sorted(positions)
    for title in SECTION_TITLES.values():
        assert title in html
    assert "<title>Marketing mix report · weekly-&lt;7&gt;</title>" in html
    assert "deadbeef" in html and "0123456789abcdef" in html


def test_shares_rois_and_spend_match_an_independent_computation(html: str) -> None:
    spend = make_spend(0)
    contribution = {
        c: (TRUTH[c][1] * hill(spend[c].to_numpy(), TRUTH[c][2], TRUTH[c][3])).sum()
        for c in CHANNELS
    }
    total = sum(contribution.values())
    for channel in CHANNELS:
        row = _row(html, "contributions", channel)
        assert f"{contribution[channel] / total * 100:.1f} %" in row
        assert f"${spend[channel].sum():,.0f}" in row
        assert f"{contribution[channel]:,.0f}" in row
        assert f"{contribution[channel] / spend[channel].sum():.2f}" in row
    # the largest channel comes first, and the total row is the sum
    order = re.findall(r'data-channel="([^"]+)"', _section(html, "channels"))
    assert order == sorted(CHANNELS, key=lambda c: -contribution[c])
    assert f"{total:,.0f}" in _section(html, "channels")


def test_headline_names_top_channels_with_intervals(result, html: str) -> None:
    headline = html.split("data-headline-shares>")[1].split("</p>")[0]
    roi = result.roi.sort_values("share", ascending=False)
    top = roi.iloc[0]
    assert headline.startswith(f"{roi.iloc[0]['channel']}, {roi.iloc[1]['channel']} and ")
    ci = f"90 % CI {top['share_ci_low'] * 100:.1f} … {top['share_ci_high'] * 100:.1f} %"
    assert ci in headline


def test_budget_headline_worded_from_the_interval(result) -> None:
    def render(low: float, high: float) -> str:
        changed = copy.copy(result)
        changed.budget = dataclasses.replace(result.budget, gain_ci_low=low, gain_ci_high=high)
        page = build_marketing_mix_report(changed, config=mmm_config_values())
        return page.split("data-headline-budget")[1].split("</p>")[0]

    gain = result.budget.expected_gain
    sure = render(0.35 * gain, 1.7 * gain)
    assert "is expected to add" in sure and f"{gain:,.0f} sales" in sure
    assert "over the next 13 weeks" in sure and "97 % of bootstrap draws gain" in sure
    assert "verdict-gain" in sure
    unsure = render(-0.5 * gain, 1.7 * gain)
    assert "is not shown to gain" in unsure and "is expected to add" not in unsure
    assert f"−{0.5 * gain:,.0f}" in unsure  # the interval with a typographic minus
    assert "lose" in render(-2 * gain, -0.5 * gain)


def test_budget_table_flags_the_bound_and_keeps_the_total(result, html: str) -> None:
    plan = result.budget_plan
    flagged = re.findall(r'data-bound="([^"]+)"', html)
    assert flagged == [BOUND_ACTIVE_CHANNEL]
    row = _row(html, "budget", BOUND_ACTIVE_CHANNEL)
    current = plan.loc[plan["channel"] == BOUND_ACTIVE_CHANNEL, "current_spend"].iloc[0]
    assert f"${current:,.0f}" in row and "+50.0 %" in row and "at upper bound" in row
    budget = _section(html, "budget")
    assert f"${plan['current_spend'].sum():,.0f}" in budget
    for message in result.budget.messages:
        assert message.split(";")[0] in budget


def test_calibration_section_present_with_lift_tests(result, html: str) -> None:
    section = _section(html, "calibration")
    tests = result.calibration
    assert section.count(f'data-lift-test="{LIFT_TEST_CHANNEL}"') == len(tests)
    first = tests.iloc[0]
    assert f"{first['measured']:,.0f}" in section and f"± {first['se']:,.0f}" in section
    assert f"{(first['model_uncalibrated'] - first['measured']) / first['se']:+.1f} SE" in section
    shift = _row(section, "calibration-shift", LIFT_TEST_CHANNEL)
    assert "−1.05" in shift and "tested" in shift
    # the tested channel, moved most, comes first
    assert re.findall(r'data-channel="([^"]+)"', section)[0] == LIFT_TEST_CHANNEL


def test_calibration_section_omitted_with_a_note_without_lift_tests() -> None:
    page = build_marketing_mix_report(make_mmm_result(calibrated=False), config={})
    section = _section(page, "calibration")
    assert "data-no-calibration" in section and "No lift tests in this run" in section
    assert "data-table" not in section
    _assert_no_nan(page)


def test_validation_folds_and_share_stability(result, html: str) -> None:
    section = _section(html, "validation")
    folds = result.cv_folds
    assert f"{folds['mape'].mean():.1f} %" in section
    assert f"{folds['mape_seasonal_naive'].mean():.1f} %" in section
    assert "better than both baselines in 4 of 4 folds" in section
    shares = result.cv_shares[result.cv_shares["channel"] == "tv"]["share"]
    row = _row(section, "cv-shares", "tv")
    assert f"{(shares.max() - shares.min()) * 100:.1f} pp" in row


def test_warnings_are_prominent(html: str) -> None:
    assert "⚠ 2 warnings" in html.split("</header>")[0]
    top = html.split("data-warnings>")[1].split("</aside>")[0]
    for warning in WARNINGS:
        assert html_escape(warning) in top
    assert "data-diagnostic-warnings" in html
    assert html.count('data-at-bound="radio.half_saturation"') == 1


def test_returns_section_explains_roas_vs_marginal(result, html: str) -> None:
    section = _section(html, "returns")
    assert "Marginal ROAS</strong> is the return of the <em>next</em> unit" in section
    best = result.roi.sort_values("mroas").iloc[-1]
    assert f"earns most in {best['channel']} (marginal ROAS {best['mroas']:.2f}" in section
    assert section.count("<svg") == 1


def test_currency_code_and_no_nan_or_scientific_notation(result) -> None:
    page = build_marketing_mix_report(
        result, config={"parameters": {"currency": "EUR", "outcome_label": "orders"}}
    )
    spend = make_spend(0)
    assert f"{spend['tv'].sum():,.0f} EUR" in _row(page, "contributions", "tv")
    assert "orders per week" in page
    _assert_no_nan(page)
    text = _text(page)
    assert not re.search(r">[^<]*\d[eE][+\-−]?\d[^<]*<", text)


def test_hostile_names_are_escaped_and_partial_results_do_not_crash(result) -> None:
    hostile = "<script>alert(1)</script>"
    broken = copy.copy(result)
    broken.roi = result.roi.assign(channel=result.roi["channel"].replace("tv", hostile))
    broken.cv_folds = pd.DataFrame()
    broken.cv_shares = pd.DataFrame()
    broken.response_curves = pd.DataFrame()
    broken.parameters = result.parameters.drop(columns=["at_bound"])
    broken.warnings = [hostile]
    broken.fit_stats = {"r2": np.nan}
    page = build_marketing_mix_report(broken, config=None, validation=None, run_info=None)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No cross-validation in this run." in page
    assert "No response curves in this run." in page
    _assert_no_nan(page)


def test_period_word() -> None:
    weekly = pd.date_range("2024-01-01", periods=5, freq="7D")
    assert period_word(weekly) == "week"
    assert period_word(pd.date_range("2024-01-01", periods=5, freq="D")) == "day"
    assert period_word(pd.date_range("2024-01-01", periods=5, freq="MS")) == "period"
    assert period_word([]) == "period"


def _assert_no_nan(page: str) -> None:
    text = _text(page)
    assert not re.search(r">[^<]*\b(?:nan|NaN|None|NaT|inf)\b[^<]*<", text)


def test_budget_scenarios_table_shows_each_total_and_its_return() -> None:
    result = make_mmm_result()
    assert "What a different budget would buy" not in build_marketing_mix_report(
        result, config=mmm_config_values()
    )
    scenarios = pd.DataFrame(
        {
            "scenario": ["-20%", "plan", "+20%"],
            "total_per_period": [800.0, 1000.0, 1200.0],
            "expected_outcome": [9000.0, 10000.0, 10500.0],
            "gain_vs_current": [-900.0, 100.0, 600.0],
            "extra_spend_vs_plan": [-2600.0, 0.0, 2600.0],
            "return_on_extra_spend": [1000 / 2600, np.nan, 500 / 2600],
            "marginal_roas": [1.9, 1.5, 1.2],
            "channels_at_bounds": [1, 0, 2],
        }
    )
    html = build_marketing_mix_report(
        dataclasses.replace(result, budget_scenarios=scenarios), config=mmm_config_values()
    )
    assert "What a different budget would buy" in html
    table = html[html.index('data-table="budget-scenarios"') :]
    table = table[: table.index("</table>")]
    assert "total −20 %" in table and "total +20 %" in table and "recommended plan" in table
    assert "$1,200" in table and "+$2,600" in table and "−$2,600" in table
    assert "0.38" in table and "0.19" in table  # return on the extra spend, 2 decimals
    assert "nan" not in table.lower()
