"""The residual block bootstrap: its resampling scheme, failure accounting, speed and coverage."""

from __future__ import annotations

import time

import numpy as np
import pytest

import strategies.mmm.bootstrap as bootstrap_module
from strategies.mmm.bootstrap import block_bootstrap, circular_block_indices, default_block_length
from strategies.mmm.fit import MMMSpec, fit_mmm
from tests.strategies.mmm.test_fit import SIX, Channel, simulate, six_spec


def test_blocks_are_consecutive_and_wrap_around() -> None:
    rng = np.random.default_rng(0)
    idx = circular_block_indices(20, 6, rng)
    assert len(idx) == 20
    for block in (idx[0:6], idx[6:12], idx[12:18]):
        assert np.all(np.diff(block) % 20 == 1)
    many = np.concatenate([circular_block_indices(20, 6, rng) for _ in range(2000)])
    counts = np.bincount(many, minlength=20) / len(many)
    np.testing.assert_allclose(counts, 1 / 20, atol=0.01)  # circular: no edge is favoured
    assert default_block_length(156) == 5


def test_draws_refit_and_failures_are_counted(monkeypatch) -> None:
    data, _ = simulate(SIX[:2], n=80, noise=20.0)
    spec = MMMSpec(
        fourier_order=1,
        saturation={"tv": "hill", "radio": "hill"},
        adstock={"tv": "weibull", "radio": "geometric"},
    )
    point = fit_mmm(data, spec, n_starts=2)
    calls = {"n": 0}
    real = bootstrap_module.fit_mmm

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise np.linalg.LinAlgError("singular")
        return real(*args, **kwargs)

    monkeypatch.setattr(bootstrap_module, "fit_mmm", flaky)
    result = block_bootstrap(data, spec, point, n_draws=9, seed=1)
    assert result.n_failed == 3 and len(result.draws) == 6
    assert result.block_length == default_block_length(80)
    betas = np.array([d.beta for d in result.draws])
    assert np.all(betas >= 0) and np.ptp(betas[:, 0]) > 0  # draws differ


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    data, _ = simulate(SIX[1:3], n=80, noise=20.0)
    spec = MMMSpec(fourier_order=1, saturation={"radio": "hill", "search": "logistic"})
    point = fit_mmm(data, spec, n_starts=2)
    a = block_bootstrap(data, spec, point, n_draws=3, seed=5)
    b = block_bootstrap(data, spec, point, n_draws=3, seed=5)
    np.testing.assert_array_equal([d.beta for d in a.draws], [d.beta for d in b.draws])


def test_200_draws_on_three_years_of_six_channels_take_seconds() -> None:
    data, _ = simulate(SIX, noise=40.0, seed=5)
    spec = six_spec()
    point = fit_mmm(data, spec)
    started = time.perf_counter()
    result = block_bootstrap(data, spec, point, n_draws=200, seed=0)
    seconds = time.perf_counter() - started
    print(f"\n200 bootstrap draws, 156 weeks x 6 channels: {seconds:.2f} s")
    assert result.n_failed == 0 and len(result.draws) == 200


THREE = [
    Channel("tv", ("geometric", 0.5), ("hill", 1.5, 120.0), 300.0),
    Channel("radio", ("geometric", 0.3), ("hill", 1.0, 100.0), 250.0),
    Channel("search", ("geometric", 0.1), ("hill", 1.2, 200.0), 400.0),
]


@pytest.mark.slow
def test_roas_intervals_cover_the_truth_at_a_sane_rate() -> None:
    spec = MMMSpec(fourier_order=1, n_starts=4)
    covered, total = 0, 0
    for seed in range(30):
        data, contrib = simulate(THREE, n=156, seed=seed, noise=40.0)
        true_roas = contrib.sum(axis=0) / data.spend.sum(axis=0)
        point = fit_mmm(data, spec)
        draws = block_bootstrap(data, spec, point, n_draws=100, seed=seed).draws
        roas = np.array([d.channel_contributions(data.spend).sum(0) for d in draws])
        roas /= data.spend.sum(axis=0)
        low, high = np.percentile(roas, [5, 95], axis=0)
        covered += int(np.sum((low <= true_roas) & (true_roas <= high)))
        total += len(THREE)
    rate = covered / total
    print(f"\n90% ROAS interval coverage over {total} intervals: {rate:.2f}")
    assert 0.7 <= rate <= 1.0
