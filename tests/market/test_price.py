"""Tests of the BTC price processes (hashfleet.market.price).

Statistical tests use fixed seeds; each states its tolerance in standard errors (SE) and checks
that a plausible wrong convention would be rejected by the same tolerance.
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
from hashfleet.market.price import (
    DAYS_PER_YEAR,
    BootstrapPriceProcess,
    DiffusionPriceProcess,
    build_price_process,
    historical_log_returns,
)
from hashfleet.processes import WINDOW_DAYS, ExogenousProcess, ProcessContext
from hashfleet.scenario.schema import (
    BootstrapPriceSpec,
    CsvPriceSpec,
    GbmPriceSpec,
    MertonPriceSpec,
)

CTX = ProcessContext(start=dt.date(2024, 1, 1), horizon_days=365, initial_difficulty=7e13)


def draw(
    process: Any, n_paths: int, n_windows: int, seed: int = 1
) -> tuple[dict[str, np.ndarray], Any]:
    """Draw ``n_windows`` consecutive windows and concatenate them along the day axis."""
    state = process.init_state(n_paths)
    rng = np.random.default_rng(seed)
    outs = [process.window(state, rng, k * WINDOW_DAYS, WINDOW_DAYS, {}) for k in range(n_windows)]
    return {name: np.concatenate([o[name] for o in outs], axis=1) for name in outs[0]}, state


def within(estimate: float, expected: float, se: float, k: float = 4.0) -> bool:
    return abs(estimate - expected) <= k * se


# ----------------------------------------------------------------------------------- GBM


@pytest.mark.usefixtures("non_commercial_data")
def test_builders_return_protocol_objects_with_declared_outputs() -> None:
    specs = [
        GbmPriceSpec(start_usd=1.0),
        MertonPriceSpec(start_usd=1.0),
        BootstrapPriceSpec(start_usd=1.0),
        CsvPriceSpec(path="builtin:btc_daily"),
    ]
    for spec in specs:
        process = build_price_process(spec, CTX)
        assert isinstance(process, ExogenousProcess)
        out, _ = draw(process, 3, 2)
        assert set(out) == set(process.outputs) == {"btc_price_usd", "price_shock"}
        for a in out.values():
            assert a.shape == (3, 2 * WINDOW_DAYS)
            assert a.dtype == np.float64


def test_day_zero_is_start_price_and_has_no_shock() -> None:
    process = build_price_process(GbmPriceSpec(start_usd=50_000.0), CTX)
    out, _ = draw(process, 5, 1)
    assert np.all(out["btc_price_usd"][:, 0] == 50_000.0)
    assert np.all(out["price_shock"][:, 0] == 0.0)
    assert np.all(out["price_shock"][:, 1:] != 0.0)


@pytest.mark.usefixtures("non_commercial_data")
def test_default_start_price_is_history_of_the_day_before() -> None:
    process = build_price_process(GbmPriceSpec(), CTX)
    out, _ = draw(process, 2, 1)
    expected = history.price_on(dt.date(2023, 12, 31))
    assert out["btc_price_usd"][0, 0] == pytest.approx(expected, rel=1e-12)


def test_gbm_log_returns_and_expected_price() -> None:
    """GBM over 12 windows (day 365 = T = 365/365.25 y), 20,000 paths, seed 7.

    Tolerance 4 SE for: mean of log(S_T/S_0) = (μ − σ²/2)T, its variance σ²T (SE from the
    normal-theory variance of a sample variance), and E[S_T/S_0] = exp(μT).  The convention
    without the −σ²/2 correction (mean log return μT) must lie more than 10 SE away.
    """
    mu, sigma, n = 0.2, 0.6, 20_000
    process = build_price_process(
        GbmPriceSpec(start_usd=100.0, drift_per_year=mu, volatility_per_year=sigma), CTX
    )
    out, _ = draw(process, n, 12, seed=7)
    t = 365 / DAYS_PER_YEAR
    log_ret = np.log(out["btc_price_usd"][:, 365] / 100.0)
    se_mean = sigma * np.sqrt(t / n)
    assert within(log_ret.mean(), (mu - sigma**2 / 2) * t, se_mean)
    assert abs(log_ret.mean() - mu * t) > 10 * se_mean
    var = sigma**2 * t
    assert within(log_ret.var(ddof=1), var, var * np.sqrt(2 / (n - 1)))
    growth = out["btc_price_usd"][:, 365] / 100.0
    assert within(growth.mean(), np.exp(mu * t), growth.std(ddof=1) / np.sqrt(n))
    # daily shocks are standard normal and are exactly the diffusion's shocks
    daily = np.diff(np.log(out["btc_price_usd"][:1000]), axis=1)
    z = out["price_shock"][:1000, 1:]
    drift = (mu - sigma**2 / 2) / DAYS_PER_YEAR
    np.testing.assert_allclose(daily, drift + sigma / np.sqrt(DAYS_PER_YEAR) * z, atol=1e-10)
    assert within(z.std(), 1.0, 1.0 / np.sqrt(2 * z.size))


def test_gbm_without_volatility_is_continuous_across_windows() -> None:
    """σ = 0: S_d = S_0·exp(μd/365.25) on every day, including window boundaries."""
    process = build_price_process(
        GbmPriceSpec(start_usd=10.0, drift_per_year=0.5, volatility_per_year=0.0), CTX
    )
    out, state = draw(process, 4, 3)
    days = np.arange(3 * WINDOW_DAYS)
    np.testing.assert_allclose(
        out["btc_price_usd"],
        np.broadcast_to(10.0 * np.exp(0.5 * days / DAYS_PER_YEAR), (4, 96)),
        rtol=1e-13,
    )
    np.testing.assert_allclose(np.exp(state.log_price_usd), out["btc_price_usd"][:, -1])


def test_same_seed_same_paths_and_windows_continue_the_state() -> None:
    """Same seed → bit-identical arrays; windows drawn one by one equal the state's carry."""
    spec = MertonPriceSpec(start_usd=30_000.0, jump_rate_per_year=10.0)
    a, _ = draw(build_price_process(spec, CTX), 50, 2, seed=3)
    b, _ = draw(build_price_process(spec, CTX), 50, 2, seed=3)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    # the second window starts from the first window's last price (no jump at the boundary
    # beyond one day's return): ratio day 32 / day 31 equals exp(day 32's log return)
    ratio = a["btc_price_usd"][:, WINDOW_DAYS] / a["btc_price_usd"][:, WINDOW_DAYS - 1]
    assert np.all(np.abs(np.log(ratio)) < 0.5)


