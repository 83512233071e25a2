"""Write a finished run's gold outputs to ``output_dir``, all or nothing.

Files are written to a temporary folder next to ``output_dir`` and moved into place only when all
of them were written, so a run that fails half-way never leaves a results table without its
report (or a stale mix of two runs) for a BI tool to pick up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd


def write_ab_outputs(
    output_dir: str | Path,
    *,
    results: pd.DataFrame,
    srm: pd.DataFrame,
    report_html: str,
    summary: Mapping[str, Any],
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Path]:
    """Write ``ab_results.csv``, ``ab_results.parquet``, ``srm.csv``, ``ab_report.html``,
    ``run_summary.json`` and one ``<name>.csv`` per non-empty extra table (heterogeneity,
    sequential looks); return their final paths."""
    target = Path(output_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".liftlab-staging-", dir=target.parent))
    try:
        results.to_csv(staging / "ab_results.csv", index=False)
        results.to_parquet(staging / "ab_results.parquet", index=False)
        srm.to_csv(staging / "srm.csv", index=False)
        (staging / "ab_report.html").write_text(report_html, encoding="utf-8")
        (staging / "run_summary.json").write_text(json.dumps(summary, indent=2, default=str))
        for name, table in (extra_tables or {}).items():
            if table is not None and not table.empty:
                table.to_csv(staging / f"{name}.csv", index=False)
        target.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for file in staging.iterdir():
            destination = target / file.name
            os.replace(file, destination)
            written[file.stem if file.suffix != ".parquet" else "ab_results_parquet"] = destination
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
