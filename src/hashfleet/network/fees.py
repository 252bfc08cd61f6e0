"""Transaction fees per block (BTC): a daily exogenous process.

The output ``fees_btc_per_block`` is ``(n_paths, n_days)``, the mean fees (BTC) of a block
mined on that UTC day.

Models
------
Constant
    The same fees every day on every path; nothing is drawn.
Lognormal with mean reversion and spikes
    ``F_d = median · exp(X_d) · M^{S_d}``.  ``X`` is an Ornstein–Uhlenbeck process in log units
    sampled exactly at daily steps: ``X_d = φ·X_{d-1} + σ·sqrt(1 − φ²)·e_d`` with
    ``φ = 2^(−1/half_life_days)`` (so the autocorrelation halves every ``half_life_days``) and
    stationary standard deviation ``σ``; ``X_0 = σ·e_0`` is drawn from the stationary law, so
    ``median`` is the median of the stationary fees outside spikes.  The innovations are
    correlated with the BTC price's diffusion shocks ``z_p`` (input ``price_shock``):
    ``e_d = ρ·z_p,d + sqrt(1 − ρ²)·z_d`` with ``z_d`` independent standard normals (day 0, which
    has no price return, uses ``e_0 = z_0``).  ``S_d ∈ {0, 1}`` is a two-state Markov regime:
    off → on with daily probability ``1 − exp(−rate/365.25)`` (spikes start as a Poisson
    process with ``spike_rate_per_year``), on → off with ``1 − exp(−1/duration_days)``
    (exponential durations with mean ``spike_duration_days``); ``S_0`` is drawn from the chain's
    stationary law, whose share of time on is ``p_on/(p_on + p_off) ≈ r·D/(1 + r·D)`` with
    ``r`` the daily rate and ``D`` the mean duration.  ``M = spike_multiplier``.

Random draws per window, all ``(n_paths, n_days)`` and drawn before the recursions: standard
normals ``z``, then uniforms for the regime.

:func:`ou_window` is the exact OU kernel shared with the exogenous hashrate noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.errors import InputError
from hashfleet.processes import FloatArray, ProcessContext
from hashfleet.scenario.schema import ConstantFeesSpec, LognormalFeesSpec

__all__ = [
    "ConstantFeeProcess",
    "LognormalFeeProcess",
    "LognormalFeeState",
    "build_fee_process",
    "ou_phi",
    "ou_window",
]

FEE_OUTPUTS: tuple[str] = ("fees_btc_per_block",)


def build_fee_process(
    spec: ConstantFeesSpec | LognormalFeesSpec, ctx: ProcessContext
) -> ConstantFeeProcess | LognormalFeeProcess:
    """Build the fee process of a scenario.

    Parameters
    ----------
    spec : ConstantFeesSpec | LognormalFeesSpec
        The ``network.fees`` section.
    ctx : hashfleet.processes.ProcessContext
        Run context (unused: fees do not depend on dates).

    Returns
    -------
    ExogenousProcess
        With the output ``("fees_btc_per_block",)``, ``(n_paths, n_days)`` BTC per block.
    """
    if isinstance(spec, ConstantFeesSpec):
        return ConstantFeeProcess(spec.btc_per_block)
    return LognormalFeeProcess(
        spec.median_btc_per_block,
        sigma=spec.sigma,
        half_life_days=spec.half_life_days,
        spike_rate_per_year=spec.spike_rate_per_year,
        spike_multiplier=spec.spike_multiplier,
        spike_duration_days=spec.spike_duration_days,
        price_correlation=spec.price_correlation,
    )


def ou_phi(half_life_days: float) -> float:
    """Daily autoregressive coefficient ``φ = 2^(−1/half_life_days)`` of an OU process."""
    return float(2.0 ** (-1.0 / half_life_days))


def ou_window(
    previous: FloatArray | None, shocks: FloatArray, sigma: float, phi: float
) -> FloatArray:
    """Exact daily OU recursion over a window, along axis 1 with ``scipy.signal.lfilter``.

    ``X_d = φ·X_{d-1} + σ·sqrt(1 − φ²)·e_d``; with no previous value (the first window),
    ``X_0 = σ·e_0`` is the stationary law.

    Parameters
    ----------
    previous : numpy.ndarray or None
        ``(n_paths,)`` value on the day before the window (log units); None before day 0.
    shocks : numpy.ndarray
        ``(n_paths, n_days)`` standard-normal innovations ``e``.
    sigma : float
        Stationary standard deviation (log units), >= 0.
    phi : float
        Daily autoregressive coefficient in (0, 1).

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_days)`` float64 values ``X`` of the window's days.
    """
    innovations = sigma * np.sqrt(1.0 - phi * phi) * shocks
    if previous is None:
        innovations[:, 0] = sigma * shocks[:, 0]
        previous = np.zeros(shocks.shape[0])
    x, _ = lfilter([1.0], [1.0, -phi], innovations, axis=1, zi=phi * previous[:, None])
    return np.asarray(x, dtype=np.float64)


class ConstantFeeProcess:
    """The same fees (BTC per block) on every day and path.

    Parameters
    ----------
    btc_per_block : float
        Fees per block (BTC), >= 0.
    """

    outputs: tuple[str, ...] = FEE_OUTPUTS

    def __init__(self, btc_per_block: float) -> None:
        if not btc_per_block >= 0:
            raise ValueError(f"btc_per_block: expected >= 0, got {btc_per_block}")
        self.btc_per_block = float(btc_per_block)

    def init_state(self, n_paths: int) -> int:
        """Return the number of paths (the process has no other state)."""
        return n_paths

    def window(
        self,
        state: int,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Return ``(n_paths, n_days)`` constant fees (BTC per block); draws nothing."""
        return {"fees_btc_per_block": np.full((state, n_days), self.btc_per_block)}


