"""liftlab's command line: set up the local stack, make demo data, run and check pipelines.

Heavy imports (ZenML, MLflow, the simulator) happen inside commands so ``liftlab --help`` is fast
and importing this module never touches a ZenML store.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import typer

from liftlab.cli_style import PlainHelpGroup
from liftlab.mlops.paths import ProjectPaths
from strategies.errors import LiftlabError

app = typer.Typer(
    cls=PlainHelpGroup,
    help="liftlab: experimentation and campaign analytics as ZenML pipelines tracked in MLflow.",
    epilog="Start with `make demo`, or: liftlab init; liftlab simulate; "
    "liftlab run configs/ab_test.yaml. Each command has --help.",
    no_args_is_help=True,
    add_completion=False,
)


def _examples(*lines: str) -> str:
    """A help epilog: one example command per line (rich help keeps blank-line paragraphs)."""
    return "Examples:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    typer.echo(
        f"liftlab {installed('liftlab')} (zenml {installed('zenml')}, mlflow "
        f"{installed('mlflow')}, python {sys.version.split()[0]})"
    )
    raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print liftlab's version (and ZenML's, MLflow's) and exit.",
    ),
) -> None:
    """liftlab: experimentation and campaign analytics as ZenML pipelines tracked in MLflow."""


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def init(
    root: Path = typer.Option(
        None, help="Project root (default: the liftlab checkout you are in).", metavar="PATH"
    ),
) -> None:
    """Set up the local ZenML repository and stack (local orchestrator + artifact store, MLflow
    tracker and model registry). Safe to run again."""
    from liftlab.mlops.stack import init_stack

    info = init_stack(root)
    paths = ProjectPaths.from_root(root)
    created = ", ".join(info.created) if info.created else "nothing new (already set up)"
    typer.echo(f"ZenML stack '{info.stack_name}' is active. Created: {created}.")
    typer.echo(f"Artifact store: {info.artifact_path}")
    typer.echo(f"MLflow tracking URI: {info.mlflow_tracking_uri}")
    typer.echo(f"MLflow UI: {paths.mlflow_ui_command()}")
    _quiet_doctor(root)


def _write_simulated(
    write: Callable[[], Mapping[str, Path] | Sequence[Path]], *, width: int = 15
) -> None:
    """Run one simulator's ``write()`` (its settings are checked inside), stop with the
    simulator's own message on bad settings, and list the files written."""
    try:
        files = write()
    except LiftlabError as exc:
        _fail(exc)
    items = files.items() if isinstance(files, Mapping) else ((p.stem, p) for p in files)
    for kind, path in items:
        typer.echo(f"{kind:>{width}}: {path}")


@app.command(epilog=_examples("liftlab simulate", "liftlab simulate --experiments 2 --seed 7"))
def simulate(
    out: Path = typer.Option(
        None, help="Output file (.parquet or .csv). Default: data/demo/.", metavar="PATH"
    ),
    users_per_experiment: int = typer.Option(50_000, min=100, help="Users per experiment."),
    experiments: int = typer.Option(8, min=1, max=8, help="How many of the demo experiments."),
    seed: int = typer.Option(42, help="Random seed (same seed, same data)."),
    dirty_fraction: float = typer.Option(
        0.002, min=0.0, max=0.2, help="Share of rows with injected data-quality problems."
    ),
) -> None:
    """Write a demo experiment dataset with known true effects (and its ground truth)."""
    from liftlab.simulate.experiments import (
        SimulationConfig,
        default_experiments,
        simulate,
        write_dataset,
    )

    target = out or ProjectPaths.from_root().demo_data
    _write_simulated(
        lambda: write_dataset(
            simulate(
                SimulationConfig(
                    experiments=default_experiments(users_per_experiment)[:experiments],
                    seed=seed,
                    dirty_fraction=dirty_fraction,
                )
            ),
            target,
        ),
        width=9,
    )


