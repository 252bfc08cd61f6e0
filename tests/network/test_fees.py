"""Tests of the fee processes (hashfleet.network.fees).

Statistical tests use fixed seeds; each states its tolerance in standard errors (SE) and checks
that a plausible wrong model would be rejected by the same tolerance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hashfleet.errors import InputError
from hashfleet.network.fees import (
    DAYS_PER_YEAR,
    LognormalFeeProcess,
    build_fee_process,
    ou_phi,
)
from hashfleet.processes import WINDOW_DAYS, ExogenousProcess, ProcessContext
from hashfleet.scenario.schema import ConstantFeesSpec, LognormalFeesSpec

CTX = ProcessContext(start=dt.date(2024, 1, 1), horizon_days=365, initial_difficulty=7e13)
MEDIAN = 0.2

Inputs = Callable[[int], dict[str, np.ndarray]]


def draw(
    process: Any, n_paths: int, n_windows: int, seed: int = 1, inputs: Inputs | None = None
) -> tuple[np.ndarray, Any]:
    """Fees of ``n_windows`` consecutive windows, ``(n_paths, n_windows·32)``, and the state."""
    state = process.init_state(n_paths)
    rng = np.random.default_rng(seed)
    outs = [
        process.window(
            state, rng, k * WINDOW_DAYS, WINDOW_DAYS, inputs(k) if inputs is not None else {}
        )["fees_btc_per_block"]
        for k in range(n_windows)
    ]
    return np.concatenate(outs, axis=1), state


def within(estimate: float, expected: float, se: float, k: float = 4.0) -> bool:
    return abs(estimate - expected) <= k * se


def test_constant_fees() -> None:
    process = build_fee_process(ConstantFeesSpec(btc_per_block=0.03), CTX)
    assert isinstance(process, ExogenousProcess)
    assert process.outputs == ("fees_btc_per_block",)
    fees, _ = draw(process, 3, 2)
    assert fees.shape == (3, 64) and fees.dtype == np.float64
    assert np.all(fees == 0.03)


def test_lognormal_without_noise_or_spikes_is_the_median() -> None:
    spec = LognormalFeesSpec(median_btc_per_block=MEDIAN, sigma=0.0)
    fees, _ = draw(build_fee_process(spec, CTX), 4, 2)
    np.testing.assert_allclose(fees, MEDIAN, rtol=1e-15)


def test_ou_stationary_sd_median_and_lag1_autocorrelation() -> None:
    """σ = 0.5, half-life 14 d, 20,000 paths × 4 windows, seed 3, tolerance 4 SE.

    The cross-sectional sd of X = log(F/median) on day 0 (stationary start) and day 127 is σ
    (SE σ/sqrt(2n)); the median fee is the median (SE of a sample median ≈ 1.2533·σ/sqrt(n)
    in log units); the lag-1 autocorrelation of X is φ = 2^(−1/14) (SE (1 − φ²)/sqrt(n)).
    The continuous-time-looking but wrong φ = exp(−1/14) is more than 10 SE away.
    """
    sigma, half_life, n = 0.5, 14.0, 20_000
    spec = LognormalFeesSpec(median_btc_per_block=MEDIAN, sigma=sigma, half_life_days=half_life)
    fees, state = draw(build_fee_process(spec, CTX), n, 4, seed=3)
    x = np.log(fees / MEDIAN)
    for day in (0, 127):
        assert within(x[:, day].std(ddof=1), sigma, sigma / np.sqrt(2 * n))
    assert within(np.median(x[:, 127]), 0.0, 1.2533 * sigma / np.sqrt(n))
    phi = 2 ** (-1 / half_life)
    assert ou_phi(half_life) == pytest.approx(phi)
    se = (1 - phi**2) / np.sqrt(n)
    for day in (0, 31, 100):  # day 31 → 32 crosses a window boundary
        r = np.corrcoef(x[:, day], x[:, day + 1])[0, 1]
        assert within(r, phi, se)
        assert abs(r - np.exp(-1 / half_life)) > 10 * se
    np.testing.assert_allclose(state.log_deviation, x[:, -1], atol=1e-12)


def test_windows_continue_the_state() -> None:
    """Same seed → identical fees; the state after a window is its last day's X and spike,
    and a window drawn from that state starts from them (φ·X + innovation)."""
    spec = LognormalFeesSpec(
        median_btc_per_block=MEDIAN, sigma=0.4, spike_rate_per_year=12.0, spike_multiplier=3.0
    )
    a, sa = draw(build_fee_process(spec, CTX), 30, 2, seed=9)
    b, sb = draw(build_fee_process(spec, CTX), 30, 2, seed=9)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa.log_deviation, sb.log_deviation)
    expected_last = MEDIAN * np.exp(sa.log_deviation) * np.where(sa.spike, 3.0, 1.0)
    np.testing.assert_allclose(a[:, -1], expected_last, rtol=1e-12)


def test_draws_two_arrays_per_window() -> None:
    """The random-stream layout: standard normals then uniforms, each (n_paths, n_days)."""
    process = build_fee_process(LognormalFeesSpec(median_btc_per_block=MEDIAN), CTX)
    rng, ref = np.random.default_rng(4), np.random.default_rng(4)
    process.window(process.init_state(5), rng, 0, WINDOW_DAYS, {})
    ref.standard_normal((5, WINDOW_DAYS))
    ref.random((5, WINDOW_DAYS))
    assert rng.random() == ref.random()


def test_spike_regime_share_and_durations() -> None:
    """σ = 0 so F = median·M^S reveals the regime S; rate 20/y, mean duration 7 d,
    20,000 paths × 4 windows, seed 5, tolerance 4 SE.

    The share of paths in a spike on day 0 (stationary start) and day 127 is the chain's
    stationary share p_on/(p_on + p_off) ≈ r·D/(1 + r·D) (binomial SE); r·D alone (no
    1/(1 + r·D)) would be more than 10 SE away.  Over all pairs of days, the daily end
    probability of a spike is 1 − exp(−1/D) and the start probability 1 − exp(−r/365.25)
    (binomial SE on the number of on- and off-days).
    """
    rate, dur, mult, n = 20.0, 7.0, 4.0, 20_000
    spec = LognormalFeesSpec(
        median_btc_per_block=MEDIAN,
        sigma=0.0,
        spike_rate_per_year=rate,
        spike_duration_days=dur,
        spike_multiplier=mult,
    )
    fees, _ = draw(build_fee_process(spec, CTX), n, 4, seed=5)
    on = fees > MEDIAN * 2
    np.testing.assert_allclose(fees, np.where(on, MEDIAN * mult, MEDIAN), rtol=1e-14)
    p_on, p_off = -np.expm1(-rate / DAYS_PER_YEAR), -np.expm1(-1 / dur)
    share = p_on / (p_on + p_off)
    r_day = rate / DAYS_PER_YEAR
    assert share == pytest.approx(r_day * dur / (1 + r_day * dur), rel=0.05)
    for day in (0, 127):
        se = np.sqrt(share * (1 - share) / n)
        assert within(on[:, day].mean(), share, se)
        assert abs(on[:, day].mean() - r_day * dur) > 10 * se
    prev, nxt = on[:, :-1], on[:, 1:]
    ends = (prev & ~nxt).sum() / prev.sum()
    starts = (~prev & nxt).sum() / (~prev).sum()
    assert within(ends, p_off, np.sqrt(p_off * (1 - p_off) / prev.sum()))
    assert within(starts, p_on, np.sqrt(p_on * (1 - p_on) / (~prev).sum()))


def test_correlation_with_price_shocks() -> None:
    """ρ = 0.6: the recovered innovations e_d = (X_d − φX_{d−1})/(σ·sqrt(1 − φ²)) have unit
    variance and correlation ρ with the given price shocks on days ≥ 1, over 5,000 paths ×
    4 windows, seed 8; tolerance 4 SE with SE(r) = (1 − ρ²)/sqrt(n) (about 0.0025, so ρ ± 0.02
    would be rejected).  Day 0 ignores the price shock (it has
    no return) and keeps the stationary law."""
    rho, sigma, n = 0.6, 0.5, 5_000
    spec = LognormalFeesSpec(median_btc_per_block=MEDIAN, sigma=sigma, price_correlation=rho)
    shocks = np.random.default_rng(100).standard_normal((n, 4 * WINDOW_DAYS))
    shocks[:, 0] = 0.0

    def inputs(k: int) -> dict[str, np.ndarray]:
        return {"price_shock": shocks[:, k * WINDOW_DAYS : (k + 1) * WINDOW_DAYS]}

    process = build_fee_process(spec, CTX)
    fees, _ = draw(process, n, 4, seed=8, inputs=inputs)
    assert isinstance(process, LognormalFeeProcess)
    x = np.log(fees / MEDIAN)
    e = (x[:, 1:] - process.phi * x[:, :-1]) / (sigma * np.sqrt(1 - process.phi**2))
    zp = shocks[:, 1:]
    r = np.corrcoef(e.ravel(), zp.ravel())[0, 1]
    assert within(r, rho, (1 - rho**2) / np.sqrt(e.size))
    assert within(e.std(), 1.0, 1 / np.sqrt(2 * e.size))
    assert within(x[:, 0].std(ddof=1), sigma, sigma / np.sqrt(2 * n))


def test_correlation_needs_the_price_shock() -> None:
    spec = LognormalFeesSpec(median_btc_per_block=MEDIAN, price_correlation=0.3)
    process = build_fee_process(spec, CTX)
    with pytest.raises(InputError, match="price_shock"):
        process.window(process.init_state(2), np.random.default_rng(0), 0, WINDOW_DAYS, {})
