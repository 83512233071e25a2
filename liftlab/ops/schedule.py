"""Scheduled retraining on a machine without a scheduling orchestrator (DESIGN.md §4).

ZenML's local orchestrator cannot schedule, so liftlab offers two local paths:

- **cron**: one crontab line per (project root, config) that calls
  ``liftlab schedule run-once CONFIG`` and appends to ``.liftlab/logs/schedule.log``. Each line
  carries a marker comment (``# liftlab-schedule ROOT CONFIG``) so liftlab can find, replace and
  remove its own lines and never touches anyone else's.
- **a foreground loop** (:func:`run_every`) for machines without cron, containers and demos.

Orchestrators that can schedule (Airflow, Kubernetes, Vertex, ...) take a ZenML ``Schedule`` in
the run config instead. Nothing here imports zenml or mlflow.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liftlab.mlops.paths import ProjectPaths
from strategies.errors import ConfigError

logger = logging.getLogger(__name__)

MARKER = "# liftlab-schedule"
CRONTAB_ENV = "LIFTLAB_CRONTAB"
LOG_RELATIVE = Path(".liftlab") / "logs" / "schedule.log"

# ---------------------------------------------------------------------------------------------
# intervals

_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_interval(text: str) -> float:
    """Seconds in an interval such as ``"10s"``, ``"5m"``, ``"2h"``, ``"1d"`` or ``"90"``
    (a bare number is seconds)."""
    match = _INTERVAL.match(str(text))
    if match is None:
        raise ConfigError(
            f"bad interval {text!r}: use a number with an optional unit s, m, h or d "
            "(e.g. 30s, 5m, 2h, 1d; a bare number is seconds)"
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ConfigError(f"bad interval {text!r}: it must be longer than zero")
    return seconds


# ---------------------------------------------------------------------------------------------
# cron expressions

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = (
    # name, low, high, names (value of names[i] is i + offset)
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: i for i, name in enumerate(_DAYS)}),
)
CRON_SPECIALS = frozenset(
    {"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def _cron_value(token: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    key = token.lower()
    if key in names:
        return names[key]
    if not token.isdigit():
        allowed = f" or a name ({', '.join(names)})" if names else ""
        raise ConfigError(f"{name} field: {token!r} is not a number{allowed}")
    value = int(token)
    if not low <= value <= high:
        raise ConfigError(f"{name} field: {value} is outside {low}-{high}")
    return value


def _check_cron_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> None:
    for item in text.split(","):
        if not item:
            raise ConfigError(f"{name} field {text!r}: empty list item")
        base, slash, step = item.partition("/")
        if slash:
            if not step.isdigit() or int(step) < 1:
                raise ConfigError(
                    f"{name} field {text!r}: step {step!r} must be a whole number >= 1"
                )
            if base != "*" and "-" not in base:
                raise ConfigError(
                    f"{name} field {text!r}: a step needs '*' or a range before it (*/n, a-b/n)"
                )
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        first = _cron_value(start, name, low, high, names)
        if dash:
            last = _cron_value(end, name, low, high, names)
            if first > last:
                raise ConfigError(f"{name} field {text!r}: range {base!r} runs backwards")


def validate_cron(expr: str) -> str:
    """Check a cron schedule (five fields or an ``@daily``-style nickname) and return it
    normalised (single spaces). Raises :class:`ConfigError` naming the bad field."""
    text = " ".join(str(expr).split())
    if text.startswith("@"):
        if text.lower() in CRON_SPECIALS:
            return text.lower()
        raise ConfigError(
            f"unknown cron nickname {text!r}: use one of {', '.join(sorted(CRON_SPECIALS))}"
        )
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise ConfigError(
            f"cron schedule {expr!r} has {len(fields)} field(s); it needs 5: "
            "minute hour day-of-month month day-of-week (e.g. '0 3 * * 1')"
        )
    for field, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        _check_cron_field(field, name, low, high, names)
    return text


# ---------------------------------------------------------------------------------------------
# the crontab


class Crontab:
    """The user's crontab, read with ``crontab -l`` and written with ``crontab -``.

    ``command`` (or the ``LIFTLAB_CRONTAB`` environment variable, a shell-style command line)
    replaces ``crontab``, e.g. for tests or a wrapper script.
    """

    def __init__(self, command: list[str] | str | None = None) -> None:
        if command is None:
            command = os.environ.get(CRONTAB_ENV) or "crontab"
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.command:
            raise ConfigError(f"{CRONTAB_ENV} is set but empty")

    def _run(self, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                [*self.command, *args], input=stdin, capture_output=True, text=True, check=False
            )
        except FileNotFoundError as exc:
            raise ConfigError(
                f"cannot run {self.command[0]!r}: no crontab program found. Install the Debian "
                "package 'cron' (sudo apt-get install cron), or keep a foreground scheduler "
                "running with `liftlab schedule run CONFIG --every 1d`"
            ) from exc
        except OSError as exc:
            raise ConfigError(f"cannot run {shlex.join(self.command)!r}: {exc}") from exc

    @staticmethod
    def _failed(done: subprocess.CompletedProcess) -> ConfigError:
        detail = done.stderr.strip() or f"exit code {done.returncode}"
        return ConfigError(f"`{shlex.join(done.args)}` failed: {detail}")

    def read(self) -> list[str]:
        """The crontab's lines (empty when the user has no crontab yet)."""
        done = self._run(["-l"])
        if done.returncode != 0:
            if "no crontab for" in (done.stderr + done.stdout).lower():
                return []
            raise self._failed(done)
        return done.stdout.splitlines()

    def write(self, lines: list[str]) -> None:
        """Replace the whole crontab with ``lines``."""
        text = "".join(f"{line}\n" for line in lines)
        done = self._run(["-"], stdin=text)
        if done.returncode != 0:
            raise self._failed(done)