@app.command("simulate-ads")
def simulate_ads_command(
    out: Path = typer.Option(
        None, help="Output file (.csv or .parquet). Default: data/demo/.", metavar="PATH"
    ),
    n_ads: int | None = typer.Option(
        None, min=20, help="Number of ads (default 1,143 like the real KAG file; 400 with --new)."
    ),
    seed: int | None = typer.Option(
        None, min=0, help="Random seed (default 42; 7 with --new). Same seed, same data."
    ),
    new: bool = typer.Option(
        False, "--new", help="Fresh ads to score (data/demo/ads_new.csv, 400 ads, seed 7)."
    ),
) -> None:
    """Write KAG-shaped ad data with a known conversion model (and its ground truth)."""
    from liftlab.simulate.ads import AdSimulationConfig, simulate_ads, write_ads

    paths = ProjectPaths.from_root()
    target = out or (paths.demo_ads_new if new else paths.demo_ads)
    n_ads = n_ads if n_ads is not None else (400 if new else 1143)
    seed = seed if seed is not None else (7 if new else 42)
    _write_simulated(
        lambda: write_ads(simulate_ads(AdSimulationConfig(n_ads=n_ads, seed=seed)), target),
        width=9,
    )


@app.command("simulate-campaigns")
def simulate_campaigns_command(
    out: Path = typer.Option(
        None, help="Output folder. Default: data/demo/campaigns/.", metavar="PATH"
    ),
    customers: int = typer.Option(20_000, min=500, help="Number of customers."),
    seed: int = typer.Option(42, min=0, help="Random seed (same seed, same data)."),
) -> None:
    """Write a CRM/POS export (campaigns, profiles, assignments, interactions, transactions)
    with a known true uplift per campaign and category (truth.csv)."""
    from liftlab.simulate.campaigns import (
        CampaignSimulationConfig,
        simulate_campaigns,
        write_campaigns,
    )

    target = out or ProjectPaths.from_root().demo_campaigns
    _write_simulated(
        lambda: write_campaigns(
            simulate_campaigns(CampaignSimulationConfig(n_customers=customers, seed=seed)), target
        ),
        width=14,
    )


@app.command("simulate-ecommerce")
def simulate_ecommerce_command(
    out: Path = typer.Option(
        None, help="Output folder. Default: data/demo/ecommerce/.", metavar="PATH"
    ),
    seed: int = typer.Option(42, min=0, help="Random seed (same seed, same data)."),
    users: int = typer.Option(8_000, min=50, help="Number of users."),
) -> None:
    """Write an e-commerce export (users, experiments, sessions, exposures, orders) with latent
    personas and true effects per experiment x persona (truth_*.csv, truth.json)."""
    from liftlab.simulate.ecommerce import (
        EcommerceSimulationConfig,
        simulate_ecommerce,
        write_ecommerce,
    )

    target = out or ProjectPaths.from_root().demo_ecommerce
    _write_simulated(
        lambda: write_ecommerce(
            simulate_ecommerce(EcommerceSimulationConfig(n_users=users, seed=seed)), target
        ),
        width=14,
    )


@app.command("simulate-email")
def simulate_email_command(
    out: Path = typer.Option(
        None, help="Output folder. Default: data/demo/email/.", metavar="PATH"
    ),
    customers: int = typer.Option(20_000, min=300, help="Number of customers."),
    seed: int = typer.Option(42, min=0, help="Random seed (same seed, same data)."),
) -> None:
    """Write a Hillstrom-shaped e-mail test (two e-mails and a no-e-mail control) with every
    customer's true uplift (truth.csv) — the data of configs/uplift.yaml."""
    from liftlab.simulate.email import EmailSimulationConfig, simulate_email_test, write_email_test

    target = out or ProjectPaths.from_root().demo_email
    _write_simulated(
        lambda: write_email_test(
            simulate_email_test(EmailSimulationConfig(n_customers=customers, seed=seed)), target
        )
    )


