"""liftlab's command line: set up the local stack, make demo data, run and check pipelines.

Heavy imports (ZenML, MLflow, the simulator) happen inside commands so ``liftlab --help`` is fast
and importing this module never touches a ZenML store.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer

from liftlab.paths import ProjectPaths
from strategies.errors import LiftlabError

app = typer.Typer(
    help="liftlab: experimentation and campaign analytics as ZenML pipelines tracked in MLflow.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def init(
    root: Path = typer.Option(
        None, help="Project root (default: the liftlab checkout you are in)."
    ),
) -> None:
    """Set up the local ZenML repository and stack (local orchestrator + artifact store, MLflow
    tracker and model registry). Safe to run again."""
    from liftlab.stack import init_stack

    info = init_stack(root)
    paths = ProjectPaths.from_root(root)
    created = ", ".join(info.created) if info.created else "nothing new (already set up)"
    typer.echo(f"ZenML stack '{info.stack_name}' is active. Created: {created}.")
    typer.echo(f"Artifact store: {info.artifact_path}")
    typer.echo(f"MLflow tracking URI: {info.mlflow_tracking_uri}")
    typer.echo(f"MLflow UI: {paths.mlflow_ui_command()}")


@app.command()
def simulate(
    out: Path = typer.Option(None, help="Output file (.parquet or .csv). Default: data/demo/."),
    users_per_experiment: int = typer.Option(50_000, min=100, help="Users per experiment."),
    experiments: int = typer.Option(8, min=1, max=8, help="How many of the demo experiments."),
    seed: int = typer.Option(42, help="Random seed (same seed, same data)."),
    dirty_fraction: float = typer.Option(
        0.002, min=0.0, max=0.2, help="Share of rows with injected data-quality problems."
    ),
) -> None:
    """Write a demo experiment dataset with known true effects (and its ground truth)."""
    from liftlab.simulate import SimulationConfig, default_experiments, simulate, write_dataset

    target = out or ProjectPaths.from_root().demo_data
    try:
        config = SimulationConfig(
            experiments=default_experiments(users_per_experiment)[:experiments],
            seed=seed,
            dirty_fraction=dirty_fraction,
        )
        files = write_dataset(simulate(config), target)
    except LiftlabError as exc:
        _fail(exc)
    for kind, path in files.items():
        typer.echo(f"{kind:>9}: {path}")


@app.command("check-config")
def check_config(
    configs: list[Path] = typer.Argument(..., help="Run config YAML files."),
) -> None:
    """Check run configs strictly: unknown keys, misspelt step names, bad parameters."""
    from liftlab.config_check import check_run_config

    failed = False
    for path in configs:
        try:
            check_run_config(path)
            typer.echo(f"ok: {path}")
        except LiftlabError as exc:
            failed = True
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
    if failed:
        raise typer.Exit(code=2)


@app.command()
def run(
    config: Path = typer.Argument(..., help="Run config, e.g. configs/ab_test.yaml."),
) -> None:
    """Check a config, then run its pipeline (same as `zenml pipeline run ... -c CONFIG`)."""
    summary = _run_pipeline(config)
    _print_summary(summary)


@app.command()
def demo(
    users_per_experiment: int = typer.Option(50_000, min=100, help="Users per experiment."),
    fresh: bool = typer.Option(False, help="Regenerate the demo data even if it exists."),
) -> None:
    """The whole demo: set up the stack, simulate data, run the A/B pipeline, say where to look."""
    from liftlab.simulate import SimulationConfig, default_experiments, simulate, write_dataset
    from liftlab.stack import init_stack

    paths = ProjectPaths.from_root()
    info = init_stack(paths.root)
    typer.echo(f"[1/3] ZenML stack '{info.stack_name}' is active.")
    if fresh or not paths.demo_data.exists():
        config = SimulationConfig(
            experiments=default_experiments(users_per_experiment), dirty_fraction=0.002
        )
        write_dataset(simulate(config), paths.demo_data)
    typer.echo(f"[2/3] Demo data: {paths.demo_data}")
    typer.echo("[3/3] Running the A/B testing pipeline ...")
    summary = _run_pipeline(paths.root / "configs" / "ab_test.yaml")
    _print_summary(summary)


@app.command()
def ui(
    port: int = typer.Option(5000, help="Port for the MLflow UI."),
    print_only: bool = typer.Option(False, "--print-only", help="Only print the command."),
) -> None:
    """Start the MLflow UI on the project's tracking database."""
    paths = ProjectPaths.from_root()
    command = [
        "mlflow",
        "ui",
        "--backend-store-uri",
        paths.mlflow_tracking_uri,
        "--port",
        str(port),
    ]
    typer.echo(" ".join(command))
    if not print_only:
        executable = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
        os.execv(executable, [executable, *command[1:]])


