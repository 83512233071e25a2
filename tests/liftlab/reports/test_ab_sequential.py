"""The report's sequential parts on real engine output (issue #10, item 5): a test that stopped
at an interim look is reported with the estimate and the sequential interval of that look,
labelled as such, and the fixed-horizon numbers of all the data only as a reference."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from liftlab.reports.ab_testing import render_ab_report
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.layers import SequentialOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis

LOOKS = 14


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.DOTALL)
    assert match, f"section {section_id} missing"
    return match.group(0)


def _interim_stop_data() -> pd.DataFrame:
    """B converts 11.5 % vs 10 % for 9 days, then 8.5 %: the boundary is crossed at an interim
    look and the cumulative difference is no longer significant by look 14."""
    start = pd.Timestamp("2026-04-06", tz="UTC")
    parts = []
    for arm in ("A", "B"):
        for d in range(LOOKS):
            k = 100 if arm == "A" else (115 if d < 9 else 85)
            y = np.zeros(1000, dtype=int)
            y[:k] = 1
            at = start + pd.Timedelta(days=d, hours=12)
            parts.append(pd.DataFrame({"variant": arm, "assigned_at": at, "converted": y}))
    df = pd.concat(parts, ignore_index=True)
    return df.assign(user_id=np.arange(len(df)), experiment="exp")


@pytest.fixture(scope="module", params=["group_sequential", "msprt"])
def report(request):
    df = _interim_stop_data()
    design = ABDesign("user_id", "variant", "A", ("B",), "experiment")
    metric = [MetricSpec("conversion_rate", "proportion", column="converted")]
    options = SequentialOptions(
        method=request.param,
        planned_sample_size=2 * 1000 * LOOKS,
        planned_looks=LOOKS,
        mde=0.15,
        baselines={"conversion_rate": 0.1},
    )
    out = run_ab_analysis(df, design, metric, AnalysisOptions(control="A"), sequential=options)
    html = render_ab_report(
        results=out.results,
        srm=out.srm,
        funnel=out.funnel,
        audits=[],
        validation={},
        config={"metrics": [{"name": "conversion_rate", "type": "proportion"}]},
        run_info={},
        sequential_looks=out.sequential_looks,
    )
    row = out.results.query("segment == 'all'").iloc[0]
    return request.param, row, html


def _start(df_day: int) -> pd.Timestamp:
    return pd.Timestamp("2026-04-06", tz="UTC") + pd.Timedelta(days=df_day)


def test_headline_shows_the_stopping_look(report) -> None:
    method, row, html = report
    assert row["decision"] == "win" and row["seq_crossed"]
    stop = int(row["seq_crossed_look"])
    assert stop < LOOKS
    # independent numbers at the stopping look, from the rows: 11.5 % vs 10 % → +15.0 %
    df = _interim_stop_data()
    part = df[df["assigned_at"] < _start(stop)]
    rates = part.groupby("variant")["converted"].mean()
    lift = rates["B"] / rates["A"] - 1
    assert lift == pytest.approx(0.15)
    head = _section(html, "headline")
    item = re.search(r'<li[^>]*data-experiment="exp".*?</li>', head, re.S)
    assert item
    li = item.group(0)
    assert "B wins on conversion_rate" in li
    kind = "repeated" if method == "group_sequential" else "always-valid"
    assert f"(+15.0 %, {kind} 95 % CI of the difference" in li
    # the interval printed beside the win excludes 0 and is the sequential one of that look
    lo, hi = row["seq_ci_low"], row["seq_ci_high"]
    assert 0 < lo < row["seq_estimate"] < hi
    assert f"+{lo * 100:.2f} pp" in li
    # the final-look (fixed-horizon) numbers are not beside the win: +4.3 %, CI across 0
    assert row["rel_lift"] == pytest.approx(0.3 / 7, rel=1e-9)
    assert "+4.3 %" not in li and "−3.0 %" not in li
    assert f"stopped at look {stop} of {LOOKS}; lift and interval of that look" in li


def test_sequential_table_labels_both_views(report) -> None:
    method, row, html = report
    sec = _section(html, "sequential")
    stop = int(row["seq_crossed_look"])
    assert "Sequential test, at the decision look" in sec
    assert "Fixed horizon, all data" in sec and "reference" in sec
    assert "The sequential test makes the decision" in sec
    assert f'data-seq-at="{stop}">{stop} of {LOOKS}<' in sec
    assert "+15.0 %" in re.search(r"data-seq-estimate>.*?</td>", sec, re.S).group(0)
    fixed = re.search(r"data-seq-fixed>.*?</td>", sec, re.S).group(0)
    assert "+4.3 %" in fixed
    ci = re.search(r"data-seq-ci>(.*?)</td>", sec, re.S).group(1)
    assert ci.startswith("+") and "pp" in ci
    if method == "group_sequential":
        assert "Repeated CI" in sec and "Always-valid p" not in sec
    else:
        assert "Confidence sequence" in sec and "Always-valid p" in sec
        assert "Boundary" not in sec
