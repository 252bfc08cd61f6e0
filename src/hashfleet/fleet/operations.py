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

Arrays: static cohort properties are ``(n_cohorts,)``; per-path state is
``(n_paths, n_cohorts)``.  No loop over paths or cohorts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import InputError
from hashfleet.fleet.catalogue import Catalogue
from hashfleet.scenario.schema import CohortSpec, FleetSpec

__all__ = ["Dispatch", "FleetArrays", "FleetState", "available_mw", "compile_fleet", "dispatch"]

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class FleetArrays:
    """Static description of the fleet, cohort axis last.

    Attributes
    ----------
    labels : tuple of str
        ``"model @ site"`` per cohort, in merit order.
    scenario_index : ndarray of int, shape (n_cohorts,)
        Position of each cohort in the scenario's ``fleet.cohorts``.
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
    """

    labels: tuple[str, ...]
    scenario_index: NDArray[np.intp]
    unit_hashrate_th_s: NDArray[np.float64]
    unit_power_w: NDArray[np.float64]
    units: NDArray[np.float64]
    install_day: NDArray[np.int64]
    site: NDArray[np.intp]
    site_names: tuple[str, ...]
    site_capacity_mw: NDArray[np.float64]
    site_pue: NDArray[np.float64]
    site_price_usd_per_mwh: NDArray[np.float64]

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts."""
        return len(self.labels)

    @property
    def efficiency_j_per_th(self) -> NDArray[np.float64]:
        """Stock efficiency of each cohort in J/TH (= W per TH/s)."""
        return self.unit_power_w / self.unit_hashrate_th_s

    @property
    def unit_mw(self) -> NDArray[np.float64]:
        """Power of one machine at the meter, PUE included (MW), per cohort."""
        return self.unit_power_w * self.site_pue[self.site] / 1e6

    @property
    def power_cost_usd_per_th_day(self) -> NDArray[np.float64]:
        """Power cost of one TH/s running a whole day, per cohort (USD/TH/day), incl. PUE."""
        site_factor = self.site_pue * self.site_price_usd_per_mwh
        return self.efficiency_j_per_th * HOURS_PER_DAY / 1e6 * site_factor[self.site]


def compile_fleet(
    spec: FleetSpec,
    catalogue: Catalogue,
    start: dt.date,
    extra_cohorts: Sequence[CohortSpec] = (),
) -> FleetArrays:
    """Turn the fleet section into arrays.

    Parameters
    ----------
    spec : FleetSpec
        The scenario's fleet (cohorts must name sites and catalogue models: checked by the
        scenario loader).
    catalogue : Catalogue
        ASIC models, including the scenario's own ``fleet.models`` (and any models a
        capability adds, e.g. future generations).
    start : datetime.date
        Day 0, to turn install dates into day indices.
    extra_cohorts : sequence of CohortSpec
        Cohort *slots* beyond the scenario's (e.g. purchases a policy may make during the
        run).  They are numbered after the scenario's cohorts in
        :attr:`FleetArrays.scenario_index` and start with no units unless their
        ``install_date`` says otherwise.
    """
    site_index = {s.name: i for i, s in enumerate(spec.sites)}
    labels, th, w, units, day, site = [], [], [], [], [], []
    for i, c in enumerate([*spec.cohorts, *extra_cohorts]):
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
    order = np.lexsort((w_a / th_a, site_a)) if labels else np.arange(0, dtype=np.intp)
    return FleetArrays(
        labels=tuple(labels[i] for i in order),
        scenario_index=order.astype(np.intp),
        unit_hashrate_th_s=th_a[order],
        unit_power_w=w_a[order],
        units=np.asarray(units, dtype=float)[order],
        install_day=np.asarray(day, dtype=np.int64)[order],
        site=site_a[order],
        site_names=tuple(s.name for s in spec.sites),
        site_capacity_mw=np.asarray([s.capacity_mw for s in spec.sites], dtype=float),
        site_pue=np.asarray([s.pue for s in spec.sites], dtype=float),
        site_price_usd_per_mwh=np.asarray(
            [s.power.price_usd_per_mwh for s in spec.sites], dtype=float
        ),
    )


def available_mw(fleet: FleetArrays, installed_units: NDArray[np.float64]) -> NDArray[np.float64]:
    """Power each cohort may draw when it and every better cohort of its site run.

    Parameters
    ----------
    fleet : FleetArrays
    installed_units : ndarray, shape (n_paths, n_cohorts)
        Machines installed, cohorts in merit order.

    Returns
    -------
    ndarray, shape (n_paths, n_cohorts)
        ``clip(capacity − power of better cohorts of the site, 0, own power)`` in MW.
    """
    want = installed_units * fleet.unit_mw
    before = np.cumsum(want, axis=1) - want
    group_first = np.searchsorted(fleet.site, fleet.site)  # first cohort of each one's site
    before_in_site = before - before[:, group_first]
    cap = fleet.site_capacity_mw[fleet.site]
    return np.clip(cap - before_in_site, 0.0, want)


@dataclass
class FleetState:
    """Per-path fleet state and what is derived from it between calendar events.

    Attributes
    ----------
    installed_units : ndarray, shape (n_paths, n_cohorts)
        Machines installed and able to run.
    available_mw : ndarray, shape (n_paths, n_cohorts)
        :func:`available_mw` of ``installed_units``; call :meth:`refresh` after changing them.
    installed_th_s : ndarray, shape (n_paths,)
        Installed hashrate (TH/s) at stock.
    """

    fleet: FleetArrays
    installed_units: NDArray[np.float64]
    available_mw: NDArray[np.float64] = field(init=False)
    installed_th_s: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        f = self.fleet
        onehot = (f.site[:, None] == np.arange(len(f.site_names))[None, :]).astype(float)
        unit_mw = np.where(f.unit_mw > 0, f.unit_mw, 1.0)
        # columns: TH/s per MW, USD per MWh, then one indicator column per site
        self._per_mw = np.column_stack(
            [f.unit_hashrate_th_s / unit_mw, f.site_price_usd_per_mwh[f.site], onehot]
        )
        self.refresh()

    @classmethod
    def empty(cls, fleet: FleetArrays, n_paths: int) -> FleetState:
        """No machine installed on any path."""
        return cls(fleet, np.zeros((n_paths, fleet.n_cohorts)))

    def refresh(self) -> None:
        """Recompute what depends on ``installed_units``."""
        self.available_mw = available_mw(self.fleet, self.installed_units)
        self.installed_th_s = self.installed_units @ self.fleet.unit_hashrate_th_s

    def install(self, cohort: int, units: float) -> None:
        """Set the installed units of one cohort on every path (a delivery)."""
        self.installed_units[:, cohort] = units
        self.refresh()

    def add_units(self, cohort: int, units: NDArray[np.float64]) -> None:
        """Add ``units`` (shape ``(n_paths,)``, ≥ 0) to one cohort, path by path."""
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


def dispatch(state: FleetState, revenue_usd_per_th_day: NDArray[np.float64]) -> Dispatch:
    """Decide which cohorts run today and what they draw.

    Parameters
    ----------
    state : FleetState
    revenue_usd_per_th_day : ndarray, shape (n_paths,)
        Expected payout of 1 TH/s for the day after pool fee (USD).

    Returns
    -------
    Dispatch
    """
    fleet = state.fleet
    n_paths = revenue_usd_per_th_day.shape[0]
    n_sites = fleet.site_capacity_mw.shape[0]
    if fleet.n_cohorts == 0:
        zero = np.zeros(n_paths)
        return Dispatch(zero, zero.copy(), zero.copy(), np.zeros((n_paths, n_sites)))
    profitable = revenue_usd_per_th_day[:, None] >= fleet.power_cost_usd_per_th_day[None, :]
    run_mw = state.available_mw * profitable
    per_mw = run_mw @ state._per_mw  # (n_paths, 2 + n_sites)
    site_mw = per_mw[:, 2:]
    return Dispatch(
        running_th_s=per_mw[:, 0],
        energy_mwh=site_mw.sum(axis=1) * HOURS_PER_DAY,
        power_cost_usd=per_mw[:, 1] * HOURS_PER_DAY,
        site_power_mw=site_mw,
    )
