"""Endogenous hashrate: the rest of the world's miners respond to hashprice.

The rest of the network (every miner but our fleet) is an **installed base of machines by
efficiency vintage** on a fixed grid of J/TH buckets, ``installed_hs`` of shape
``(n_paths, n_vintages)`` in H/s of capacity.  Each day:

Running share (switch-off)
    World miners' all-in power costs ``c`` (USD/MWh) are lognormal with median
    ``power_cost_median_usd_per_mwh`` and log standard deviation ``power_cost_sigma``.  A machine
    of efficiency ``e`` (J/TH) covers its power cost when ``c ≤ c*(e)``, the break-even power
    price ``c*(e) = (hashprice / 1000) / (e · 86400 / 3.6e9)`` USD/MWh, with hashprice in
    USD/(PH/s)/day (1 TH/s at ``e`` J/TH draws ``e·86400/3.6e9`` MWh a day).  The target running
    share of vintage ``v`` is therefore ``Φ((log c*(e_v) − log median) / sigma)``, a smooth
    function of hashprice.  The actual share moves towards it with half-life
    ``switch_half_life_days`` (0 = at once).  Hashprice here is the expected FPPS rate at the
    start of the day: the day's price, the current difficulty, the next block's subsidy and
    the day's fees.
Investment
    The frontier's relative margin ``ρ = 1 − c_median / c*(e_frontier)`` (computed from the
    day's *realised* hashprice) is smoothed by an EWMA with half-life
    ``investment_memory_days``.  Orders placed today, in H/s, are
    ``installed · investment_rate_per_year / 365.25 · max(ρ̄ − threshold, 0)``; they sit in a
    pipeline for ``lead_time_days`` days and arrive at the efficiency frontier of their arrival
    day, ``e_f(d) = frontier_j_per_th · (1 − improvement)^(d / 365.25)``.  A new machine lands
    on the grid by log-linear interpolation between the two nearest buckets.
Retirement
    An EWMA (half-life ``retirement_memory_days``) of each vintage's *idle* share is kept;
    vintages retire at the rate ``retirement_rate_per_year · idle_ewma`` per year, so only
    capacity that has been unprofitable for long goes.
Shocks
    A share of the rest of the network goes offline (regional ban, storm) and comes back
    with half-life ``shock_recovery_half_life_days``: ``offline ← 1 − (1 − offline)(1 − s)``
    at a shock, then ``offline ← offline · 2^(−1/h)`` daily.  Shocks are scheduled (dates) or
    random: per path and day a shock happens with probability ``rate / 365.25`` and its size is
    ``shock_share · U(0.5, 1.5)`` (capped below 1).  Two uniforms per path and day are drawn
    from the ``network_supply`` stream, so the amount drawn depends only on the stream block.

The rest of the network runs ``Σ_v installed_v · share_v · (1 − offline)`` H/s.

Initial state (day 0): machines bought over the last ``max_age_years`` with an age profile
``∝ exp(−g_age · age)`` (installed capacity grew at ``g_age`` per year), each at the frontier of
its purchase date; scaled so that the running hashrate at day 0's hashprice equals the starting
rest-of-network hashrate.  The pipeline is filled with the orders day 0's margin implies, as if
it had held for the last ``lead_time_days``.

Everything is vectorised over ``(n_paths, n_vintages)``; no loop over paths.

The component that runs this model inside the engine, and the resolution of the scenario's
``network.hashrate: endogenous`` section, are in :mod:`hashfleet.network.supply`; this module
holds the parameters, the state and the daily kernels (pure functions of arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.network.blocks import SECONDS_PER_DAY
from hashfleet.numeric import rows_dot, rows_sum

__all__ = [
    "MWH_PER_TH_DAY_PER_J_PER_TH",
    "VINTAGE_GRID_J_PER_TH",
    "SupplyParams",
    "SupplyState",
    "break_even_usd_per_mwh",
    "frontier_margin",
    "initial_supply_state",
    "supply_running_hs",
    "supply_update",
    "target_running_share",
    "vintage_grid",
]

FloatArray = NDArray[np.float64]
#: MWh drawn in a day by 1 TH/s at 1 J/TH.
MWH_PER_TH_DAY_PER_J_PER_TH = SECONDS_PER_DAY / 3.6e9
#: The vintage grid: log-spaced efficiency buckets (J/TH), most efficient first.
VINTAGE_GRID_J_PER_TH: FloatArray = np.geomspace(2.0, 400.0, 56)


def break_even_usd_per_mwh(
    hashprice_usd_per_ph_day: FloatArray, efficiency_j_per_th: FloatArray
) -> FloatArray:
    """Power price (USD/MWh) at which a machine's revenue equals its power cost.

    Parameters
    ----------
    hashprice_usd_per_ph_day : ndarray, shape (n_paths,)
        Revenue of 1 PH/s over a day (USD).
    efficiency_j_per_th : ndarray, shape (n_vintages,)

    Returns
    -------
    ndarray, shape (n_paths, n_vintages)
    """
    usd_per_th_day = np.asarray(hashprice_usd_per_ph_day, dtype=np.float64)[:, None] / 1000.0
    return usd_per_th_day / (efficiency_j_per_th[None, :] * MWH_PER_TH_DAY_PER_J_PER_TH)


@dataclass(frozen=True)
class SupplyParams:
    """Parameters of the supply model (see the module docstring for the equations).

    Attributes
    ----------
    grid_j_per_th : ndarray, shape (n_vintages,)
        Vintage efficiencies (J/TH).
    power_cost_median_usd_per_mwh, power_cost_sigma : float
        Lognormal power cost of the world's miners: median (USD/MWh) and log std.
    frontier_j_per_th : float
        Efficiency frontier on day 0 (J/TH).
    frontier_improvement_per_year : float
        Yearly fall of the frontier's J/TH (0.2 = −20 %/year).
    age_growth_per_year, max_age_years : float
        Initial age profile ``∝ exp(−g·age)`` on ``[0, max_age]`` years.
    investment_rate_per_year, investment_margin_threshold, investment_memory_days : float
        Orders per day = installed · rate/365.25 · max(EWMA(ρ) − threshold, 0).
    lead_time_days : int
        Days from order to arrival (≥ 1).
    retirement_rate_per_year, retirement_memory_days : float
        Retirement rate of fully idle capacity, and the idle EWMA half-life (days).
    switch_half_life_days : float
        Half-life of the running share's move to its target (0 = at once).
    shock_rate_per_year, shock_share, shock_recovery_half_life_days : float
        Random shocks (see the module docstring).
    scheduled_shocks : tuple of (day, share)
        Shocks on given days (days since the start).

    The fitted fields (power cost median and sigma, investment rate and threshold, retirement
    rate, switching half-life) may also be per-path arrays of shape ``(n_paths,)``
    (:mod:`hashfleet.network.parameters` draws them); the equations broadcast over paths.
    """

    power_cost_median_usd_per_mwh: float
    power_cost_sigma: float
    frontier_j_per_th: float
    frontier_improvement_per_year: float = 0.2
    age_growth_per_year: float = 0.5
    max_age_years: float = 8.0
    investment_rate_per_year: float = 2.0
    investment_margin_threshold: float = 0.3
    investment_memory_days: float = 60.0
    lead_time_days: int = 120
    retirement_rate_per_year: float = 0.5
    retirement_memory_days: float = 90.0
    switch_half_life_days: float = 2.0
    shock_rate_per_year: float = 0.0
    shock_share: float = 0.15
    shock_recovery_half_life_days: float = 30.0
    scheduled_shocks: tuple[tuple[int, float], ...] = ()
    grid_j_per_th: FloatArray = field(default_factory=lambda: VINTAGE_GRID_J_PER_TH.copy())

    def frontier(self, day: float | FloatArray) -> Any:
        """Frontier efficiency (J/TH) on ``day`` (days since the start; may be negative)."""
        return self.frontier_j_per_th * (1.0 - self.frontier_improvement_per_year) ** (
            np.asarray(day, dtype=np.float64) / DAYS_PER_YEAR
        )


@dataclass
class SupplyState:
    """Per-path state of the rest of the network.

    Attributes
    ----------
    installed_hs : ndarray, shape (n_paths, n_vintages)
        Installed capacity by vintage (H/s).
    running_share : ndarray, shape (n_paths, n_vintages)
        Share of each vintage running.
    idle_ewma : ndarray, shape (n_paths, n_vintages)
        EWMA of each vintage's idle share (drives retirement).
    margin_ewma : ndarray, shape (n_paths,)
        EWMA of the frontier's relative margin ρ.
    pipeline_hs : ndarray, shape (n_paths, lead_time_days)
        Orders in transit (H/s); column ``d % L`` arrives on day ``d``.
    offline : ndarray, shape (n_paths,)
        Share of the rest of the network offline because of shocks.
    orders_hs : ndarray, shape (n_paths,)
        Orders placed on the last updated day (H/s).
    """

    installed_hs: FloatArray
    running_share: FloatArray
    idle_ewma: FloatArray
    margin_ewma: FloatArray
    pipeline_hs: FloatArray
    offline: FloatArray
    orders_hs: FloatArray

    @property
    def installed_total_hs(self) -> FloatArray:
        """Installed capacity (H/s), shape (n_paths,)."""
        return rows_sum(self.installed_hs)


def vintage_grid(
    frontier_j_per_th: float,
    improvement_per_year: float,
    max_age_years: float,
    horizon_days: int,
    grid: FloatArray = VINTAGE_GRID_J_PER_TH,
) -> FloatArray:
    """The buckets of ``grid`` a run can ever fill, with one spare on each side.

    Capacity is only ever deposited at the frontier — of ``max_age_years`` ago at the start,
    of each day of the run afterwards — and spread over the two buckets around it, so the
    other buckets stay empty; leaving them out of the ``(paths × vintages)`` arrays changes
    no result beyond rounding and saves work in proportion (with the defaults from 2024: 25
    of the 56 buckets for a one-year run, 42 for ten years).
    """
    ends = frontier_j_per_th * (1.0 - improvement_per_year) ** (
        np.array([-max_age_years * DAYS_PER_YEAR, horizon_days + 1.0]) / DAYS_PER_YEAR
    )
    lg = np.log(grid)
    lo = int(np.searchsorted(lg, np.log(ends.min()))) - 2
    hi = int(np.searchsorted(lg, np.log(ends.max()))) + 2
    out: FloatArray = grid[max(lo, 0) : min(hi, grid.size)].copy()
    return out


def target_running_share(params: SupplyParams, hashprice_usd_per_ph_day: FloatArray) -> FloatArray:
    """Share of each vintage whose power cost is covered, shape (n_paths, n_vintages)."""
    # z = (ln break-even − ln median)/σ, break-even = hashprice/(1000·J/TH·MWh per TH-day):
    # one log per path, one fused affine map per vintage
    inv = 1.0 / _per_path(params.power_cost_sigma)
    shift = (
        -np.log(
            1000.0
            * params.grid_j_per_th
            * MWH_PER_TH_DAY_PER_J_PER_TH
            * _per_path(params.power_cost_median_usd_per_mwh)
        )
        * inv
    )
    log_hp = np.log(np.maximum(np.asarray(hashprice_usd_per_ph_day, dtype=np.float64), 1e-300))
    z = log_hp[:, None] * inv + shift
    out: FloatArray = ndtr(z, out=z)
    return out


def frontier_margin(params: SupplyParams, day: int, hashprice: FloatArray) -> FloatArray:
    """Relative margin ρ of a frontier machine at the median power cost, shape (n_paths,)."""
    be = break_even_usd_per_mwh(hashprice, np.atleast_1d(params.frontier(day)))[:, 0]
    out: FloatArray = 1.0 - params.power_cost_median_usd_per_mwh / np.maximum(be, 1e-300)
    return np.maximum(out, -10.0)


def initial_supply_state(
    params: SupplyParams, rest_hs: FloatArray, hashprice_usd_per_ph_day: FloatArray
) -> SupplyState:
    """The state on day 0 (see the module docstring).

    Parameters
    ----------
    params : SupplyParams
    rest_hs : ndarray, shape (n_paths,)
        Running hashrate of the rest of the network on day 0 (H/s), ≥ 0.
    hashprice_usd_per_ph_day : ndarray, shape (n_paths,)
        Expected hashprice at the start of day 0.
    """
    n = rest_hs.shape[0]
    grid = params.grid_j_per_th
    age_days = np.arange(0.0, params.max_age_years * DAYS_PER_YEAR, 7.0)
    weights = np.exp(-params.age_growth_per_year * age_days / DAYS_PER_YEAR)
    profile = _deposit(grid, params.frontier(-age_days), weights)
    profile /= profile.sum()
    share = target_running_share(params, hashprice_usd_per_ph_day)
    running_per_unit = rows_dot(share, profile)  # (n_paths,)
    scale = np.divide(rest_hs, running_per_unit, out=np.zeros(n), where=running_per_unit > 0)
    installed = scale[:, None] * profile[None, :]
    margin = frontier_margin(params, 0, hashprice_usd_per_ph_day)
    orders = _orders(params, rows_sum(installed), margin)
    L = max(int(params.lead_time_days), 1)
    offline = np.zeros(n)
    for shock_day, s in params.scheduled_shocks:
        if shock_day == 0:
            offline = 1.0 - (1.0 - offline) * (1.0 - s)
    return SupplyState(
        installed_hs=installed,
        running_share=share,
        idle_ewma=1.0 - share,
        margin_ewma=margin,
        pipeline_hs=np.repeat(orders[:, None], L, axis=1),
        offline=offline,
        orders_hs=orders,
    )


def supply_running_hs(
    state: SupplyState, params: SupplyParams, hashprice_usd_per_ph_day: FloatArray
) -> FloatArray:
    """Move the running shares towards today's target; return the running H/s, (n_paths,)."""
    target = target_running_share(params, hashprice_usd_per_ph_day)
    if np.ndim(params.switch_half_life_days) or params.switch_half_life_days > 0:
        keep = 0.5 ** (1.0 / _per_path(params.switch_half_life_days))
        target *= 1.0 - keep
        target += keep * state.running_share
        state.running_share = target
    else:
        state.running_share = target
    running: FloatArray = np.einsum("pv,pv->p", state.installed_hs, state.running_share)
    return running * (1.0 - state.offline)


