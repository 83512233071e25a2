"""Champions registered before a refactor must still load and predict the same.

The fixtures were written by liftlab 0.1's own code, before the "one house" layout
(tests/fixtures/legacy_models/make_legacy_models.py says how): a conversion regressor (liftlab's
feature transformers + a Poisson GLM) and the three uplift learners, saved as MLflow models in
the skops format with the trusted type names of that time (``strategies.features._as_text``,
``strategies.uplift.learners.XLearner``, ...). Moving or renaming any of those classes or
functions without keeping the old path importable breaks this test, as it would break every
registered champion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from liftlab.mlops.registry import load_sklearn

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_models"
LEARNERS = ("s_learner", "t_learner", "x_learner")


def _trusted(model_dir: Path) -> list[str]:
    spec = yaml.safe_load((model_dir / "MLmodel").read_text())
    return spec["flavors"]["sklearn"]["skops_trusted_types"]


def test_the_fixtures_name_liftlab_types() -> None:
    names = {t for d in FIXTURES.iterdir() if d.is_dir() for t in _trusted(d)}
    assert "strategies.uplift.learners.XLearner" in names
    assert any(n.startswith("strategies.features.") for n in names)


def test_old_conversion_champion_predicts_as_before() -> None:
    model = load_sklearn(str(FIXTURES / "conversion_regressor"))
    rows = pd.read_csv(FIXTURES / "conversion_input.csv")
    expected = pd.read_csv(FIXTURES / "conversion_expected.csv")["prediction"].to_numpy()
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-9)


@pytest.mark.parametrize("learner", LEARNERS)
def test_old_uplift_champion_predicts_as_before(learner: str) -> None:
    model = load_sklearn(str(FIXTURES / f"uplift_{learner}"))
    rows = pd.read_csv(FIXTURES / "uplift_input.csv")
    expected = pd.read_csv(FIXTURES / f"uplift_{learner}_expected.csv")
    got = model.predict_uplift(rows)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=1e-9)
