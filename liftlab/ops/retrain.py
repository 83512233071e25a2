"""One retraining job, as the scheduler (cron or ``liftlab schedule run``) runs it.

Retraining on the same data would only burn time and add an identical model version, so by
default the job first compares the data file's SHA-256 with the one recorded on the latest
registered version of the model (tag ``liftlab.data_sha256``) and skips when they match.
``skip_unchanged_data: false`` in the config, or ``force``, always trains. A SQL source cannot be
fingerprinted cheaply, so it always trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from strategies.errors import ConfigError


@dataclass
class RetrainOutcome:
    ran: bool
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)


def data_unchanged(config_path: Path) -> tuple[bool, str]:
    """``(True, why)`` when the config's data file has the hash of the latest registered
    version's training data; ``(False, why)`` otherwise."""
    from liftlab.config.registry import check_run_config
    from liftlab.config.training import load_training_config
    from liftlab.mlops.registry import DATA_HASH_TAG, latest_version
    from liftlab.ops.runner import use_stack_mlflow
    from strategies.ingest import file_fingerprint

    content = check_run_config(config_path)
    cfg = load_training_config(
        {k: v for k, v in (content.get("parameters") or {}).items() if v is not None}
    )
    if not cfg.skip_unchanged_data:
        return False, "skip_unchanged_data is off in the config"
    path = cfg.resolved_data_path
    if path is None or cfg.sql:
        return False, "the data comes from a SQL query, which has no file hash to compare"
    if not path.is_file():
        raise ConfigError(f"data file not found: {path} (set 'data_path' in {config_path})")
    digest = file_fingerprint(path)
    use_stack_mlflow()
    latest = latest_version(cfg.model_name)
    if latest is None:
        return False, f"model {cfg.model_name!r} has no registered version yet"
    seen = latest["tags"].get(DATA_HASH_TAG)
    if seen == digest:
        return True, (
            f"data unchanged since version {latest['version']} of {cfg.model_name!r} "
            f"(sha256 {digest[:12]}…)"
        )
    return False, f"data changed since version {latest['version']} (sha256 {digest[:12]}…)"


def retrain_once(config_path: Path, *, force: bool = False) -> RetrainOutcome:
    """Run the training pipeline of ``config_path`` unless its data is unchanged."""
    from liftlab.ops.runner import run_config

    config_path = Path(config_path)
    if not config_path.is_file():
        raise ConfigError(f"config file not found: {config_path}")
    content = yaml.safe_load(config_path.read_text()) or {}
    if not isinstance(content, dict) or "parameters" not in content:
        raise ConfigError(f"{config_path}: not a training config (no 'parameters')")
    if not force:
        unchanged, why = data_unchanged(config_path)
        if unchanged:
            return RetrainOutcome(ran=False, reason=why)
    else:
        why = "forced"
    summary = run_config(config_path)
    verdict = "promoted to champion" if summary.get("promoted") else "champion kept"
    version = summary.get("version", "?")
    return RetrainOutcome(
        ran=True,
        reason=f"{why}: registered version {version}, {verdict}",
        summary=summary,
    )
