"""liftlab's materializers: a marketing-mix result and the A/B statistics survive a save/load
round trip through a local ZenML artifact store, as plain data (Parquet + JSON), never a pickle
(DESIGN.md §7)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from strategies.mmm.result import MMMResult
from tests.liftlab.mmm_fixtures import make_mmm_result

SCALARS = ("budget", "fit_stats", "warnings", "model", "draw_models")


@pytest.fixture
def store(tmp_path: Path):
    """A local artifact store rooted in ``tmp_path``, built directly (no ZenML stack needed)."""
    from zenml.artifact_stores.local_artifact_store import (
        LocalArtifactStore,
        LocalArtifactStoreConfig,
    )
    from zenml.enums import StackComponentType

    now = datetime.now()
    return LocalArtifactStore(
        name="liftlab-test-store",
        id=uuid.uuid4(),
        config=LocalArtifactStoreConfig(path=str(tmp_path)),
        flavor="local",
        type=StackComponentType.ARTIFACT_STORE,
        user=None,
        created=now,
        updated=now,
    )


def _round_trip(store, uri: Path, result: MMMResult) -> MMMResult:
    from liftlab.mlops.materializers import MMMResultMaterializer

    uri.mkdir(parents=True)
    MMMResultMaterializer(str(uri), artifact_store=store).save(result)
    return MMMResultMaterializer(str(uri), artifact_store=store).load(MMMResult)


@pytest.mark.parametrize("calibrated", [True, False])
def test_a_result_round_trips_as_plain_data(store, tmp_path: Path, calibrated: bool) -> None:
    result = make_mmm_result(calibrated=calibrated)
    uri = tmp_path / "artifacts" / "mmm_result"
    loaded = _round_trip(store, uri, result)

    frames = [f.name for f in fields(MMMResult) if f.name not in SCALARS]
    assert "budget_scenarios" in frames and "calibration" in frames
    for name in frames:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(result, name), obj=name)
    assert loaded.budget == result.budget
    assert loaded.fit_stats == result.fit_stats
    assert loaded.warnings == result.warnings
    assert loaded.model == result.model
    assert loaded.draw_models == result.draw_models and result.draw_models
    assert calibrated == (len(loaded.calibration) > 0)

    written = sorted(p.relative_to(uri).as_posix() for p in uri.rglob("*") if p.is_file())
    assert written == sorted([*(f"{name}.parquet" for name in frames), "result.json"])
    for path in uri.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:4]
            assert head[:1] != b"\x80", f"{path.name} looks like a pickle"  # protocol 2+
            assert head == b"PAR1" or path.suffix == ".json"
    scalars = json.loads((uri / "result.json").read_text())
    assert set(scalars) == set(SCALARS)
    assert scalars["budget"] == json.loads(json.dumps(asdict(result.budget)))


def test_ab_statistics_round_trip_is_exact_and_plain_json(store, tmp_path: Path) -> None:
    """The statistics that leave the engine come back equal (NaN, dtypes, timestamps)."""
    from liftlab.mlops.materializers import ABStatisticsMaterializer
    from liftlab.simulate.experiments import SimulationConfig, default_experiments, simulate
    from strategies.stats.inputs import ABStatistics
    from strategies.stats.layers import SequentialOptions
    from strategies.stats.metrics import MetricSpec
    from strategies.stats.run import ABDesign, statistics_from_rows

    data = simulate(SimulationConfig(experiments=default_experiments(n_users=400), seed=3)).data
    design = ABDesign(
        unit_column="user_id",
        variant_column="variant",
        control="A",
        variants=("B",),
        experiment_column="experiment",
        segment_columns=("device",),
    )
    metrics = [
        MetricSpec(name="ctr", type="ratio", numerator="clicks", denominator="impressions"),
        MetricSpec(name="rev", type="mean", column="revenue", covariate="pre_revenue"),
    ]
    stats = statistics_from_rows(
        data, design, metrics, ["impressions", "clicks"], sequential=SequentialOptions()
    )
    uri = tmp_path / "ab_statistics"
    uri.mkdir()
    ABStatisticsMaterializer(str(uri), artifact_store=store).save(stats)
    files = sorted(p.name for p in uri.iterdir())
    assert files == ["ab_statistics.json"]
    json.loads((uri / "ab_statistics.json").read_text())  # strict JSON, no pickle
    loaded = ABStatisticsMaterializer(str(uri), artifact_store=store).load(ABStatistics)
    pd.testing.assert_frame_equal(loaded.stats, stats.stats)
    pd.testing.assert_frame_equal(loaded.funnel, stats.funnel)
    pd.testing.assert_frame_equal(loaded.period_stats, stats.period_stats)
    assert loaded.n_rows == stats.n_rows > 0