@app.command("simulate-mmm")
def simulate_mmm_command(
    out: Path = typer.Option(None, help="Output folder. Default: data/demo/mmm/.", metavar="PATH"),
    seed: int = typer.Option(42, min=0, help="Random seed (same seed, same data)."),
    periods: int = typer.Option(156, min=40, help="Number of periods (weeks)."),
    confounded: bool = typer.Option(
        False,
        "--confounded",
        help="An unobserved demand shock also drives search spend (calibrate with lift tests).",
    ),
) -> None:
    """Write weekly marketing-mix data (sales, spend per channel, controls) with known true
    channel effects (mmm_truth.json) and lift tests (mmm_lift_tests.csv)."""
    from liftlab.simulate.mmm import (
        confounded_mmm_config,
        default_mmm_config,
        simulate_mmm,
        write_mmm,
    )

    target = out or ProjectPaths.from_root().demo_mmm
    preset = confounded_mmm_config if confounded else default_mmm_config
    _write_simulated(lambda: write_mmm(simulate_mmm(preset(seed=seed, n_periods=periods)), target))


@app.command(
    "check-config",
    epilog=_examples(
        "liftlab check-config configs/*.yaml",
        "liftlab check-config my_test.yaml --pipeline ab_test",
    ),
)
def check_config(
    configs: list[Path] = typer.Argument(..., help="Run config YAML files."),
    pipeline: str | None = typer.Option(
        None,
        metavar="PIPELINE",
        help="The pipeline the configs are for (ab_test, training, inference, campaign_uplift, "
        "uplift, marketing_mix, growth_analytics), when the file name does not say.",
    ),
) -> None:
    """Check run configs strictly, as `liftlab run` would before running: unknown keys and
    misspelt step names (with the closest valid name), bad or missing parameters, input files
    that do not exist. Every problem of a file is reported at once."""
    from liftlab.config.registry import check_run_config, entry_for_pipeline

    try:
        source = entry_for_pipeline(pipeline).source if pipeline else None
    except LiftlabError as exc:
        _fail(exc)
    failed = False
    for path in configs:
        try:
            check_run_config(path, source, check_files=True)
            typer.echo(f"ok: {path}")
        except LiftlabError as exc:
            failed = True
            hint = "" if source else " (or say which with --pipeline NAME)"
            message = str(exc) + (hint if str(exc).startswith("cannot tell which") else "")
            typer.secho(message, fg=typer.colors.RED, err=True)
    if failed:
        raise typer.Exit(code=2)


@app.command("load-table")
def load_table_command(
    data_file: Path = typer.Argument(..., help="CSV (plain or .gz) or Parquet file."),
    table: str = typer.Argument(..., help="Target table, e.g. ab_events or analytics.ab_events."),
    url_env: str = typer.Option(
        "LIFTLAB_POSTGRES_URL",
        help="Environment variable holding the PostgreSQL URL.",
        metavar="VAR",
    ),
    replace: bool = typer.Option(False, help="Drop and reload the table if it exists."),
) -> None:
    """Load a file into a PostgreSQL table (one transaction), to run a config with
    `engine: {name: postgres}` and `table:` on it."""
    from strategies.engines.base import EngineSettings
    from strategies.engines.postgres_load import copy_file_to_postgres

    settings = EngineSettings(name="postgres", url_env=url_env)
    try:
        rows = copy_file_to_postgres(data_file, table, settings, replace=replace)
    except LiftlabError as exc:
        _fail(exc)
    typer.echo(f"loaded {rows:,} rows from {data_file} into {table}")


