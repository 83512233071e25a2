"""ETL step of the A/B pipeline: clean, validate and aggregate inside the configured engine.

The raw rows never leave the engine (DuckDB, PostgreSQL or Spark): the step gets back the
cleaning audits, the validation report and the sufficient statistics — small tables — and passes
only those on (DESIGN.md §5). It receives only the engine-side part of the config
(:class:`ABWarehouseSpec`), so changing ``alpha`` or ``output_dir`` keeps its cache.
"""

from __future__ import annotations

from typing import Annotated

from zenml import save_artifact, step

from liftlab.config.ab_testing import ABWarehouseSpec
from liftlab.mlops.materializers import ABStatisticsMaterializer
from strategies.stats.inputs import ABStatistics
from strategies.warehouse.ab_summary import summarise_ab


@step(output_materializers={"ab_statistics": ABStatisticsMaterializer})
def summarise_experiment_data(
    spec: ABWarehouseSpec,
) -> tuple[
    Annotated[ABStatistics, "ab_statistics"],
    Annotated[list[dict], "cleaning_audit"],
    Annotated[dict, "validation"],
    Annotated[dict, "data_info"],
]:
    """Cleaning strategies with audits, the expectation suite, then the statistics. On a
    validation failure the report is saved as ``validation_failure`` and the step raises a
    DataValidationError naming the expectation, the column and the number of bad rows."""
    summary = summarise_ab(spec.engine.settings(), spec.source_config().source_spec(), spec.plan())
    validation = summary.validation.to_dict() | {"checked_by": summary.checked_by}
    if not summary.validation.success:
        save_artifact(validation, name="validation_failure")
        summary.validation.raise_for_failures()
    audits = [a.to_dict() for a in summary.audits]
    return summary.statistics, audits, validation, summary.data_info
