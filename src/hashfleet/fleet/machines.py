"""Machines: failures, repairs, spares, hashrate degradation and dead-on-arrival units.

Failures
    Each working unit of a cohort fails on day ``d`` with probability
    ``q_d = 1 − exp(−(Λ(a_d + 1) − Λ(a_d)))``, ``a_d`` the cohort's age in days (since its
    install day, or since the start for cohorts running at t=0) and ``Λ`` the cumulative
    hazard: ``Λ(a) = r·a/365.25`` for a constant hazard ``r`` per unit-year, or
    ``Λ(a) = (a/(365.25·η))^k`` for a Weibull life with shape ``k`` and scale ``η`` years.
    Ages count from ``age_at_install_years`` (used machines, fleets running at the start).
    New failures are ``Binomial(working units, q_d)`` per path and cohort (drawn from the
    engine's ``"failures"`` generators, one whole ``(block paths, cohorts)`` array per stream
    block and day).  All units of a cohort share its age (replacements take the cohort's age:
    a simplification for Weibull wear-out).
Repairs and spares
    Every failed unit is repaired: the repair cost (USD/unit) is booked on the day it fails and
    the unit comes back ``repair_days`` later.  Spares (a per-path stock, ``spares_units`` at
    the start) replace failed units at once while they last; a unit back from repair first
    fills a hole left by a failure, and otherwise returns to the spares stock.  Units down
    neither hash nor draw power.
Degradation
    A unit of age ``a`` years hashes ``(1 − g)^a`` of its new hashrate at the same power, so
    its break-even price falls with age.
Dead on arrival
    Of the units delivered during the run (cohorts with a later install date, and units added
    through :meth:`FleetState.add_units`), ``Binomial(units, doa_share)`` per path never work
    and are not installed (the supplier does not replace them in this version).

Daily variables: ``failed_units`` (new failures), ``units_down`` (failed and not yet back or
replaced), ``spares_units`` (stock at the end of the day) and the booked ``repair_cost_usd``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.fleet.operations import HOURS_PER_DAY, FleetArrays, FleetState
from hashfleet.market.power import site_day
from hashfleet.numeric import rows_dot, rows_sum
from hashfleet.scenario.schema import FailureSpec

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = [
    "MachinesComponent",
    "build_machines",
    "choose_best_modes",
    "cumulative_hazard",
    "daily_failure_probability",
]


def cumulative_hazard(spec: FailureSpec, age_days: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative hazard ``Λ(a)`` per unit at ages ``age_days`` (any shape, days ≥ 0)."""
    a = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    if spec.model == "weibull":
        return (a / (DAYS_PER_YEAR * spec.weibull_scale_years)) ** spec.weibull_shape
    return spec.rate_per_year * a / DAYS_PER_YEAR


