"""Daily fleet operation: which cohorts run, under the sites' power limits, and what it costs.

A cohort runs on a day when the revenue it expects at the start of the day (the expected
payout per TH at the current difficulty, subsidy and fee level, after pool fee) covers its
power cost per TH (``efficiency · PUE · 24 h · price``).  A site's grid capacity is a hard
limit on the power drawn (IT power × PUE): running cohorts are admitted in merit order (most
efficient first) and the cohort that crosses the limit runs only in part.

Cohorts are stored in merit order (by site, then efficiency).  Because a site's cohorts share
its PUE and power price, the profitable cohorts of a site are a *prefix* of its merit order,
so the power each cohort may draw under the site limit — :attr:`FleetState.available_mw` —
depends only on what is installed and is recomputed only when that changes (a calendar event),
not every day.  A day's dispatch is then one comparison and one matrix product.  (Per-cohort
power prices or operating modes will break the prefix property and need the general cumulative
form; see :func:`available_mw`.)

Sites whose power is not a flat price (index, time-of-use, fixed with resale, demand-response
calls, coincident peak; see :mod:`hashfleet.market.power`) are dispatched hour by hour:
within a site the running cohorts in any hour are still a prefix of the merit order (a more
efficient cohort has a higher break-even price), so the same precomputed ``available_mw``
bounds every hour's load by the capacity.  Fleets of flat-price sites keep the daily path.

Failed units (``FleetState.down_units``) do not hash and do not count against the limit;
hashrate degradation scales each cohort's TH/s per MW (``FleetState.hashrate_factor``).
Operating modes are applied when compiling (hashrate and power scaled); a cohort with
``mode: best`` is compiled at stock and gets per-path scales each day
(:meth:`FleetState.set_modes`, chosen by :func:`hashfleet.fleet.machines.choose_best_modes`).

Arrays: static cohort properties are ``(n_cohorts,)``; per-path state is
``(n_paths, n_cohorts)``.  No loop over paths; a loop over non-flat sites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.fleet.arrays import (
    BUILTIN_MODES,
    HOURS_PER_DAY,
    FleetArrays,
    available_mw,
    compile_fleet,
    site_limited_mw,
)
from hashfleet.market.power import FleetPower, site_day
from hashfleet.numeric import rows_dot, rows_sum, segment_sums

__all__ = [
    "BUILTIN_MODES",
    "HOURS_PER_DAY",
    "Dispatch",
    "FleetArrays",
    "FleetState",
    "available_mw",
    "compile_fleet",
    "dispatch",
    "site_limited_mw",
]


@dataclass
class FleetState:
    """Per-path fleet state and what is derived from it between calendar events.

    Attributes
    ----------
    installed_units : ndarray, shape (n_paths, n_cohorts)
        Machines installed (working or down).
    down_units : ndarray, shape (n_paths, n_cohorts)
        Installed machines failed and not yet back (they neither hash nor draw power).
    hashrate_factor : ndarray, shape (n_cohorts,)
        Hashrate of a unit relative to its mode's new figure (degradation); set it with
        :meth:`set_hashrate_factor`.
    available_mw : ndarray, shape (n_paths, n_cohorts)
        :func:`available_mw` of the working units; call :meth:`refresh` after changing units.
    available_total_mw : ndarray, shape (n_paths,)
        Its sum over cohorts.
    installed_th_s : ndarray, shape (n_paths,)
        Installed hashrate (TH/s) at the mode's new figure, down units included.
    arrival_hook : callable ``(cohort, units) -> units`` or None
        Applied to units arriving through :meth:`install` and :meth:`add_units` (e.g.
        dead-on-arrival draws); ``units`` has shape ``(n_paths,)``.
    mode_th, mode_w : ndarray, shape (n_paths, n_cohorts), or None
        Per-path hashrate and power scales of the operating modes chosen today (None: the
        compiled modes everywhere); set with :meth:`set_modes`.
    """

    fleet: FleetArrays
    installed_units: NDArray[np.float64]
    available_mw: NDArray[np.float64] = field(init=False)
    available_total_mw: NDArray[np.float64] = field(init=False)
    installed_th_s: NDArray[np.float64] = field(init=False)
    down_units: NDArray[np.float64] = field(init=False)
    hashrate_factor: NDArray[np.float64] = field(init=False)
    arrival_hook: Callable[[int, NDArray[np.float64]], NDArray[np.float64]] | None = field(
        default=None, init=False
    )
    mode_th: NDArray[np.float64] | None = field(default=None, init=False)
    mode_w: NDArray[np.float64] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        f = self.fleet
        unit_mw = np.where(f.unit_mw > 0, f.unit_mw, 1.0)
        price = np.nan_to_num(f.site_price_usd_per_mwh[f.site], nan=0.0)
        # columns: TH/s per MW, USD per MWh (MW per site are segment sums, not a product)
        self._per_mw = np.column_stack([f.unit_hashrate_th_s / unit_mw, price])
        self._th_per_mw_new = self._per_mw[:, 0].copy()
        self._it_share = 1.0 / f.site_pue[f.site]
        self._site_it_share = 1.0 / f.site_pue
        self.down_units = np.zeros_like(self.installed_units)
        self.hashrate_factor = np.ones(f.n_cohorts)
        self.breakeven_usd_per_th_day = f.power_cost_usd_per_th_day
        self.refresh()

    @property
    def th_per_mw(self) -> NDArray[np.float64]:
        """TH/s per MW at the meter of each cohort, degradation included: shape
        ``(n_cohorts,)``, or ``(n_paths, n_cohorts)`` with per-path modes."""
        if self.mode_th is None or self.mode_w is None:
            return self._per_mw[:, 0]
        return self._per_mw[:, 0] * (self.mode_th / self.mode_w)

    @property
    def breakeven(self) -> NDArray[np.float64]:
        """Power cost of 1 TH/s for a day at flat prices (USD/TH/day): ``(n_cohorts,)``, or
        ``(n_paths, n_cohorts)`` with per-path modes."""
        if self.mode_th is None or self.mode_w is None:
            return self.breakeven_usd_per_th_day
        return self.breakeven_usd_per_th_day * (self.mode_w / self.mode_th)

    def set_modes(self, th_scale: NDArray[np.float64], w_scale: NDArray[np.float64]) -> None:
        """Per-path operating modes: hashrate and power scales relative to the compiled unit,
        each ``(n_paths, n_cohorts)``; recomputes the site limits."""
        self.mode_th, self.mode_w = th_scale, w_scale
        self.refresh()

    def set_hashrate_factor(self, factor: NDArray[np.float64]) -> None:
        """Set each cohort's hashrate relative to new (degradation), shape (n_cohorts,)."""
        self.hashrate_factor = factor
        self._per_mw[:, 0] = self._th_per_mw_new * factor
        self.breakeven_usd_per_th_day = self.fleet.power_cost_usd_per_th_day / factor

    @classmethod
    def empty(cls, fleet: FleetArrays, n_paths: int) -> FleetState:
        """No machine installed on any path."""
        return cls(fleet, np.zeros((n_paths, fleet.n_cohorts)))

    def refresh(self, *, clamp: bool = True, installed: bool = True) -> None:
        """Recompute what depends on ``installed_units`` and ``down_units``.

        ``clamp=False`` skips capping the down units at the installed ones, for callers that
        keep ``down_units ≤ installed_units`` themselves; ``installed=False`` keeps the
        installed hashrate, for callers that changed only ``down_units`` (the daily
        failures step).
        """
        if clamp:
            np.minimum(self.down_units, self.installed_units, out=self.down_units)
        unit_mw = self.fleet.unit_mw if self.mode_w is None else self.fleet.unit_mw * self.mode_w
        # MW the working units would draw: (installed − down) × MW per unit, in one buffer
        want = np.subtract(self.installed_units, self.down_units)
        want *= unit_mw
        self.available_mw = site_limited_mw(self.fleet, want)
        self.available_total_mw = rows_sum(self.available_mw)
        if installed or not hasattr(self, "installed_th_s"):
            self.installed_th_s = rows_dot(self.installed_units, self.fleet.unit_hashrate_th_s)

    def install(self, cohort: int, units: float) -> None:
        """Set the installed units of one cohort on every path (a delivery; the
        ``arrival_hook`` applies)."""
        if self.arrival_hook is None:
            self.installed_units[:, cohort] = units
        else:
            n_paths = self.installed_units.shape[0]
            self.installed_units[:, cohort] = self.arrival_hook(cohort, np.full(n_paths, units))
        self.refresh()

    def add_units(self, cohort: int, units: NDArray[np.float64]) -> None:
        """Add ``units`` (shape ``(n_paths,)``, ≥ 0) to one cohort, path by path (a delivery;
        the ``arrival_hook`` applies)."""
        if self.arrival_hook is not None:
            units = self.arrival_hook(cohort, np.asarray(units, dtype=float))
        self.installed_units[:, cohort] += units
        self.refresh()

    def remove_units(self, cohort: int, units: NDArray[np.float64]) -> NDArray[np.float64]:
        """Remove up to ``units`` (shape ``(n_paths,)``) from one cohort; return how many were
        removed on each path (never more than installed)."""
        removed = np.minimum(units, self.installed_units[:, cohort])
        self.installed_units[:, cohort] -= removed
        self.refresh()
        return removed

    def position(self, scenario_index: int) -> int:
        """Column of the cohort that was ``scenario_index`` in scenario order (cohorts are
        stored in merit order)."""
        return int(np.flatnonzero(self.fleet.scenario_index == scenario_index)[0])


