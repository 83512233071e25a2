"""Tests for the model-training HTML report and its charts.

The comparison table is real (simulated ads → preprocessor → grouped split →
``compare_candidates``), built once per module on a small table so the file runs in a few
seconds and needs neither ZenML nor MLflow.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from liftlab.plots.training import (
    comparison_chart,
    feature_importance_chart,
    predicted_vs_actual,
    residuals_plot,
)
from liftlab.reports.training import SECTION_TITLES, render_training_report
from liftlab.simulate.ads import AdSimulationConfig, simulate_ads
from strategies.evaluation import compare_candidates
from strategies.features import build_preprocessor
from strategies.splits import make_split

HOSTILE = "ridge <script>alert('x')</script>"
TARGET = "Total_Conversion"


@pytest.fixture(scope="module")
def trained() -> dict:
    data = simulate_ads(AdSimulationConfig(n_ads=300, seed=7)).data
    split = make_split({"name": "grouped", "column": "fb_campaign_id", "test_size": 0.2, "seed": 0})
    train_idx, test_idx = split.holdout(data)
    folds = [
        (train_idx[a], train_idx[b]) for a, b in split.cv_folds(data.iloc[train_idx], n_splits=3)
    ]
    result = compare_candidates(
        [{"name": "poisson"}, {"name": "ridge", "label": HOSTILE, "params": {"alpha": 2.0}}],
        lambda: build_preprocessor(
            [{"name": "ctr"}, {"name": "log1p", "columns": ["Impressions", "Spent"]}]
        ),
        data,
        data[TARGET],
        folds=folds,
        holdout=(train_idx, test_idx),
        seed=0,
    )
    holdout = data.iloc[test_idx]
    actual = holdout[TARGET].to_numpy(dtype=float)
    predicted = result.fitted[result.best].predict(holdout)
    predictions = pd.DataFrame(
        {
            "ad_id": holdout["ad_id"].to_numpy(),
            "actual": actual,
            "predicted": predicted,
            "residual": actual - predicted,
        }
    )
    importance = pd.DataFrame(
        {
            "feature": ["Impressions", "Clicks", "age", "gender", "interest"],
            "importance_mean": [0.41, 0.12, 0.05, -0.01, 0.02],
            "importance_std": [0.04, 0.02, 0.01, 0.01, np.nan],
        }
    )
    return {"result": result, "predictions": predictions, "importance": importance}


def _scores(r2: float, rmse: float, mae: float, dev: float) -> dict[str, float]:
    return {"r2": r2, "rmse": rmse, "mae": mae, "poisson_deviance": dev}


def _decision(best: str, *, champion: dict | None, promote: bool = True) -> dict:
    return {
        "promote": promote,
        "metric": "poisson_deviance",
        "margin": 0.02,
        "model_name": "conversion_model",
        "challenger": {"candidate": best, "scores": _scores(0.35, 3.5, 2.4, 2.6)},
        "baseline": {"scores": _scores(-0.02, 4.4, 3.7, 4.6)},
        "champion": champion,
        "reasons": [
            "challenger beats champion on poisson_deviance (lower is better): 2.6 vs 3.1",
            "beats the baseline by 43 %",
        ],
        "summary": "Promoted the challenger: clearly better than version 3 on the holdout.",
    }


AUDITS = [
    {
        "strategy": "drop_duplicate_units",
        "description": "Remove repeated ad ids <b>",
        "rows_in": 310,
        "rows_out": 300,
        "rows_dropped": 10,
        "values_changed": 0,
        "details": {"column": "ad_id", "examples": [1, 2]},
    }
]
VALIDATION = {
    "success": False,
    "n_rows": 300,
    "n_expectations": 3,
    "n_failed": 1,
    "n_skipped": 1,
    "outcomes": [
        {
            "expectation": "expect_column_values_to_be_between",
            "column": "Spent",
            "success": False,
            "skipped": False,
            "unexpected_count": 2,
            "unexpected_examples": [-1.0, -3.5],
            "description": "spend cannot be negative",
        },
        {
            "expectation": "expect_column_to_exist",
            "column": "ad_id",
            "success": True,
            "skipped": False,
            "unexpected_count": 0,
            "unexpected_examples": [],
            "description": "ad_id must be present",
        },
        {
            "expectation": "expect_column_values_to_not_be_null",
            "column": "Clicks",
            "success": False,
            "skipped": True,
            "unexpected_count": 0,
            "unexpected_examples": [],
            "description": "not run",
        },
    ],
}
RUN_INFO = {
    "pipeline": "train_conversion_model",
    "run_name": "nightly-<1>",
    "generated_at": "2025-01-01T00:00:00Z",
    "data_source": "data/ads.csv",
    "data_sha256": "ab" * 32,
    "rows_raw": 310,
    "git_commit": "deadbeef",
    "mlflow_run_id": "0123456789abcdef",
    "model_name": "conversion_model",
}
CONFIG = {"parameters": {"rank_by": "poisson_deviance", "note": "<img src=x onerror=alert(1)>"}}


def _render(trained: dict, **overrides) -> str:
    result = trained["result"]
    kwargs = {
        "comparison": result.table,
        "holdout_predictions": trained["predictions"],
        "feature_importance": trained["importance"],
        "decision": _decision(
            result.best,
            champion={"version": "3", "model_id": "m-123", "scores": _scores(0.2, 3.9, 2.9, 3.1)},
        ),
        "audits": AUDITS,
        "validation": VALIDATION,
        "config": CONFIG,
        "run_info": RUN_INFO,
    }
    kwargs.update(overrides)
    return render_training_report(**kwargs)


def _assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.IGNORECASE)


# --- the report -------------------------------------------------------------------------------


def test_report_renders_real_comparison(trained: dict) -> None:
    html = _render(trained)
    table = trained["result"].table
    for name in table["candidate"]:
        if name != HOSTILE:
            assert f'data-candidate="{name}"' in html
    assert "baseline_mean" in html
    for title in SECTION_TITLES.values():
        assert title in html
    assert "Promoted the challenger: clearly better than version 3 on the holdout." in html
    assert 'data-decision="promoted"' in html
    assert "version 3" in html and "m-123" in html
    assert "2.0 %" in html  # the margin
    # real values from the table, formatted with 4 significant digits
    best_dev = table.loc[table["is_best"], "holdout_poisson_deviance"].iloc[0]
    assert f"{best_dev:.4g}" in html
    for key in ("best", "cv", "holdout", "baseline", "verdict"):
        assert f'data-kpi="{key}"' in html
    # run info in the footer, raw rows with thousands separators; config as YAML
    assert "deadbeef" in html and "0123456789abcdef" in html and "conversion_model" in html
    assert "rank_by: poisson_deviance" in html
    # data section: audit and validation, skipped expectation shown as such
    assert "drop_duplicate_units" in html and "310 → 300" in html
    assert "1 of 2 expectations failed" in html and "skipped" in html


def test_hostile_text_is_escaped(trained: dict) -> None:
    html = _render(trained)
    assert HOSTILE not in html
    assert "ridge &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Remove repeated ad ids &lt;b&gt;" in html
    assert "nightly-&lt;1&gt;" in html
    _assert_self_contained(html)


def test_figures_are_inline_svg(trained: dict) -> None:
    html = _render(trained)
    for chart in ("comparison", "predicted-vs-actual", "residuals", "feature-importance"):
        match = re.search(rf'data-chart="{chart}">\s*<svg\b', html)
        assert match, chart
    assert "<?xml" not in html
    assert "data:image" not in html
    _assert_self_contained(html)


def test_first_model_without_champion(trained: dict) -> None:
    best = trained["result"].best
    decision = _decision(best, champion=None)
    decision["summary"] = "First model for conversion_model: registered as champion."
    html = _render(trained, decision=decision)
    assert "First model for conversion_model: registered as champion." in html
    assert "first model" in html.lower()
    assert "Current champion" not in html
    assert 'data-role="champion"' not in html


def test_champion_that_could_not_be_scored(trained: dict) -> None:
    decision = _decision(
        trained["result"].best,
        champion={"version": "4", "model_id": "m-9", "error": "could not load <model>"},
        promote=False,
    )
    html = _render(trained, decision=decision)
    assert 'data-decision="not-promoted"' in html
    assert "could not load &lt;model&gt;" in html
    assert 'data-role="champion"' in html


def test_empty_feature_importance_and_predictions(trained: dict) -> None:
    html = _render(
        trained,
        feature_importance=pd.DataFrame(columns=["feature", "importance_mean", "importance_std"]),
        holdout_predictions=pd.DataFrame(columns=["actual", "predicted", "residual"]),
    )
    assert "No feature importance computed." in html
    assert "No holdout predictions recorded." in html
    assert 'data-chart="comparison"' in html


def test_nan_scores_degrade_to_dash(trained: dict) -> None:
    table = trained["result"].table.copy()
    for col in table.columns:
        if col.startswith(("cv_", "holdout_")) or col == "fit_seconds":
            table[col] = np.nan
    decision = _decision(trained["result"].best, champion=None, promote=False)
    decision["challenger"]["scores"] = _scores(math.nan, math.nan, math.nan, math.nan)
    decision["margin"] = math.nan
    html = _render(trained, comparison=table, decision=decision)
    assert "—" in html
    assert ">nan<" not in html.lower() and " nan " not in html.lower()
    assert 'data-chart="comparison"' not in html  # nothing finite to chart


def test_everything_missing_still_renders() -> None:
    html = render_training_report(
        comparison=pd.DataFrame(),
        holdout_predictions=pd.DataFrame(),
        feature_importance=pd.DataFrame(),
        decision={},
        audits=[],
        validation={},
        config={},
        run_info={},
    )
    assert "No candidates were compared in this run." in html
    assert "No promotion decision recorded in this run." in html
    assert "No validation results recorded." in html
    assert "No configuration recorded." in html
    _assert_self_contained(html)


# --- the charts -------------------------------------------------------------------------------


def test_plot_functions_return_figures(trained: dict) -> None:
    table = trained["result"].table
    preds = trained["predictions"]
    figures = [
        comparison_chart(table, "poisson_deviance"),
        comparison_chart(table, "r2"),
        predicted_vs_actual(preds["actual"], preds["predicted"], title="best"),
        residuals_plot(preds["actual"], preds["predicted"]),
        feature_importance_chart(trained["importance"], top=3),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: comparison_chart(pd.DataFrame(), "rmse"),
        lambda: comparison_chart(None, "rmse"),  # type: ignore[arg-type]
        lambda: comparison_chart(
            pd.DataFrame({"candidate": ["a"], "cv_rmse_mean": [np.nan]}), "rmse"
        ),
        lambda: predicted_vs_actual([], []),
        lambda: predicted_vs_actual([np.nan, 1.0], [2.0, np.nan]),
        lambda: residuals_plot(None, None),
        lambda: residuals_plot([1.0, 2.0], [np.nan, np.nan]),
        lambda: feature_importance_chart(pd.DataFrame()),
        lambda: feature_importance_chart(
            pd.DataFrame({"feature": ["a"], "importance_mean": [np.nan], "importance_std": [1.0]})
        ),
    ],
)
def test_plot_functions_handle_empty_input(make) -> None:
    fig = make()
    assert isinstance(fig, Figure)
    assert not fig.axes  # the "no data" figure is a single line of text
    assert fig.texts


def test_typed_config_is_shown_as_its_parameters(trained: dict) -> None:
    from liftlab.config.training import load_training_config

    cfg = load_training_config({"data_path": "ads.csv", "model_name": "m-<b>"})
    typed = _render(trained, config=cfg)
    assert "model_name: m-&lt;b&gt;" in typed and "cv_folds: 5" in typed
    as_dict = _render(trained, config=cfg.model_dump(mode="json"))

    def config_card(html: str) -> str:  # charts elsewhere carry random SVG ids
        start = html.index('<section class="card" id="config">')
        return html[start : html.index("</section>", start)]

    assert config_card(typed) == config_card(as_dict)


def test_comparison_table_for_the_dashboard(trained: dict) -> None:
    from liftlab.reports.training import comparison_table_html

    table = trained["result"].table
    page = comparison_table_html(table, "<rank>")
    assert "ranked by cross-validated &lt;rank&gt;" in page
    assert "cv_r2_mean" in page and "holdout_poisson_deviance" in page
    assert "cv_r2_std" not in page and "params" not in page


# --- leading with what is predicted, in units a marketer reads ---------------------------------


def test_leads_with_what_is_predicted_and_the_error_in_conversions(trained: dict) -> None:
    config = {"parameters": {"target": "Approved_Conversion", "id_column": "ad_id"}}
    html = _render(trained, config=config)
    table = trained["result"].table
    mae = table.loc[table["is_best"], "holdout_mae"].iloc[0]
    kpis = re.findall(r'data-kpi="([^"]+)"', html)
    assert kpis[0] == "mae"  # the first number on the page is the error in conversions
    card = re.search(r'data-kpi="mae">(.*?)</div>\s*<div class="label">(.*?)</div>', html, re.S)
    assert card and f"{mae:.3g}" in card.group(1)
    lead = re.search(r"data-predicts>(.*?)</p>", html, re.S)
    assert lead
    text = re.sub(r"<[^>]+>", "", lead.group(1))
    assert "approved conversions per ad" in text
    assert f"{mae:.3g} approved conversions per ad" in text
    # what is predicted comes before the first mention of Poisson deviance in the page body
    # (the first KPI card), and the sentence saying it right below the KPI strip
    body = html[html.index('<section id="summary"') :]
    assert body.index("approved conversions per ad") < body.index("Poisson deviance")
    assert body.index("data-predicts") < body.index('id="decision"')


def test_cv_spread_sentence_only_when_the_holdout_falls_outside(trained: dict) -> None:
    table = trained["result"].table.copy()
    best = table["is_best"].to_numpy()
    mean = table.loc[best, "cv_poisson_deviance_mean"].iloc[0]
    sd = table.loc[best, "cv_poisson_deviance_std"].iloc[0]
    inside = table.copy()
    inside.loc[:, "holdout_poisson_deviance"] = inside["cv_poisson_deviance_mean"]
    assert "data-cv-spread" not in _render(trained, comparison=inside)
    outside = table.copy()
    outside.loc[best, "holdout_poisson_deviance"] = mean + 3 * sd
    html = _render(trained, comparison=outside)
    sentence = re.search(r"data-cv-spread>(.*?)</", html, re.S)
    assert sentence
    name = table.loc[best, "candidate"].iloc[0]
    assert name in sentence.group(1) or "&lt;script&gt;" in sentence.group(1)
    assert "outside" in sentence.group(1) and "split" in sentence.group(1)
