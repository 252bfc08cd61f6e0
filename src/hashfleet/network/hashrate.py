"""Exogenous network hashrate (EH/s): a daily process for the whole Bitcoin network.

The output ``network_hashrate_ehs`` is ``(n_paths, n_days)``: the network's mean hashrate on
each UTC day, in EH/s (1 EH/s = 1e18 H/s).

Models
------
Growth
    ``H_d = H_0 · (1 + g)^(d/365.25) · exp(X_d − σ²/2)`` with ``g`` the compound growth per
    year.
Difficulty growth (the calculators' convention)
    ``H_d = H_0 · (1 + g)^(d/14) · exp(X_d − σ²/2)`` with ``g`` the growth per nominal 14-day
    epoch ("difficulty grows 2 % per retarget"), compounded daily so the path is smooth.
CSV
    A deterministic path read with :func:`hashfleet.history.read_daily_series`, multiplied by
    ``scale``, day 0 being the start date, padded past its end with the last value.

Noise: ``X`` is an Ornstein–Uhlenbeck process in log units sampled exactly at daily steps,
``X_d = φ·X_{d-1} + σ·sqrt(1 − φ²)·z_d`` with ``φ = 2^(−1/noise_half_life_days)``, stationary
standard deviation ``σ = noise_sigma``, and ``X_0 = σ·z_0`` drawn from the stationary law.  The
noise is **mean-one**: ``E[exp(X_d − σ²/2)] = 1``, so the *expected* hashrate follows the growth
curve exactly (``E[H_d] = H_0·(1+g)^(d/365.25)``) and the median lies ``exp(−σ²/2)`` below it.
Day 0 is therefore noisy too (``H_0`` is its mean, not its value) unless ``σ = 0``, when the
path is the deterministic growth curve.  ``H_0 = start_ehs``, by default the hashrate that
mines 10-minute blocks at the starting difficulty, ``D · 2^32 / 600 / 1e18`` EH/s.

Random draws per window: one ``(n_paths, n_days)`` standard-normal array (none when σ = 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.network.fees import ou_phi, ou_window
from hashfleet.processes import DailySeriesProcess, FloatArray, ProcessContext
from hashfleet.scenario.schema import (
    CsvHashrateSpec,
    DifficultyGrowthHashrateSpec,
    EndogenousHashrateSpec,
    GrowthHashrateSpec,
    InstantResponseHashrateSpec,
)

__all__ = [
    "CsvHashrateProcess",
    "GrowthHashrateProcess",
    "GrowthHashrateState",
    "ZeroHashrateProcess",
    "build_hashrate_process",
    "hashrate_ehs_for_difficulty",
]

#: Length (days) of the nominal epoch of ``growth_per_epoch``: 2016 blocks of 10 minutes.
NOMINAL_EPOCH_DAYS: float = 14.0
HASHRATE_OUTPUTS: tuple[str] = ("network_hashrate_ehs",)


def build_hashrate_process(
    spec: GrowthHashrateSpec
    | DifficultyGrowthHashrateSpec
    | CsvHashrateSpec
    | EndogenousHashrateSpec
    | InstantResponseHashrateSpec,
    ctx: ProcessContext,
) -> GrowthHashrateProcess | CsvHashrateProcess | ZeroHashrateProcess:
    """Build the exogenous network hashrate process of a scenario.

    Parameters
    ----------
    spec : GrowthHashrateSpec | DifficultyGrowthHashrateSpec | CsvHashrateSpec
        The ``network.hashrate`` section.
    ctx : hashfleet.processes.ProcessContext
        Run context: ``initial_difficulty`` gives the default start hashrate, ``start`` and
        ``horizon_days`` the CSV window.

    Returns
    -------
    ExogenousProcess
        With the output ``("network_hashrate_ehs",)``, ``(n_paths, n_days)`` EH/s.  The
        endogenous and instant-response models get a :class:`ZeroHashrateProcess`: their
        engine components (:mod:`hashfleet.network.supply`, :mod:`hashfleet.network.instant`)
        provide the hashrate.
    """
    if isinstance(spec, EndogenousHashrateSpec | InstantResponseHashrateSpec):
        return ZeroHashrateProcess()
    if isinstance(spec, CsvHashrateSpec):
        from hashfleet.history import read_daily_series

        values = read_daily_series(
            spec.path, spec.date_column, spec.column, ctx.start, ctx.horizon_days
        )
        return CsvHashrateProcess(np.asarray(values, dtype=np.float64) * spec.scale, spec.path)
    start_ehs = (
        spec.start_ehs
        if spec.start_ehs is not None
        else hashrate_ehs_for_difficulty(ctx.initial_difficulty)
    )
    if isinstance(spec, DifficultyGrowthHashrateSpec):
        log_growth_per_day = np.log1p(spec.growth_per_epoch) / NOMINAL_EPOCH_DAYS
    else:
        log_growth_per_day = np.log1p(spec.growth_per_year) / DAYS_PER_YEAR
    return GrowthHashrateProcess(
        start_ehs,
        float(log_growth_per_day),
        noise_sigma=spec.noise_sigma,
        noise_half_life_days=spec.noise_half_life_days,
    )


def hashrate_ehs_for_difficulty(difficulty: float) -> float:
    """Hashrate (EH/s) that mines one block per 600 s at ``difficulty``: ``D·2^32/600/1e18``."""
    return float(difficulty) * 2.0**32 / 600.0 / 1e18


@dataclass
class GrowthHashrateState:
    """State of the growth hashrate process for one stream block.

    Attributes
    ----------
    n_paths : int
        Number of paths.
    log_noise : numpy.ndarray or None
        ``(n_paths,)`` OU noise ``X`` (log units) of the last day drawn; None before day 0.
    """

    n_paths: int
    log_noise: FloatArray | None = None


class GrowthHashrateProcess:
    """Hashrate on a compound growth curve with mean-one mean-reverting lognormal noise.

    Parameters
    ----------
    start_ehs : float
        Mean hashrate on day 0 (EH/s), > 0.
    log_growth_per_day : float
        ``log(1 + g)`` per day: ``log1p(growth_per_year)/365.25`` or
        ``log1p(growth_per_epoch)/14``.
    noise_sigma : float
        Stationary standard deviation σ of the log noise, >= 0 (0 = deterministic).
    noise_half_life_days : float
        Half-life of the noise's reversion (days), > 0.
    """

    outputs: tuple[str, ...] = HASHRATE_OUTPUTS

    def __init__(
        self,
        start_ehs: float,
        log_growth_per_day: float,
        *,
        noise_sigma: float = 0.0,
        noise_half_life_days: float = 30.0,
    ) -> None:
        if not start_ehs > 0:
            raise ValueError(f"start_ehs: expected > 0 EH/s, got {start_ehs}")
        if not noise_sigma >= 0:
            raise ValueError(f"noise_sigma: expected >= 0, got {noise_sigma}")
        self.log_start_ehs = float(np.log(start_ehs))
        self.log_growth_per_day = float(log_growth_per_day)
        self.sigma = float(noise_sigma)
        self.phi = ou_phi(noise_half_life_days)

    def init_state(self, n_paths: int) -> GrowthHashrateState:
        """Return the state of ``n_paths`` paths before day 0."""
        return GrowthHashrateState(n_paths)

    def window(
        self,
        state: GrowthHashrateState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw days ``first_day .. first_day + n_days - 1``; see the module docstring.

        Returns
        -------
        dict[str, numpy.ndarray]
            ``network_hashrate_ehs`` (EH/s), ``(n_paths, n_days)`` float64.
        """
        days = np.arange(first_day, first_day + n_days, dtype=np.float64)
        log_trend = self.log_start_ehs + self.log_growth_per_day * days
        if self.sigma == 0.0:
            return {
                "network_hashrate_ehs": np.broadcast_to(
                    np.exp(log_trend), (state.n_paths, n_days)
                ).copy()
            }
        z = rng.standard_normal((state.n_paths, n_days))
        x = ou_window(state.log_noise, z, self.sigma, self.phi)
        state.log_noise = x[:, -1].copy()
        return {"network_hashrate_ehs": np.exp(log_trend + x - 0.5 * self.sigma**2)}


class CsvHashrateProcess(DailySeriesProcess):
    """A deterministic hashrate path (EH/s), the same on every path, padded with its last value.

    Parameters
    ----------
    values_ehs : numpy.ndarray
        ``(n_values,)`` hashrate (EH/s) of days ``0 .. n_values - 1``, finite and > 0.
    source : str
        Where the values came from, for error messages.
    """

    def __init__(self, values_ehs: FloatArray, source: str = "<array>") -> None:
        super().__init__(
            {"network_hashrate_ehs": values_ehs},
            source,
            positive=("network_hashrate_ehs",),
            what="hashrate > 0 EH/s",
        )
        self.values_ehs = self.series["network_hashrate_ehs"]


class ZeroHashrateProcess(DailySeriesProcess):
    """Placeholder output (zeros, no draws) when a component provides the hashrate."""

    def __init__(self) -> None:
        super().__init__({"network_hashrate_ehs": np.zeros(1)})
