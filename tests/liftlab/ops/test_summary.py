"""One summary for both entry points (liftlab.ops.summary): ``liftlab run`` prints it, the last
step of a ``zenml pipeline run`` logs the same lines."""

from __future__ import annotations

import logging

from liftlab.ops.summary import caller_prints_summary, log_run_summary, summary_lines

AB = {
    "pipeline": "ab_test_pipeline",
    "comparisons": 4,
    "decisions": {"win": 1, "inconclusive": 3},
    "srm_alerts": ["exp2"],
    "files": {"ab_report": "/x/ab_report.html", "ab_results": "/x/ab_results.csv"},
    "mlflow_run_id": None,
}


def test_the_ab_summary_names_the_decisions_the_report_and_mlflow() -> None:
    lines = summary_lines(AB)
    texts = [text for text, _ in lines]
    assert texts[0] == "Comparisons: 4 (inconclusive: 3, win: 1)"
    assert ("Sample ratio mismatch in: exp2 (not trustworthy)", "warn") in lines
    assert "Report:        /x/ab_report.html" in texts
    assert any(t.startswith("MLflow UI:") for t in texts)
    assert texts[-1].strip() == (
        "then open http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
    )


def test_the_last_step_logs_the_same_lines_unless_the_caller_prints_them(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="liftlab.summary"):
        assert log_run_summary(AB) is AB
    assert [r.getMessage() for r in caplog.records] == [t for t, _ in summary_lines(AB)]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="liftlab.summary"), caller_prints_summary():
        log_run_summary(AB)
    assert not caplog.records
