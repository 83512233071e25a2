"""The report's Bayesian and heterogeneity sections say which view decides and how the flags
are corrected, on tables made by the engine itself (small simulated run, no ZenML)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from liftlab.reports.ab_testing import render_ab_report
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.layers import BayesianOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis

METRICS = [
    MetricSpec("conversion_rate", "proportion", column="converted"),
    MetricSpec("revenue", "mean", column="revenue"),
]
DESIGN = ABDesign("user_id", "variant", "A", ("B",), "experiment", segment_columns=("device",))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(99)
    frames = []
    for e, lift in enumerate([0.0, 0.05, 0.1, 0.2]):
        n = 16_000
        arm = rng.choice(np.array(["A", "B"]), size=n)
        device = rng.choice(np.array(["mobile", "desktop", "tablet"]), size=n)
        # exp3's revenue effect exists on mobile only: heterogeneous across devices
        extra = np.where((e == 3) & (device == "mobile") & (arm == "B"), 0.6, 0.0)
        effect = np.where(arm == "B", lift, 0.0)
        frames.append(
            pd.DataFrame(
                {
                    "experiment": f"exp{e}",
                    "user_id": np.arange(n) + e * n,
                    "variant": arm,
                    "device": device,
                    "converted": (rng.random(n) < 0.1 * (1 + effect)).astype(int),
                    "revenue": rng.gamma(0.5, 20.0 * (1 + effect + extra)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _report(data, correction="holm", results_hook=None, het_hook=None) -> tuple[str, object]:
    options = AnalysisOptions(control="A", correction=correction)
    out = run_ab_analysis(data, DESIGN, METRICS, options, bayesian=BayesianOptions())
    results = out.results if results_hook is None else results_hook(out.results.copy())
    het = out.heterogeneity if het_hook is None else het_hook(out.heterogeneity.copy())
    html = render_ab_report(
        results=results,
        srm=out.srm,
        funnel=out.funnel,
        audits=[],
        validation={},
        config={"parameters": {"correction": correction, "alpha": 0.05}},
        run_info={},
        heterogeneity=het,
    )
    return html, out


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find('<section class="card"', start)
    return html[start : end if end > 0 else len(html)]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


def test_bayesian_section_names_the_deciding_view_and_its_level(data):
    html, out = _report(data)
    text = _text(_section(html, "bayesian"))
    assert "Which view decides: the headline and the Results table follow the frequentist " in (
        text
    )
    assert "Holm-corrected p-values" in text
    assert "never overrides it" in text
    overall = out.results[out.results["segment"] == "all"]
    m = int(overall["p_value"].notna().sum())
    level = f"{(1 - 0.05 / m) * 100:.4g} %"
    assert f"Rel. lift ({level} CrI)" in text
    assert f"split over the {m} comparisons" in text
    # the bar is green exactly beside a Bayesian win
    sec = _section(html, "bayesian")
    assert sec.count("fill win") == sec.count('data-bayes="win"') > 0
    assert sec.count("fill loss") == sec.count('data-bayes="loss"')


def test_uncorrected_bayesian_view_says_so(data):
    html, _ = _report(data, correction="none")
    text = _text(_section(html, "bayesian"))
    assert "not corrected for multiple comparisons" in text
    assert "trust the frequentist decision" in text
    assert "Rel. lift (95 % CrI)" in text


def test_disagreements_are_counted(data):
    def flip(res: pd.DataFrame) -> pd.DataFrame:
        first = res.index[(res["segment"] == "all") & (res["bayes_decision"] == "win")][0]
        res.loc[first, "decision"] = "inconclusive"
        return res

    html, _ = _report(data, results_hook=flip)
    text = _text(_section(html, "bayesian"))
    assert "1 comparison below gets a different call from the two views" in text


def test_sequential_run_names_the_sequential_test(data):
    html, _ = _report(data, results_hook=lambda r: r.assign(seq_method="msprt"))
    text = _text(_section(html, "bayesian"))
    assert "follow the sequential test;" in text


def test_heterogeneity_caption_and_table_show_the_corrected_flag(data):
    html, out = _report(data)
    het = out.heterogeneity
    sec = _section(html, "segments")
    text = _text(sec)
    n = int(het["p_value"].notna().sum())
    assert f"corrected over the {n} Q tests of this run" in text
    assert "Holm-adjusted p-value" in text
    assert "p adj." in text
    assert sec.count('data-het="yes"') == int(het["heterogeneous"].sum())
    assert het["heterogeneous"].any()  # exp3's mobile-only effect survives the correction


def test_heterogeneity_frame_without_adjusted_p_is_labelled_uncorrected(data):
    html, _ = _report(data, het_hook=lambda h: h.drop(columns="p_value_adjusted"))
    text = _text(_section(html, "segments"))
    assert "not corrected for multiple tests" in text
    assert "Holm-adjusted" not in text