@dataclass
class LognormalFeeState:
    """State of the lognormal fee process for one stream block.

    Attributes
    ----------
    n_paths : int
        Number of paths.
    log_deviation : numpy.ndarray or None
        ``(n_paths,)`` OU value ``X`` (log units) of the last day drawn; None before day 0.
    spike : numpy.ndarray or None
        ``(n_paths,)`` bool, spike regime on on the last day drawn; None before day 0.
    """

    n_paths: int
    log_deviation: FloatArray | None = None
    spike: NDArray[np.bool_] | None = None


class LognormalFeeProcess:
    """Mean-reverting lognormal fees with spikes, optionally correlated with the BTC price.

    Parameters
    ----------
    median_btc_per_block : float
        Long-run median fees outside spikes (BTC per block), > 0.
    sigma : float
        Stationary standard deviation of log fees (log units), >= 0.
    half_life_days : float
        Half-life of the reversion of log fees to the median (days), > 0.
    spike_rate_per_year : float
        Rate at which spikes start (1/year), >= 0.
    spike_multiplier : float
        Fees during a spike are this multiple of the base level, >= 1.
    spike_duration_days : float
        Mean spike duration (days), > 0.
    price_correlation : float
        Correlation ρ in [-1, 1] of the log-fee innovations with ``price_shock``.
    """

    outputs: tuple[str, ...] = FEE_OUTPUTS

    def __init__(
        self,
        median_btc_per_block: float,
        *,
        sigma: float = 0.5,
        half_life_days: float = 14.0,
        spike_rate_per_year: float = 0.0,
        spike_multiplier: float = 5.0,
        spike_duration_days: float = 7.0,
        price_correlation: float = 0.0,
    ) -> None:
        if not median_btc_per_block > 0:
            raise ValueError(f"median_btc_per_block: expected > 0, got {median_btc_per_block}")
        if not -1.0 <= price_correlation <= 1.0:
            raise ValueError(f"price_correlation: expected in [-1, 1], got {price_correlation}")
        self.log_median = float(np.log(median_btc_per_block))
        self.sigma = float(sigma)
        self.phi = ou_phi(half_life_days)
        self.rho = float(price_correlation)
        self.log_multiplier = float(np.log(spike_multiplier))
        self.p_start = float(-np.expm1(-spike_rate_per_year / DAYS_PER_YEAR))
        self.p_end = float(-np.expm1(-1.0 / spike_duration_days))
        self.spike_share = self.p_start / (self.p_start + self.p_end)

    def init_state(self, n_paths: int) -> LognormalFeeState:
        """Return the state of ``n_paths`` paths before day 0."""
        return LognormalFeeState(n_paths)

    def window(
        self,
        state: LognormalFeeState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw days ``first_day .. first_day + n_days - 1``; see the module docstring.

        Parameters
        ----------
        inputs
            Needs ``"price_shock"`` ``(n_paths, n_days)`` when ``price_correlation != 0``.

        Returns
        -------
        dict[str, numpy.ndarray]
            ``fees_btc_per_block`` (BTC per block), ``(n_paths, n_days)`` float64.
        """
        shape = (state.n_paths, n_days)
        z = rng.standard_normal(shape)
        u = rng.random(shape)
        shocks = self._correlate(z, inputs, first_day, shape)
        x = ou_window(state.log_deviation, shocks, self.sigma, self.phi)
        state.log_deviation = x[:, -1].copy()
        spike = _two_state_chain(state.spike, u, self.p_start, self.p_end, self.spike_share)
        state.spike = spike[:, -1].copy()
        log_fees = self.log_median + x + self.log_multiplier * spike
        return {"fees_btc_per_block": np.exp(log_fees)}

    def _correlate(
        self,
        z: FloatArray,
        inputs: Mapping[str, FloatArray],
        first_day: int,
        shape: tuple[int, int],
    ) -> FloatArray:
        """Innovations ``ρ·z_p + sqrt(1 − ρ²)·z``; day 0 (no price return) keeps ``z``."""
        if self.rho == 0.0:
            return z
        price_shock = inputs.get("price_shock")
        if price_shock is None or price_shock.shape != shape:
            got = "nothing" if price_shock is None else f"shape {price_shock.shape}"
            raise InputError(
                f"price_correlation={self.rho}: expected input 'price_shock' of shape {shape}, "
                f"got {got}; draw the BTC price before the fees"
            )
        e = self.rho * price_shock + np.sqrt(1.0 - self.rho**2) * z
        if first_day == 0:
            e[:, 0] = z[:, 0]
        return e


def _two_state_chain(
    previous: NDArray[np.bool_] | None,
    u: FloatArray,
    p_start: float,
    p_end: float,
    stationary_on: float,
) -> NDArray[np.bool_]:
    """Run a two-state Markov chain over a window from pre-drawn uniforms.

    Parameters
    ----------
    previous : numpy.ndarray or None
        ``(n_paths,)`` bool state of the day before the window; None before day 0, when day
        0's state is drawn from the stationary law (on with probability ``stationary_on``).
    u : numpy.ndarray
        ``(n_paths, n_days)`` uniforms on [0, 1).
    p_start, p_end : float
        Daily probabilities off → on and on → off.
    stationary_on : float
        Stationary probability of the on state.

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_days)`` bool, on/off per day.
    """
    on = np.empty(u.shape, dtype=np.bool_)
    first = 0
    if previous is None:
        on[:, 0] = u[:, 0] < stationary_on
        state, first = on[:, 0], 1
    else:
        state = previous
    for d in range(first, u.shape[1]):
        state = np.where(state, u[:, d] >= p_end, u[:, d] < p_start)
        on[:, d] = state
    return on
