"""Scheduled retraining: intervals, cron expressions, the crontab entries, the foreground loop
and the `liftlab schedule` commands. Fast: a fake crontab script and a fake retrain_once."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.ops import schedule
from strategies.errors import ConfigError, InputDataError

runner = CliRunner()

# ---------------------------------------------------------------------------------------------
# intervals


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("5m", 300), ("2h", 7200), ("1d", 86400), ("90", 90), (" 1.5M ", 90)],
)
def test_parse_interval(text: str, seconds: float) -> None:
    assert schedule.parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5s", "5 m s", "m5", "0", "0s", "1w"])
def test_parse_interval_rejects_bad_text(text: str) -> None:
    with pytest.raises(ConfigError, match="interval"):
        schedule.parse_interval(text)


# ---------------------------------------------------------------------------------------------
# cron expressions


@pytest.mark.parametrize(
    "expr",
    [
        "0 3 * * 1",
        "*/15 * * * *",
        "0,30 8-18/2 1-15 1,6,12 1-5",
        "0 0 1 jan *",
        "30 6 * * mon-fri",
        "0 12 * JUN-AUG SUN",
        "59 23 31 12 7",
        "@daily",
        "@reboot",
        "@HOURLY",
    ],
)
def test_validate_cron_accepts(expr: str) -> None:
    assert schedule.validate_cron(expr)


def test_validate_cron_normalises_spaces() -> None:
    assert schedule.validate_cron("  0   3 * *  1 ") == "0 3 * * 1"


@pytest.mark.parametrize(
    ("expr", "field"),
    [
        ("60 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * 32 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * foo *", "month"),
        ("* * * * 8", "day of week"),
        ("* * * * jan", "day of week"),
        ("*/0 * * * *", "minute"),
        ("5/10 * * * *", "minute"),
        ("10-5 * * * *", "minute"),
        ("1,,2 * * * *", "minute"),
        ("* x * * *", "hour"),
    ],
)
def test_validate_cron_names_the_bad_field(expr: str, field: str) -> None:
    with pytest.raises(ConfigError, match=f"^{field} field"):
        schedule.validate_cron(expr)


@pytest.mark.parametrize("expr", ["", "* * * *", "* * * * * *", "@sometimes"])
def test_validate_cron_rejects_wrong_shape(expr: str) -> None:
    with pytest.raises(ConfigError, match="cron"):
        schedule.validate_cron(expr)


# ---------------------------------------------------------------------------------------------
# the crontab, through a fake `crontab` script that keeps its table in a file

FAKE_CRONTAB = """#!/bin/sh
store={store}
case "$1" in
  -l) if [ -f "$store" ]; then cat "$store"; else echo "no crontab for tester" >&2; exit 1; fi ;;
  -) cat > "$store" ;;
  *) echo "usage: crontab [-l | -]" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def fake_crontab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point LIFTLAB_CRONTAB at a fake script; returns the file it stores the table in."""
    store = tmp_path / "crontab.txt"
    script = tmp_path / "fake crontab.sh"  # a space, to prove the command is quoted
    script.write_text(FAKE_CRONTAB.format(store=shlex.quote(str(store))))
    script.chmod(0o755)
    monkeypatch.setenv(schedule.CRONTAB_ENV, shlex.join([str(script)]))
    return store


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "my project"
    (root / "configs").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "liftlab"\n')
    for name in ("train.yaml", "other.yaml"):
        (root / "configs" / name).write_text("parameters: {}\n")
    return root


def test_no_crontab_reads_as_empty(fake_crontab: Path) -> None:
    assert not fake_crontab.exists()
    assert schedule.Crontab().read() == []
    assert schedule.list_entries() == []


def test_missing_crontab_program_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(schedule.CRONTAB_ENV, "/nonexistent/crontab")
    with pytest.raises(ConfigError, match="cron") as info:
        schedule.Crontab().read()
    assert "liftlab schedule run" in str(info.value)


def test_install_writes_one_marked_line(fake_crontab: Path, project: Path) -> None:
    line = schedule.install_entry("0 3 * * 1", Path("configs/train.yaml"), project)
    assert fake_crontab.read_text() == line + "\n"
    assert line.startswith("0 3 * * 1 cd ")
    words = shlex.split(line.split(f" {schedule.MARKER} ")[0])
    assert words[5:8] == ["cd", str(project.resolve()), "&&"]
    assert words[8] == str(Path(sys.executable).with_name("liftlab"))
    assert words[-6:] == [
        "schedule",
        "run-once",
        "configs/train.yaml",
        ">>",
        str(project.resolve() / ".liftlab" / "logs" / "schedule.log"),
        "2>&1",
    ]
    assert schedule.MARKER in line
    assert (project / ".liftlab" / "logs").is_dir()


def test_install_replaces_and_keeps_other_lines(fake_crontab: Path, project: Path) -> None:
    others = [
        "MAILTO=me@example.com",
        "# my own comment",
        "*/5 * * * * /usr/bin/backup --fast",
        "",
    ]
    fake_crontab.write_text("\n".join(others) + "\n")
    schedule.install_entry("0 3 * * 1", project / "configs" / "train.yaml", project)
    schedule.install_entry("@daily", Path("configs/other.yaml"), project)
    schedule.install_entry("30 4 * * *", Path("configs/train.yaml"), project)  # replaces

    lines = fake_crontab.read_text().splitlines()
    assert lines[: len(others)] == others
    entries = schedule.list_entries(project)
    assert sorted((e.schedule, str(e.config)) for e in entries) == [
        ("30 4 * * *", "configs/train.yaml"),
        ("@daily", "configs/other.yaml"),
    ]
    assert all(e.root == project.resolve() for e in entries)
    assert len(lines) == len(others) + 2


def test_entries_are_per_project(fake_crontab: Path, project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "second"
    (elsewhere / "configs").mkdir(parents=True)
    schedule.install_entry("0 1 * * *", Path("configs/train.yaml"), project)
    schedule.install_entry("0 2 * * *", Path("configs/train.yaml"), elsewhere)
    assert len(schedule.list_entries()) == 2
    assert [e.schedule for e in schedule.list_entries(elsewhere)] == ["0 2 * * *"]
    assert schedule.remove_entry(Path("configs/train.yaml"), elsewhere) is True
    assert [e.root for e in schedule.list_entries()] == [project.resolve()]


def test_remove_entry(fake_crontab: Path, project: Path) -> None:
    fake_crontab.write_text("0 0 * * * echo keep\n")
    schedule.install_entry("0 3 * * 1", Path("configs/train.yaml"), project)
    assert schedule.remove_entry(Path("configs/other.yaml"), project) is False
    assert schedule.remove_entry(project / "configs" / "train.yaml", project) is True
    assert fake_crontab.read_text() == "0 0 * * * echo keep\n"
    assert schedule.remove_entry(Path("configs/train.yaml"), project) is False


def test_install_rejects_a_bad_cron_without_touching_the_crontab(
    fake_crontab: Path, project: Path
) -> None:
    fake_crontab.write_text("0 0 * * * echo keep\n")
    with pytest.raises(ConfigError, match="hour field"):
        schedule.install_entry("0 25 * * *", Path("configs/train.yaml"), project)
    assert fake_crontab.read_text() == "0 0 * * * echo keep\n"


def test_percent_signs_are_escaped_for_cron(fake_crontab: Path, tmp_path: Path) -> None:
    root = tmp_path / "100%"
    root.mkdir()
    line = schedule.install_entry("@hourly", Path("c.yaml"), root)
    command = line.split(f" {schedule.MARKER} ")[0]
    assert "%" not in command.replace(r"\%", "")
    assert schedule.list_entries(root)[0].config == Path("c.yaml")


# ---------------------------------------------------------------------------------------------
# the foreground loop


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def test_run_every_runs_now_then_every_interval() -> None:
    clock = FakeClock()
    starts: list[float] = []

    def job() -> int:
        starts.append(clock.now)
        return len(starts)

    results = schedule.run_every(job, 10, max_runs=3, sleep=clock.sleep, clock=clock)
    assert results == [1, 2, 3]
    assert starts == [0, 10, 20]
    assert clock.sleeps == [10, 10]  # no sleep after the last run


def test_run_every_measures_start_to_start_and_never_sleeps_negative() -> None:
    clock = FakeClock()
    durations = iter([3.0, 25.0, 1.0, 0.0])
    starts: list[float] = []

    def job() -> None:
        starts.append(clock.now)
        clock.now += next(durations)

    schedule.run_every(job, 10, max_runs=4, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [7.0, 0.0, 9.0]
    assert starts == [0.0, 10.0, 35.0, 45.0]


def test_run_every_survives_a_failed_run() -> None:
    clock = FakeClock()
    calls = []
    errors: list[Exception] = []
    seen: list[object] = []

    def job() -> str:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("pipeline broke")
        return "ok"

    results = schedule.run_every(
        job,
        5,
        max_runs=3,
        sleep=clock.sleep,
        clock=clock,
        on_result=seen.append,
        on_error=errors.append,
    )
    assert len(calls) == 3
    assert seen == ["ok", "ok"]
    assert [str(e) for e in errors] == ["pipeline broke"]
    assert results[0] == "ok" and isinstance(results[1], RuntimeError) and results[2] == "ok"


def test_run_every_logs_errors_without_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    def job() -> None:
        raise ValueError("bad")

    results = schedule.run_every(job, 1, max_runs=2, sleep=lambda s: None)
    assert len(results) == 2
    assert "scheduled run failed" in caplog.text


def test_run_every_stops_cleanly_on_ctrl_c() -> None:
    clock = FakeClock()
    runs = []

    def interrupting_sleep(seconds: float) -> None:
        if len(runs) == 2:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    results = schedule.run_every(
        lambda: runs.append(1) or len(runs), 1, sleep=interrupting_sleep, clock=clock
    )
    assert results == [1, 2]


@pytest.mark.parametrize(("interval", "max_runs"), [(0, None), (-1, None), (1, 0)])
def test_run_every_rejects_bad_arguments(interval: float, max_runs: int | None) -> None:
    with pytest.raises(ConfigError):
        schedule.run_every(lambda: None, interval, max_runs=max_runs, sleep=lambda s: None)


# ---------------------------------------------------------------------------------------------
# the CLI, with a fake retrain_once


@dataclass
class FakeOutcome:
    ran: bool
    reason: str
    summary: dict = field(default_factory=dict)


class FakeRetrain:
    """Plays back outcomes (or exceptions) and records its calls."""

    def __init__(self, *plays: object) -> None:
        self.plays = list(plays)
        self.calls: list[tuple[Path, bool]] = []

    def __call__(self, config_path: Path, *, force: bool = False) -> FakeOutcome:
        self.calls.append((Path(config_path), force))
        play = self.plays[min(len(self.calls), len(self.plays)) - 1]
        if isinstance(play, BaseException):
            raise play
        return play


@pytest.fixture
def fake_retrain(monkeypatch: pytest.MonkeyPatch):
    """Install a FakeRetrain as liftlab.ops.retrain.retrain_once; returns a function that sets
    the plays."""

    def use(*plays: object) -> FakeRetrain:
        fake = FakeRetrain(*plays)
        monkeypatch.setattr("liftlab.ops.retrain.retrain_once", fake, raising=False)
        return fake

    return use


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """run_every as the CLI calls it, with a sleep that only records."""
    sleeps: list[float] = []
    monkeypatch.setattr(schedule, "run_every", partial(schedule.run_every, sleep=sleeps.append))
    return sleeps


TRAINED = FakeOutcome(True, "trained: model version 4", {"mlflow_run_id": "abc"})
SKIPPED = FakeOutcome(False, "data unchanged since model version 4 (sha256 ab12)")


def test_schedule_help_lists_commands() -> None:
    result = runner.invoke(app, ["schedule", "--help"])
    assert result.exit_code == 0
    for command in ("install", "remove", "show", "run", "run-once"):
        assert command in result.output
        assert runner.invoke(app, ["schedule", command, "--help"]).exit_code == 0


def test_cli_install_show_remove(fake_crontab: Path, project: Path) -> None:
    config = project / "configs" / "train.yaml"
    root = ["--root", str(project)]
    result = runner.invoke(app, ["schedule", "install", str(config), "--cron", "0 3 * * 1", *root])
    assert result.exit_code == 0, result.output
    assert "0 3 * * 1 cd " in result.output
    assert "schedule.log" in result.output

    shown = runner.invoke(app, ["schedule", "show"])
    assert shown.exit_code == 0, shown.output
    assert "0 3 * * 1" in shown.output and "configs/train.yaml" in shown.output

    removed = runner.invoke(app, ["schedule", "remove", str(config), *root])
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(app, ["schedule", "remove", str(config), *root])
    assert again.exit_code == 1
    assert "no liftlab schedule" in again.output
    assert "No liftlab schedules" in runner.invoke(app, ["schedule", "show"]).output


def test_cli_install_checks_config_and_cron(fake_crontab: Path, project: Path) -> None:
    missing = runner.invoke(
        app, ["schedule", "install", str(project / "nope.yaml"), "--cron", "@daily"]
    )
    assert missing.exit_code == 2
    assert "not found" in missing.output
    bad = runner.invoke(
        app,
        ["schedule", "install", str(project / "configs" / "train.yaml"), "--cron", "0 3 * *"],
    )
    assert bad.exit_code == 2
    assert "5" in bad.output
    assert not fake_crontab.exists()


def test_cli_run_prints_a_line_per_tick_and_survives_failures(
    fake_retrain, no_sleep: list[float], project: Path
) -> None:
    fake = fake_retrain(TRAINED, RuntimeError("mlflow down"), SKIPPED)
    config = project / "configs" / "train.yaml"
    result = runner.invoke(
        app, ["schedule", "run", str(config), "--every", "5m", "--max-runs", "3", "--force"]
    )
    assert result.exit_code == 0, result.output
    assert fake.calls == [(config, True)] * 3
    assert "trained: model version 4" in result.stdout
    assert "skipped" in result.stdout and "data unchanged" in result.stdout
    assert "RuntimeError: mlflow down" in result.stderr
    assert "3 run(s): 1 trained, 1 skipped, 1 failed" in result.stdout
    assert len(no_sleep) == 2 and all(0 <= s <= 300 for s in no_sleep)
    assert result.stdout.count("next run at ") == 2  # said before each wait, not after the last


def test_run_every_says_how_long_until_the_next_run() -> None:
    clock = FakeClock()
    waits: list[float] = []

    def job() -> None:
        clock.now += 4.0

    schedule.run_every(job, 10, max_runs=3, sleep=clock.sleep, clock=clock, on_wait=waits.append)
    assert waits == [6.0, 6.0] == clock.sleeps


def test_cli_run_rejects_a_bad_interval(fake_retrain, project: Path) -> None:
    fake = fake_retrain(TRAINED)
    config = project / "configs" / "train.yaml"
    result = runner.invoke(app, ["schedule", "run", str(config), "--every", "soon"])
    assert result.exit_code == 2
    assert "interval" in result.output
    assert fake.calls == []


@pytest.mark.parametrize(
    ("play", "exit_code", "text"),
    [
        (TRAINED, 0, "trained"),
        (SKIPPED, 0, "skipped"),
        (InputDataError("no rows in data/x.parquet"), 1, "no rows"),
        (RuntimeError("step train_model failed"), 1, "RuntimeError: step train_model failed"),
    ],
)
def test_cli_run_once_exit_codes(
    fake_retrain, play: object, exit_code: int, text: str, tmp_path: Path
) -> None:
    fake = fake_retrain(play)
    config = tmp_path / "train.yaml"
    args = ["schedule", "run-once", str(config)]
    result = runner.invoke(app, args)
    assert result.exit_code == exit_code, result.output
    assert text in result.output
    assert fake.calls == [(config, False)]
    assert runner.invoke(app, [*args, "--force"]).exit_code == exit_code
    assert fake.calls[-1] == (config, True)