def test_gbm_draws_exactly_one_normal_per_path_day() -> None:
    """The random-stream layout: one (n_paths, n_days) standard-normal array per window."""
    process = build_price_process(GbmPriceSpec(start_usd=1.0), CTX)
    rng, ref = np.random.default_rng(5), np.random.default_rng(5)
    state = process.init_state(7)
    process.window(state, rng, 0, WINDOW_DAYS, {})
    ref.standard_normal((7, WINDOW_DAYS))
    assert rng.random() == ref.random()


# -------------------------------------------------------------------------------- Merton


def test_merton_jump_frequency() -> None:
    """σ = 0 so every non-drift day return is a jump day; 2,000 paths × 383 days, seed 11.

    Share of days with at least one jump = 1 − exp(−λΔ) within 4 binomial SE; with λ
    wrongly applied per day instead of per year the share would be ~1.
    """
    lam = 20.0
    process = DiffusionPriceProcess(
        1.0, 0.0, 0.0, jump_rate_per_year=lam, jump_mean_log=0.0, jump_sigma_log=0.1
    )
    out, _ = draw(process, 2_000, 12, seed=11)
    daily = np.diff(np.log(out["btc_price_usd"]), axis=1)
    k = np.exp(0.5 * 0.1**2) - 1.0
    no_jump = -lam * k / DAYS_PER_YEAR
    jumped = np.abs(daily - no_jump) > 1e-12
    p = -np.expm1(-lam / DAYS_PER_YEAR)
    assert within(jumped.mean(), p, np.sqrt(p * (1 - p) / jumped.size))


def test_merton_expected_price_is_compensated() -> None:
    """E[S_T/S_0] = exp(μT) at T = 365/365.25 y, 20,000 paths, seed 13, within 4 SE.

    Without the compensator λ·k the mean would be exp((μ + λk)T), about 0.65·exp(μT) here:
    that must be more than 10 SE away.
    """
    mu, lam, m, s, n = 0.1, 5.0, -0.1, 0.15, 20_000
    spec = MertonPriceSpec(
        start_usd=1.0,
        drift_per_year=mu,
        volatility_per_year=0.3,
        jump_rate_per_year=lam,
        jump_mean_log=m,
        jump_sigma_log=s,
    )
    out, _ = draw(build_price_process(spec, CTX), n, 12, seed=13)
    t = 365 / DAYS_PER_YEAR
    s_t = out["btc_price_usd"][:, 365]
    se = s_t.std(ddof=1) / np.sqrt(n)
    assert within(s_t.mean(), np.exp(mu * t), se)
    k = np.exp(m + s**2 / 2) - 1
    assert abs(s_t.mean() - np.exp((mu + lam * k) * t)) > 10 * se