@app.command(
    epilog=_examples(
        'liftlab sql "SHOW TABLES"',
        'liftlab sql "SELECT model_version, count(*) FROM gold_conversion_predictions GROUP BY 1"',
        'liftlab sql --csv "SELECT * FROM gold_campaign_summary" > summary.csv',
    )
)
def sql(
    query: str = typer.Argument(..., help="One read-only query (SELECT, WITH, SHOW, DESCRIBE)."),
    db: Path = typer.Option(
        None, metavar="PATH", help="DuckDB file. Default: outputs/liftlab.duckdb of the project."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Print every row as CSV instead."),
    max_rows: int = typer.Option(100, min=1, help="Rows shown in the table (not with --csv)."),
) -> None:
    """Query the DuckDB warehouse (gold tables) read-only, without a DuckDB CLI."""
    from liftlab.ops.sql import format_table, query_warehouse

    try:
        frame = query_warehouse(db or ProjectPaths.from_root().warehouse, query)
    except LiftlabError as exc:
        _fail(exc)
    if as_csv:
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        typer.echo(format_table(frame, max_rows))


@app.command(
    epilog=_examples(
        "liftlab run configs/ab_test.yaml",
        "liftlab run configs/training_kag.yaml",
    )
)
def run(
    config: Path = typer.Argument(..., help="Run config, e.g. configs/ab_test.yaml."),
) -> None:
    """Check a config, then run its pipeline (same as `zenml pipeline run ... -c CONFIG`)."""
    _quiet_doctor()
    summary = _run_pipeline(config)
    _print_summary(summary)


@app.command()
def doctor(
    max_age_hours: float = typer.Option(
        24.0, min=0.0, help="Age after which a run with no process to check counts as orphaned."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list orphans; change nothing."),
) -> None:
    """Find runs a killed process left "running" (MLflow RUNNING, ZenML running) and mark them
    failed: a run whose recorded process is gone, or one with no activity for --max-age-hours."""
    from datetime import timedelta

    from liftlab.ops.doctor import doctor as find_and_fix

    orphans = find_and_fix(fix=not dry_run, max_age=timedelta(hours=max_age_hours))
    if not orphans:
        typer.echo("No orphaned runs.")
    verb = "orphaned" if dry_run else "marked failed"
    for orphan in orphans:
        typer.echo(f"{orphan.kind} run {orphan.name or orphan.run_id}: {verb} ({orphan.reason})")


def _quiet_doctor(root: Path | None = None) -> None:
    """The doctor's check before a run and after init: one line per run it marks, and never a
    reason to stop (a broken store shows up in the command itself)."""
    from liftlab.ops.doctor import doctor as find_and_fix

    try:
        orphans = find_and_fix(root)
    except Exception:  # noqa: BLE001 - housekeeping must not block the command
        return
    for orphan in orphans:
        typer.echo(f"doctor: marked {orphan.kind} run {orphan.name} failed ({orphan.reason})")


@app.command(epilog=_examples("liftlab demo", "liftlab demo --ab-only --fresh"))
def demo(
    users_per_experiment: int = typer.Option(50_000, min=100, help="Users per experiment."),
    fresh: bool = typer.Option(False, help="Regenerate the demo data even if it exists."),
    ab_only: bool = typer.Option(
        False, "--ab-only", help="Only the A/B test (skip conversion training and scoring)."
    ),
) -> None:
    """The whole demo: set up the stack, simulate data, run the A/B pipeline, train and register
    conversion models, score new ads with the champion, analyse campaign spend uplift, model
    whom to e-mail next, fit the marketing mix, analyse the website experiments with personas;
    say where to look."""
    from liftlab.mlops.stack import init_stack
    from liftlab.simulate.ads import AdSimulationConfig, simulate_ads, write_ads
    from liftlab.simulate.experiments import (
        SimulationConfig,
        default_experiments,
        simulate,
        write_dataset,
    )

    paths = ProjectPaths.from_root()
    steps = 3 if ab_only else 9
    info = init_stack(paths.root)
    typer.echo(f"[1/{steps}] ZenML stack '{info.stack_name}' is active.")
    if fresh or not paths.demo_data.exists():
        config = SimulationConfig(
            experiments=default_experiments(users_per_experiment), dirty_fraction=0.002
        )
        write_dataset(simulate(config), paths.demo_data)
    if not ab_only and (fresh or not paths.demo_ads.exists()):
        write_ads(simulate_ads(AdSimulationConfig()), paths.demo_ads)
        write_ads(simulate_ads(AdSimulationConfig(n_ads=400, seed=7)), paths.demo_ads_new)
    if not ab_only and (fresh or not (paths.demo_campaigns / "campaigns.csv").exists()):
        from liftlab.simulate.campaigns import simulate_campaigns, write_campaigns

        write_campaigns(simulate_campaigns(), paths.demo_campaigns)
    if not ab_only and (fresh or not (paths.demo_mmm / "mmm_weekly.csv").exists()):
        from liftlab.simulate.mmm import simulate_mmm, write_mmm

        write_mmm(simulate_mmm(), paths.demo_mmm)
    if not ab_only and (fresh or not (paths.demo_ecommerce / "sessions.csv").exists()):
        from liftlab.simulate.ecommerce import simulate_ecommerce, write_ecommerce

        write_ecommerce(simulate_ecommerce(), paths.demo_ecommerce)
    if not ab_only and (fresh or not (paths.demo_email / "email_test.csv").exists()):
        from liftlab.simulate.email import simulate_email_test, write_email_test

        write_email_test(simulate_email_test(), paths.demo_email)
    typer.echo(f"[2/{steps}] Demo data: {paths.demo_data.parent}")
    typer.echo(f"[3/{steps}] Running the A/B testing pipeline ...")
    _print_summary(_run_pipeline(paths.root / "configs" / "ab_test.yaml"))
    if ab_only:
        return
    typer.echo("")
    typer.echo(f"[4/{steps}] Training conversion models (configs/training.yaml) ...")
    _demo_training(paths.root / "configs" / "training.yaml", retrain=fresh)
    typer.echo("")
    typer.echo(f"[5/{steps}] Scoring new ads with the champion (configs/inference.yaml) ...")
    _print_summary(_run_pipeline(paths.root / "configs" / "inference.yaml"))
    typer.echo("")
    typer.echo(f"[6/{steps}] Campaign spend uplift (configs/campaign_uplift.yaml) ...")
    _print_summary(_run_pipeline(paths.root / "configs" / "campaign_uplift.yaml"))
    typer.echo("")
    typer.echo(f"[7/{steps}] Whom to e-mail next: uplift models (configs/uplift.yaml) ...")
    _print_summary(_run_pipeline(paths.root / "configs" / "uplift.yaml"))
    typer.echo("")
    typer.echo(
        f"[8/{steps}] Marketing mix and next quarter's budget (configs/marketing_mix.yaml) ..."
    )
    _print_summary(_run_pipeline(paths.root / "configs" / "marketing_mix.yaml"))
    typer.echo("")
    typer.echo(
        f"[9/{steps}] Website experiments, personas and who responds "
        "(configs/growth_analytics.yaml) ..."
    )
    _print_summary(_run_pipeline(paths.root / "configs" / "growth_analytics.yaml"))
    typer.echo("")
    typer.echo("Dashboard:     .venv/bin/liftlab dashboard  (then open http://127.0.0.1:8050)")


def _demo_training(config: Path, *, retrain: bool) -> None:
    """Train unless the data is the data the latest registered version was trained on (the
    scheduler's rule, ``skip_unchanged_data``): re-running the demo adds no identical version."""
    from liftlab.ops.retrain import data_unchanged

    if not retrain:
        try:
            unchanged, why = data_unchanged(config)
        except LiftlabError:
            unchanged, why = False, ""
        if unchanged:
            typer.echo(
                f"Skipped:       {why}; the champion stays. `liftlab run "
                f"{config.relative_to(ProjectPaths.from_root().root)}` trains anyway."
            )
            return
    _print_summary(_run_pipeline(config))


_HOST_HELP = (
    "Interface to bind. Default 127.0.0.1 (this machine only); anything else exposes the "
    "server without authentication to whoever can reach that interface (see README, Trust "
    "model)."
)


def _exec(command: list[str], host: str) -> None:
    from liftlab.ops.serving import exposure_warning

    warning = exposure_warning(host)
    if warning:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    bin_dir = str(Path(sys.executable).parent)
    executable = shutil.which(command[0]) or str(Path(bin_dir) / command[0])
    # MLflow's server starts `uvicorn`/`gunicorn` by name: the venv's bin must be on PATH even
    # when the user ran .venv/bin/liftlab without activating the venv.
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    os.execve(executable, [executable, *command[1:]], env)


@app.command(epilog=_examples("liftlab ui", "liftlab ui --port 5050 --print-only"))
def ui(
    port: int = typer.Option(5000, help="Port for the MLflow UI.", metavar="PORT"),
    host: str = typer.Option("127.0.0.1", help=_HOST_HELP, metavar="HOST"),
    print_only: bool = typer.Option(False, "--print-only", help="Only print the command."),
) -> None:
    """Start the MLflow UI on the project's tracking database (on 127.0.0.1 by default)."""
    from liftlab.ops.serving import mlflow_ui_argv
    from liftlab.ops.summary import mlflow_ui_url

    paths = ProjectPaths.from_root()
    command = mlflow_ui_argv(paths.mlflow_tracking_uri, host=host, port=port)
    typer.echo(" ".join(command))
    # MLflow 3 opens in its GenAI view unless the address asks for classic ML (runs, Models)
    typer.echo(f"Open {mlflow_ui_url(port=port)}")
    if not print_only:
        _exec(command, host)


@app.command(
    epilog=_examples("liftlab serve", "liftlab serve --model-name liftlab-conversion --version 2")
)
def serve(
    model_name: str = typer.Option(
        "liftlab-conversion", help="Registered model to serve.", metavar="NAME"
    ),
    alias: str = typer.Option(
        "champion", help="Alias to serve (ignored with --version).", metavar="ALIAS"
    ),
    version: int | None = typer.Option(None, help="Serve this version instead of the alias."),
    port: int = typer.Option(5001, help="Port for the scoring server.", metavar="PORT"),
    host: str = typer.Option("127.0.0.1", help=_HOST_HELP, metavar="HOST"),
    print_only: bool = typer.Option(
        False, "--print-only", help="Check and stage the model, print the command, do not serve."
    ),
) -> None:
    """Serve a registered model over HTTP with MLflow's scoring server, on 127.0.0.1 by
    default. The version is copied to .liftlab/serving/ and checked first (skops only, liftlab's
    trusted types): the server starts on that checked copy, never on a model liftlab would
    refuse to load."""
    import mlflow

    from liftlab.ops.serving import model_serve_argv, stage_model_for_serving

    paths = ProjectPaths.from_root()
    mlflow.set_tracking_uri(paths.mlflow_tracking_uri)
    mlflow.set_registry_uri(paths.mlflow_tracking_uri)
    try:
        staged = stage_model_for_serving(
            model_name, alias=alias, version=version, dest_root=paths.state_dir / "serving"
        )
    except LiftlabError as exc:
        _fail(exc)
    typer.echo(f"Serving {staged['uri']} (checked copy: {staged['path']})")
    command = model_serve_argv(staged["path"], host=host, port=port)
    typer.echo(" ".join(command))
    if not print_only:
        _exec(command, host)


@app.command()
def dashboard(
    host: str = typer.Option("127.0.0.1", help=_HOST_HELP),
    port: int = typer.Option(8050, help="Port for the dashboard."),
    root: Path = typer.Option(Path("."), help="Project whose outputs to show."),
) -> None:
    """Serve the dashboard over every job's published results (read-only), on 127.0.0.1."""
    from liftlab.dashboard import create_app
    from liftlab.mlops.paths import find_project_root
    from liftlab.ops.serving import exposure_warning

    if warning := exposure_warning(host):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"liftlab dashboard on http://{host}:{port} (Ctrl+C stops it)")
    create_app(find_project_root(root)).run(host=host, port=port, debug=False)


@app.command(
    epilog=_examples(
        "liftlab plan --baseline 0.10 --mde 0.20",
        "liftlab plan --baseline 0.05 --n-per-arm 20000",
        "liftlab plan --mean 3.2 --std 25 --mde 0.05",
        "liftlab plan --baseline 0.05 --mde 0.1 --looks 14",
    )
)
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
    effects). Conventions: README, "Planning: liftlab plan".
    """
    import json

    from strategies.errors import ConfigError
    from strategies.stats.power import plan as solve_plan

    try:
        # Flag-level checks only: which flags go together on this command line. Everything
        # about the numbers (ranges, what can be solved) is checked by strategies' plan().
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
        metric = "proportion" if baseline is not None else "mean"
        if metric == "mean" and mde is not None and not absolute and mean is None:
            raise ConfigError("a relative --mde for a mean metric needs --mean; or use --absolute")
        # --absolute is about the --mde typed on the command line. Solving for a mean's MDE
        # there is none: it is reported absolute, and relative too when --mean is given.
        relative = None if metric == "mean" and mde is None else not absolute
        result = solve_plan(
            metric,
            baseline=baseline,
            std=std,
            baseline_mean=mean,
            mde=mde,
            n_per_arm=n_per_arm,
            power=power,
            relative=relative,
            alpha=alpha,
            ratio=ratio,
            two_sided=not one_sided,
            sequential_looks=looks,
        )
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
    from liftlab.ops.runner import run_config
    from liftlab.ops.summary import caller_prints_summary

    try:
        with caller_prints_summary():  # printed below in colour, not logged by the last step
            return run_config(config)
    except LiftlabError as exc:
        _fail(exc)
    return {}  # pragma: no cover - _fail exits


def _print_summary(summary: dict) -> None:
    from liftlab.ops.summary import summary_lines

    if not summary:
        return
    colours = {"good": typer.colors.GREEN, "warn": typer.colors.YELLOW}
    typer.echo("")
    for text, tone in summary_lines(summary):
        typer.secho(text, fg=colours.get(tone or ""))


# ---------------------------------------------------------------------------------------------
# liftlab schedule ...: retrain on a schedule (cron, or a foreground loop)

schedule_app = typer.Typer(
    help="Retrain on a schedule: a crontab entry per config, or a foreground loop.",
    no_args_is_help=True,
)
app.add_typer(schedule_app, name="schedule")

_ROOT_HELP = "Project root the job runs in (default: the liftlab checkout you are in)."


def _schedule_root(root: Path | None) -> Path:
    return ProjectPaths.from_root(root).root


def _require_config(config: Path) -> None:
    if not config.is_file():
        from strategies.errors import ConfigError

        _fail(ConfigError(f"config file not found: {config}"))


def _tick_time() -> str:
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


def _echo_outcome(outcome) -> None:
    status = "trained" if outcome.ran else "skipped"
    colour = typer.colors.GREEN if outcome.ran else None
    typer.echo(f"{_tick_time()}  {typer.style(status, fg=colour)}  {outcome.reason}")


def _echo_next_run(wait_seconds: float) -> None:
    from datetime import datetime, timedelta

    at = datetime.now().astimezone() + timedelta(seconds=wait_seconds)
    typer.echo(f"{_tick_time()}  next run at {at.isoformat(timespec='seconds')}")


def _echo_failure(exc: Exception) -> None:
    what = str(exc) if isinstance(exc, LiftlabError) else f"{type(exc).__name__}: {exc}"
    typer.secho(f"{_tick_time()}  failed   {what}", fg=typer.colors.RED, err=True)


@schedule_app.command(
    "install",
    epilog=_examples("liftlab schedule install configs/training.yaml --cron '0 3 * * 1'"),
)
def schedule_install(
    config: Path = typer.Argument(..., help="Training config, e.g. configs/training.yaml."),
    cron: str = typer.Option(
        ...,
        "--cron",
        help="Cron schedule, e.g. '0 3 * * 1' (Mondays 03:00) or '@daily'.",
        metavar="SCHEDULE",
    ),
    root: Path = typer.Option(None, help=_ROOT_HELP, metavar="PATH"),
) -> None:
    """Add (or replace) the crontab entry that retrains CONFIG on a cron schedule."""
    from liftlab.ops.schedule import LOG_RELATIVE, install_entry

    _require_config(config)
    project = _schedule_root(root)
    try:
        line = install_entry(cron, config.resolve(), project)
    except LiftlabError as exc:
        _fail(exc)
    typer.echo("Installed crontab entry:")
    typer.echo(f"  {line}")
    typer.echo(f"Log: {project / LOG_RELATIVE}")


@schedule_app.command("remove")
def schedule_remove(
    config: Path = typer.Argument(..., help="The config whose crontab entry to remove."),
    root: Path = typer.Option(None, help=_ROOT_HELP, metavar="PATH"),
) -> None:
    """Remove the crontab entry for CONFIG (exit code 1 when there was none)."""
    from liftlab.ops.schedule import remove_entry

    try:
        removed = remove_entry(config.resolve(), _schedule_root(root))
    except LiftlabError as exc:
        _fail(exc)
    if not removed:
        typer.secho(f"no liftlab schedule for {config}", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(code=1)
    typer.echo(f"Removed the schedule for {config}.")


@schedule_app.command("show")
def schedule_show() -> None:
    """List liftlab's crontab entries (every project)."""
    from liftlab.ops.schedule import list_entries

    try:
        entries = list_entries()
    except LiftlabError as exc:
        _fail(exc)
    if not entries:
        typer.echo("No liftlab schedules in the crontab.")
        return
    width = max(len(entry.schedule) for entry in entries)
    for entry in entries:
        typer.echo(f"{entry.schedule:<{width}}  {entry.config}  (in {entry.root})")
        typer.echo(f"{'':<{width}}  log: {entry.log_file}")


