"""Tests of the exogenous network hashrate (hashfleet.network.hashrate).

Statistical tests use fixed seeds; each states its tolerance in standard errors (SE) and checks
that the other noise convention (median-one instead of mean-one) would be rejected.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hashfleet import history
from hashfleet.errors import DataError
from hashfleet.network.hashrate import (
    build_hashrate_process,
    hashrate_ehs_for_difficulty,
)
from hashfleet.processes import WINDOW_DAYS, ExogenousProcess, ProcessContext
from hashfleet.scenario.schema import (
    CsvHashrateSpec,
    DifficultyGrowthHashrateSpec,
    GrowthHashrateSpec,
)

CTX = ProcessContext(start=dt.date(2024, 1, 1), horizon_days=400, initial_difficulty=7e13)


def draw(process: Any, n_paths: int, n_windows: int, seed: int = 1) -> tuple[np.ndarray, Any]:
    """Hashrate of ``n_windows`` consecutive windows, ``(n_paths, n_windows·32)`` EH/s."""
    state = process.init_state(n_paths)
    rng = np.random.default_rng(seed)
    outs = [
        process.window(state, rng, k * WINDOW_DAYS, WINDOW_DAYS, {})["network_hashrate_ehs"]
        for k in range(n_windows)
    ]
    return np.concatenate(outs, axis=1), state


def within(estimate: float, expected: float, se: float, k: float = 4.0) -> bool:
    return abs(estimate - expected) <= k * se


def test_growth_per_year_without_noise() -> None:
    """σ = 0: H_d = H_0·(1 + g)^(d/365.25) on every day, across window boundaries."""
    process = build_hashrate_process(GrowthHashrateSpec(start_ehs=600.0, growth_per_year=0.4), CTX)
    assert isinstance(process, ExogenousProcess)
    assert process.outputs == ("network_hashrate_ehs",)
    h, _ = draw(process, 3, 13)
    assert h.shape == (3, 13 * WINDOW_DAYS) and h.dtype == np.float64
    days = np.arange(h.shape[1])
    np.testing.assert_allclose(h[0], 600.0 * 1.4 ** (days / 365.25), rtol=1e-13)
    assert h[0, 0] == pytest.approx(600.0, rel=1e-15)
    assert h[1, 365] / h[1, 0] == pytest.approx(1.4 ** (365 / 365.25), rel=1e-13)
    np.testing.assert_array_equal(h[0], h[2])


def test_difficulty_growth_per_nominal_epoch() -> None:
    """σ = 0: H_{d+14} / H_d = 1 + g exactly, on any day (also across windows)."""
    spec = DifficultyGrowthHashrateSpec(start_ehs=500.0, growth_per_epoch=0.02)
    h, _ = draw(build_hashrate_process(spec, CTX), 2, 3)
    np.testing.assert_allclose(h[:, 14:] / h[:, :-14], 1.02, rtol=1e-13)
    assert h[0, 28] == pytest.approx(500.0 * 1.02**2, rel=1e-13)


def test_deterministic_growth_draws_nothing() -> None:
    process = build_hashrate_process(GrowthHashrateSpec(start_ehs=1.0), CTX)
    rng, ref = np.random.default_rng(2), np.random.default_rng(2)
    process.window(process.init_state(4), rng, 0, WINDOW_DAYS, {})
    assert rng.random() == ref.random()


def test_default_start_is_ten_minute_blocks_at_the_difficulty() -> None:
    h, _ = draw(build_hashrate_process(GrowthHashrateSpec(), CTX), 1, 1)
    assert h[0, 0] == pytest.approx(7e13 * 2**32 / 600 / 1e18, rel=1e-14)
    assert hashrate_ehs_for_difficulty(7e13) == pytest.approx(501.1, rel=1e-3)


def test_noise_is_mean_one_and_mean_reverting() -> None:
    """σ = 0.3, half-life 30 d, growth 50 %/y, 20,000 paths × 12 windows, seed 4; 4 SE.

    E[H_d / trend_d] = 1 on days 0 and 365 (SE from the sample sd); the median-one
    convention (mean exp(σ²/2) ≈ 1.046) is more than 10 SE away.  log(H/trend) + σ²/2 has sd
    σ (SE σ/sqrt(2n)) and lag-1 autocorrelation φ = 2^(−1/30) (SE (1 − φ²)/sqrt(n)).
    """
    sigma, half_life, g, n = 0.3, 30.0, 0.5, 20_000
    spec = GrowthHashrateSpec(
        start_ehs=700.0,
        growth_per_year=g,
        noise_sigma=sigma,
        noise_half_life_days=half_life,
    )
    h, state = draw(build_hashrate_process(spec, CTX), n, 12, seed=4)
    trend = 700.0 * (1 + g) ** (np.arange(h.shape[1]) / 365.25)
    ratio = h / trend
    for day in (0, 365):
        se = ratio[:, day].std(ddof=1) / np.sqrt(n)
        assert within(ratio[:, day].mean(), 1.0, se)
        assert abs(ratio[:, day].mean() - np.exp(sigma**2 / 2)) > 10 * se
    x = np.log(ratio) + sigma**2 / 2
    assert within(x[:, 200].std(ddof=1), sigma, sigma / np.sqrt(2 * n))
    phi = 2 ** (-1 / half_life)
    for day in (31, 200):
        r = np.corrcoef(x[:, day], x[:, day + 1])[0, 1]
        assert within(r, phi, (1 - phi**2) / np.sqrt(n))
    np.testing.assert_allclose(state.log_noise, x[:, -1], atol=1e-10)


def test_same_seed_same_noise() -> None:
    spec = DifficultyGrowthHashrateSpec(start_ehs=1.0, growth_per_epoch=0.01, noise_sigma=0.2)
    a, _ = draw(build_hashrate_process(spec, CTX), 10, 2, seed=6)
    b, _ = draw(build_hashrate_process(spec, CTX), 10, 2, seed=6)
    c, _ = draw(build_hashrate_process(spec, CTX), 10, 2, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_csv_hashrate_scaled_and_padded(tmp_path: Path) -> None:
    csv = tmp_path / "h.csv"
    dates = pd.date_range("2030-01-01", periods=5, freq="D").strftime("%Y-%m-%d")
    pd.DataFrame({"date": dates, "hashrate_ehs": [1.0, 2.0, 3.0, 4.0, 5.0]}).to_csv(
        csv, index=False
    )
    ctx = ProcessContext(start=dt.date(2030, 1, 2), horizon_days=4, initial_difficulty=1.0)
    spec = CsvHashrateSpec(path=str(csv), scale=2.0)
    h, _ = draw(build_hashrate_process(spec, ctx), 2, 2)
    expected = np.concatenate([[4.0, 6.0, 8.0, 10.0], np.full(2 * WINDOW_DAYS - 4, 10.0)])
    np.testing.assert_array_equal(h, np.broadcast_to(expected, (2, 64)))
    beyond = ProcessContext(start=dt.date(2030, 1, 2), horizon_days=10, initial_difficulty=1.0)
    with pytest.raises(DataError):
        build_hashrate_process(spec, beyond)


def test_csv_hashrate_builtin_matches_history() -> None:
    h, _ = draw(build_hashrate_process(CsvHashrateSpec(path="builtin:btc_daily"), CTX), 1, 1)
    expected = history.read_daily_series(
        "builtin:btc_daily", "date", "hashrate_ehs", CTX.start, WINDOW_DAYS
    )
    np.testing.assert_array_equal(h[0], expected)