@dataclass(frozen=True)
class ScheduleEntry:
    """One liftlab line of the crontab."""

    schedule: str  # cron expression or @nickname
    root: Path
    config: Path  # relative to root when the config lives inside it
    line: str

    @property
    def log_file(self) -> Path:
        return self.root / LOG_RELATIVE


def _project_root(root: Path | None) -> Path:
    return ProjectPaths.from_root(Path(root) if root is not None else None).root


def _config_key(config: Path, root: Path) -> Path:
    """The config as the crontab names it: relative to ``root`` when inside it, else absolute.
    A relative ``config`` is read relative to ``root``."""
    path = Path(config)
    absolute = (path if path.is_absolute() else root / path).resolve()
    try:
        return absolute.relative_to(root)
    except ValueError:
        return absolute


def liftlab_command() -> list[str]:
    """How to call liftlab from cron: the ``liftlab`` script next to the running interpreter
    (the venv's one), else the one on PATH, else ``python -m liftlab.cli``."""
    beside = Path(sys.executable).with_name("liftlab")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("liftlab")
    return [found] if found else [sys.executable, "-m", "liftlab.cli"]


def _cron_escape(text: str) -> str:
    # cron turns an unescaped % in the command into a newline
    return text.replace("%", r"\%")


def _marker(root: Path, config: Path) -> str:
    return f"{MARKER} {shlex.quote(str(root))} {shlex.quote(str(config))}"


def entry_line(schedule: str, config: Path, root: Path | None = None) -> str:
    """The crontab line that runs ``liftlab schedule run-once CONFIG`` in ``root``."""
    schedule = validate_cron(schedule)
    root = _project_root(root)
    key = _config_key(config, root)
    log = root / LOG_RELATIVE
    run_once = shlex.join([*liftlab_command(), "schedule", "run-once", str(key)])
    command = f"cd {shlex.quote(str(root))} && {run_once} >> {shlex.quote(str(log))} 2>&1"
    return f"{schedule} {_cron_escape(command)} {_marker(root, key)}"


