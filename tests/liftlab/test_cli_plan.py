"""`liftlab plan`: the table and JSON agree with strategies.stats.power; bad input exits 2."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from liftlab.cli import app
from strategies.stats import power as power_module
from strategies.stats.power import (
    mde_mean,
    mde_proportion,
    plan,
    sample_size_mean,
    sample_size_proportion,
)

runner = CliRunner()


def _row(output: str, label: str) -> str:
    """The value column of a table row (labels are left-aligned, two spaces before values)."""
    match = re.search(rf"^\s+{re.escape(label)}\s+(.+)$", output, flags=re.MULTILINE)
    assert match, f"no {label!r} row in:\n{output}"
    return match.group(1).strip()


def _int(value: str) -> int:
    return int(value.replace(",", ""))


def test_plan_proportion_sample_size_table():
    result = runner.invoke(app, ["plan", "--baseline", "0.05", "--mde", "0.1"])
    assert result.exit_code == 0, result.output
    expected = sample_size_proportion(0.05, 0.1)
    assert _int(_row(result.output, "n per arm (control)")) == expected.n_control
    assert _int(_row(result.output, "n per arm (variant)")) == expected.n_variant
    assert _int(_row(result.output, "n total")) == expected.n_total
    assert _row(result.output, "MDE relative") == "+10.00%"
    assert "5% -> 5.5%" in _row(result.output, "MDE absolute")
    assert _row(result.output, "alpha") == "0.05 (two-sided)"
    assert _row(result.output, "power") == "0.8"
    assert _row(result.output, "inflation").startswith("1.0000 (fixed horizon)")


def test_plan_json_absolute_one_sided_ratio():
    args = ["plan", "--baseline", "0.1", "--mde", "0.01", "--absolute", "--one-sided"]
    result = runner.invoke(app, [*args, "--ratio", "2", "--alpha", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    want = sample_size_proportion(0.1, 0.01, relative=False, two_sided=False, ratio=2, alpha=0.1)
    assert got == {
        "metric": "proportion",
        "baseline": 0.1,
        "baseline_mean": None,
        "std": None,
        **want.to_dict(),
    }


def test_plan_mde_from_n_per_arm():
    result = runner.invoke(app, ["plan", "--baseline", "0.05", "--n-per-arm", "10000", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    want = mde_proportion(0.05, 10_000)
    assert got["n_control"] == 10_000
    assert got["mde_abs"] == pytest.approx(want.mde_abs, rel=1e-12)
    assert got["mde_rel"] == pytest.approx(want.mde_rel, rel=1e-12)

    table = runner.invoke(app, ["plan", "--baseline", "0.05", "--n-per-arm", "10000"])
    assert table.exit_code == 0, table.output
    assert "solved for the MDE" in table.output
    assert _row(table.output, "MDE relative") == f"{want.mde_rel:+.2%}"


def test_plan_means_relative_absolute_and_mde():
    rel = runner.invoke(app, ["plan", "--std", "10", "--mean", "50", "--mde", "0.02", "--json"])
    assert rel.exit_code == 0, rel.output
    want = sample_size_mean(10, 0.02, baseline_mean=50, relative=True)
    assert json.loads(rel.output)["n_control"] == want.n_control

    ab = runner.invoke(app, ["plan", "--std", "10", "--mde", "1", "--absolute"])
    assert ab.exit_code == 0, ab.output
    assert _int(_row(ab.output, "n per arm (control)")) == want.n_control  # same effect
    assert _row(ab.output, "MDE relative") == "n/a"

    mde = runner.invoke(app, ["plan", "--std", "10", "--mean", "50", "--n-per-arm", "500"])
    assert mde.exit_code == 0, mde.output
    expected = mde_mean(10, 500, baseline_mean=50)
    assert _row(mde.output, "MDE relative") == f"{expected.mde_rel:+.2%}"


def test_plan_sequential_looks():
    from strategies.stats.sequential import gst_inflation_factor

    result = runner.invoke(app, ["plan", "--baseline", "0.05", "--mde", "0.1", "--looks", "5"])
    assert result.exit_code == 0, result.output
    want = sample_size_proportion(0.05, 0.1, sequential_looks=5)
    assert _int(_row(result.output, "n per arm (control)")) == want.n_control
    inflation = _row(result.output, "inflation")
    assert inflation.startswith(f"{gst_inflation_factor(5, 0.05, 0.8):.4f}")
    assert "O'Brien-Fleming, 5 looks" in inflation


@pytest.mark.parametrize(
    ("args", "call"),
    [
        (["--baseline", "0.05", "--mde", "0.1"], {"metric": "proportion", "baseline": 0.05}),
        (
            ["--baseline", "0.05", "--n-per-arm", "10000", "--absolute", "--looks", "3"],
            {"metric": "proportion", "baseline": 0.05, "relative": False},
        ),
        (
            ["--std", "10", "--mean", "50", "--n-per-arm", "500", "--one-sided"],
            {"metric": "mean", "std": 10.0, "baseline_mean": 50.0, "relative": None},
        ),
        (
            ["--std", "10", "--mde", "1", "--absolute", "--power", "0.9", "--ratio", "2"],
            {"metric": "mean", "std": 10.0, "relative": False, "power": 0.9, "ratio": 2.0},
        ),
    ],
)
def test_plan_command_goes_through_the_one_entry_point(monkeypatch, args, call):
    seen: list[dict] = []

    def spy(metric, **kwargs):
        seen.append({"metric": metric, **kwargs})
        return plan(metric, **kwargs)

    monkeypatch.setattr(power_module, "plan", spy)
    result = runner.invoke(app, ["plan", *args, "--json"])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1 and call.items() <= seen[0].items()
    kwargs = {k: v for k, v in seen[0].items() if k != "metric"}
    want = plan(seen[0]["metric"], **kwargs).to_dict()
    got = json.loads(result.output)
    assert {k: got[k] for k in want} == want


def test_plan_one_sided_at_power_0_9():
    result = runner.invoke(
        app, ["plan", "--baseline", "0.05", "--mde", "0.1", "--one-sided", "--power", "0.9"]
    )
    assert result.exit_code == 0, result.output
    want = sample_size_proportion(0.05, 0.1, power=0.9, two_sided=False)
    assert _int(_row(result.output, "n per arm (control)")) == want.n_control


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "1.5", "--mde", "0.1"], "baseline must be strictly between 0 and 1"),
        (["--baseline", "0.05", "--mde", "0"], "mde must be non-zero"),
        (["--baseline", "0.05"], "exactly one of --mde"),
        (["--baseline", "0.05", "--mde", "0.1", "--n-per-arm", "100"], "exactly one of --mde"),
        (["--mde", "0.1"], "exactly one metric"),
        (["--baseline", "0.05", "--std", "2", "--mde", "0.1"], "exactly one metric"),
        (["--std", "2", "--mde", "0.1"], "needs --mean"),
        (["--baseline", "0.05", "--mean", "3", "--mde", "0.1"], "--mean is for mean metrics"),
        (["--baseline", "0.05", "--mde", "0.1", "--power", "1"], "power"),
        (["--baseline", "0.05", "--mde", "0.1", "--looks", "0"], "sequential_looks"),
        (["--std", "-1", "--mde", "1", "--absolute"], "std must be > 0"),
    ],
)
def test_plan_bad_input_exits_non_zero_naming_the_problem(args, message):
    result = runner.invoke(app, ["plan", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_plan_is_listed_in_help():
    result = runner.invoke(app, ["plan", "--help"])
    assert result.exit_code == 0
    for option in ("--baseline", "--mde", "--n-per-arm", "--looks", "--json", "--one-sided"):
        assert option in result.output