@dataclass
class Dispatch:
    """One day's operation, per path.

    Attributes
    ----------
    running_th_s : ndarray, shape (n_paths,)
        Hashrate running, averaged over the day's hours (TH/s).
    energy_mwh : ndarray, shape (n_paths,)
        Energy drawn, incl. PUE (MWh).
    power_cost_usd : ndarray, shape (n_paths,)
    site_power_mw : ndarray, shape (n_paths, n_sites)
        Highest hourly power drawn per site (MW, incl. PUE): never above the site's capacity.
        (Hour-level sites in closed form: the highest *expected* hourly load.)
    available_mw : ndarray, shape (n_paths,)
        MW the working fleet could draw under the site limits.
    it_power_mw : ndarray, shape (n_paths,)
        Machines' own power, averaged over the day (MW, PUE excluded).
    credits_usd, charges_usd : dict of name -> ndarray (n_paths,)
        Grid-programme credits (sell-back, demand response) and charges (coincident peak).
    shed_mwh : ndarray, shape (n_paths,)
        Energy shed in demand-response calls.
    """

    running_th_s: NDArray[np.float64]
    energy_mwh: NDArray[np.float64]
    power_cost_usd: NDArray[np.float64]
    site_power_mw: NDArray[np.float64]
    available_mw: NDArray[np.float64] | None = None
    it_power_mw: NDArray[np.float64] | None = None
    credits_usd: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    charges_usd: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    shed_mwh: NDArray[np.float64] | None = None


