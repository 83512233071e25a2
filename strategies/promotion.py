"""Champion/challenger promotion: should the new best model replace the one in production?

The decision is pure data (no MLflow here) so it can be unit-tested and is logged verbatim.
Rules, in order:

1. The best candidate must not be the predict-the-mean baseline: then nothing was learned.
2. It must beat the baseline on the holdout by the margin (a model that cannot beat the mean
   has no business in production, whether or not a champion exists).
3. With a current champion, it must beat the champion **on the same holdout rows** by the margin
   (:func:`strategies.evaluation.beats`; the margin is relative, ties never promote).
4. A champion that cannot be scored on this holdout (its inputs are gone, its file is broken) is
   never replaced automatically: a human should look, so the decision says why and keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from strategies.evaluation import METRIC_DIRECTIONS, beats

__all__ = ["PromotionDecision", "decide_promotion"]

BASELINE_MODEL = "baseline_mean"


@dataclass
class PromotionDecision:
    """What was decided and why; ``to_dict`` is what the report, MLflow and the registry show."""

    promote: bool
    metric: str
    margin: float
    model_name: str
    challenger: dict[str, Any]
    baseline: dict[str, Any]
    champion: dict[str, Any] | None
    reasons: list[str] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(scores: Mapping[str, float]) -> dict[str, float]:
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
) -> PromotionDecision:
    """Apply the rules above.

    ``champion`` is ``None`` when no model holds the alias yet (first model); otherwise a mapping
    with ``version`` and ``model_id`` and either ``scores`` (its metrics on this run's holdout)
    or ``error`` (why it could not be scored).
    """
    reasons: list[str] = []
    decision = PromotionDecision(
        promote=False,
        metric=metric,
        margin=float(margin),
        model_name=model_name,
        challenger={
            "candidate": challenger_label,
            "model": challenger_model,
            "scores": _clean(challenger_scores),
        },
        baseline={"scores": _clean(baseline_scores)},
        champion=dict(champion) if champion is not None else None,
        reasons=reasons,
    )
    if challenger_model == BASELINE_MODEL:
        reasons.append(
            "the best candidate is the predict-the-mean baseline: no model learned anything "
            "useful, so nothing is promoted"
        )
        decision.summary = f"Not promoted: {reasons[-1]}."
        return decision

    wins_baseline, why = beats(challenger_scores, baseline_scores, metric=metric, margin=margin)
    reasons.append("vs baseline: " + why.replace("champion", "baseline"))
    if not wins_baseline:
        decision.summary = (
            f"Not promoted: {challenger_label} does not beat the predict-the-mean baseline on the "
            f"holdout {metric} by the required margin."
        )
        return decision

    if champion is None:
        decision.promote = True
        reasons.append(f"no model holds the champion alias of {model_name!r} yet")
        decision.summary = (
            f"Promoted: {challenger_label} is the first champion of {model_name!r} "
            f"(it beats the baseline on the holdout {metric})."
        )
        return decision

    version = champion.get("version", "?")
    if champion.get("error") or "scores" not in champion:
        reasons.append(
            f"champion version {version} could not be scored on this holdout "
            f"({champion.get('error', 'no scores')}); it is kept until someone looks"
        )
        decision.summary = (
            f"Not promoted: the current champion (version {version}) could not be scored on this "
            "holdout, so the two cannot be compared."
        )
        return decision

    wins, why = beats(challenger_scores, champion["scores"], metric=metric, margin=margin)
    reasons.append(f"vs champion version {version}: {why}")
    decision.promote = wins
    if wins:
        decision.summary = (
            f"Promoted: {challenger_label} beats champion version {version} on the holdout "
            f"{metric} by at least {margin:.2%}."
        )
    else:
        decision.summary = (
            f"Not promoted: {challenger_label} does not beat champion version {version} on the "
            f"holdout {metric} by {margin:.2%}; version {version} stays champion."
        )
    return decision