@schedule_app.command(
    "run", epilog=_examples("liftlab schedule run configs/training.yaml --every 1d")
)
def schedule_run(
    config: Path = typer.Argument(..., help="Training config, e.g. configs/training.yaml."),
    every: str = typer.Option(
        ..., "--every", help="Interval: 90 (seconds), 10s, 5m, 2h, 1d.", metavar="INTERVAL"
    ),
    max_runs: int | None = typer.Option(None, "--max-runs", min=1, help="Stop after N runs."),
    force: bool = typer.Option(False, "--force", help="Retrain even when the data is unchanged."),
) -> None:
    """Retrain CONFIG now and then every --every, in the foreground (Ctrl-C stops). A failed run
    is reported and the loop goes on."""
    from liftlab.ops.schedule import parse_interval, run_every

    try:
        seconds = parse_interval(every)
    except LiftlabError as exc:
        _fail(exc)
    _require_config(config)
    from liftlab.ops.retrain import retrain_once

    typer.echo(f"Retraining {config} every {every} ({seconds:g} s); Ctrl-C stops.")
    results = run_every(
        lambda: retrain_once(config, force=force),
        seconds,
        max_runs=max_runs,
        on_result=_echo_outcome,
        on_error=_echo_failure,
        on_wait=_echo_next_run,
    )
    failed = sum(isinstance(item, Exception) for item in results)
    trained = sum(bool(getattr(item, "ran", False)) for item in results)
    typer.echo(
        f"Stopped after {len(results)} run(s): {trained} trained, "
        f"{len(results) - trained - failed} skipped, {failed} failed."
    )


@schedule_app.command("run-once")
def schedule_run_once(
    config: Path = typer.Argument(..., help="Training config, e.g. configs/training.yaml."),
    force: bool = typer.Option(False, "--force", help="Retrain even when the data is unchanged."),
) -> None:
    """Retrain CONFIG once if its data changed (what cron calls). Exit code 0 when trained or
    skipped, 1 when the run failed."""
    import traceback

    try:
        from liftlab.ops.retrain import retrain_once

        outcome = retrain_once(config, force=force)
    except Exception as exc:
        _echo_failure(exc)
        if not isinstance(exc, LiftlabError):
            typer.echo(traceback.format_exc(), err=True)
        raise typer.Exit(code=1) from None
    _echo_outcome(outcome)


if __name__ == "__main__":  # pragma: no cover
    app()
