"""The README's "Project layout" table, checked: for every job its pipeline, config class, domain
module, steps, report, plots and simulator are where the table says, so a reader finds each in
one hop. Moving one of them without updating the table (and the README) fails here."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

import pytest

from tests.conftest import REPO_ROOT


@dataclass(frozen=True)
class Job:
    name: str
    pipeline: str
    config: str
    domain: tuple[str, ...]
    steps: tuple[str, ...]
    views: tuple[str, ...] = ()
    simulator: str | None = None


JOBS = (
    Job(
        "ab_testing",
        "pipelines.ab_testing.ab_test_pipeline",
        "liftlab.config.ab_testing.ABTestConfig",
        ("strategies.stats.run", "strategies.cleaning", "strategies.validation"),
        ("steps.etl.ab_testing", "steps.analysis.ab_testing", "steps.reporting.ab_testing"),
        ("liftlab.reports.ab_testing", "liftlab.plots.ab_testing"),
        "liftlab.simulate.experiments",
    ),
    Job(
        "training",
        "pipelines.training.training_pipeline",
        "liftlab.config.training.TrainingConfig",
        ("strategies.training", "strategies.features", "strategies.regressors"),
        ("steps.etl.ads", "steps.promotion.regressors", "steps.reporting.training"),
        ("liftlab.reports.training", "liftlab.plots.training"),
        "liftlab.simulate.ads",
    ),
    Job(
        "inference",
        "pipelines.batch_inference.batch_inference_pipeline",
        "liftlab.config.inference.InferenceConfig",
        ("strategies.model_inputs",),
        ("steps.inference",),
    ),
    Job(
        "campaign_uplift",
        "pipelines.campaign_uplift.campaign_uplift_pipeline",
        "liftlab.config.campaign_uplift.CampaignUpliftConfig",
        ("strategies.campaign_uplift", "strategies.campaign_sql"),
        (
            "steps.etl.campaign_warehouse",
            "steps.analysis.campaign_uplift",
            "steps.reporting.campaign_uplift",
        ),
        ("liftlab.reports.campaign_uplift", "liftlab.plots.campaign_uplift"),
        "liftlab.simulate.campaigns",
    ),
    Job(
        "uplift",
        "pipelines.uplift_model.uplift_model_pipeline",
        "liftlab.config.uplift.UpliftModelConfig",
        ("strategies.uplift.workflow",),
        ("steps.etl.uplift", "steps.analysis.uplift", "steps.promotion.uplift"),
        ("liftlab.reports.uplift", "liftlab.plots.uplift"),
    ),
)


def _resolve(dotted: str) -> object:
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.name)
def test_every_part_of_a_job_is_where_the_table_says(job: Job) -> None:
    for dotted in (job.pipeline, job.config, *job.domain, *job.steps, *job.views):
        assert _resolve(dotted) is not None, dotted
    if job.simulator:
        _resolve(job.simulator)


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.name)
def test_the_readme_table_names_the_job(job: Job) -> None:
    layout = (REPO_ROOT / "README.md").read_text().split("## Project layout", 1)[1]
    layout = layout.split("\n## ", 1)[0]
    pipeline_file = job.pipeline.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert f"`{pipeline_file}`" in layout
    assert f"`{job.config}`" in layout
    for view in job.views:
        assert f"`{view.replace('.', '/')}.py`" in layout, view


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.name)
def test_job_steps_are_zenml_steps(job: Job) -> None:
    from zenml.steps import BaseStep

    found = [
        obj
        for dotted in job.steps
        for _, obj in inspect.getmembers(importlib.import_module(dotted))
        if isinstance(obj, BaseStep)
    ]
    assert found, job.steps
