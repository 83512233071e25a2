"""Champion/challenger for the marketing-mix model: lower rolling-CV MAPE on the same data and
folds promotes, a tie or an unscorable champion does not, and the champion's specification is
refitted on this run's folds exactly as the challenger was."""

from __future__ import annotations

import pytest

from liftlab.simulate.mmm import default_mmm_config, simulate_mmm
from strategies.mmm.analysis import MMMSettings, analyse_marketing_mix
from strategies.mmm.promotion import champion_cv_scores, decide_mmm_promotion
from tests.strategies.mmm.test_recovery import sim_data, true_spec

NAME = "liftlab-marketing-mix"


def _decide(new: float, champion):
    return decide_mmm_promotion(
        model_name=NAME, challenger_scores={"cv_mape": new, "cv_nrmse": 0.05}, champion=champion
    )


def test_the_first_model_becomes_champion() -> None:
    decision = _decide(4.2, None)
    assert decision.promote is True
    assert decision.summary.startswith("Promoted") and NAME in decision.summary
    assert decision.metric == "cv_mape" and decision.champion is None


def test_a_tie_does_not_promote() -> None:
    decision = _decide(4.2, {"version": "3", "scores": {"cv_mape": 4.2}})
    assert decision.promote is False
    assert decision.summary.startswith("Not promoted") and "version 3 stays champion" in (
        decision.summary
    )


def test_a_lower_cv_mape_promotes_and_a_higher_one_does_not() -> None:
    better = _decide(3.9, {"version": "3", "scores": {"cv_mape": 4.2}})
    assert better.promote is True
    assert "3.90 % vs 4.20 %" in better.summary
    worse = _decide(4.5, {"version": "3", "scores": {"cv_mape": 4.2}})
    assert worse.promote is False and "4.50 % vs 4.20 %" in worse.summary


def test_a_champion_that_cannot_be_scored_is_kept() -> None:
    error = "it models channels ['tv'] and controls []; this run has ['tv', 'radio'] and []"
    decision = _decide(1.0, {"version": "7", "error": error})
    assert decision.promote is False
    assert "version 7" in decision.summary and error in decision.summary


@pytest.fixture(scope="module")
def challenger():
    """A small analysis of the default world (2 CV folds, lift tests included)."""
    sim = simulate_mmm(default_mmm_config())
    data = sim_data(sim)
    settings = MMMSettings(
        spec=true_spec(sim, calibration_weight=float(data.n_periods)),
        n_draws=2,
        cv_folds=2,
    )
    return data, sim.lift_tests, settings, analyse_marketing_mix(data, settings, sim.lift_tests)


def test_the_champion_spec_on_the_same_data_scores_what_the_challenger_scored(challenger) -> None:
    data, tests, settings, result = challenger
    scores = champion_cv_scores(
        result.model,
        data,
        lift_tests=tests,
        n_folds=settings.cv_folds,
        test_periods=settings.cv_test_periods,
    )
    assert scores["cv_mape"] == pytest.approx(result.fit_stats["cv_mape"], rel=1e-9)
    assert scores["cv_nrmse"] == pytest.approx(result.fit_stats["cv_nrmse"], rel=1e-9)
    # ... so the same model re-run on unchanged data ties, and a tie keeps the champion.
    champion = {"version": "1", "scores": scores}
    assert not _decide(result.fit_stats["cv_mape"], champion).promote


def test_a_champion_with_other_channels_names_both_lists(challenger) -> None:
    data, tests, settings, result = challenger
    channels = list(data.channels)
    for payload in (
        {**result.model, "channels": channels[:-1]},
        {**result.model, "channels": channels[::-1]},  # order matters: columns are positional
        {**result.model, "control_names": ["price_index"]},
    ):
        with pytest.raises(ValueError) as info:
            champion_cv_scores(payload, data, lift_tests=tests, n_folds=2, test_periods=13)
        message = str(info.value)
        assert str(payload["channels"]) in message and str(channels) in message
        assert str(list(data.control_names)) in message
