"""Daily fleet operation: which cohorts run, under the sites' power limits, and what it costs.

A cohort runs on a day when the revenue it expects at the start of the day (the expected
payout per TH at the current difficulty, subsidy and fee level, after pool fee) covers its
power cost per TH (``efficiency · PUE · 24 h · price``).  A site's grid capacity is a hard
limit on the power drawn (IT power × PUE): running cohorts are admitted in merit order (most
efficient first) and the cohort that crosses the limit runs only in part.

Arrays: static cohort properties are ``(n_cohorts,)``; per-path state is
``(n_paths, n_cohorts)``.  No loop over paths or cohorts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import InputError
from hashfleet.fleet.catalogue import Catalogue
from hashfleet.scenario.schema import FleetSpec

__all__ = ["Dispatch", "FleetArrays", "compile_fleet", "dispatch"]

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class FleetArrays:
    """Static description of the fleet, cohort axis last.

    Attributes
    ----------
    labels : tuple of str
        ``"model @ site"`` per cohort.
    unit_hashrate_th_s, unit_power_w : ndarray, shape (n_cohorts,)
        Stock hashrate (TH/s) and wall power (W) of one machine.
    units : ndarray, shape (n_cohorts,)
        Machines in the cohort once installed.
    install_day : ndarray of int, shape (n_cohorts,)
        Day the cohort starts hashing (0 = at the start).
    site : ndarray of int, shape (n_cohorts,)
        Index of the cohort's site.
    site_names : tuple of str
    site_capacity_mw, site_pue, site_price_usd_per_mwh : ndarray, shape (n_sites,)
    merit_order : ndarray of int, shape (n_cohorts,)
        Cohorts sorted by site, then by efficiency (best first).
    """

    labels: tuple[str, ...]
    unit_hashrate_th_s: NDArray[np.float64]
    unit_power_w: NDArray[np.float64]
    units: NDArray[np.float64]
    install_day: NDArray[np.int64]
    site: NDArray[np.intp]
    site_names: tuple[str, ...]
    site_capacity_mw: NDArray[np.float64]
    site_pue: NDArray[np.float64]
    site_price_usd_per_mwh: NDArray[np.float64]
    merit_order: NDArray[np.intp]

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts."""
        return len(self.labels)

    @property
    def efficiency_j_per_th(self) -> NDArray[np.float64]:
        """Stock efficiency of each cohort in J/TH (= W per TH/s)."""
        return self.unit_power_w / self.unit_hashrate_th_s

    @property
    def power_cost_usd_per_th_day(self) -> NDArray[np.float64]:
        """Power cost of one TH/s running a whole day, per cohort (USD/TH/day), incl. PUE."""
        site_factor = self.site_pue * self.site_price_usd_per_mwh
        return self.efficiency_j_per_th * HOURS_PER_DAY / 1e6 * site_factor[self.site]


def compile_fleet(spec: FleetSpec, catalogue: Catalogue, start: dt.date) -> FleetArrays:
    """Turn the fleet section into arrays.

    Parameters
    ----------
    spec : FleetSpec
        The scenario's fleet (cohorts must name sites and catalogue models: checked by the
        scenario loader).
    catalogue : Catalogue
        ASIC models, including the scenario's own ``fleet.models``.
    start : datetime.date
        Day 0, to turn install dates into day indices.
    """
    site_index = {s.name: i for i, s in enumerate(spec.sites)}
    labels, th, w, units, day, site = [], [], [], [], [], []
    for i, c in enumerate(spec.cohorts):
        if c.site not in site_index:
            raise InputError(f"fleet.cohorts[{i}].site: unknown site {c.site!r}")
        model = catalogue.get(c.model)
        labels.append(f"{c.model} @ {c.site}")
        th.append(model.hashrate_th_s)
        w.append(model.power_w)
        units.append(float(c.units))
        day.append(max(0, (c.install_date - start).days) if c.install_date else 0)
        site.append(site_index[c.site])
    th_a, w_a = np.asarray(th, dtype=float), np.asarray(w, dtype=float)
    site_a = np.asarray(site, dtype=np.intp)
    order = np.lexsort((w_a / np.where(th_a > 0, th_a, 1.0), site_a)) if labels else np.arange(0)
    return FleetArrays(
        labels=tuple(labels),
        unit_hashrate_th_s=th_a,
        unit_power_w=w_a,
        units=np.asarray(units, dtype=float),
        install_day=np.asarray(day, dtype=np.int64),
        site=site_a,
        site_names=tuple(s.name for s in spec.sites),
        site_capacity_mw=np.asarray([s.capacity_mw for s in spec.sites], dtype=float),
        site_pue=np.asarray([s.pue for s in spec.sites], dtype=float),
        site_price_usd_per_mwh=np.asarray(
            [s.power.price_usd_per_mwh for s in spec.sites], dtype=float
        ),
        merit_order=order.astype(np.intp),
    )