def dispatch(
    state: FleetState,
    revenue_usd_per_th_day: NDArray[np.float64],
    today: Mapping[str, Any] | None = None,
    day: int = 0,
) -> Dispatch:
    """Decide which cohorts run today (hour by hour where the power price varies).

    Parameters
    ----------
    state : FleetState
    revenue_usd_per_th_day : ndarray, shape (n_paths,)
        Expected payout of 1 TH/s for the day after pool fee (USD).
    today : mapping, optional
        The engine's values of the day (spot outputs of :mod:`hashfleet.market.power`);
        needed only for sites with a spot model.
    day : int
        Day index (time-of-day programmes use its month and weekday).

    Returns
    -------
    Dispatch
    """
    fleet = state.fleet
    n_paths = revenue_usd_per_th_day.shape[0]
    n_sites = fleet.site_capacity_mw.shape[0]
    power = fleet.power
    credits: dict[str, NDArray[np.float64]] = {}
    if power is not None and power.flat_credits_usd_per_day > 0:
        credits["dr_capacity_usd"] = np.full(n_paths, power.flat_credits_usd_per_day)
    if fleet.n_cohorts == 0:
        zero = np.zeros(n_paths)
        return Dispatch(
            zero, zero.copy(), zero.copy(), np.zeros((n_paths, n_sites)), zero, zero, credits
        )
    profitable = revenue_usd_per_th_day[:, None] >= state.breakeven
    if state.mode_th is not None and (power is None or power.all_simple):
        run_mw = state.available_mw * profitable
        site_mw = segment_sums(run_mw, fleet.site_bounds)
        return Dispatch(
            running_th_s=rows_sum(run_mw, state.th_per_mw),
            energy_mwh=rows_sum(site_mw) * HOURS_PER_DAY,
            power_cost_usd=rows_dot(run_mw, state._per_mw[:, 1]) * HOURS_PER_DAY,
            site_power_mw=site_mw,
            available_mw=state.available_total_mw,
            it_power_mw=rows_dot(site_mw, state._site_it_share),
            credits_usd=credits,
        )
    if power is None or power.all_simple:
        run_mw = state.available_mw * profitable
        per_mw = rows_dot(run_mw, state._per_mw)  # TH/s and USD per hour
        site_mw = segment_sums(run_mw, fleet.site_bounds)
        return Dispatch(
            running_th_s=per_mw[:, 0],
            energy_mwh=rows_sum(site_mw) * HOURS_PER_DAY,
            power_cost_usd=per_mw[:, 1] * HOURS_PER_DAY,
            site_power_mw=site_mw,
            available_mw=state.available_total_mw,
            it_power_mw=rows_dot(site_mw, state._site_it_share),
            credits_usd=credits,
        )
    return _dispatch_hourly(state, revenue_usd_per_th_day, profitable, power, today or {}, day)