# ----------------------------------------------------------------------------- bootstrap

STEP = 2.0**-20  # synthetic returns i·STEP identify their position exactly


def positions_from_prices(prices: np.ndarray) -> np.ndarray:
    """Recover positions (days ≥ 1) from prices when the return set is i·STEP."""
    returns = np.diff(np.log(prices), axis=1)
    return np.rint(returns / STEP).astype(np.int64)


def test_bootstrap_returns_are_historical_and_blocks_have_the_mean_length() -> None:
    """Synthetic return set {i·2^-20}, block_days = 10, 2,000 paths × 383 days, seed 17.

    Every sampled return belongs to the set; the share of days starting a new block is
    (1/10)(1 − 1/N) (a new block lands on the next position with probability 1/N), within
    4 binomial SE — a mean block length of 9 or 11 days would be rejected.
    """
    n_ret = 1_000
    process = BootstrapPriceProcess(1.0, np.arange(n_ret) * STEP, block_days=10)
    out, state = draw(process, 2_000, 12, seed=17)
    pos = positions_from_prices(out["btc_price_usd"])
    assert pos.min() >= 0 and pos.max() < n_ret
    np.testing.assert_allclose(np.diff(np.log(out["btc_price_usd"]), axis=1), pos * STEP, atol=1e-9)
    breaks = pos[:, 1:] != (pos[:, :-1] + 1) % n_ret
    p = 0.1 * (1 - 1 / n_ret)
    se = np.sqrt(p * (1 - p) / breaks.size)
    assert within(breaks.mean(), p, se)
    assert abs(breaks.mean() - 1 / 9) > 10 * se and abs(breaks.mean() - 1 / 11) > 10 * se
    np.testing.assert_array_equal(state.position, pos[:, -1])


def test_bootstrap_blocks_continue_across_windows() -> None:
    """With very long blocks the position moves on by one per day across window boundaries."""
    n_ret = 5_000
    process = BootstrapPriceProcess(1.0, np.arange(n_ret) * STEP, block_days=3650)
    out, _ = draw(process, 20, 3, seed=2)
    pos = positions_from_prices(out["btc_price_usd"])
    steps = (pos[:, 1:] - pos[:, :-1]) % n_ret
    assert (steps == 1).mean() > 0.98
    boundary = (pos[:, WINDOW_DAYS - 1] - pos[:, WINDOW_DAYS - 2]) % n_ret
    assert (boundary == 1).sum() >= 19


def test_bootstrap_recentred_drift() -> None:
    """drift_per_year = μ: the return set's mean is (μ − σ̂²/2)Δ exactly (σ̂² = var/Δ),
    its variance is unchanged, and the mean sampled daily return over 2,000 paths × 383
    days is that mean within 4 SE (SE from the set's sd with the block length's variance
    inflation ≈ 2·block_days − 1 for perfectly persistent blocks, an upper bound)."""
    rng = np.random.default_rng(0)
    raw = rng.standard_t(4, size=3_000) * 0.03 + 0.002
    mu, block = 0.05, 5
    process = BootstrapPriceProcess(1.0, raw, block_days=block, drift_per_year=mu)
    target = mu / DAYS_PER_YEAR - 0.5 * raw.var(ddof=1)
    assert process.log_returns.mean() == pytest.approx(target, abs=1e-15)
    assert process.log_returns.var(ddof=1) == pytest.approx(raw.var(ddof=1), rel=1e-12)
    out, _ = draw(process, 2_000, 12, seed=19)
    daily = np.diff(np.log(out["btc_price_usd"]), axis=1)
    se = raw.std() * np.sqrt((2 * block - 1) / daily.size)
    assert within(daily.mean(), target, se)
    assert abs(daily.mean() - raw.mean()) > 10 * se
    shocks = out["price_shock"][:, 1:]
    np.testing.assert_allclose(
        shocks,
        (daily - process.log_returns.mean()) / process.log_returns.std(ddof=1),
        atol=1e-6,
    )


