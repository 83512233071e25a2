"""Champion/challenger promotion: should the new best model replace the one in production?

One rule for every model pipeline (conversion regressors, uplift learners), as pure data (no
MLflow here) so it can be unit-tested and is logged verbatim. A :class:`PromotionRule` says which
holdout metric counts, which direction is better, the relative margin required and, optionally,
a baseline the challenger must beat first. :func:`decide` applies it, in order:

1. With a baseline (``rule.baseline_model``): the best candidate must not be the baseline itself
   (then nothing was learned), and it must beat the baseline on the holdout by the margin (a
   model that cannot beat the mean has no business in production, champion or not).
2. No champion yet: the challenger becomes the first champion.
3. A champion that cannot be scored on this holdout (its inputs are gone, its file is broken) is
   never replaced automatically: a human should look, so the decision says why and keeps it.
4. Otherwise the challenger must beat the champion **on the same holdout rows** by the margin
   (:func:`beats`: the margin is relative, ties never promote, NaN never promotes).

Every decision is a :class:`PromotionDecision` with the same fields; only the summary sentence
is worded per pipeline (:class:`PromotionWording`), so each pipeline keeps the words its users
know. :func:`decide_promotion` (regressors) and :func:`decide_uplift_promotion` (uplift learners)
are the two presets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from strategies.errors import ConfigError, InputDataError
from strategies.evaluation import METRIC_DIRECTIONS

__all__ = [
    "REGRESSOR_WORDING",
    "UPLIFT_WORDING",
    "PromotionDecision",
    "PromotionRule",
    "PromotionWording",
    "beats",
    "decide",
    "decide_promotion",
    "decide_uplift_promotion",
    "refuse_degenerate_fit",
]

Direction = Literal["higher", "lower"]
BASELINE_MODEL = "baseline_mean"
_TIE_TOLERANCE = 1e-12


def beats(
    challenger: Mapping[str, float],
    champion: Mapping[str, float],
    *,
    metric: str,
    margin: float,
    direction: Direction | None = None,
) -> tuple[bool, str]:
    """Does the challenger beat the champion on ``metric`` (same holdout) by ``margin``?

    ``direction`` says which way is better; when omitted it is looked up in
    :data:`strategies.evaluation.METRIC_DIRECTIONS` (an unknown metric is then a ConfigError).
    The margin is **relative** to the champion's value, because the scale of RMSE, MAE, Poisson
    deviance or a Qini coefficient depends on the data (``margin=0.05`` means "at least 5%
    better" whatever the target). Improvement is measured in the metric's good direction:
    ``(champion - challenger) / |champion|`` when lower is better, the mirror when higher is.
    The challenger wins when the improvement is strictly positive and at least ``margin`` (the
    edge counts as a win, with a 1e-12 tolerance for floating-point rounding). A tie never
    promotes. With a champion value of exactly 0 any strict improvement counts as infinite.
    Missing or NaN values never promote.
    """
    if direction is None:
        _check_metric(metric)
        direction = METRIC_DIRECTIONS[metric]
    elif direction not in ("higher", "lower"):
        raise ConfigError(f"direction must be 'higher' or 'lower', got {direction!r}")
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not margin >= 0:
        raise ConfigError(f"margin must be a number >= 0, got {margin!r}")
    for role, scores in (("challenger", challenger), ("champion", champion)):
        if metric not in scores:
            raise ConfigError(f"{role} scores have no {metric!r} (has: {', '.join(scores)})")
    new, old = float(challenger[metric]), float(champion[metric])
    if math.isnan(new) or math.isnan(old):
        return False, f"{metric} is NaN (challenger {new}, champion {old}); not promoting"

    gain = old - new if direction == "lower" else new - old
    if old == 0:
        relative = math.inf if gain > 0 else (0.0 if gain == 0 else -math.inf)
    else:
        relative = gain / abs(old)
    wins = gain > 0 and relative >= margin - _TIE_TOLERANCE
    verdict = "beats" if wins else "does not beat"
    reason = (
        f"challenger {verdict} champion on {metric} ({direction} is better): "
        f"{new:.6g} vs {old:.6g}, relative improvement {relative:+.4%} "
        f"against a required margin of {margin:.4%}"
    )
    return wins, reason


@dataclass(frozen=True)
class PromotionRule:
    """What a challenger must do to replace the champion."""

    metric: str
    """Holdout metric both models are compared on."""
    direction: Direction
    """Which way is better for ``metric``."""
    margin: float = 0.0
    """Relative improvement required (0.01 = at least 1 % better; 0 = strictly better)."""
    baseline_model: str | None = None
    """When set, a challenger of this model kind never promotes and every other challenger must
    first beat the baseline's holdout scores by the margin."""


@dataclass(frozen=True)
class PromotionWording:
    """The summary sentence of each outcome, as ``str.format`` templates.

    Placeholders: ``{label}`` (challenger), ``{model}`` (its kind), ``{model_name}`` (registered
    name), ``{metric}``, ``{margin}``, and with a champion ``{version}``; ``{error}`` when it
    could not be scored; ``{new}`` / ``{old}`` (challenger / champion values) when compared.
    ``baseline_is_best`` is the *reason* (the summary is ``Not promoted: <reason>.``).
    """

    first_champion: str
    beats_champion: str
    keeps_champion: str
    champion_unscorable: str
    baseline_is_best: str = ""
    below_baseline: str = ""


REGRESSOR_WORDING = PromotionWording(
    baseline_is_best=(
        "the best candidate is the predict-the-mean baseline: no model learned anything "
        "useful, so nothing is promoted"
    ),
    below_baseline=(
        "Not promoted: {label} does not beat the predict-the-mean baseline on the holdout "
        "{metric} by the required margin."
    ),
    first_champion=(
        "Promoted: {label} is the first champion of {model_name!r} "
        "(it beats the baseline on the holdout {metric})."
    ),
    champion_unscorable=(
        "Not promoted: the current champion (version {version}) could not be scored on this "
        "holdout, so the two cannot be compared."
    ),
    beats_champion=(
        "Promoted: {label} beats champion version {version} on the holdout {metric} by at least "
        "{margin:.2%}."
    ),
    keeps_champion=(
        "Not promoted: {label} does not beat champion version {version} on the holdout {metric} "
        "by {margin:.2%}; version {version} stays champion."
    ),
)
"""Summaries of the conversion-prediction training pipeline."""

UPLIFT_WORDING = PromotionWording(
    first_champion="Promoted: first champion of {model_name!r}.",
    champion_unscorable=(
        "Not promoted: champion version {version} could not be scored on this holdout ({error})."
    ),
    beats_champion=(
        "Promoted: the new {label} beats champion version {version} on the holdout {metric} "
        "({new:.4g} vs {old:.4g})."
    ),
    keeps_champion=(
        "Not promoted: the new {label} does not beat champion version {version} on the holdout "
        "{metric} ({new:.4g} vs {old:.4g})."
    ),
)
"""Summaries of the uplift-modelling pipeline (one registered model per outcome)."""


@dataclass
class PromotionDecision:
    """What was decided and why; ``to_dict`` is what the report, MLflow and the registry show.

    ``challenger`` has ``candidate``, ``model`` and ``scores``; ``baseline`` has ``scores``
    (``None`` without a baseline rule); ``champion`` is ``None`` for a first model, otherwise
    ``version`` (and ``model_id``, ``run_id``) with either ``scores`` or ``error``.
    """

    promote: bool
    metric: str
    margin: float
    model_name: str
    challenger: dict[str, Any]
    baseline: dict[str, Any] | None
    champion: dict[str, Any] | None
    reasons: list[str] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    rule: PromotionRule,
    *,
    model_name: str,
    challenger_label: str,
    challenger_model: str,
    challenger_scores: Mapping[str, float],
    champion: Mapping[str, Any] | None = None,
    baseline_scores: Mapping[str, float] | None = None,
    wording: PromotionWording = REGRESSOR_WORDING,
) -> PromotionDecision:
    """Apply ``rule`` (see the module docstring).

    ``champion`` is ``None`` when no model holds the alias yet (first model); otherwise a mapping
    with ``version`` and either ``scores`` (its metrics on this run's holdout) or ``error`` (why
    it could not be scored). ``baseline_scores`` is required when the rule has a baseline.
    """
    if rule.baseline_model is not None and baseline_scores is None:
        raise ConfigError("this promotion rule needs the baseline's holdout scores")
    reasons: list[str] = []
    decision = PromotionDecision(
        promote=False,
        metric=rule.metric,
        margin=float(rule.margin),
        model_name=model_name,
        challenger={
            "candidate": challenger_label,
            "model": challenger_model,
            "scores": {k: float(v) for k, v in challenger_scores.items()},
        },
        baseline=(
            {"scores": {k: float(v) for k, v in baseline_scores.items()}}
            if baseline_scores is not None
            else None
        ),
        champion=dict(champion) if champion is not None else None,
        reasons=reasons,
    )
    words: dict[str, Any] = {
        "label": challenger_label,
        "model": challenger_model,
        "model_name": model_name,
        "metric": rule.metric,
        "margin": float(rule.margin),
    }
    compare = {"metric": rule.metric, "margin": rule.margin, "direction": rule.direction}

    if rule.baseline_model is not None and baseline_scores is not None:
        if challenger_model == rule.baseline_model:
            reasons.append(wording.baseline_is_best.format(**words))
            decision.summary = f"Not promoted: {reasons[-1]}."
            return decision
        wins_baseline, why = beats(challenger_scores, baseline_scores, **compare)
        reasons.append("vs baseline: " + why.replace("champion", "baseline"))
        if not wins_baseline:
            decision.summary = wording.below_baseline.format(**words)
            return decision

    if champion is None:
        decision.promote = True
        reasons.append(f"no model holds the champion alias of {model_name!r} yet")
        decision.summary = wording.first_champion.format(**words)
        return decision

    words["version"] = champion.get("version", "?")
    if champion.get("error") or "scores" not in champion:
        words["error"] = champion.get("error", "no scores")
        reasons.append(
            f"champion version {words['version']} could not be scored on this holdout "
            f"({words['error']}); it is kept until someone looks"
        )
        decision.summary = wording.champion_unscorable.format(**words)
        return decision

    wins, why = beats(challenger_scores, champion["scores"], **compare)
    reasons.append(f"vs champion version {words['version']}: {why}")
    decision.promote = wins
    words["new"] = float(challenger_scores[rule.metric])
    words["old"] = float(champion["scores"][rule.metric])
    template = wording.beats_champion if wins else wording.keeps_champion
    decision.summary = template.format(**words)
    return decision