def _dispatch_hourly(
    state: FleetState,
    revenue_usd_per_th_day: NDArray[np.float64],
    profitable: NDArray[np.bool_],
    power: FleetPower,
    today: Mapping[str, Any],
    day: int,
) -> Dispatch:
    """Flat-price sites as in the daily path; the others hour by hour (``site_day``)."""
    fleet = state.fleet
    avail = state.available_mw
    # MW run: the whole available MW of a profitable cohort at a flat-price site (a product
    # with the bool mask, no float copy of it), each hour-level site's columns replaced below
    run_mw = avail * profitable
    n_paths = avail.shape[0]
    credits: dict[str, NDArray[np.float64]] = {}
    charges: dict[str, NDArray[np.float64]] = {}
    if power.flat_credits_usd_per_day > 0:
        credits["dr_capacity_usd"] = np.full(n_paths, power.flat_credits_usd_per_day)
    shed = np.zeros(n_paths)
    th_per_mw = state.th_per_mw
    month, weekday, wim = power.calendar(day)
    bounds = fleet.site_bounds
    hourly_cost = np.zeros(n_paths)
    peaks: list[tuple[int, NDArray[np.float64]]] = []
    for site in power.sites:
        if site.simple:
            continue
        cols = slice(bounds[site.index], bounds[site.index + 1])
        tpm = th_per_mw[..., cols]
        b = revenue_usd_per_th_day[:, None] * (tpm / HOURS_PER_DAY)
        sd = site_day(
            site,
            b,
            avail[:, cols],
            power.hours(site.index, today),
            month=month,
            weekday=weekday,
            weekdays_in_month=wim,
        )
        np.multiply(avail[:, cols], sd.run_share, out=run_mw[:, cols])
        hourly_cost += rows_sum(avail[:, cols], sd.cost_usd_per_mw)
        peaks.append((site.index, sd.peak_mw))
        for target, src in ((credits, sd.credits_usd), (charges, sd.charges_usd)):
            for k, v in src.items():
                target[k] = target[k] + v if k in target else v
        if sd.shed_mwh is not None:
            shed += sd.shed_mwh
    # one product: TH/s, flat-price cost of the simple sites (hour-level sites are costed
    # above), MW, IT MW; then MW per site as sums over each site's cohorts
    per_cohort = np.column_stack(
        [
            state._per_mw[:, 0],
            power.simple_price_usd_per_mwh[fleet.site],
            np.ones(fleet.n_cohorts),
            state._it_share,
        ]
    )
    per_mw = rows_dot(run_mw, per_cohort)
    site_mw = segment_sums(run_mw, bounds)
    for i, peak in peaks:  # hour-level sites: the highest hourly load, not the day's mean
        site_mw[:, i] = peak
    running = per_mw[:, 0] if th_per_mw.ndim == 1 else rows_sum(run_mw, th_per_mw)
    return Dispatch(
        running_th_s=running,
        energy_mwh=per_mw[:, 2] * HOURS_PER_DAY,
        power_cost_usd=per_mw[:, 1] * HOURS_PER_DAY + hourly_cost,
        site_power_mw=site_mw,
        available_mw=state.available_total_mw,
        it_power_mw=per_mw[:, 3],
        credits_usd=credits,
        charges_usd=charges,
        shed_mwh=shed,
    )