@pytest.mark.usefixtures("non_commercial_data")
def test_historical_returns_skip_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only returns between two consecutive days that both have a price are kept."""
    days = pd.to_datetime(
        [
            "2020-01-01",
            "2020-01-02",
            "2020-01-03",
            "2020-01-04",
            "2020-01-06",
            "2020-01-07",
            "2020-01-08",
        ]
    )
    prices = [1.0, 2.0, np.nan, 4.0, 8.0, 16.0, 64.0]
    frame = pd.DataFrame({"price_usd": prices}, index=pd.Index(days, name="date"))
    monkeypatch.setattr(history, "load_daily", lambda: frame.copy())
    r = historical_log_returns()
    np.testing.assert_allclose(r, np.log([2.0, 2.0, 4.0]))
    np.testing.assert_allclose(
        historical_log_returns(dt.date(2020, 1, 4), dt.date(2020, 1, 8)), np.log([2.0, 4.0])
    )
    with pytest.raises(DataError, match="at least 2"):
        historical_log_returns(dt.date(2020, 1, 6), dt.date(2020, 1, 7))


@pytest.mark.usefixtures("non_commercial_data")
def test_bootstrap_from_shipped_history_samples_its_returns() -> None:
    spec = BootstrapPriceSpec(
        start_usd=1.0,
        block_days=20,
        history_from=dt.date(2018, 1, 1),
        history_to=dt.date(2019, 12, 31),
    )
    process = build_price_process(spec, CTX)
    assert isinstance(process, BootstrapPriceProcess)
    assert process.log_returns.size == 729
    out, _ = draw(process, 100, 2)
    daily = np.diff(np.log(out["btc_price_usd"]), axis=1)
    gap = np.abs(daily[..., None] - process.log_returns[None, None, :]).min(axis=-1)
    assert gap.max() < 1e-9


# ----------------------------------------------------------------------------------- CSV


def test_csv_price_pads_past_the_end(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    dates = pd.date_range("2024-01-01", periods=10, freq="D").strftime("%Y-%m-%d")
    pd.DataFrame({"day": dates, "close": np.arange(1.0, 11.0)}).to_csv(csv, index=False)
    ctx = ProcessContext(start=dt.date(2024, 1, 3), horizon_days=8, initial_difficulty=1.0)
    spec = CsvPriceSpec(path=str(csv), date_column="day", column="close")
    out, _ = draw(build_price_process(spec, ctx), 2, 2)
    expected = np.concatenate([np.arange(3.0, 11.0), np.full(2 * WINDOW_DAYS - 8, 10.0)])
    np.testing.assert_array_equal(out["btc_price_usd"], np.broadcast_to(expected, (2, 64)))
    assert np.all(out["price_shock"] == 0.0)
    too_long = ProcessContext(start=dt.date(2024, 1, 3), horizon_days=20, initial_difficulty=1.0)
    with pytest.raises(DataError):
        build_price_process(spec, too_long)


@pytest.mark.usefixtures("non_commercial_data")
def test_csv_price_builtin_matches_history() -> None:
    out, _ = draw(build_price_process(CsvPriceSpec(path="builtin:btc_daily"), CTX), 1, 1)
    expected = history.read_daily_series("builtin:btc_daily", "date", "price_usd", CTX.start, 32)
    np.testing.assert_array_equal(out["btc_price_usd"][0], expected)


# ----------------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_gbm_ten_year_expected_price_many_paths() -> None:
    """E[S_T/S_0] = exp(μT) at T = 10 y over 200,000 paths, 4 SE."""
    mu, sigma, n = 0.3, 0.4, 200_000
    process = build_price_process(
        GbmPriceSpec(start_usd=1.0, drift_per_year=mu, volatility_per_year=sigma), CTX
    )
    state = process.init_state(n)
    rng = np.random.default_rng(23)
    last = None
    for k in range(115):
        last = process.window(state, rng, k * WINDOW_DAYS, WINDOW_DAYS, {})
    assert last is not None
    s_t = np.exp(state.log_price_usd)
    t = (115 * WINDOW_DAYS - 1) / DAYS_PER_YEAR
    assert within(s_t.mean(), np.exp(mu * t), s_t.std(ddof=1) / np.sqrt(n))