def _parse_entry(line: str) -> ScheduleEntry | None:
    head, sep, tail = line.partition(f" {MARKER} ")
    if not sep or line.lstrip().startswith("#"):
        return None
    try:
        root, config = shlex.split(tail)
    except ValueError:
        return None
    words = head.split()
    schedule = words[0] if words and words[0].startswith("@") else " ".join(words[:5])
    return ScheduleEntry(schedule=schedule, root=Path(root), config=Path(config), line=line)


def _matches(entry: ScheduleEntry | None, root: Path, key: Path) -> bool:
    return entry is not None and entry.root == root and entry.config == key


def install_entry(
    cron: str, config: Path, root: Path | None = None, *, crontab: Crontab | None = None
) -> str:
    """Install (or replace) the crontab line for ``config`` in project ``root``; every other
    line is kept as it was. Returns the installed line."""
    root = _project_root(root)
    line = entry_line(cron, config, root)
    key = _config_key(config, root)
    crontab = crontab or Crontab()
    lines = crontab.read()
    kept = [old for old in lines if not _matches(_parse_entry(old), root, key)]
    (root / LOG_RELATIVE).parent.mkdir(parents=True, exist_ok=True)
    crontab.write([*kept, line])
    return line


def remove_entry(config: Path, root: Path | None = None, *, crontab: Crontab | None = None) -> bool:
    """Remove the crontab line for ``config`` in project ``root``; False when there was none."""
    root = _project_root(root)
    key = _config_key(config, root)
    crontab = crontab or Crontab()
    lines = crontab.read()
    kept = [old for old in lines if not _matches(_parse_entry(old), root, key)]
    if len(kept) == len(lines):
        return False
    crontab.write(kept)
    return True


def list_entries(
    root: Path | None = None, *, crontab: Crontab | None = None
) -> list[ScheduleEntry]:
    """liftlab's crontab lines, for every project or only for ``root``."""
    wanted = _project_root(root) if root is not None else None
    entries = [_parse_entry(line) for line in (crontab or Crontab()).read()]
    return [e for e in entries if e is not None and (wanted is None or e.root == wanted)]


# ---------------------------------------------------------------------------------------------
# the foreground loop


def run_every(
    job: Callable[[], Any],
    interval_seconds: float,
    *,
    max_runs: int | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    on_result: Callable[[Any], Any] | None = None,
    on_error: Callable[[Exception], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_wait: Callable[[float], Any] | None = None,
) -> list:
    """Run ``job`` now, then every ``interval_seconds`` (start to start; a run longer than the
    interval is followed at once by the next), until ``max_runs`` runs or Ctrl-C.

    A run that raises is reported through ``on_error`` (logged when None) and the loop goes on.
    Before each wait, ``on_wait`` gets the seconds until the next run (to say when it is).
    Returns one item per finished run: the job's result, or the exception it raised.
    """
    if interval_seconds <= 0:
        raise ConfigError(f"interval must be longer than zero, got {interval_seconds}")
    if max_runs is not None and max_runs < 1:
        raise ConfigError(f"max_runs must be at least 1, got {max_runs}")
    results: list = []
    try:
        while max_runs is None or len(results) < max_runs:
            started = clock()
            try:
                result = job()
            except Exception as exc:
                results.append(exc)
                if on_error is None:
                    logger.exception("scheduled run failed; the next run is still scheduled")
                else:
                    on_error(exc)
            else:
                results.append(result)
                if on_result is not None:
                    on_result(result)
            if max_runs is not None and len(results) >= max_runs:
                break
            wait = max(0.0, interval_seconds - (clock() - started))
            if on_wait is not None:
                on_wait(wait)
            sleep(wait)
    except KeyboardInterrupt:
        logger.info("scheduler stopped after %d run(s)", len(results))
    return results
