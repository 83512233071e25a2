"""The real Hillstrom e-mail experiment (../shared/data/hillstrom.csv; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from liftlab.config.ab_testing import load_ab_config
from strategies.ingest import load_source
from strategies.stats.run import run_ab_analysis
from tests.conftest import REPO_ROOT, shared_file

pytestmark = pytest.mark.shared_data
CONFIG = REPO_ROOT / "configs" / "ab_test_hillstrom.yaml"


def _config(data: Path, **overrides):
    parameters = yaml.safe_load(CONFIG.read_text())["parameters"]
    parameters.update(data_path=str(data), **overrides)
    return load_ab_config(parameters)


@pytest.fixture(scope="module")
def outcome():
    cfg = _config(shared_file("hillstrom.csv"))
    frame = load_source(cfg.resolved_data_path, sql=cfg.sql)
    result = run_ab_analysis(
        frame, cfg.design(), cfg.metric_specs(), cfg.analysis_options(), **cfg.layer_options()
    )
    return frame, result


def test_published_visit_rates(outcome) -> None:
    _, result = outcome
    visit = result.results.query("segment == 'all' and metric == 'visit'").set_index("variant")
    assert visit.loc["Mens E-Mail", "estimate_variant"] == pytest.approx(0.1828, abs=5e-5)
    assert visit.loc["Womens E-Mail", "estimate_variant"] == pytest.approx(0.1514, abs=5e-5)
    assert visit.loc["Mens E-Mail", "estimate_control"] == pytest.approx(0.1062, abs=5e-5)
    assert (visit["decision"] == "win").all()
    assert set(result.srm["srm_detected"]) == {False}


def test_spend_matches_scipy_welch(outcome) -> None:
    frame, result = outcome
    spend = result.results.query("segment == 'all' and metric == 'spend'").set_index("variant")
    control = frame.loc[frame["segment"] == "No E-Mail", "spend"].to_numpy()
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        treated = frame.loc[frame["segment"] == arm, "spend"].to_numpy()
        reference = stats.ttest_ind(treated, control, equal_var=False)
        assert spend.loc[arm, "p_value"] == pytest.approx(reference.pvalue, rel=1e-6)
        assert spend.loc[arm, "abs_diff"] == pytest.approx(treated.mean() - control.mean())
    assert np.isfinite(spend["rel_ci_low"]).all()


def test_segments_cover_every_zip_code_and_channel(outcome) -> None:
    _, result = outcome
    segments = set(result.results["segment"])
    assert {"zip_code=Urban", "zip_code=Surburban", "zip_code=Rural"} <= segments
    assert {"channel=Phone", "channel=Web", "channel=Multichannel"} <= segments


def test_cuped_on_history_shrinks_the_spend_interval(outcome) -> None:
    _, result = outcome
    overall = result.results.query("segment == 'all'").set_index(["variant", "metric"])
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        plain, cuped = overall.loc[(arm, "spend")], overall.loc[(arm, "spend_cuped")]
        assert cuped["variance_reduction"] > 0
        assert (
            cuped["abs_ci_high"] - cuped["abs_ci_low"] < plain["abs_ci_high"] - plain["abs_ci_low"]
        )
        # the adjustment moves the estimate by far less than its standard error
        assert abs(cuped["abs_diff"] - plain["abs_diff"]) < plain["abs_se"]
    # the Bayesian and Mann-Whitney layers of the shipped config ran too
    assert overall["prob_variant_better"].notna().all()
    assert overall.xs("spend", level="metric")["mw_p_value"].notna().all()
