"""The composition root: compile a scenario and list the components in stage order.

Compiling resolves everything that is the same for every path: the starting chain state (from
the scenario or the shipped history), the catalogue, the fleet's arrays and the exogenous
processes.  It reads files; the engine then only computes.  This is the one module that knows
every component: the engine kernel (:mod:`hashfleet.engine.core`) attaches them to each chunk
engine in the order :func:`compile_scenario` lists them (see ``docs/architecture.md``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hashfleet import consensus
from hashfleet.day import DayRecord
from hashfleet.errors import InputError
from hashfleet.finance.capital import CapitalComponent
from hashfleet.finance.cash import FixedOpex, Settlement, opex_usd_per_day
from hashfleet.finance.compliance import ComplianceComponent
from hashfleet.finance.valuation import MetricsComponent
from hashfleet.fleet.catalogue import load_catalogue
from hashfleet.fleet.component import FleetComponent
from hashfleet.fleet.machines import build_machines
from hashfleet.fleet.operations import FleetArrays, compile_fleet
from hashfleet.fleet.orders import TradingComponent, plan_trading
from hashfleet.hpc.component import HpcComponent
from hashfleet.market.grid import GridProgrammes
from hashfleet.market.power import power_processes
from hashfleet.market.price import build_price_process
from hashfleet.network.chain import ChainStart, resolve_chain_start, unix_seconds
from hashfleet.network.component import NetworkComponent
from hashfleet.network.fees import build_fee_process
from hashfleet.network.hashrate import build_hashrate_process
from hashfleet.network.interval_stats import BlockIntervalStats
from hashfleet.network.parameters import apply_forecast_options
from hashfleet.network.supply import build_supply_components
from hashfleet.policies import build_policies
from hashfleet.processes import ExogenousProcess, ProcessContext
from hashfleet.scenario.schema import Scenario

__all__ = ["ChainStart", "CompiledScenario", "compile_scenario", "resolve_chain_start"]


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario ready to simulate.

    Attributes
    ----------
    scenario : Scenario
    start_unix : int
        Unix time of t=0: day 0 at ``network.start_hour_utc`` (00:00 UTC by default).
    n_days : int
    chain : ChainStart
    processes : tuple of (purpose, ExogenousProcess)
        Drawn in this order each window; purposes key the random streams.
    fleet : FleetArrays
    components : tuple of Component
        Capabilities attached to every chunk engine, in this order (see
        :func:`compile_scenario`).
    """

    scenario: Scenario
    start_unix: int
    n_days: int
    chain: ChainStart
    processes: tuple[tuple[str, ExogenousProcess], ...]
    fleet: FleetArrays
    components: tuple[Any, ...] = ()

    @property
    def deterministic_blocks(self) -> bool:
        """Whether blocks arrive at exactly the expected rate."""
        return self.scenario.network.blocks == "deterministic"

    @property
    def solo(self) -> bool:
        """Whether the fleet mines solo (Poisson luck) instead of FPPS."""
        return self.scenario.fleet.pool.payout == "solo"

    def new_day(self) -> DayRecord:
        """A fresh day record (the engine makes one per day)."""
        return DayRecord()


def compile_scenario(scenario: Scenario, scenario_dir: Path | None = None) -> CompiledScenario:
    """Resolve a scenario into arrays and processes.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    scenario_dir : pathlib.Path, optional
        Directory of the scenario file (paths in the scenario are already absolute).
    """
    run = scenario.run
    start_unix = unix_seconds(dt.datetime.combine(run.start, dt.time(), tzinfo=dt.UTC))
    start_unix += round(scenario.network.start_hour_utc * 3600.0)  # the tip's time of day
    chain = resolve_chain_start(scenario.network.start, run.start)
    ctx = ProcessContext(
        start=run.start,
        horizon_days=run.horizon_days,
        initial_difficulty=consensus.bits_to_difficulty(chain.bits),
        scenario_dir=scenario_dir or Path("."),
    )
    catalogue = load_catalogue(scenario.fleet.catalogue, extra=scenario.fleet.models)
    trading = plan_trading(scenario, catalogue)  # frontier models, cohort slots, policies
    fleet = compile_fleet(scenario.fleet, trading.catalogue, run.start, trading.extra_cohorts)
    processes: tuple[tuple[str, ExogenousProcess], ...] = (
        ("btc_price", build_price_process(scenario.market.btc_price, ctx)),
        ("fees", build_fee_process(scenario.network.fees, ctx)),
        ("network_hashrate", build_hashrate_process(scenario.network.hashrate, ctx)),
    )
    if chain.epoch_start_time > start_unix:
        got = dt.datetime.fromtimestamp(chain.epoch_start_time, dt.UTC).isoformat()
        raise InputError(
            "network.start.epoch_start_time: expected a time before the run's start "
            f"{run.start.isoformat()}, got {got}"
        )
    processes += power_processes(fleet.power)  # spot power per site (purpose "power")
    components = _components(scenario, start_unix, chain, fleet, trading, scenario_dir)
    return CompiledScenario(
        scenario, start_unix, run.horizon_days, chain, processes, fleet, tuple(components)
    )


def _components(
    scenario: Scenario,
    start_unix: int,
    chain: ChainStart,
    fleet: FleetArrays,
    trading: Any,
    scenario_dir: Path | None = None,
) -> list[Any]:
    """Every component of the run, in attach order (steps of one stage run in this order)."""
    sc = scenario
    solo = sc.fleet.pool.payout == "solo"
    components: list[Any] = [
        NetworkComponent(
            start_unix,
            chain,
            deterministic=sc.network.blocks == "deterministic",
            solo=solo,
            includes_fleet=sc.network.hashrate_includes_fleet,
        ),
        FleetComponent(fleet, sc.run.horizon_days, sc.fleet.pool.fee_share, solo),
        FixedOpex(opex_usd_per_day(sc.company.opex_usd_per_month)),
    ]
    if sc.network.block_interval_stats:  # block times from their own stream
        components.append(BlockIntervalStats(start_unix, sc.network.blocks == "deterministic"))
    if fleet.power is not None:
        components.append(GridProgrammes(fleet.power, fleet.site_names))
    components.append(Settlement(sc.company.starting_cash_usd, sc.company.starting_btc))
    components.append(TradingComponent(trading, fleet))  # asset market, orders, opex by size
    if sc.compliance is not None:  # energy per site, emissions, network bounds, compliance
        emissions = [s.emissions for s in sc.fleet.sites]
        components.append(
            ComplianceComponent(sc.compliance, emissions, fleet, trading.catalogue, sc.run.start)
        )
    components += build_policies(sc)
    components.append(MetricsComponent(sc.finance))
    components += build_machines(fleet)  # failures, repairs, spares, degradation, DOA
    components += build_supply_components(sc)  # endogenous or instant-response supply
    components = apply_forecast_options(components, sc, scenario_dir)  # calibration, draws
    if sc.hpc is not None:  # AI/HPC conversions: take MW out of mining, lease them
        components.append(
            HpcComponent(sc.hpc, start=sc.run.start, pool_fee=sc.fleet.pool.fee_share)
        )
    if sc.capital is not None:  # last: replaces settle with the capital plan's day
        components.append(CapitalComponent(sc.capital))
    return components
