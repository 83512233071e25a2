"""Report step: the HTML report, shown in the ZenML dashboard as the run's visualisation."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step
from zenml.types import HTMLString

from liftlab.report import render_ab_report
from liftlab.run_info import step_run_info


@step(enable_cache=False)
def build_ab_report(
    ab_results: pd.DataFrame,
    srm_checks: pd.DataFrame,
    funnel: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    sequential_looks: pd.DataFrame,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    config: dict[str, Any],
) -> Annotated[HTMLString, "ab_report"]:
    """Uncached: the report names the run it belongs to."""
    run_info = step_run_info(data_info)
    html = render_ab_report(
        results=ab_results,
        srm=srm_checks,
        funnel=funnel,
        heterogeneity=heterogeneity,
        sequential_looks=sequential_looks,
        audits=cleaning_audit,
        validation=validation,
        config=config,
        run_info=run_info,
    )
    return HTMLString(html)
