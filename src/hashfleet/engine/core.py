"""The engine of one chunk of paths: a SimPy calendar driving vectorised daily kernels.

A :class:`ChunkEngine` simulates a whole number of stream blocks of paths.  Its SimPy
environment is the calendar: a clock process ticks once per day and everything dated
(cohort deliveries now; contract dates, policy reviews, debt schedules later) is a SimPy
process.  Events dated day ``d`` take effect before day ``d``'s tick.

A tick runs the registered **steps** in stage order.  Each step is a function of the day that
reads and writes the chunk's arrays (path axis first) — never a loop over paths.  New
capabilities are **components** (:class:`Component`): objects whose ``attach(engine)`` adds
steps (:meth:`ChunkEngine.add_step`), SimPy processes (:meth:`ChunkEngine.add_process`) and
daily variables (:meth:`ChunkEngine.declare`), and books cash flows in the day's ledger
(:meth:`ChunkEngine.book`).  The kernel is never edited to add one.  Stages:

=====  ==========  ==============================================================
stage  name        what it does
=====  ==========  ==============================================================
10     market      draws the exogenous processes window by window; today's values
15     supply      the rest of the network's hashrate (``today["rest_hashrate_hs"]``);
                   built in: from the exogenous path; components may replace it
18     machines    (component, if cohorts have failures/degradation/DOA): repairs back,
                   new failures, spares, degradation (``fleet.machines``)
20     dispatch    ``mode: best`` cohorts pick their mode; which cohorts run, hour by hour
                   where power prices vary (profitability, contracts, grid programmes,
                   site limits); network H
30     network     exact block production, retargets and halvings
40     production  production, revenue, power cost, programme credits and charges
                   (booked), fixed opex; uptime, curtailed hours, fleet J/TH
50-70  (free)      components: policies, orders, HPC, debt ...
80     settle      cash += inflows − outflows booked today
90     record      hands the day's declared variables to the recorder
=====  ==========  ==============================================================

Shared per-day values live in ``engine.today`` (a dict reset each day); recorded values in
``engine.values`` (every declared variable must be set each day).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

import numpy as np
import simpy
from numpy.typing import NDArray

from hashfleet.engine.model import CompiledScenario
from hashfleet.engine.streams import STREAM_BLOCK_PATHS, BlockRNG
from hashfleet.fleet.machines import choose_best_modes
from hashfleet.fleet.operations import Dispatch, FleetState, dispatch
from hashfleet.market.power import spot_output
from hashfleet.network.blocks import (
    SECONDS_PER_DAY,
    EventLog,
    NetworkState,
    produce_day,
    subsidy_sat_array,
)
from hashfleet.network.hashprice import hashprice_usd_per_ph_day
from hashfleet.network.retarget import bits_to_difficulty_array, next_bits_array
from hashfleet.numeric import rows_dot, rows_sum
from hashfleet.processes import WINDOW_DAYS

__all__ = ["DAILY_VARIABLES", "ChunkEngine", "DaySink", "timing_steps"]

#: Seconds spent in each named step by every engine, while :func:`timing_steps` is active.
_STEP_TIMES: dict[str, float] | None = None


@contextmanager
def timing_steps() -> Iterator[dict[str, float]]:
    """Time every engine's daily steps (seconds per step name, summed over engines and days)
    while the context is active: the per-part cost report of ``benchmarks.stages``.  Off, the
    daily loop pays one ``is None`` test per day."""
    global _STEP_TIMES
    times: dict[str, float] = {}
    _STEP_TIMES = times
    try:
        yield times
    finally:
        _STEP_TIMES = None


#: Daily per-path variables the engine records: name -> (unit, description).
DAILY_VARIABLES: dict[str, tuple[str, str]] = {
    "height": ("block", "Chain tip height at the end of the day"),
    "blocks": ("block", "Blocks mined in the day"),
    "difficulty": ("1", "Difficulty at the end of the day"),
    "network_hashrate_ehs": ("EH/s", "Network hashrate, our running fleet included"),
    "btc_price_usd": ("USD", "BTC price"),
    "subsidy_btc": ("BTC", "Block subsidies issued in the day (exact across halvings)"),
    "fees_btc": ("BTC", "Fees paid to miners in the day"),
    "hashprice_usd_per_ph_day": (
        "USD/(PH/s)/day",
        "Expected payout of 1 PH/s over the day before pool fee: the integral of "
        "(subsidy + fees)/(D·2^32) at the difficulty in force, times price",
    ),
    "fleet_hashrate_ehs": ("EH/s", "Our running hashrate"),
    "production_btc": ("BTC", "BTC earned by our fleet (after pool fee)"),
    "revenue_usd": ("USD", "Production sold at the day's price"),
    "power_cost_usd": ("USD", "Power bill, PUE included"),
    "opex_usd": ("USD", "Fixed operating costs (staff, SG&A, ...)"),
    "energy_mwh": ("MWh", "Energy drawn, PUE included"),
    "cash_usd": ("USD", "Cash at the end of the day"),
    "uptime": (
        "1",
        "Share of installed hashrate-hours running (failures, curtailment and site limits "
        "lower it)",
    ),
    "curtailed_hours": (
        "h",
        "Hours the working fleet available under the site limits did not run (MW-weighted)",
    ),
    "fleet_j_per_th": ("J/TH", "Efficiency of the running fleet (machine power, no PUE)"),
    "max_site_load_share": (
        "1",
        "Highest hourly draw of any site over its capacity (≤ 1: capacity is a hard limit; "
        "expected hourly draw for closed-form sites)",
    ),
}

#: Grid-programme flows booked when a site takes part: name -> description.
PROGRAMME_FLOWS: dict[str, str] = {
    "sell_back_usd": "inflow: contracted power resold above the strike",
    "dr_energy_usd": "inflow: demand-response energy credits",
    "dr_capacity_usd": "inflow: demand-response capacity payments",
    "cp_charge_usd": "outflow: coincident-peak transmission charge",
}

#: Built-in variables whose per-path total over the run is reported.
TOTALLED: tuple[str, ...] = (
    "blocks",
    "subsidy_btc",
    "fees_btc",
    "production_btc",
    "revenue_usd",
    "power_cost_usd",
    "opex_usd",
    "energy_mwh",
)

DaySink = Callable[[int, int, dict[str, NDArray[np.float64]]], None]
Step = Callable[[int], None]


@runtime_checkable
class Component(Protocol):
    """A capability plugged into every chunk engine of a run (built once per run)."""

    def attach(self, engine: ChunkEngine) -> None:
        """Add steps, processes, variables and state to ``engine``."""
        ...


class ChunkEngine:
    """Simulate paths ``first_block·B .. (first_block+n_blocks)·B − 1`` of a scenario.

    Parameters
    ----------
    model : CompiledScenario
    seed : int
        Root seed.
    first_block, n_blocks : int
        The stream blocks this chunk covers.
    sink : callable ``(day, path_offset, values) -> None``
        Receives each day's ``(n_chunk_paths,)`` values of :data:`DAILY_VARIABLES`.
    record_events : bool
        Keep the retarget/halving event log.
    """

    def __init__(
        self,
        model: CompiledScenario,
        seed: int,
        first_block: int,
        n_blocks: int,
        sink: DaySink,
        *,
        record_events: bool = True,
    ) -> None:
        self.model = model
        self.env = simpy.Environment()
        self.n_paths = n_blocks * STREAM_BLOCK_PATHS
        self.path_offset = first_block * STREAM_BLOCK_PATHS
        self.sink = sink
        sc = model.scenario
        self.pool_fee = sc.fleet.pool.fee_share
        self.opex_usd_per_day = sc.company.opex_usd_per_month * 12.0 / 365.25
        self.includes_fleet = sc.network.hashrate_includes_fleet

        def rng(purpose: str) -> BlockRNG:
            return BlockRNG.for_chunk(seed, first_block, n_blocks, purpose)

        self._proc_rngs = {p: rng(p).generators for p, _ in model.processes}
        self._proc_states = {
            p: [proc.init_state(STREAM_BLOCK_PATHS) for _ in range(n_blocks)]
            for p, proc in model.processes
        }
        self.block_rng = None if model.deterministic_blocks else rng("blocks")
        self.luck_rng = rng("luck") if (model.solo and not model.deterministic_blocks) else None

        c = model.chain
        self.network = NetworkState.uniform(self.n_paths, c.height, c.bits, c.epoch_start_time)
        self.events = EventLog(path_offset=self.path_offset) if record_events else None
        self._retarget_at_start()

        fleet = model.fleet
        self.fleet = FleetState.empty(fleet, self.n_paths)
        self.cash_usd = np.full(self.n_paths, sc.company.starting_cash_usd)
        self.btc = np.full(self.n_paths, sc.company.starting_btc)
        self.window: dict[str, NDArray[np.float64]] = {}
        self.today: dict[str, Any] = {}
        self.values: dict[str, NDArray[np.float64]] = {}
        #: Declared daily variables: name -> (unit, description).
        self.variables: dict[str, tuple[str, str]] = dict(DAILY_VARIABLES)
        #: Variables whose per-path total over the run is reported.
        self.totalled: list[str] = list(TOTALLED)
        self._inflows: dict[str, NDArray[np.float64]] = {}
        self._outflows: dict[str, NDArray[np.float64]] = {}
        self._rngs: dict[str, BlockRNG] = {}
        self._seed, self._first_block, self._n_blocks = seed, first_block, n_blocks

        self._steps: list[tuple[int, int, str, Step]] = []
        self.add_step(10, "market", self._step_market)
        self.add_step(15, "supply", self._step_supply)
        self.add_step(20, "dispatch", self._step_dispatch)
        self.add_step(30, "network", self._step_network)
        self.add_step(40, "production", self._step_production)
        self.add_step(80, "settle", self._step_settle)
        self.add_step(90, "record", self._step_record)

        for i, day in enumerate(fleet.install_day):
            if day <= 0:
                self.fleet.installed_units[:, i] = fleet.units[i]
            elif day < model.n_days:
                self.add_process(self._deliver(i, int(day)))
        self.fleet.refresh()
        self._inv_capacity = 1.0 / fleet.site_capacity_mw
        self._declare_power()
        for component in model.components:
            component.attach(self)
        self.env.process(self._clock())

    # ------------------------------------------------------------------ extension API

    def add_step(self, stage: int, name: str, fn: Step) -> None:
        """Run ``fn(day)`` in every daily tick at ``stage`` (lower first; ties by order added)."""
        self._steps.append((stage, len(self._steps), name, fn))
        self._steps.sort()

    def replace_step(self, name: str, fn: Step) -> None:
        """Replace the step called ``name`` (e.g. a different ``"supply"`` model)."""
        for i, (stage, order, n, _) in enumerate(self._steps):
            if n == name:
                self._steps[i] = (stage, order, name, fn)
                return
        raise KeyError(f"no step named {name!r}; steps: {[n for _, _, n, _ in self._steps]}")

    def declare(self, name: str, unit: str, description: str, *, total: bool = False) -> None:
        """Declare a daily per-path variable; set ``engine.values[name]`` every day."""
        self.variables[name] = (unit, description)
        if total and name not in self.totalled:
            self.totalled.append(name)

    def book(self, name: str, usd: NDArray[np.float64], *, outflow: bool = False) -> None:
        """Book a cash flow for today (USD per path, ≥ 0 for the usual direction).

        Each name is a daily variable (declared on first use, totalled over the run); cash
        moves by inflows − outflows at the ``settle`` stage.
        """
        if name not in self.variables:
            self.declare(name, "USD", ("outflow: " if outflow else "inflow: ") + name, total=True)
        flows = self._outflows if outflow else self._inflows
        flows[name] = flows[name] + usd if name in flows else np.asarray(usd, dtype=float)

    def booked(self) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
        """Today's ledger so far: ``(inflows, outflows)``, name -> USD per path (read-only)."""
        return dict(self._inflows), dict(self._outflows)

    def rng(self, purpose: str) -> BlockRNG:
        """This chunk's per-stream-block generators for ``purpose`` (see ``streams.PURPOSES``)."""
        if purpose not in self._rngs:
            self._rngs[purpose] = BlockRNG.for_chunk(
                self._seed, self._first_block, self._n_blocks, purpose
            )
        return self._rngs[purpose]

    def add_process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a SimPy process on this chunk's calendar (time unit: days)."""
        return self.env.process(generator)

    def run_until(self, day: int) -> None:
        """Simulate every day before ``day`` not yet simulated."""
        self.env.run(until=day)

    # ------------------------------------------------------------------ calendar

    def _clock(self) -> Generator[simpy.Event, Any, None]:
        while self.env.now < self.model.n_days:
            yield self.env.timeout(0)  # let everything dated today happen first
            day = int(self.env.now)
            self.today = {}
            self.values = {}
            self._inflows, self._outflows = {}, {}
            timer = _STEP_TIMES
            if timer is None:
                for _, _, _, fn in self._steps:
                    fn(day)
            else:
                for _, _, name, fn in self._steps:
                    t0 = time.perf_counter()
                    fn(day)
                    timer[name] = timer.get(name, 0.0) + time.perf_counter() - t0
            yield self.env.timeout(1)

    def _deliver(self, cohort: int, day: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(day)
        self.fleet.install(cohort, self.model.fleet.units[cohort])

    def _retarget_at_start(self) -> None:
        """A tip that ends an epoch retargets at t=0 (timespan measured to the start)."""
        st = self.network
        ends = st.height % 2016 == 2015
        if ends.any():
            span = self.model.start_unix - st.epoch_start_time[ends]
            st.bits[ends] = next_bits_array(st.bits[ends], span)
            st.difficulty[ends] = bits_to_difficulty_array(st.bits[ends])

    # ------------------------------------------------------------------ steps

    def _step_market(self, day: int) -> None:
        col = day % WINDOW_DAYS
        if col == 0:
            self._draw_window(day)
        for name, arr in self.window.items():
            self.today[name] = arr[:, col]

    def _draw_window(self, first_day: int) -> None:
        B = STREAM_BLOCK_PATHS
        n_blocks = self.n_paths // B
        out: dict[str, NDArray[np.float64]] = {}
        for purpose, proc in self.model.processes:
            for name in proc.outputs:
                out.setdefault(name, np.empty((self.n_paths, WINDOW_DAYS)))
            for b in range(n_blocks):
                sl = slice(b * B, (b + 1) * B)
                inputs = {k: v[sl] for k, v in out.items() if k not in proc.outputs}
                drawn = proc.window(
                    self._proc_states[purpose][b],
                    self._proc_rngs[purpose][b],
                    first_day,
                    WINDOW_DAYS,
                    inputs,
                )
                for name in proc.outputs:
                    out[name][sl] = drawn[name]
        self.window = out

    def _step_supply(self, day: int) -> None:
        """Rest-of-network hashrate from the exogenous path (H/s, per path)."""
        path_hs = self.today["network_hashrate_ehs"] * 1e18
        if self.includes_fleet:
            path_hs = np.maximum(path_hs - self.fleet.installed_th_s * 1e12, 0.0)
        self.today["rest_hashrate_hs"] = path_hs

    def _declare_power(self) -> None:
        """Declare the grid-programme flows and shed energy if a site takes part."""
        power = self.model.fleet.power
        self._spot_sites: tuple[int, ...] = ()
        if power is None:
            return
        names = []
        if any(s.demand_response is not None for s in power.sites):
            self.declare("dr_shed_mwh", "MWh", "Energy shed in demand-response calls", total=True)
            names += ["dr_energy_usd", "dr_capacity_usd"]
        if any(getattr(s.contract, "sell_back", False) for s in power.sites):
            names.append("sell_back_usd")
        if any(s.coincident_peak is not None for s in power.sites):
            names.append("cp_charge_usd")
        for name in names:
            self.declare(name, "USD", PROGRAMME_FLOWS[name], total=True)
        self._spot_sites = power.process.sites if power.process is not None else ()
        for i in self._spot_sites:
            site = self.model.fleet.site_names[i]
            self.declare(f"spot_usd_per_mwh_site{i}", "USD/MWh", f"Spot daily level at {site}")

    def _step_dispatch(self, day: int) -> None:
        t = self.today
        st = self.network
        reward_next = subsidy_sat_array(st.height + 1) / 1e8 + t["fees_btc_per_block"]
        hashprice = hashprice_usd_per_ph_day(t["btc_price_usd"], st.difficulty, reward_next)
        t["expected_hashprice_usd_per_ph_day"] = hashprice
        revenue_per_th = hashprice / 1000.0 * (1.0 - self.pool_fee)
        fleet = self.model.fleet
        if fleet.mode_options and fleet.power is not None:
            choose_best_modes(
                self.fleet, revenue_per_th, fleet.power.day_price(t, self.n_paths), t, day
            )
        d = dispatch(self.fleet, revenue_per_th, t, day)
        t["fleet_hs"] = d.running_th_s * 1e12
        t["network_hs"] = t["rest_hashrate_hs"] + t["fleet_hs"]
        t["dispatch"] = d

    def _step_network(self, day: int) -> None:
        t = self.today
        own_share = None
        if self.model.solo:
            own_share = np.divide(
                t["fleet_hs"],
                t["network_hs"],
                out=np.zeros(self.n_paths),
                where=t["network_hs"] > 0,
            )
        t["day_blocks"] = produce_day(
            self.network,
            t["network_hs"],
            t["fees_btc_per_block"],
            float(self.model.start_unix + day * SECONDS_PER_DAY),
            day,
            block_rng=self.block_rng,
            own_share=own_share,
            luck_rng=self.luck_rng,
            events=self.events,
        )

    def _step_production(self, day: int) -> None:
        t = self.today
        blocks = t["day_blocks"]
        price = t["btc_price_usd"]
        if self.model.solo:
            gross = blocks.own_reward_btc
        else:
            gross = t["fleet_hs"] * blocks.reward_per_hash_btc
        production = gross * (1.0 - self.pool_fee)
        disp = t["dispatch"]
        self.book("revenue_usd", production * price)
        self.book("power_cost_usd", disp.power_cost_usd, outflow=True)
        for name, usd in disp.credits_usd.items():
            self.book(name, usd)
        for name, usd in disp.charges_usd.items():
            self.book(name, usd, outflow=True)
        self.book("opex_usd", np.full(self.n_paths, self.opex_usd_per_day), outflow=True)
        st = self.network
        v = self.values
        v["height"] = st.height.astype(np.float64)
        v["blocks"] = blocks.blocks.astype(np.float64)
        v["difficulty"] = st.difficulty.copy()
        v["network_hashrate_ehs"] = t["network_hs"] / 1e18
        v["btc_price_usd"] = price
        v["subsidy_btc"] = blocks.subsidy_sat / 1e8
        v["fees_btc"] = blocks.blocks * t["fees_btc_per_block"]
        v["hashprice_usd_per_ph_day"] = blocks.reward_per_hash_btc * 1e15 * price
        v["fleet_hashrate_ehs"] = t["fleet_hs"] / 1e18
        v["production_btc"] = production
        v["energy_mwh"] = disp.energy_mwh
        self._fleet_metrics(disp)

    def _fleet_metrics(self, disp: Dispatch) -> None:
        """Uptime, curtailed hours and the running fleet's J/TH."""
        v = self.values
        fs = self.fleet
        installed = rows_dot(fs.installed_units, fs.fleet.unit_hashrate_th_s * fs.hashrate_factor)
        running = disp.running_th_s
        zero = np.zeros(self.n_paths)
        v["uptime"] = np.divide(running, installed, out=zero.copy(), where=installed > 0)
        avail = disp.available_mw
        if avail is None:
            avail = rows_sum(fs.available_mw)
        ran = disp.energy_mwh / 24.0
        v["curtailed_hours"] = 24.0 * (
            1.0 - np.divide(ran, avail, out=np.ones(self.n_paths), where=avail > 0)
        )
        it_mw = disp.it_power_mw if disp.it_power_mw is not None else ran
        load = disp.site_power_mw * self._inv_capacity
        v["max_site_load_share"] = load.max(axis=1, initial=0.0)
        v["fleet_j_per_th"] = np.divide(it_mw * 1e6, running, out=zero, where=running > 0)
        if disp.shed_mwh is not None and "dr_shed_mwh" in self.variables:
            v["dr_shed_mwh"] = disp.shed_mwh
        for i in self._spot_sites:
            v[f"spot_usd_per_mwh_site{i}"] = self.today[spot_output(i)]

    def _step_settle(self, day: int) -> None:
        for name, usd in self._inflows.items():
            self.cash_usd += usd
            self.values[name] = usd
        for name, usd in self._outflows.items():
            self.cash_usd -= usd
            self.values[name] = usd
        self.values["cash_usd"] = self.cash_usd.copy()

    def _step_record(self, day: int) -> None:
        v = self.values
        zero = None
        for name in self.variables:
            if name not in v:  # a flow not booked today is zero
                if zero is None:
                    zero = np.zeros(self.n_paths)
                v[name] = zero
        self.sink(day, self.path_offset, v)
