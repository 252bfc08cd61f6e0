"""The fleet as an engine component: cohorts, deliveries, dispatch and production.

:class:`FleetComponent` gives every chunk engine its :class:`~hashfleet.fleet.operations.
FleetState` as a service (``engine.service(FleetState)``), schedules the deliveries on the
calendar and adds three steps:

* ``fleet_open`` (stage 12): our installed hashrate at the start of the day;
* ``dispatch`` (20): ``mode: best`` cohorts pick their mode; which cohorts run, hour by hour
  where power prices vary (profitability, contracts, grid programmes, site limits);
  our running hashrate and the network's;
* ``production`` (40): BTC produced, revenue, power bill and programme flows (booked),
  uptime, curtailed hours, fleet J/TH and site load.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from hashfleet.day import DayRecord
from hashfleet.engine.core import ChunkEngine
from hashfleet.fleet.machines import choose_best_modes
from hashfleet.fleet.operations import Dispatch, FleetArrays, FleetState, dispatch
from hashfleet.numeric import rows_dot, rows_sum

__all__ = ["FLEET_VARIABLES", "FleetComponent", "fleet_state"]

#: The fleet's daily variables: name -> (unit, description, totalled).
FLEET_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "fleet_hashrate_ehs": ("EH/s", "Our running hashrate", False),
    "production_btc": ("BTC", "BTC earned by our fleet (after pool fee)", True),
    "revenue_usd": ("USD", "Production sold at the day's price", True),
    "power_cost_usd": ("USD", "Power bill, PUE included", True),
    "energy_mwh": ("MWh", "Energy drawn, PUE included", True),
    "uptime": (
        "1",
        "Share of installed hashrate-hours running (failures, curtailment and site limits "
        "lower it)",
        False,
    ),
    "curtailed_hours": (
        "h",
        "Hours the working fleet available under the site limits did not run (MW-weighted)",
        False,
    ),
    "fleet_j_per_th": ("J/TH", "Efficiency of the running fleet (machine power, no PUE)", False),
    "max_site_load_share": (
        "1",
        "Highest hourly draw of any site over its capacity (≤ 1: capacity is a hard limit; "
        "expected hourly draw for closed-form sites)",
        False,
    ),
}


def fleet_state(engine: ChunkEngine) -> FleetState:
    """The chunk's fleet (installed units per path and cohort, modes, site arrays)."""
    return engine.service(FleetState)


class FleetComponent:
    """Cohorts, deliveries, dispatch and production of our fleet.

    Parameters
    ----------
    fleet : FleetArrays
        The compiled fleet.
    n_days : int
        Horizon (deliveries on or after it never happen).
    pool_fee : float
        Share of the reward kept by the pool.
    solo : bool
        Mining solo: production is our own blocks' reward, not FPPS.
    """

    def __init__(self, fleet: FleetArrays, n_days: int, pool_fee: float, solo: bool) -> None:
        self.fleet = fleet
        self.n_days = n_days
        self.pool_fee = pool_fee
        self.solo = solo

    def attach(self, engine: ChunkEngine) -> None:
        """Provide the fleet state, schedule the deliveries, add the steps and variables."""
        fleet = self.fleet
        fs = engine.provide(FleetState.empty(fleet, engine.n_paths))
        for i, day in enumerate(fleet.install_day):
            if day <= 0:
                fs.installed_units[:, i] = fleet.units[i]
            elif day < self.n_days:
                engine.add_process(_deliver(engine, fs, i, int(day), fleet.units[i]))
        fs.refresh()
        engine.declare_all(FLEET_VARIABLES)
        _FleetSteps(self, engine, fs)


def _deliver(
    engine: ChunkEngine, fs: FleetState, cohort: int, day: int, units: float
) -> Generator[simpy.Event, Any, None]:
    yield engine.env.timeout(day)
    fs.install(cohort, units)


class _FleetSteps:
    """One chunk's fleet steps."""

    def __init__(self, comp: FleetComponent, engine: ChunkEngine, fs: FleetState) -> None:
        self.engine = engine
        self.fs = fs
        self.fleet = comp.fleet
        self.pool_fee = comp.pool_fee
        self.solo = comp.solo
        self.inv_capacity = 1.0 / comp.fleet.site_capacity_mw
        engine.add_step(12, "fleet_open", self.open)
        engine.add_step(20, "dispatch", self.dispatch)
        engine.add_step(40, "production", self.production)

    def open(self, day: int) -> None:
        t: DayRecord = self.engine.today
        t.fleet_installed_hs = self.fs.installed_th_s * 1e12

    def dispatch(self, day: int) -> None:
        t: DayRecord = self.engine.today
        revenue_per_th = t.expected_hashprice_usd_per_ph_day / 1000.0 * (1.0 - self.pool_fee)
        if not self.engine.operating.all():  # a stopped company runs nothing: its machines
            # would lose 1e9 USD per TH/s per day in any hour (finite, so no inf·0 = NaN)
            revenue_per_th = np.where(self.engine.operating, revenue_per_th, -1e9)
        fleet = self.fleet
        if fleet.mode_options and fleet.power is not None:
            prices = fleet.power.day_price(t.exogenous, self.engine.n_paths)
            choose_best_modes(self.fs, revenue_per_th, prices, t.exogenous, day)
        d = dispatch(self.fs, revenue_per_th, t.exogenous, day)
        t.fleet_hs = d.running_th_s * 1e12
        t.network_hs = t.rest_hashrate_hs + t.fleet_hs
        t.dispatch = d

    def production(self, day: int) -> None:
        e = self.engine
        t: DayRecord = e.today
        blocks = t.blocks
        gross: NDArray[np.float64]
        if self.solo:
            assert blocks.own_reward_btc is not None
            gross = blocks.own_reward_btc
        else:
            gross = t.fleet_hs * blocks.reward_per_hash_btc
        production: NDArray[np.float64] = gross * (1.0 - self.pool_fee)
        disp = t.dispatch
        e.book("revenue_usd", production * t.btc_price_usd)
        e.book("power_cost_usd", disp.power_cost_usd, outflow=True)
        for name, usd in disp.credits_usd.items():
            e.book(name, usd)
        for name, usd in disp.charges_usd.items():
            e.book(name, usd, outflow=True)
        v = e.values
        v["fleet_hashrate_ehs"] = t.fleet_hs / 1e18
        v["production_btc"] = production
        v["energy_mwh"] = disp.energy_mwh
        self._metrics(disp)

    def _metrics(self, disp: Dispatch) -> None:
        """Uptime, curtailed hours, the running fleet's J/TH and the highest site load."""
        n = self.engine.n_paths
        v = self.engine.values
        fs = self.fs
        installed = rows_dot(fs.installed_units, fs.fleet.unit_hashrate_th_s * fs.hashrate_factor)
        running = disp.running_th_s
        zero = np.zeros(n)
        v["uptime"] = np.divide(running, installed, out=zero.copy(), where=installed > 0)
        avail = disp.available_mw
        if avail is None:
            avail = rows_sum(fs.available_mw)
        ran = disp.energy_mwh / 24.0
        v["curtailed_hours"] = 24.0 * (1.0 - np.divide(ran, avail, out=np.ones(n), where=avail > 0))
        it_mw = disp.it_power_mw if disp.it_power_mw is not None else ran
        load = disp.site_power_mw * self.inv_capacity
        v["max_site_load_share"] = load.max(axis=1, initial=0.0)
        v["fleet_j_per_th"] = np.divide(it_mw * 1e6, running, out=zero, where=running > 0)