def _regression_scores(scores: Mapping[str, float]) -> dict[str, float]:
    return {k: float(scores[k]) for k in METRIC_DIRECTIONS if k in scores}


def decide_promotion(
    *,
    model_name: str,
    challenger_label: str,
    challenger_model: str,
    challenger_scores: Mapping[str, float],
    baseline_scores: Mapping[str, float],
    metric: str,
    margin: float,
    champion: Mapping[str, Any] | None = None,
    holdout_target: Sequence[float] | np.ndarray | None = None,
    target: str = "target",
) -> PromotionDecision:
    """The rule for conversion regressors: ``metric``'s own direction, the configured margin and
    the predict-the-mean baseline to beat first. Scores other than the regression metrics
    (row counts) are left out of the record.

    A degenerate fit is refused with an InputDataError rather than decided on, so the run fails
    before its registration step: a holdout ``target`` (``holdout_target``, the actual values)
    with fewer than 2 distinct values, or a challenger whose holdout metrics are undefined
    (NaN). Training refuses such targets first (:func:`strategies.training.check_target`);
    this is the last guard before the registry."""
    _check_metric(metric)
    refuse_degenerate_fit(challenger_scores, holdout_target=holdout_target, target=target)
    rule = PromotionRule(
        metric=metric,
        direction=METRIC_DIRECTIONS[metric],
        margin=margin,
        baseline_model=BASELINE_MODEL,
    )
    return decide(
        rule,
        model_name=model_name,
        challenger_label=challenger_label,
        challenger_model=challenger_model,
        challenger_scores=_regression_scores(challenger_scores),
        baseline_scores=_regression_scores(baseline_scores),
        champion=champion,
        wording=REGRESSOR_WORDING,
    )


