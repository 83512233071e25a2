"""The short summary a pipeline run ends with, in one place for every entry point.

``liftlab run`` and ``liftlab demo`` print it (in colour) after the run; ``zenml pipeline run``
gets the same lines logged by the pipeline's last step (:func:`log_run_summary`), so both
entry points end with the report path, the decision and where to look in MLflow. When the
caller prints the summary itself (:func:`caller_prints_summary`), the step stays quiet so the
lines do not appear twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from liftlab.mlops.paths import ProjectPaths
from liftlab.mlops.registry import registration_line

__all__ = [
    "Lines",
    "caller_prints_summary",
    "log_run_summary",
    "mlflow_ui_url",
    "summary_lines",
]

Tone = Literal["good", "warn"] | None

logger = logging.getLogger("liftlab.summary")
_caller_prints = False


@dataclass
class Lines:
    """Summary lines, each with an optional tone (``good``/``warn``) a terminal may colour."""

    items: list[tuple[str, Tone]] = field(default_factory=list)

    def add(self, text: str, tone: Tone = None) -> None:
        self.items.append((text, tone))


def mlflow_ui_url(experiment_id: str | None = None, port: int = 5000) -> str:
    """The MLflow UI address that opens classic ML (runs, Models). MLflow 3.1x decides the
    view from the ``workflowType`` URL parameter (else the browser's last choice, GenAI by
    default), not from the experiment's ``mlflow.experimentKind`` tag, so liftlab's links
    carry the parameter."""
    page = f"experiments/{experiment_id}" if experiment_id else "experiments"
    return f"http://127.0.0.1:{port}/#/{page}?workflowType=machine_learning"


def _experiment_id(run_id: str | None) -> str | None:
    if not run_id:
        return None
    try:
        from mlflow import MlflowClient

        uri = ProjectPaths.from_root().mlflow_tracking_uri
        return MlflowClient(tracking_uri=uri).get_run(run_id).info.experiment_id
    except Exception:  # noqa: BLE001 - a link is a convenience; the run id is printed anyway
        return None


def summary_lines(summary: Mapping[str, Any]) -> list[tuple[str, Tone]]:
    """The summary of one run (the dict its last step returns) as lines of text."""
    out = Lines()
    if not summary:
        return out.items
    pipeline = summary.get("pipeline", "ab_test_pipeline")
    writer = {
        "training_pipeline": _training_summary,
        "batch_inference_pipeline": _inference_summary,
        "campaign_uplift_pipeline": _campaign_summary,
        "uplift_model_pipeline": _uplift_summary,
        "marketing_mix_pipeline": _marketing_mix_summary,
        "growth_analytics_pipeline": _growth_summary,
    }.get(pipeline, _ab_summary)
    writer(summary, out)
    paths = ProjectPaths.from_root()
    run_id = summary.get("mlflow_run_id")
    out.add(f"MLflow run:    {run_id}")
    out.add(f"MLflow UI:     .venv/bin/{paths.mlflow_ui_command()}")
    out.add(f"               then open {mlflow_ui_url(_experiment_id(run_id))}")
    return out.items


@contextlib.contextmanager
def caller_prints_summary() -> Iterator[None]:
    """Within this block the last steps do not log the summary (the caller prints it)."""
    global _caller_prints
    previous, _caller_prints = _caller_prints, True
    try:
        yield
    finally:
        _caller_prints = previous


def log_run_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Log the run's summary (called by each pipeline's last step, with the dict it returns,
    which it returns unchanged), unless the caller prints it."""
    if _caller_prints:
        return summary
    named = dict(summary)
    if "pipeline" not in named:
        try:
            from zenml import get_step_context

            named["pipeline"] = get_step_context().pipeline.name
        except Exception:  # noqa: BLE001 - outside a step: the A/B summary is the default
            pass
    for text, _ in summary_lines(named):
        logger.info(text)
    return summary


def _ab_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    decisions = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("decisions", {}).items()))
    out.add(f"Comparisons: {summary.get('comparisons')} ({decisions})")
    if summary.get("srm_alerts"):
        out.add(
            f"Sample ratio mismatch in: {', '.join(summary['srm_alerts'])} (not trustworthy)",
            tone="warn",
        )
    out.add(f"Report:        {files.get('ab_report')}")
    out.add(f"Results table: {files.get('ab_results')}")


def _training_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    scores = summary.get("holdout_scores", {})
    base = summary.get("baseline_scores", {})
    out.add(
        f"Best model:    {summary.get('best_candidate')} — holdout R² {scores.get('r2', 0):.3f}, "
        f"Poisson deviance {scores.get('poisson_deviance', 0):.3f} "
        f"(baseline {base.get('poisson_deviance', 0):.3f})"
    )
    color = "good" if summary.get("promoted") else "warn"
    out.add(f"Decision:      {summary.get('promotion_summary')}", tone=color)
    out.add(f"Registered:    {registration_line(summary)}")
    out.add(f"Report:        {files.get('training_report.html')}")
    out.add(f"Comparison:    {files.get('model_comparison')}")


