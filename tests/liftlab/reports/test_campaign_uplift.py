"""Tests for the campaign-uplift HTML report and its charts.

The inputs are real: simulated CRM/POS files → bronze → silver → gold with the domain code, built
once per module on 4,000 customers so the file runs in a few seconds without ZenML or MLflow.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from liftlab.plots.campaign_uplift import category_spend_chart, funnel_chart, roi_chart, spend_chart
from liftlab.plots.style import figure_to_svg
from liftlab.reports.campaign_uplift import (
    SECTION_TITLES,
    combined_revenue_ci,
    render_campaign_report,
)
from liftlab.simulate.campaigns import (
    CampaignSimulationConfig,
    simulate_campaigns,
    write_campaigns,
)
from strategies.campaign_uplift import (
    SUMMARY_COLUMNS,
    CampaignOptions,
    bronze_rules,
    build_bronze,
    build_silver,
    summarise_campaigns,
)
from strategies.validation import validate

HOSTILE = "<script>alert('x')</script>"
TABLES = ["campaigns", "profiles", "assignments", "interactions", "transactions"]
CONFIG = {
    "data_dir": "data/demo/campaigns",
    "window_days": 10,
    "pre_window_days": 30,
    "alpha": 0.05,
    "correction": "holm",
    "cuped": True,
}
RUN_INFO = {
    "pipeline": "campaign_uplift",
    "run_name": "nightly-<1>",
    "generated_at": "2026-11-01T06:00:00+00:00",
    "data_source": "data/demo/campaigns",
    "git_commit": "deadbeef",
    "mlflow_run_id": "0123456789abcdef",
}


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder: Path = tmp_path_factory.mktemp("campaigns")
    files = write_campaigns(simulate_campaigns(CampaignSimulationConfig(n_customers=4000)), folder)
    tables, bronze_audit = build_bronze({k: files[k] for k in TABLES})
    silver = build_silver(tables, window_days=10, pre_window_days=30)
    summary, funnel, _ = summarise_campaigns(
        silver.outcomes, tables["campaigns"], silver.categories, CampaignOptions()
    )
    # One real report per table (only the small ones: the suite stays fast).
    validation = {t: validate(tables[t], bronze_rules(t)).to_dict() for t in ("campaigns",)}
    return {
        "summary": summary,
        "funnel": funnel,
        "bronze_audit": bronze_audit,
        "silver_audit": silver.audit,
        "validation": validation,
    }


def _render(gold: dict, **overrides) -> str:
    kwargs = {
        "summary": gold["summary"],
        "funnel": gold["funnel"],
        "bronze_audit": gold["bronze_audit"],
        "silver_audit": gold["silver_audit"],
        "validation": gold["validation"],
        "config": CONFIG,
        "run_info": RUN_INFO,
    }
    kwargs.update(overrides)
    return render_campaign_report(**kwargs)


def _totals(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["category"] == "all"]


def _assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.IGNORECASE)
    assert "@import" not in html


def _assert_no_nan(html: str) -> None:
    text = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.DOTALL)
    assert not re.search(r">[^<]*\b(?:nan|NaN|None|NaT|inf)\b[^<]*<", text)


# --- the report -------------------------------------------------------------------------------


def test_report_renders_real_data(gold: dict) -> None:
    summary = gold["summary"]
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    html = _render(gold)
    for title in SECTION_TITLES.values():
        assert title in html
    totals = _totals(summary)
    for cid, decision, roi_decision in zip(
        totals["campaign_id"], totals["decision"], totals["roi_decision"], strict=True
    ):
        row = re.search(rf'<tr class="[^"]*" data-campaign="{cid}">(.*?)</tr>', html, re.DOTALL)
        assert row, cid
        assert f'data-decision="{decision}"' in row.group(1)
        assert f'data-roi-decision="{roi_decision}"' in row.group(1)
    for category in summary.loc[summary["category"] != "all", "category"].unique():
        assert f'data-category="{category}"' in html
    for key in ("campaigns", "revenue", "cost", "roi", "profitable", "wins"):
        assert f'data-kpi="{key}"' in html
    assert re.search(rf'data-kpi="campaigns">{totals["campaign_id"].nunique()}<', html)
    n_profitable = int((totals["roi_decision"] == "profitable").sum())
    assert f">{n_profitable} of {len(totals)}<" in html
    # data section: bronze duplicates highlighted, silver audit, validation per table
    dup = [a for a in gold["bronze_audit"] if a["exact_duplicate_rows"] > 0]
    for a in dup:
        assert f'data-duplicates="{a["table"]}"' in html
    assert 'data-validation="campaigns"' in html and "✓ validation passed" in html
    assert 'data-contaminated="0"' in html and 'data-ambiguous="0"' in html
    # method, config, footer
    assert "[send_at, send_at + 10 days)" in html and "UTC" in html
    assert "spend 0" in html and "CUPED" in html and "Holm" in html
    assert "correction: holm" in html
    assert "deadbeef" in html and "0123456789abcdef" in html
    _assert_no_nan(html)
    _assert_self_contained(html)


def test_total_revenue_kpi_uses_independent_standard_errors(gold: dict) -> None:
    totals = _totals(gold["summary"])
    total, low, high = combined_revenue_ci(
        totals["incremental_revenue"],
        totals["incremental_revenue_ci_low"],
        totals["incremental_revenue_ci_high"],
    )
    assert total == pytest.approx(totals["incremental_revenue"].sum())
    z = NormalDist().inv_cdf(0.975)
    se = (totals["incremental_revenue_ci_high"] - totals["incremental_revenue_ci_low"]) / (2 * z)
    half = z * math.sqrt(float((se**2).sum()))
    assert (low, high) == pytest.approx((total - half, total + half))
    # narrower than the (wrong) sum of bounds
    assert high - low < (
        totals["incremental_revenue_ci_high"].sum() - totals["incremental_revenue_ci_low"].sum()
    )
    html = _render(gold)
    assert f"{total:+,.0f}".replace("-", "\u2212") in html
    assert f"{low:+,.0f}".replace("-", "\u2212") in html
    assert "campaigns assumed independent" in html


def test_combined_ci_without_bounds_returns_point_estimate() -> None:
    total, low, high = combined_revenue_ci([100.0, 50.0, np.nan], [90.0, np.nan, 1.0], [110, 60, 2])
    assert total == 150.0 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in combined_revenue_ci([], [], []))
    # alpha changes the quantile used to recover the SE, not the result for one estimate
    assert combined_revenue_ci([10.0], [0.0], [20.0], alpha=0.1) == pytest.approx((10, 0, 20))


def test_hostile_text_is_escaped(gold: dict) -> None:
    summary = gold["summary"].copy()
    summary["campaign_name"] = summary["campaign_name"].astype(object)
    summary.loc[summary["campaign_id"] == summary["campaign_id"].iloc[0], "campaign_name"] = HOSTILE
    summary.loc[summary["category"] == "tickets", "category"] = "<b>tickets</b>"
    html = _render(
        gold,
        summary=summary,
        bronze_audit=[{**gold["bronze_audit"][0], "file": "/data/<img src=x onerror=alert(1)>"}],
        silver_audit={**gold["silver_audit"], "contaminated_controls": {"<i>C9</i>": 2}},
        config={**CONFIG, "note": HOSTILE},
    )
    assert HOSTILE not in html and "<b>tickets</b>" not in html and "<i>C9</i>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "nightly-&lt;1&gt;" in html
    _assert_self_contained(html)


def test_figures_are_inline_svg(gold: dict) -> None:
    html = _render(gold)
    for chart in ("spend", "category-spend", "roi", "funnel"):
        assert re.search(rf'data-chart="{chart}">\s*<svg\b', html), chart
    assert "<?xml" not in html and "data:image" not in html
    _assert_self_contained(html)


def test_empty_funnel_still_renders(gold: dict) -> None:
    html = _render(gold, funnel=pd.DataFrame())
    assert "No funnel data in this run." in html
    assert 'data-chart="funnel"' not in html
    assert 'data-chart="roi"' in html
    _assert_self_contained(html)


def test_nan_values_degrade_to_dash(gold: dict) -> None:
    summary = gold["summary"].copy()
    numeric = summary.select_dtypes("number").columns
    summary[numeric] = np.nan
    summary["decision"] = None
    summary["roi_decision"] = np.nan
    summary["send_at"] = pd.NaT
    funnel = gold["funnel"].assign(customers=np.nan, rate=np.nan, assigned=np.nan)
    html = _render(gold, summary=summary, funnel=funnel)
    assert "—" in html and "no decision" in html
    assert "No spend per customer to compare." in html
    assert "No ROI estimates" in html
    _assert_no_nan(html)
    _assert_self_contained(html)


def test_everything_missing_still_renders() -> None:
    html = render_campaign_report(
        summary=pd.DataFrame(),
        funnel=pd.DataFrame(),
        bronze_audit=[],
        silver_audit={},
        validation={},
        config={},
        run_info={},
    )
    for text in (
        "No campaign results in this run.",
        "No funnel data in this run.",
        "No per-category results in this run.",
        "No bronze audit recorded.",
        "No silver audit recorded.",
        "No validation results recorded.",
        "No configuration recorded.",
    ):
        assert text in html
    _assert_no_nan(html)
    _assert_self_contained(html)


def test_partial_columns_and_garbage_inputs_render() -> None:
    summary = pd.DataFrame({"campaign_id": ["X1", "X1"], "category": ["all", "tickets"]})
    html = render_campaign_report(
        summary=summary,
        funnel=pd.DataFrame({"campaign_id": ["X1"], "group": ["target"], "stage": ["sent"]}),
        bronze_audit=[{"table": "campaigns"}, "not a dict"],  # type: ignore[list-item]
        silver_audit={"ambiguous_assignments_excluded": None},
        validation={"campaigns": {"outcomes": [{"success": False}]}, "junk": 3},
        config={"parameters": {"alpha": "oops", "correction": "bh"}},
        run_info={"run_name": None},
    )
    assert 'data-campaign="X1"' in html and 'data-category="tickets"' in html
    assert "Benjamini–Hochberg" in html
    assert "✗ validation failed" in html
    _assert_no_nan(html)
    _assert_self_contained(html)


def test_data_problems_are_highlighted(gold: dict) -> None:
    summary = gold["summary"].copy()
    cid = summary["campaign_id"].iloc[0]
    summary.loc[summary["campaign_id"] == cid, "srm_detected"] = True
    summary.loc[summary["campaign_id"] == cid, "srm_p_value"] = 1e-6
    validation = {
        **gold["validation"],
        "transactions": {
            "success": False,
            "n_rows": 10,
            "outcomes": [
                {
                    "expectation": "expect_column_values_to_be_between",
                    "column": "amount",
                    "success": False,
                    "skipped": False,
                    "unexpected_count": 2,
                    "unexpected_examples": [-5.0, " x"],
                    "description": "column 'amount' must be >= 0",
                }
            ],
        },
    }
    html = _render(
        gold,
        summary=summary,
        validation=validation,
        silver_audit={
            **gold["silver_audit"],
            "ambiguous_assignments_excluded": {cid: 4},
            "contaminated_controls": {cid: 3, "C99": 0},
        },
    )
    assert "data-srm-warning" in html and f'data-srm="{cid}"' in html
    assert 'data-ambiguous="4"' in html and 'data-contaminated="3"' in html
    assert '<span class="hl">3</span>' in html and '<span class="hl">4</span>' in html
    assert "✗ validation failed" in html and "1 table failed validation" in html
    assert "column &#39;amount&#39; must be &gt;= 0" in html and "&#34; x&#34;" in html


# --- the charts ---------------------------------------------------------------------------------


def test_plot_functions_return_figures(gold: dict) -> None:
    for make in (spend_chart, category_spend_chart, roi_chart):
        fig = make(gold["summary"])
        assert isinstance(fig, Figure)
        assert len(fig.axes) >= 1
    fig = funnel_chart(gold["funnel"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == gold["funnel"]["campaign_id"].nunique()


@pytest.mark.parametrize("make", [spend_chart, category_spend_chart, roi_chart, funnel_chart])
@pytest.mark.parametrize(
    "data",
    [
        None,
        pd.DataFrame(),
        pd.DataFrame({"campaign_id": ["C1"]}),
        pd.DataFrame(
            {
                "campaign_id": ["C1", "C1"],
                "category": ["all", "x"],
                "group": ["target", "control"],
                "stage": ["purchased", "purchased"],
                "roi": [np.nan, np.nan],
                "spend_per_customer_target": [np.nan, np.nan],
            }
        ),
    ],
)
def test_plot_functions_handle_empty_input(make, data) -> None:
    fig = make(data)
    assert isinstance(fig, Figure)
    assert figure_to_svg(fig).startswith("<svg")  # drawing must not raise either


def test_roi_chart_handles_user_text_and_no_cost(gold: dict) -> None:
    summary = gold["summary"].copy()
    summary["campaign_name"] = "$5_off and $10_off"  # mathtext must not garble or raise
    summary.loc[summary.index[:3], ["roi", "roi_ci_low", "roi_ci_high"]] = np.nan
    summary.loc[summary.index[:3], "roi_decision"] = "no cost"
    fig = roi_chart(summary)
    assert figure_to_svg(fig).startswith("<svg")
    assert isinstance(fig, Figure)


def test_typed_config_renders_like_its_values(gold: dict) -> None:
    """The pipeline hands the report its typed CampaignUpliftConfig: the page is the one its
    values give."""
    from liftlab.config.campaign_uplift import load_campaign_config

    cfg = load_campaign_config({**CONFIG, "window_days": 7})
    typed = _render(gold, config=cfg)
    plain = _render(gold, config=cfg.model_dump(mode="json"))
    charts = re.compile(r"<svg.*?</svg>", re.S)  # SVG ids are random per render
    assert charts.sub("<svg/>", typed) == charts.sub("<svg/>", plain)
    assert "window_days: 7" in typed
