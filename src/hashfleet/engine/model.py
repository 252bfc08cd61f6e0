"""Compile a validated :class:`~hashfleet.scenario.schema.Scenario` into what the engine runs.

Compiling resolves everything that is the same for every path: the starting chain state (from
the scenario or the shipped history), the catalogue, the fleet's arrays and the exogenous
processes.  It reads files; the engine then only computes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hashfleet import consensus
from hashfleet.errors import InputError
from hashfleet.fleet.catalogue import load_catalogue
from hashfleet.fleet.machines import build_machines
from hashfleet.fleet.operations import FleetArrays, compile_fleet
from hashfleet.fleet.orders import plan_trading
from hashfleet.market.power import power_processes
from hashfleet.market.price import build_price_process
from hashfleet.network.fees import build_fee_process
from hashfleet.network.hashrate import build_hashrate_process
from hashfleet.network.supply import build_supply_components
from hashfleet.processes import ExogenousProcess, ProcessContext
from hashfleet.scenario.schema import NetworkStartSpec, Scenario

__all__ = ["ChainStart", "CompiledScenario", "compile_scenario", "resolve_chain_start"]


@dataclass(frozen=True)
class ChainStart:
    """The chain at t=0: tip height, the current epoch's bits and first-block time."""

    height: int
    bits: int
    epoch_start_time: int  # Unix seconds
    source: str


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario ready to simulate.

    Attributes
    ----------
    scenario : Scenario
    start_unix : int
        Unix time of day 0, 00:00 UTC.
    n_days : int
    chain : ChainStart
    processes : tuple of (purpose, ExogenousProcess)
        Drawn in this order each window; purposes key the random streams.
    fleet : FleetArrays
    components : tuple of Component
        Capabilities attached to every chunk engine (see :mod:`hashfleet.engine.core`).
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


def _unix(t: dt.datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp())


def resolve_chain_start(spec: NetworkStartSpec, start: dt.date) -> ChainStart:
    """The chain state at 00:00 UTC of ``start``, from the spec or the shipped history."""
    if spec.from_history:
        from hashfleet import history

        st = history.network_state_at(start)
        return ChainStart(st.height, st.bits, _unix(st.epoch_start_time), st.source)
    assert spec.height is not None and spec.epoch_start_time is not None
    if spec.bits is not None:
        consensus.bits_to_target(spec.bits)  # validates the compact encoding
        bits = spec.bits
    else:
        assert spec.difficulty is not None
        bits = consensus.target_to_bits(consensus.difficulty_to_target(spec.difficulty))
    return ChainStart(spec.height, bits, _unix(spec.epoch_start_time), "scenario")


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
    start_unix = _unix(dt.datetime.combine(run.start, dt.time(), tzinfo=dt.UTC))
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
    # Capabilities: each builder returns the components its scenario section asks for.
    components: list[Any] = []
    components.extend(trading.components(fleet))  # orders, policies, metrics
    components += build_machines(fleet)  # failures, repairs, spares, degradation, DOA
    processes += power_processes(fleet.power)  # spot power per site (purpose "power")
    components += build_supply_components(scenario)
    return CompiledScenario(
        scenario, start_unix, run.horizon_days, chain, processes, fleet, tuple(components)
    )