def daily_failure_probability(
    spec: FailureSpec, age_days: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Probability that a unit working at age ``a`` (days) fails before age ``a + 1``."""
    a = np.asarray(age_days, dtype=np.float64)
    return -np.expm1(-(cumulative_hazard(spec, a + 1.0) - cumulative_hazard(spec, a)))


def choose_best_modes(
    state: FleetState,
    revenue_usd_per_th_day: NDArray[np.float64],
    site_price_usd_per_mwh: NDArray[np.float64],
    today: Mapping[str, Any] | None = None,
    day: int = 0,
) -> None:
    """Set each ``mode: best`` cohort's mode, per path, to the one with the highest margin.

    At a site with a flat price the margin of one unit in mode ``m`` is ``revenue × TH/s_m −
    price × 24 h × MW_m`` (with resale, at the day's ``max(strike, spot level)``).  At a site
    whose price varies by hour (index, time of use, demand-response calls) a unit in mode
    ``m`` runs only in the hours its revenue per MWh
    covers, so its margin is ``MW_m × (b_m × hours run − cost of those hours)`` with
    ``b_m = revenue × TH/s_m / MW_m / 24``, the hours and their cost taken over the day's
    hour prices exactly as dispatch takes them (:func:`~hashfleet.market.power.site_day`).
    PUE is included and degradation applied to TH/s.  Site capacity is not part of the
    choice (it still limits what runs).

    Parameters
    ----------
    state : FleetState
    revenue_usd_per_th_day : ndarray, shape (n_paths,)
        Expected payout of 1 TH/s for the day after pool fee.
    site_price_usd_per_mwh : ndarray, shape (n_paths, n_sites)
        Each site's average marginal price of the day (used at flat-price sites).
    today : mapping, optional
        The engine's values of the day (spot levels and hours); without it every site is
        judged at its average price.
    day : int
        Day index (calendar of the time-of-day programmes).
    """
    fleet = state.fleet
    power = fleet.power
    n_paths = revenue_usd_per_th_day.shape[0]
    th = np.ones((n_paths, fleet.n_cohorts))
    w = np.ones((n_paths, fleet.n_cohorts))
    unit_th = fleet.unit_hashrate_th_s * state.hashrate_factor
    rev = revenue_usd_per_th_day[:, None]
    month, weekday, wim = power.calendar(day) if power is not None else (1, 0, 22)
    for c, th_s, w_s in fleet.mode_options:
        site_i = int(fleet.site[c])
        unit_mw = fleet.unit_mw[c] * w_s  # (n_modes,) MW at the meter per unit
        site = power.sites[site_i] if power is not None else None
        hourly = (
            site is not None
            and not site.simple
            and not getattr(site.contract, "sell_back", False)  # resale: at max(strike, spot)
            and today is not None
        )
        if hourly:
            assert site is not None and today is not None
            assert power is not None
            b = rev * (unit_th[c] * th_s / unit_mw / HOURS_PER_DAY)[None, :]  # USD/MWh
            sd = site_day(
                site,
                b,
                np.ones_like(b),
                power.hours(site_i, today),
                month=month,
                weekday=weekday,
                weekdays_in_month=wim,
            )
            per_mw = b * (HOURS_PER_DAY * sd.run_share) - sd.cost_usd_per_mw
            margin = per_mw * unit_mw[None, :]
        else:
            price = site_price_usd_per_mwh[:, site_i]
            margin = (
                rev * (unit_th[c] * th_s)[None, :]
                - (price * HOURS_PER_DAY)[:, None] * unit_mw[None, :]
            )  # (n_paths, n_modes)
        best = np.argmax(margin, axis=1)
        th[:, c], w[:, c] = th_s[best], w_s[best]
    state.set_modes(th, w)


def build_machines(fleet: FleetArrays) -> list[MachinesComponent]:
    """The machines component, if any cohort has failures, degradation or a DOA share."""
    cs = fleet.cohorts
    if any(c.failures is not None or c.degradation_per_year > 0 or c.doa_share > 0 for c in cs):
        return [MachinesComponent(fleet)]
    return []


class MachinesComponent:
    """Failures, repairs, spares, degradation and dead-on-arrival units of every cohort.

    Adds the step ``"machines"`` at stage 18 (after supply, before dispatch).
    """

    def __init__(self, fleet: FleetArrays) -> None:
        self.fleet = fleet
        cs = fleet.cohorts
        self.failing = [i for i, c in enumerate(cs) if c.failures is not None]
        self.degrade = np.array([c.degradation_per_year for c in cs], dtype=np.float64)
        self.doa = np.array([c.doa_share for c in cs], dtype=np.float64)
        self.repair_days = np.array(
            [c.failures.repair_days if c.failures else 1 for c in cs], dtype=np.int64
        )
        self.repair_cost = np.array(
            [c.failures.repair_cost_usd_per_unit if c.failures else 0.0 for c in cs]
        )
        self.spares0 = np.array([c.failures.spares_units if c.failures else 0 for c in cs], float)
        self.ring = int(self.repair_days.max()) + 1 if len(cs) else 1
        self.age0_days = np.array([c.age_at_install_years * DAYS_PER_YEAR for c in cs], float)

    def attach(self, engine: ChunkEngine) -> None:
        """Per-engine state, the daily step, variables and the dead-on-arrival hook."""
        _Machines(self, engine)


class _Machines:
    """One chunk engine's machine state."""

    def __init__(self, comp: MachinesComponent, engine: ChunkEngine) -> None:
        self.c = comp
        self.engine = engine
        self.fs = engine.service(FleetState)
        n_paths = engine.n_paths
        idx = np.asarray(comp.failing, dtype=np.intp)
        self.idx = idx
        #: Spares in stock and units in repair, failing cohorts only: (n_paths, n_failing)
        #: and (ring, n_paths, n_failing), slot ``d % ring`` coming back on day ``d``.
        self.spares = np.tile(comp.spares0[idx], (n_paths, 1))
        self.in_repair = np.zeros((comp.ring, n_paths, idx.size))
        self.repair_days = comp.repair_days[idx]
        #: Failing columns grouped by repair time: (days, columns or a full slice).
        self.repair_groups: list[tuple[int, NDArray[np.intp] | slice]] = [
            (
                int(r),
                slice(None)
                if (self.repair_days == r).all()
                else np.flatnonzero(self.repair_days == r),
            )
            for r in np.unique(self.repair_days)
        ]
        self.repair_cost = comp.repair_cost[idx]
        self.rng = engine.rng("failures")
        # daily failure probability of each failing cohort, (n_days, n_failing)
        days = np.arange(engine.model.n_days)[:, None]
        fleet = comp.fleet
        ages = np.maximum(days - fleet.install_day[None, :], 0) + comp.age0_days[None, :]
        self.q = (
            np.column_stack(
                [
                    daily_failure_probability(fleet.cohorts[i].failures, ages[:, i])  # type: ignore[arg-type]
                    for i in comp.failing
                ]
            )
            if comp.failing
            else np.zeros((engine.model.n_days, 0))
        )
        engine.add_step(18, "machines", self.step)
        engine.declare("failed_units", "unit", "Units that failed in the day", total=True)
        engine.declare("units_down", "unit", "Failed units not yet back or replaced")
        engine.declare("spares_units", "unit", "Spare units in stock at the end of the day")
        engine.declare("repair_cost_usd", "USD", "outflow: repairs of failed units", total=True)
        engine.declare(
            "doa_units", "unit", "Units dead on arrival at deliveries in the day", total=True
        )
        self.doa_today = np.zeros(n_paths)
        if (comp.doa > 0).any():
            engine.service(FleetState).arrival_hook = self.arrive

    def _binomial(self, n: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
        """Binomial draws of a ``(n_paths, k)`` array from the failure streams."""
        return self.rng.binomial_rows(n, p)

    def arrive(self, cohort: int, units: NDArray[np.float64]) -> NDArray[np.float64]:
        """Dead-on-arrival thinning of a delivery (units per path)."""
        share = self.c.doa[cohort]
        if share <= 0:
            return units
        dead = self._binomial(units[:, None], np.array([share]))[:, 0]
        self.doa_today = self.doa_today + dead
        return units - dead

    def step(self, day: int) -> None:
        """Degradation, repairs back, new failures (spares first), then the fleet refresh."""
        c, fs, v = self.c, self.fs, self.engine.values
        fleet = c.fleet
        age = np.maximum(day - fleet.install_day, 0) + c.age0_days
        if (c.degrade > 0).any():
            fs.set_hashrate_factor((1.0 - c.degrade) ** (age / DAYS_PER_YEAR))
        n_paths = self.engine.n_paths
        if c.failing:
            idx = self.idx
            back = self.in_repair[day % c.ring]  # (n_paths, n_failing), back today
            down = fs.down_units[:, idx]
            refill = np.minimum(back, down)  # a unit back first fills a hole
            down -= refill
            back -= refill
            self.spares += back  # the others return to the stock
            back[:] = 0.0
            working = fs.installed_units[:, idx] - down
            np.maximum(working, 0.0, out=working)
            new = self._binomial(working, self.q[day][None, :])
            from_spares = np.minimum(new, self.spares)
            self.spares -= from_spares
            down += new - from_spares
            fs.down_units[:, idx] = down
            # each cohort's failures come back after its repair time
            for r, cols in self.repair_groups:
                self.in_repair[(day + r) % c.ring][:, cols] += new[:, cols]
            # down ≤ installed (new failures ≤ working units); installed units unchanged
            fs.refresh(clamp=False, installed=False)
            cost = rows_dot(new, self.repair_cost)
            if cost.any():
                self.engine.book("repair_cost_usd", cost, outflow=True)
            v["failed_units"] = rows_sum(new)
            v["spares_units"] = rows_sum(self.spares)
        else:
            v["failed_units"] = np.zeros(n_paths)
            v["spares_units"] = np.zeros(n_paths)
        v["units_down"] = rows_sum(fs.down_units)
        v["doa_units"] = self.doa_today
        self.doa_today = np.zeros(n_paths)