@dataclass
class Dispatch:
    """One day's operation, per path.

    Attributes
    ----------
    running_th_s : ndarray, shape (n_paths,)
        Hashrate running (TH/s).
    energy_mwh : ndarray, shape (n_paths,)
        Energy drawn, incl. PUE (MWh).
    power_cost_usd : ndarray, shape (n_paths,)
    site_power_mw : ndarray, shape (n_paths, n_sites)
        Power drawn per site (MW, incl. PUE): never above the site's capacity.
    """

    running_th_s: NDArray[np.float64]
    energy_mwh: NDArray[np.float64]
    power_cost_usd: NDArray[np.float64]
    site_power_mw: NDArray[np.float64]


def dispatch(
    fleet: FleetArrays,
    installed_units: NDArray[np.float64],
    revenue_usd_per_th_day: NDArray[np.float64],
) -> Dispatch:
    """Decide which cohorts run today and what they draw.

    Parameters
    ----------
    fleet : FleetArrays
    installed_units : ndarray, shape (n_paths, n_cohorts)
        Machines installed and able to run.
    revenue_usd_per_th_day : ndarray, shape (n_paths,)
        Expected payout of 1 TH/s for the day after pool fee (USD).

    Returns
    -------
    Dispatch
    """
    n_paths = installed_units.shape[0]
    n_sites = fleet.site_capacity_mw.shape[0]
    if fleet.n_cohorts == 0:
        zero = np.zeros(n_paths)
        return Dispatch(zero, zero.copy(), zero.copy(), np.zeros((n_paths, n_sites)))
    profitable = revenue_usd_per_th_day[:, None] >= fleet.power_cost_usd_per_th_day[None, :]
    pue = fleet.site_pue[fleet.site]
    unit_mw = fleet.unit_power_w * pue / 1e6
    want_mw = installed_units * profitable * unit_mw  # (n_paths, n_cohorts)

    order = fleet.merit_order
    p = want_mw[:, order]
    before = np.cumsum(p, axis=1) - p  # power of better cohorts in the sorted row
    site_sorted = fleet.site[order]
    group_first = np.searchsorted(site_sorted, site_sorted)  # first position of each site
    before_in_site = before - before[:, group_first]
    cap = fleet.site_capacity_mw[site_sorted]
    run_mw_sorted = np.clip(cap - before_in_site, 0.0, p)
    run_mw = np.empty_like(run_mw_sorted)
    run_mw[:, order] = run_mw_sorted

    frac_units = np.divide(run_mw, unit_mw, out=np.zeros_like(run_mw), where=unit_mw > 0)
    running_th = frac_units @ fleet.unit_hashrate_th_s
    energy = run_mw.sum(axis=1) * HOURS_PER_DAY
    price = fleet.site_price_usd_per_mwh[fleet.site]
    cost = (run_mw * price).sum(axis=1) * HOURS_PER_DAY
    site_mw = run_mw @ (fleet.site[:, None] == np.arange(n_sites)[None, :]).astype(float)
    return Dispatch(running_th, energy, cost, site_mw)
