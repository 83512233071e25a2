"""The one promotion rule (strategies.promotion) and its two presets: conversion regressors
(baseline to beat, relative margin, the metric's own direction) and uplift learners (strictly
higher holdout score, no baseline). Both produce the same decision record."""

from __future__ import annotations

import math

import pytest

from strategies.errors import ConfigError
from strategies.promotion import (
    REGRESSOR_WORDING,
    UPLIFT_WORDING,
    PromotionRule,
    beats,
    decide,
    decide_promotion,
    decide_uplift_promotion,
)

RECORD_KEYS = {
    "promote",
    "metric",
    "margin",
    "model_name",
    "challenger",
    "baseline",
    "champion",
    "reasons",
    "summary",
}


def _uplift(score: float, champion: dict | None = None):
    return decide_uplift_promotion(
        model_name="m-visit",
        learner="t_learner",
        model="t_learner",
        score=score,
        metric="qini_coefficient",
        champion=champion,
    )


# -- beats with an explicit direction ----------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "old", "direction", "margin", "expected"),
    [
        (0.02, 0.01, "higher", 0.0, True),
        (0.01, 0.01, "higher", 0.0, False),  # a tie never promotes
        (0.009, 0.01, "higher", 0.0, False),
        (-0.01, -0.02, "higher", 0.0, True),  # negative Qini: less negative is better
        (0.011, 0.01, "higher", 0.2, False),  # 10 % better, 20 % required
        (0.5, 1.0, "lower", 0.1, True),
        (0.001, 0.0, "higher", 0.5, True),  # champion at 0: any strict gain counts
    ],
)
def test_beats_takes_any_metric_with_its_direction(new, old, direction, margin, expected) -> None:
    wins, reason = beats({"q": new}, {"q": old}, metric="q", margin=margin, direction=direction)
    assert wins is expected
    assert f"({direction} is better)" in reason


def test_beats_rejects_a_bad_direction_and_never_promotes_on_nan() -> None:
    with pytest.raises(ConfigError, match="direction"):
        beats({"q": 1.0}, {"q": 0.0}, metric="q", margin=0.0, direction="up")  # type: ignore[arg-type]
    assert (
        beats({"q": math.nan}, {"q": 0.0}, metric="q", margin=0.0, direction="higher")[0] is False
    )


# -- the generic rule --------------------------------------------------------------------------


def test_rule_without_baseline_promotes_a_first_model() -> None:
    rule = PromotionRule(metric="q", direction="higher")
    decision = decide(
        rule,
        model_name="m",
        challenger_label="a",
        challenger_model="x",
        challenger_scores={"q": 0.1},
        wording=UPLIFT_WORDING,
    )
    assert decision.promote and decision.baseline is None
    assert decision.reasons == ["no model holds the champion alias of 'm' yet"]


def test_rule_with_baseline_needs_the_baseline_scores() -> None:
    rule = PromotionRule(metric="r2", direction="higher", baseline_model="baseline_mean")
    with pytest.raises(ConfigError, match="baseline"):
        decide(
            rule, model_name="m", challenger_label="a", challenger_model="x", challenger_scores={}
        )


def test_margin_applies_to_the_champion_and_the_baseline() -> None:
    rule = PromotionRule(metric="r2", direction="higher", margin=0.5, baseline_model="base")
    common = {"model_name": "m", "challenger_label": "a", "challenger_model": "x"}
    below_baseline = decide(
        rule, **common, challenger_scores={"r2": 0.3}, baseline_scores={"r2": 0.25}
    )
    assert not below_baseline.promote and "baseline" in below_baseline.summary
    champion = {"version": "4", "scores": {"r2": 0.25}}
    beats_both = decide(
        rule,
        **common,
        challenger_scores={"r2": 0.4},
        baseline_scores={"r2": 0.2},
        champion=champion,
    )
    assert beats_both.promote and len(beats_both.reasons) == 2


def test_unscorable_champion_is_kept_by_both_presets() -> None:
    champion = {"version": "2", "model_id": "m-0", "error": "KeyError: 'channel'"}
    uplift = _uplift(0.5, champion)
    assert not uplift.promote
    assert uplift.summary == (
        "Not promoted: champion version 2 could not be scored on this holdout "
        "(KeyError: 'channel')."
    )
    assert "it is kept until someone looks" in uplift.reasons[-1]
    regressor = decide_promotion(
        model_name="m",
        challenger_label="gbm",
        challenger_model="gradient_boosting",
        challenger_scores={"poisson_deviance": 1.0},
        baseline_scores={"poisson_deviance": 2.0},
        metric="poisson_deviance",
        margin=0.01,
        champion=champion,
    )
    assert not regressor.promote and "could not be scored" in regressor.summary


# -- the uplift preset: today's decisions and messages ------------------------------------------


def test_uplift_first_champion() -> None:
    decision = _uplift(0.01)
    assert decision.promote
    assert decision.summary == "Promoted: first champion of 'm-visit'."


def test_uplift_challenger_must_score_strictly_higher() -> None:
    champion = {
        "version": "1",
        "model_id": "m-1",
        "run_id": "r",
        "scores": {"qini_coefficient": 0.02},
    }
    better = _uplift(0.025, champion)
    assert better.promote
    assert better.summary == (
        "Promoted: the new t_learner beats champion version 1 on the holdout qini_coefficient "
        "(0.025 vs 0.02)."
    )
    tie = _uplift(0.02, champion)
    assert not tie.promote
    assert tie.summary == (
        "Not promoted: the new t_learner does not beat champion version 1 on the holdout "
        "qini_coefficient (0.02 vs 0.02)."
    )
    assert not _uplift(math.nan, champion).promote


# -- one record for both pipelines ---------------------------------------------------------------


def test_both_presets_produce_the_same_record() -> None:
    regressor = decide_promotion(
        model_name="m",
        challenger_label="gbm",
        challenger_model="gradient_boosting",
        challenger_scores={"poisson_deviance": 1.0, "n": 40},
        baseline_scores={"poisson_deviance": 2.0, "n": 40},
        metric="poisson_deviance",
        margin=0.01,
    ).to_dict()
    uplift = _uplift(0.01).to_dict()
    assert set(regressor) == set(uplift) == RECORD_KEYS
    assert (
        set(regressor["challenger"])
        == set(uplift["challenger"])
        == {
            "candidate",
            "model",
            "scores",
        }
    )
    assert regressor["challenger"]["scores"] == {"poisson_deviance": 1.0}  # no row counts
    assert uplift["challenger"]["scores"] == {"qini_coefficient": 0.01}
    assert regressor["baseline"] == {"scores": {"poisson_deviance": 2.0}}
    assert uplift["baseline"] is None


def test_regressor_wording_is_unchanged() -> None:
    first = REGRESSOR_WORDING.first_champion.format(
        label="gbm", model_name="m", metric="poisson_deviance"
    )
    assert first == (
        "Promoted: gbm is the first champion of 'm' (it beats the baseline on the holdout "
        "poisson_deviance)."
    )
    kept = REGRESSOR_WORDING.keeps_champion.format(
        label="gbm", version="3", metric="poisson_deviance", margin=0.01
    )
    assert kept == (
        "Not promoted: gbm does not beat champion version 3 on the holdout poisson_deviance by "
        "1.00%; version 3 stays champion."
    )