def decide_uplift_promotion(
    *,
    model_name: str,
    learner: str,
    model: str,
    score: float,
    metric: str,
    champion: Mapping[str, Any] | None = None,
) -> PromotionDecision:
    """The rule for uplift learners: the holdout ``metric`` (mean over arms; higher is better
    for every uplift metric) must be strictly higher than the champion's; no baseline."""
    rule = PromotionRule(metric=metric, direction="higher", margin=0.0)
    return decide(
        rule,
        model_name=model_name,
        challenger_label=learner,
        challenger_model=model,
        challenger_scores={metric: float(score)},
        champion=champion,
        wording=UPLIFT_WORDING,
    )


def refuse_degenerate_fit(
    challenger_scores: Mapping[str, float],
    *,
    holdout_target: Sequence[float] | np.ndarray | None = None,
    target: str = "target",
) -> None:
    """Raise InputDataError when the challenger cannot be judged: a constant holdout target
    (every model "fits" it: R² 1.000) or an undefined (NaN) holdout metric."""
    if holdout_target is not None:
        distinct = np.unique(np.asarray(holdout_target, dtype=np.float64))
        if len(distinct) < 2:
            value = f"every value is {distinct[0]:g}" if len(distinct) else "no rows"
            raise InputDataError(
                f"target {target!r} is constant on the holdout ({value}); a model judged on it "
                "is not registered"
            )
    undefined = [
        k for k in METRIC_DIRECTIONS if k in challenger_scores and math.isnan(challenger_scores[k])
    ]
    if undefined:
        raise InputDataError(
            f"the challenger's holdout {', '.join(undefined)} is undefined (NaN); "
            "a model that cannot be judged is not registered"
        )


def _check_metric(metric: str) -> None:
    if metric not in METRIC_DIRECTIONS:
        raise ConfigError(
            f"unknown metric {metric!r} (valid metrics: {', '.join(sorted(METRIC_DIRECTIONS))})"
        )