def supply_update(
    state: SupplyState,
    params: SupplyParams,
    day: int,
    realised_hashprice_usd_per_ph_day: FloatArray,
    shock_uniforms: FloatArray | None = None,
) -> None:
    """End-of-day update: margins, orders, arrivals, retirement and shocks (in place).

    Parameters
    ----------
    state : SupplyState
    params : SupplyParams
    day : int
        Days since the start (the day just simulated).
    realised_hashprice_usd_per_ph_day : ndarray, shape (n_paths,)
        The day's realised FPPS rate (USD/(PH/s)/day).
    shock_uniforms : ndarray, shape (n_paths, 2), optional
        U(0, 1) draws for random shocks (occurrence, size); required when the rate is > 0.
    """
    ew = 0.5 ** (1.0 / params.investment_memory_days)
    margin = frontier_margin(params, day, realised_hashprice_usd_per_ph_day)
    state.margin_ewma = ew * state.margin_ewma + (1.0 - ew) * margin
    # retirement of long-idle capacity
    er = 0.5 ** (1.0 / params.retirement_memory_days)
    idle = state.idle_ewma
    idle *= er
    idle += (1.0 - er) * (1.0 - state.running_share)
    # the share kept is 1 − retired = exp(−rate/365.25 · idle EWMA)
    state.installed_hs *= np.exp(
        (-_per_path(params.retirement_rate_per_year) / DAYS_PER_YEAR) * idle
    )
    # orders and arrivals
    L = state.pipeline_hs.shape[1]
    col = day % L
    arrivals = state.pipeline_hs[:, col].copy()
    orders = _orders(params, state.installed_total_hs, state.margin_ewma)
    state.pipeline_hs[:, col] = orders
    state.orders_hs = orders
    if arrivals.any():
        w = _deposit(params.grid_j_per_th, np.atleast_1d(params.frontier(day + 1)), np.ones(1))
        nz = np.flatnonzero(w)  # the (at most two) buckets around the frontier; adding
        # zero to the others would change nothing
        state.installed_hs[:, nz] += arrivals[:, None] * w[nz][None, :]
    # shocks
    if params.shock_recovery_half_life_days > 0:
        state.offline *= 0.5 ** (1.0 / params.shock_recovery_half_life_days)
    for shock_day, share in params.scheduled_shocks:
        if shock_day == day + 1:
            state.offline = 1.0 - (1.0 - state.offline) * (1.0 - share)
    if params.shock_rate_per_year > 0 and shock_uniforms is not None:
        hit = shock_uniforms[:, 0] < params.shock_rate_per_year / DAYS_PER_YEAR
        size = np.minimum(params.shock_share * (0.5 + shock_uniforms[:, 1]), 0.99)
        state.offline = np.where(hit, 1.0 - (1.0 - state.offline) * (1.0 - size), state.offline)


def _orders(params: SupplyParams, installed_hs: FloatArray, margin: FloatArray) -> FloatArray:
    """Orders placed in a day (H/s), shape (n_paths,)."""
    excess = np.maximum(margin - params.investment_margin_threshold, 0.0)
    out: FloatArray = installed_hs * params.investment_rate_per_year / DAYS_PER_YEAR * excess
    return out


def _per_path(x: Any) -> Any:
    """A parameter as given (a float) or, as a per-path array (n_paths,), a column (n_paths, 1)."""
    return x[:, None] if np.ndim(x) else x


def _deposit(grid: FloatArray, efficiency: FloatArray, weights: FloatArray) -> FloatArray:
    """Spread capacity ``weights`` at ``efficiency`` (J/TH) over the grid, log-linearly.

    Returns
    -------
    ndarray, shape (n_vintages,)
    """
    lg = np.log(grid)
    x = np.clip(np.log(efficiency), lg[0], lg[-1])
    i = np.clip(np.searchsorted(lg, x) - 1, 0, grid.size - 2)
    f = (x - lg[i]) / (lg[i + 1] - lg[i])
    out = np.zeros(grid.size)
    np.add.at(out, i, weights * (1.0 - f))
    np.add.at(out, i + 1, weights * f)
    return out
