"""The BTC price: daily exogenous process of the USD price of one bitcoin.

Every model returns two ``(n_paths, n_days)`` arrays per window: ``btc_price_usd`` (USD per
BTC, the price that applies to the whole UTC day) and ``price_shock`` (the dimensionless
standard-normal shock of that day's diffusion log return, which the fee process may be
correlated with).  Day 0's price is the start price exactly; day ``d > 0`` has applied the
daily log returns ``r_1, ..., r_d``, so ``S_d = S_0 · exp(r_1 + ... + r_d)``.  Day 0 has no
return and its ``price_shock`` is 0.  Time steps are one day, ``Δ = 1/365.25`` year.

Models
------
GBM
    ``r_d = (μ − σ²/2)·Δ + σ·sqrt(Δ)·z_d`` with ``z_d`` standard normal, ``μ`` the
    continuously compounded drift per year and ``σ`` the yearly volatility, so that
    ``E[S_t] = S_0·exp(μ·t)`` (``t`` in years).
Merton jump-diffusion (Merton 1976)
    GBM plus ``N_d ~ Poisson(λ·Δ)`` jumps per day whose log sizes are ``N(m, s²)``; the sum of
    a day's jumps is drawn as ``N_d·m + sqrt(N_d)·s·w_d`` with ``w_d`` standard normal.  The
    drift is *compensated*: the diffusion's drift is ``(μ − σ²/2 − λ·k)·Δ`` with
    ``k = E[e^J − 1] = exp(m + s²/2) − 1``, so ``E[S_t] = S_0·exp(μ·t)`` still holds exactly.
    ``price_shock`` is ``z_d``, the diffusion shock only (jumps are not in it).
Stationary block bootstrap (Politis & Romano 1994)
    Daily log returns resampled from the shipped history between ``history_from`` and
    ``history_to``; only returns between two consecutive calendar days that both have a price
    are used (gaps are skipped, never bridged).  Each day a new block starts with probability
    ``p = 1/block_days`` at a uniformly drawn position, otherwise the path takes the next
    historical return (wrapping circularly), so block lengths are geometric with mean
    ``block_days``.  The position in history is carried in the state, so blocks continue across
    windows.  With ``drift_per_year = μ`` set, the sampled set is recentred:
    ``r' = r − mean(r) + (μ − σ̂²/2)·Δ`` with ``σ̂² = var(r)/Δ`` the annualised sample variance
    (``ddof=1``) — the daily mean log return of a GBM with drift ``μ`` and the history's
    volatility; the shape of the distribution (fat tails, clustering inside blocks) is kept, so
    ``E[S_t]`` is ``S_0·exp(μ·t)`` only up to the non-normality of the returns.
    ``price_shock`` is the standardised sampled return ``(r' − mean(r'))/sd(r')``: zero mean,
    unit variance, not normal.
CSV
    A deterministic path read with :func:`hashfleet.history.read_daily_series`, day 0 being the
    start date, padded past the end of the horizon with the last value; ``price_shock`` is 0.

Random draws per window are fixed arrays of shape ``(n_paths, n_days)`` drawn before any
recursion: GBM one standard normal array; Merton standard normals, Poisson counts and standard
normals (in that order); bootstrap uniforms, then block start positions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.errors import DataError
from hashfleet.processes import DailySeriesProcess, FloatArray, ProcessContext
from hashfleet.scenario.schema import (
    BootstrapPriceSpec,
    CsvPriceSpec,
    GbmPriceSpec,
    MertonPriceSpec,
)

__all__ = [
    "DAYS_PER_YEAR",
    "BootstrapPriceProcess",
    "BootstrapPriceState",
    "CsvPriceProcess",
    "DiffusionPriceProcess",
    "PriceState",
    "build_price_process",
    "historical_log_returns",
]

#: Days per year of every ``*_per_year`` rate (Julian year); one step is ``1/365.25`` year.
DAYS_PER_YEAR: float = 365.25

PRICE_OUTPUTS: tuple[str, str] = ("btc_price_usd", "price_shock")

PriceModelSpec = GbmPriceSpec | MertonPriceSpec | BootstrapPriceSpec | CsvPriceSpec


def build_price_process(
    spec: PriceModelSpec, ctx: ProcessContext
) -> DiffusionPriceProcess | BootstrapPriceProcess | CsvPriceProcess:
    """Build the BTC price process of a scenario.

    Parameters
    ----------
    spec : GbmPriceSpec | MertonPriceSpec | BootstrapPriceSpec | CsvPriceSpec
        The ``market.btc_price`` section.
    ctx : hashfleet.processes.ProcessContext
        Run context; ``ctx.start`` dates the CSV path and the default start price (the shipped
        history's price of the day before the start).

    Returns
    -------
    ExogenousProcess
        With outputs ``("btc_price_usd", "price_shock")``, each ``(n_paths, n_days)``.
    """
    if isinstance(spec, CsvPriceSpec):
        from hashfleet.history import read_daily_series

        values = read_daily_series(
            spec.path, spec.date_column, spec.column, ctx.start, ctx.horizon_days
        )
        return CsvPriceProcess(np.asarray(values, dtype=np.float64), source=spec.path)
    start_usd = spec.start_usd if spec.start_usd is not None else _history_start_usd(ctx.start)
    if isinstance(spec, BootstrapPriceSpec):
        returns = historical_log_returns(spec.history_from, spec.history_to)
        return BootstrapPriceProcess(
            start_usd, returns, block_days=spec.block_days, drift_per_year=spec.drift_per_year
        )
    if isinstance(spec, MertonPriceSpec):
        return DiffusionPriceProcess(
            start_usd,
            spec.drift_per_year,
            spec.volatility_per_year,
            jump_rate_per_year=spec.jump_rate_per_year,
            jump_mean_log=spec.jump_mean_log,
            jump_sigma_log=spec.jump_sigma_log,
        )
    return DiffusionPriceProcess(start_usd, spec.drift_per_year, spec.volatility_per_year)


def historical_log_returns(
    history_from: dt.date | None = None, history_to: dt.date | None = None
) -> FloatArray:
    """Daily log returns of the shipped BTC price history between two dates.

    Parameters
    ----------
    history_from, history_to : datetime.date or None
        First and last day of history used (inclusive); None = first / last available.
        A return ``log(S_t / S_{t-1})`` is used when both ``t-1`` and ``t`` are in the range
        and both have a price.

    Returns
    -------
    numpy.ndarray
        ``(n_returns,)`` float64 log returns, in date order.

    Raises
    ------
    DataError
        If fewer than two returns are available in the range.
    """
    from hashfleet.history import load_daily
    from hashfleet.history.licence import require_non_commercial

    require_non_commercial("market.btc_price: model bootstrap")
    prices = load_daily()["price_usd"]
    prices.index = pd.DatetimeIndex(pd.to_datetime(prices.index))
    prices = prices.sort_index()
    if history_from is not None:
        prices = prices[prices.index >= pd.Timestamp(history_from)]
    if history_to is not None:
        prices = prices[prices.index <= pd.Timestamp(history_to)]
    prices = prices[np.isfinite(prices.to_numpy(dtype=np.float64)) & (prices > 0)]
    log_p = np.log(prices.to_numpy(dtype=np.float64))
    consecutive = np.diff(prices.index.to_numpy()) == np.timedelta64(1, "D")
    returns = np.diff(log_p)[consecutive]
    if returns.size < 2:
        raise DataError(
            f"history_from/history_to: expected at least 2 daily returns between "
            f"{history_from or 'the first day'} and {history_to or 'the last day'}, "
            f"got {returns.size}"
        )
    return returns


# --------------------------------------------------------------------------- GBM, Merton


@dataclass
class PriceState:
    """State of a price process for one stream block.

    Attributes
    ----------
    log_price_usd : numpy.ndarray
        ``(n_paths,)`` log of the price (USD) of the last day drawn; ``log(S_0)`` before day 0.
    """

    log_price_usd: FloatArray


class DiffusionPriceProcess:
    """GBM, or Merton jump-diffusion when jump parameters are given.

    Parameters
    ----------
    start_usd : float
        Price on day 0 (USD), > 0.
    drift_per_year : float
        Continuously compounded expected return μ (1/year): ``E[S_t] = S_0·exp(μ·t)``.
    volatility_per_year : float
        Diffusion volatility σ (1/sqrt(year)), >= 0.
    jump_rate_per_year : float or None
        Jump intensity λ (1/year); None = GBM (no jump draws at all).
    jump_mean_log, jump_sigma_log : float
        Mean and standard deviation of a jump's log size.
    """

    outputs: tuple[str, ...] = PRICE_OUTPUTS

    def __init__(
        self,
        start_usd: float,
        drift_per_year: float,
        volatility_per_year: float,
        *,
        jump_rate_per_year: float | None = None,
        jump_mean_log: float = 0.0,
        jump_sigma_log: float = 0.0,
    ) -> None:
        if not start_usd > 0:
            raise ValueError(f"start_usd: expected a price > 0, got {start_usd}")
        dt_years = 1.0 / DAYS_PER_YEAR
        self.start_usd = float(start_usd)
        self.jumps = jump_rate_per_year is not None
        lam = float(jump_rate_per_year or 0.0)
        compensator = lam * (np.exp(jump_mean_log + 0.5 * jump_sigma_log**2) - 1.0)
        self.drift_per_day = (
            drift_per_year - 0.5 * volatility_per_year**2 - compensator
        ) * dt_years
        self.vol_per_day = volatility_per_year * np.sqrt(dt_years)
        self.jump_rate_per_day = lam * dt_years
        self.jump_mean_log = float(jump_mean_log)
        self.jump_sigma_log = float(jump_sigma_log)

    def init_state(self, n_paths: int) -> PriceState:
        """Return the state of ``n_paths`` paths before day 0."""
        return PriceState(np.full(n_paths, np.log(self.start_usd)))

    def window(
        self,
        state: PriceState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw days ``first_day .. first_day + n_days - 1``; see the module docstring.

        Returns
        -------
        dict[str, numpy.ndarray]
            ``btc_price_usd`` (USD) and ``price_shock`` (standard normal), each
            ``(n_paths, n_days)`` float64.
        """
        shape = (state.log_price_usd.shape[0], n_days)
        z = rng.standard_normal(shape)
        if self.jumps:
            counts = rng.poisson(self.jump_rate_per_day, shape).astype(np.float64)
            w = rng.standard_normal(shape)
        _zero_day_zero(z, first_day)
        log_returns = self.drift_per_day + self.vol_per_day * z
        if self.jumps:
            log_returns += counts * self.jump_mean_log + np.sqrt(counts) * self.jump_sigma_log * w
        _zero_day_zero(log_returns, first_day)
        return _advance(state, log_returns, z, first_day, self.start_usd)


# ----------------------------------------------------------------------------- bootstrap


@dataclass
class BootstrapPriceState(PriceState):
    """State of the bootstrap for one stream block.

    Attributes
    ----------
    log_price_usd : numpy.ndarray
        ``(n_paths,)`` log price (USD) of the last day drawn.
    position : numpy.ndarray
        ``(n_paths,)`` int64 index, in the historical return set, of the last return used;
        -1 before the first draw (the first day starts a new block).
    """

    position: NDArray[np.int64]


class BootstrapPriceProcess:
    """Stationary block bootstrap of daily log returns (Politis & Romano 1994).

    Parameters
    ----------
    start_usd : float
        Price on day 0 (USD), > 0.
    log_returns : numpy.ndarray
        ``(n_returns,)`` historical daily log returns, in date order, at least 2.
    block_days : float
        Mean block length (days), >= 1; a new block starts each day with probability
        ``1/block_days``.
    drift_per_year : float or None
        If given, recentre the returns to the mean daily log return ``(μ − σ̂²/2)·Δ``.
    """

    outputs: tuple[str, ...] = PRICE_OUTPUTS

    def __init__(
        self,
        start_usd: float,
        log_returns: FloatArray,
        *,
        block_days: float,
        drift_per_year: float | None = None,
    ) -> None:
        r = np.asarray(log_returns, dtype=np.float64)
        if r.ndim != 1 or r.size < 2 or not np.all(np.isfinite(r)):
            raise ValueError(
                f"log_returns: expected >= 2 finite values in 1-D, got shape {r.shape}"
            )
        if not start_usd > 0:
            raise ValueError(f"start_usd: expected a price > 0, got {start_usd}")
        if not block_days >= 1:
            raise ValueError(f"block_days: expected >= 1, got {block_days}")
        if drift_per_year is not None:
            r = r - r.mean() + (drift_per_year / DAYS_PER_YEAR - 0.5 * r.var(ddof=1))
        self.start_usd = float(start_usd)
        self.log_returns = r
        sd = r.std(ddof=1)
        self.shocks = (r - r.mean()) / sd if sd > 0 else np.zeros_like(r)
        self.restart_probability = 1.0 / float(block_days)

    def init_state(self, n_paths: int) -> BootstrapPriceState:
        """Return the state of ``n_paths`` paths before day 0."""
        return BootstrapPriceState(
            np.full(n_paths, np.log(self.start_usd)), np.full(n_paths, -1, dtype=np.int64)
        )

    def window(
        self,
        state: BootstrapPriceState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw days ``first_day .. first_day + n_days - 1``; see the module docstring.

        Returns
        -------
        dict[str, numpy.ndarray]
            ``btc_price_usd`` (USD) and ``price_shock`` (standardised return), each
            ``(n_paths, n_days)`` float64.
        """
        n_paths = state.position.shape[0]
        u = rng.random((n_paths, n_days))
        starts = rng.integers(0, self.log_returns.size, size=(n_paths, n_days))
        position = _block_positions(
            state.position, u < self.restart_probability, starts, self.log_returns.size
        )
        state.position = position[:, -1].copy()
        log_returns = self.log_returns[position]
        shocks = self.shocks[position]
        _zero_day_zero(log_returns, first_day)
        _zero_day_zero(shocks, first_day)
        return _advance(state, log_returns, shocks, first_day, self.start_usd)


# ----------------------------------------------------------------------------------- CSV


class CsvPriceProcess(DailySeriesProcess):
    """A deterministic price path, the same on every path, padded with its last value.

    Parameters
    ----------
    values_usd : numpy.ndarray
        ``(n_values,)`` price (USD) of days ``0 .. n_values - 1``, finite and > 0.
    source : str
        Where the values came from, for error messages.

    Outputs ``btc_price_usd`` (USD) and ``price_shock`` (zeros), each ``(n_paths, n_days)``.
    """

    def __init__(self, values_usd: FloatArray, source: str = "<array>") -> None:
        v = np.asarray(values_usd, dtype=np.float64)
        super().__init__(
            {"btc_price_usd": v, "price_shock": np.zeros(max(v.size, 1))},
            source,
            positive=("btc_price_usd",),
            what="prices > 0",
        )
        self.values_usd = self.series["btc_price_usd"]


# ------------------------------------------------------------------------------- kernels


def _history_start_usd(start: dt.date) -> float:
    """The shipped history's price (USD) of the day before ``start``."""
    from hashfleet.history import price_on
    from hashfleet.history.licence import require_non_commercial

    require_non_commercial("market.btc_price.start_usd (default: the history's close)")
    return float(price_on(start - dt.timedelta(days=1)))


def _zero_day_zero(a: FloatArray, first_day: int) -> None:
    """Zero column 0 of ``a`` in place if the window starts at day 0 (day 0 has no return)."""
    if first_day == 0:
        a[:, 0] = 0.0


def _advance(
    state: PriceState,
    log_returns: FloatArray,
    shocks: FloatArray,
    first_day: int,
    start_usd: float,
) -> dict[str, Any]:
    """Accumulate ``(n_paths, n_days)`` log returns onto the state's log price.

    Day 0's price is set to ``start_usd`` exactly (``exp(log(S_0))`` may differ in the last bit).
    """
    log_price = state.log_price_usd[:, None] + np.cumsum(log_returns, axis=1)
    state.log_price_usd = log_price[:, -1].copy()
    price = np.exp(log_price)
    if first_day == 0:
        price[:, 0] = start_usd
    return {"btc_price_usd": price, "price_shock": shocks}


def _block_positions(
    previous: NDArray[np.int64], restart: NDArray[np.bool_], starts: NDArray[np.int64], size: int
) -> NDArray[np.int64]:
    """Positions in history of a stationary bootstrap window, without a loop over days.

    Parameters
    ----------
    previous : numpy.ndarray
        ``(n_paths,)`` position of the last day before the window, -1 if none.
    restart : numpy.ndarray
        ``(n_paths, n_days)`` bool, a new block starts that day.
    starts : numpy.ndarray
        ``(n_paths, n_days)`` int, the position a block starting that day starts at.
    size : int
        Number of historical returns (positions wrap circularly).

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_days)`` int64: on each day, the position of the latest block start
        ``k`` (in the window) plus the days since ``k``; the previous position plus the days
        since the window start if no block started in the window yet.
    """
    n_paths, n_days = restart.shape
    restart = restart.copy()
    restart[:, 0] |= previous < 0
    day = np.arange(n_days)
    last = np.maximum.accumulate(np.where(restart, day, -1), axis=1)
    rows = np.arange(n_paths)[:, None]
    from_block = starts[rows, np.maximum(last, 0)] + (day - last)
    carried = previous[:, None] + 1 + day
    return np.where(last >= 0, from_block, carried) % size