@app.command()
def plan(
    baseline: float | None = typer.Option(
        None, help="Baseline conversion rate of a proportion metric, e.g. 0.05."
    ),
    mean: float | None = typer.Option(
        None, help="Baseline mean of a mean metric (needed for a relative --mde)."
    ),
    std: float | None = typer.Option(None, help="Per-unit standard deviation of a mean metric."),
    mde: float | None = typer.Option(
        None, help="Minimum detectable effect, relative by default (0.1 = +10 %)."
    ),
    absolute: bool = typer.Option(False, "--absolute", help="Read --mde as an absolute change."),
    n_per_arm: int | None = typer.Option(
        None, help="Control-arm size: solve for the MDE instead of the sample size."
    ),
    alpha: float = typer.Option(0.05, help="Significance level."),
    power: float = typer.Option(0.8, help="Target power."),
    ratio: float = typer.Option(1.0, help="Allocation ratio n_variant / n_control."),
    one_sided: bool = typer.Option(
        False, "--one-sided", help="One-sided test in the direction of the effect."
    ),
    looks: int | None = typer.Option(
        None, help="Plan an O'Brien-Fleming group-sequential design with this many looks."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Plan an experiment: units per arm for an MDE (--mde), or the MDE for a size (--n-per-arm).

    A proportion metric takes --baseline; a mean metric takes --std (and --mean for relative
    effects). Conventions are documented in strategies/stats/power.py.
    """
    import json

    from strategies.errors import ConfigError
    from strategies.stats import power as planning

    relative = not absolute
    try:
        if (baseline is None) == (std is None):
            raise ConfigError(
                "give exactly one metric: --baseline RATE (proportion) or --std SD [--mean M] "
                "(mean)"
            )
        if baseline is not None and mean is not None:
            raise ConfigError("--mean is for mean metrics (with --std); drop it with --baseline")
        if (mde is None) == (n_per_arm is None):
            raise ConfigError(
                "give exactly one of --mde (solve for the sample size) or --n-per-arm "
                "(solve for the MDE)"
            )
        if std is not None and mde is not None and relative and mean is None:
            raise ConfigError("a relative --mde for a mean metric needs --mean; or use --absolute")
        design = {
            "alpha": alpha,
            "power": power,
            "ratio": ratio,
            "two_sided": not one_sided,
            "sequential_looks": looks,
        }
        if baseline is not None:
            metric = "proportion"
            if mde is not None:
                result = planning.sample_size_proportion(baseline, mde, relative=relative, **design)
            else:
                result = planning.mde_proportion(baseline, n_per_arm, relative=relative, **design)
        else:
            metric = "mean"
            if mde is not None:
                result = planning.sample_size_mean(
                    std, mde, baseline_mean=mean, relative=relative, **design
                )
            else:
                result = planning.mde_mean(std, n_per_arm, baseline_mean=mean, **design)
    except LiftlabError as exc:
        _fail(exc)

    if as_json:
        inputs = {"metric": metric, "baseline": baseline, "baseline_mean": mean, "std": std}
        typer.echo(json.dumps({**inputs, **result.to_dict()}, indent=2))
        return
    solved = "sample size" if mde is not None else "MDE"
    if metric == "proportion":
        header = f"Plan for a proportion (baseline {baseline * 100:.4g}%), solved for the {solved}"
        change = f" ({baseline * 100:.4g}% -> {(baseline + result.mde_abs) * 100:.4g}%)"
    else:
        base = "" if mean is None else f", baseline mean {mean:g}"
        header = f"Plan for a mean (std {std:g}{base}), solved for the {solved}"
        change = ""
    sides = "two-sided" if result.two_sided else "one-sided"
    design_note = (
        "fixed horizon"
        if result.inflation == 1.0
        else f"O'Brien-Fleming, {result.sequential_looks} looks; n is the maximum"
    )
    rows = [
        ("n per arm (control)", f"{result.n_control:,}"),
        ("n per arm (variant)", f"{result.n_variant:,}"),
        ("n total", f"{result.n_total:,}"),
        ("MDE absolute", f"{result.mde_abs:+.6g}{change}"),
        ("MDE relative", "n/a" if result.mde_rel is None else f"{result.mde_rel:+.2%}"),
        ("power", f"{result.power:g}"),
        ("alpha", f"{result.alpha:g} ({sides})"),
        ("inflation", f"{result.inflation:.4f} ({design_note})"),
    ]
    width = max(len(label) for label, _ in rows)
    typer.echo(header)
    for label, value in rows:
        typer.echo(f"  {label:<{width}}  {value}")


def _run_pipeline(config: Path) -> dict:
    from liftlab.config_check import check_run_config, load_pipeline, pipeline_for_config

    try:
        check_run_config(config)
        entry = pipeline_for_config(config)
    except LiftlabError as exc:
        _fail(exc)
    pipeline_obj = load_pipeline(entry.source)
    run_response = pipeline_obj.with_options(config_path=str(config))()
    if run_response is None:  # scheduled or remote orchestrators return no run to inspect
        return {}
    step = run_response.steps.get("publish_ab_results")
    return step.outputs["run_summary"][0].load() if step else {}


def _print_summary(summary: dict) -> None:
    if not summary:
        return
    paths = ProjectPaths.from_root()
    files = summary.get("files", {})
    decisions = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("decisions", {}).items()))
    typer.echo("")
    typer.echo(f"Comparisons: {summary.get('comparisons')} ({decisions})")
    if summary.get("srm_alerts"):
        typer.secho(
            f"Sample ratio mismatch in: {', '.join(summary['srm_alerts'])} (not trustworthy)",
            fg=typer.colors.YELLOW,
        )
    typer.echo(f"Report:        {files.get('ab_report')}")
    typer.echo(f"Results table: {files.get('ab_results')}")
    typer.echo(f"MLflow run:    {summary.get('mlflow_run_id')}")
    typer.echo(
        f"MLflow UI:     .venv/bin/{paths.mlflow_ui_command()}  (then open http://127.0.0.1:5000)"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
