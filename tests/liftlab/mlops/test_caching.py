"""A cached step is reused only while liftlab's code is unchanged: ZenML's own cache key covers
a step function's source, not the statistics engine it calls."""

from __future__ import annotations

import importlib

import pytest

from liftlab.mlops.caching import cache_policy, code_fingerprint, fingerprint_of


def test_fingerprint_follows_every_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    first = fingerprint_of([pkg])
    assert fingerprint_of([pkg]) == first
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    assert fingerprint_of([pkg]) != first
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    assert fingerprint_of([pkg]) == first
    (pkg / "sub" / "b.py").rename(pkg / "sub" / "c.py")  # a moved file is a change too
    assert fingerprint_of([pkg]) != first


def test_cache_policy_carries_the_fingerprint():
    policy = cache_policy(["/data/x.csv"])
    assert policy.file_dependencies == ["/data/x.csv"]
    assert "liftlab.mlops.caching" in str(policy.cache_func)
    assert "code_fingerprint" in str(policy.cache_func)
    assert len(code_fingerprint()) == 64


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("pipelines.ab_testing", "ab_test_pipeline"),
        ("pipelines.training", "training_pipeline"),
        ("pipelines.batch_inference", "batch_inference_pipeline"),
        ("pipelines.campaign_uplift", "campaign_uplift_pipeline"),
        ("pipelines.uplift_model", "uplift_model_pipeline"),
    ],
)
def test_every_pipeline_keys_its_cache_on_the_code(module, name):
    pipe = getattr(importlib.import_module(module), name)
    policy = pipe.configuration.cache_policy
    assert policy is not None and "code_fingerprint" in str(policy.cache_func)