def _marketing_mix_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    shares, roas = summary.get("shares", {}), summary.get("roas", {})
    order = sorted(shares, key=lambda c: -(shares[c] or 0))
    out.add(
        "Channel share: "
        + ", ".join(f"{c} {shares[c]:.0%} (ROAS {roas.get(c) or 0:.2f})" for c in order)
    )
    changes = summary.get("recommended_change_pct", {})
    moves = ", ".join(
        f"{c} {v:+.0%}" for c, v in changes.items() if v is not None and abs(v) >= 0.005
    )
    low, high = summary.get("gain_ci") or [None, None]
    gain = summary.get("expected_gain")
    if gain is not None and low is not None and high is not None:
        level = f"{summary.get('interval_level') or 0.9:.0%} CI {low:,.0f} to {high:,.0f}"
        plan = moves or "keep the current split"
        if low > 0:
            verdict = f"expected gain {gain:,.0f} over {summary.get('horizon')} periods ({level}"
        else:
            verdict = f"not shown to gain over {summary.get('horizon')} periods ({level}"
        out.add(
            f"Budget plan:   {plan} — {verdict}, "
            f"P(gain > 0) = {summary.get('prob_gain_positive') or 0:.0%})"
        )
    if summary.get("warnings"):
        out.add(
            f"Diagnostics:   {len(summary['warnings'])} warning(s) — see the report",
            tone="warn",
        )
    color = "good" if summary.get("promoted") else "warn"
    out.add(f"Decision:      {summary.get('promotion')}", tone=color)
    out.add(f"Registered:    {registration_line(summary)}")
    out.add(f"Report:        {files.get('report') or files.get('marketing_mix_report.html')}")


def _growth_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    decisions = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("decisions", {}).items()))
    metric = str(summary.get("primary_metric", "purchase_conversion")).replace("_", " ")
    out.add(f"Experiments:   {summary.get('experiments')} ({metric} — {decisions})")
    ari = summary.get("persona_ari")
    recovered = f", recovery ARI {ari:.2f}" if ari is not None else ""
    structure = "" if summary.get("persona_structure_found") else " (no clear structure)"
    out.add(f"Personas:      {summary.get('personas')}{structure}{recovered}")
    actions = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("recommendations", {}).items()))
    out.add(f"Actions:       {actions}")
    color = "good" if summary.get("promoted") else "warn"
    out.add(f"Registered:    {registration_line(summary)}", tone=color)
    out.add(f"Report:        {files.get('growth_report.html')}")
    out.add(f"Recommended:   {files.get('growth_recommendations')}")
    if summary.get("duckdb"):
        out.add(f"DuckDB:        {summary['duckdb']} (gold_growth_*, gold_person* tables)")


def _campaign_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    rois = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("roi_decisions", {}).items()))
    out.add(
        f"Campaigns:     {summary.get('campaigns')} — incremental revenue "
        f"{summary.get('incremental_revenue', 0):,.0f} for a cost of "
        f"{summary.get('campaign_cost', 0):,.0f} (ROI: {rois})"
    )
    out.add(f"Report:        {files.get('campaign_report.html')}")
    out.add(f"Gold table:    {files.get('campaign_summary')}")
    if summary.get("duckdb"):
        out.add(f"DuckDB:        {summary['duckdb']} (bronze_*, silver_*, gold_* tables)")


def _uplift_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    best = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("best_learners", {}).items()))
    out.add(f"Best learners: {best}")
    share = summary.get("share_to_email")
    profit = summary.get("policy_incremental_profit_per_customer")
    if share is not None:
        line = f"Targeting:     contact {share:.0%} of customers ({summary.get('policy_outcome')})"
        if profit is not None:
            line += f", incremental profit {profit:+.3f} per customer vs contacting nobody"
            ci = summary.get("policy_incremental_ci")
            if ci:
                line += f" (95 % CI {ci[0]:+.3f} … {ci[1]:+.3f}"
                if ci[1] < 0:
                    line += "; loses money against contacting nobody)"
                else:
                    line += "; not shown to beat contacting nobody)" if ci[0] <= 0 else ")"
        out.add(line)
    registered = summary.get("registered", {})
    for outcome, text in sorted(summary.get("decisions", {}).items()):
        if registered.get(outcome, {}).get("unchanged"):
            text = registration_line(registered[outcome])
        out.add(f"Registry:      {outcome}: {text}")
    out.add(f"Report:        {files.get('uplift_report.html')}")
    out.add(f"Targeting:     {files.get('uplift_targeting')}")


def _inference_summary(summary: dict, out: Lines) -> None:
    files = summary.get("files", {})
    out.add(f"Scored:        {summary.get('rows_scored')} rows with {summary.get('model_uri')}")
    unseen = summary.get("unknown_categories") or {}
    if unseen:
        counts = ", ".join(f"{column} {n} row(s)" for column, n in sorted(unseen.items()))
        out.add(
            f"Warning:       categories never seen in training ({counts}) were scored as if "
            "absent; see the unknown_categories column (unknown_categories: error refuses them)"
        )
    for key, path in sorted(files.items()):
        out.add(f"Predictions:   {path}  ({key})")
    if summary.get("duckdb"):
        db = summary["duckdb"]
        out.add(f"DuckDB table:  {db['table']} in {db['database']}")
