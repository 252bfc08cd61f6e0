"""The endogenous hashrate supply as an engine component, and its scenario section.

The model — the rest of the world's miners as an installed base by efficiency vintage that
switches off, invests, retires and suffers shocks as hashprice moves — its parameters
(:class:`SupplyParams`), state (:class:`SupplyState`) and daily kernels are in
:mod:`hashfleet.network.supply_kernels` (the equations are in its docstring) and re-exported
here.  This module resolves the scenario's ``network.hashrate`` section into parameters
(:func:`supply_params_from_spec`) and runs the kernels in the engine
(:class:`EndogenousSupply`: the ``supply`` step, stage 15, and ``supply_update``, stage 45).
With ``segments`` the component is :class:`~hashfleet.network.segments.SegmentedSupply`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.day import DayRecord
from hashfleet.network.component import NetworkChunk, expected_hashprice
from hashfleet.network.instant import InstantResponse
from hashfleet.network.segments import SegmentedSupply, segment_params_from_spec
from hashfleet.network.supply_kernels import (
    MWH_PER_TH_DAY_PER_J_PER_TH,
    VINTAGE_GRID_J_PER_TH,
    SupplyParams,
    SupplyState,
    break_even_usd_per_mwh,
    frontier_margin,
    initial_supply_state,
    supply_running_hs,
    supply_update,
    target_running_share,
    vintage_grid,
)
from hashfleet.scenario.schema import (
    EndogenousHashrateSpec,
    InstantResponseHashrateSpec,
    Scenario,
)

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = [
    "MWH_PER_TH_DAY_PER_J_PER_TH",
    "VINTAGE_GRID_J_PER_TH",
    "EndogenousSupply",
    "SupplyParams",
    "SupplyState",
    "break_even_usd_per_mwh",
    "build_supply_components",
    "catalogue_frontier_j_per_th",
    "frontier_margin",
    "initial_supply_state",
    "supply_params_from_spec",
    "supply_running_hs",
    "supply_update",
    "target_running_share",
    "vintage_grid",
]


def catalogue_frontier_j_per_th(date: dt.date, improvement_per_year: float) -> float:
    """Best efficiency (J/TH) of the shipped catalogue's models released by ``date``.

    Before the first release the first model's efficiency is extrapolated back at
    ``improvement_per_year``.
    """
    import pandas as pd

    from hashfleet.fleet.catalogue import load_catalogue

    df = load_catalogue("builtin:asic_catalogue").to_frame()
    rel = pd.to_datetime(df["release_date"], errors="coerce")
    eff = df["efficiency_j_per_th"].to_numpy(dtype=np.float64)
    known = rel.notna().to_numpy()
    released = known & (rel <= pd.Timestamp(date)).to_numpy()
    if released.any():
        return float(eff[released].min())
    first = rel[known].min()
    best = float(eff[known & (rel == first).to_numpy()].min())
    years = (first.date() - date).days / DAYS_PER_YEAR
    return best * (1.0 - improvement_per_year) ** (-years)


def supply_params_from_spec(
    spec: EndogenousHashrateSpec, start: dt.date, horizon_days: int
) -> SupplyParams:
    """Resolve an ``endogenous`` hashrate spec into :class:`SupplyParams`."""
    frontier = (
        spec.frontier_j_per_th
        if spec.frontier_j_per_th is not None
        else catalogue_frontier_j_per_th(start, spec.frontier_improvement_per_year)
    )
    shocks = tuple(
        ((s.date - start).days, s.share)
        for s in spec.shocks
        if 0 <= (s.date - start).days < horizon_days
    )
    grid = vintage_grid(
        frontier, spec.frontier_improvement_per_year, spec.max_age_years, horizon_days
    )
    return SupplyParams(
        grid_j_per_th=grid,
        power_cost_median_usd_per_mwh=spec.power_cost_median_usd_per_mwh,
        power_cost_sigma=spec.power_cost_sigma,
        frontier_j_per_th=frontier,
        frontier_improvement_per_year=spec.frontier_improvement_per_year,
        age_growth_per_year=spec.age_growth_per_year,
        max_age_years=spec.max_age_years,
        investment_rate_per_year=spec.investment_rate_per_year,
        investment_margin_threshold=spec.investment_margin_threshold,
        investment_memory_days=spec.investment_memory_days,
        lead_time_days=spec.lead_time_days,
        retirement_rate_per_year=spec.retirement_rate_per_year,
        retirement_memory_days=spec.retirement_memory_days,
        switch_half_life_days=spec.switch_half_life_days,
        shock_rate_per_year=spec.shock_rate_per_year,
        shock_share=spec.shock_share,
        shock_recovery_half_life_days=spec.shock_recovery_half_life_days,
        scheduled_shocks=shocks,
    )


class EndogenousSupply:
    """Engine component: the rest of the network from the supply model.

    Replaces the ``supply`` step (stage 15) and adds ``supply_update`` at stage 45, after
    production.  Records ``rest_installed_ehs`` (installed capacity of the rest of the
    network, EH/s) and ``rest_offline_share`` (share offline because of shocks).

    Parameters
    ----------
    params : SupplyParams
    start_ehs : float or None
        Network hashrate on day 0 (EH/s); None: ``D·2^32/600`` at the starting difficulty.
    includes_fleet : bool
        ``start_ehs`` includes our installed fleet (subtracted to get the rest).
    """

    def __init__(
        self,
        params: SupplyParams,
        start_ehs: float | None,
        includes_fleet: bool,
        param_sampler: Callable[[ChunkEngine, SupplyParams], SupplyParams] | None = None,
    ):
        self.params = params
        self.start_ehs = start_ehs
        self.includes_fleet = includes_fleet
        #: Optional per-chunk hook (``network.parameters``): the chunk's parameters, fitted
        #: fields as per-path arrays of shape (n_paths,) drawn from its keyed streams.
        self.param_sampler = param_sampler

    def attach(self, engine: ChunkEngine) -> None:
        """Replace the supply step and add the end-of-day update."""
        holder: dict[str, SupplyState] = {}
        rng = engine.rng("network_supply")
        p = self.params if self.param_sampler is None else self.param_sampler(engine, self.params)
        engine.declare(
            "rest_installed_ehs", "EH/s", "Installed capacity of the rest of the network"
        )
        engine.declare(
            "rest_offline_share", "1", "Share of the rest of the network offline (shocks)"
        )

        network = engine.service(NetworkChunk).state

        def supply(day: int) -> None:
            t: DayRecord = engine.today
            hp = expected_hashprice(t, network)
            if "state" not in holder:
                if self.start_ehs is not None:
                    start_hs = np.full(engine.n_paths, self.start_ehs * 1e18)
                else:
                    start_hs = network.difficulty * 2.0**32 / 600.0
                if self.includes_fleet:
                    start_hs = np.maximum(start_hs - t.fleet_installed_hs, 0.0)
                st = holder["state"] = initial_supply_state(p, start_hs, hp)
                t.rest_hashrate_hs = start_hs * (1.0 - st.offline)
                return
            t.rest_hashrate_hs = supply_running_hs(holder["state"], p, hp)

        def update(day: int) -> None:
            st = holder["state"]
            u = None
            if p.shock_rate_per_year > 0:
                u = np.concatenate([g.random((rng.block_paths, 2)) for g in rng.generators], axis=0)
            supply_update(st, p, day, engine.values["hashprice_usd_per_ph_day"], u)
            engine.values["rest_installed_ehs"] = st.installed_total_hs / 1e18
            engine.values["rest_offline_share"] = st.offline.copy()

        engine.replace_step("supply", supply)
        engine.add_step(45, "supply_update", update)


def build_supply_components(scenario: Scenario) -> list[Any]:
    """The engine components a scenario's ``network.hashrate`` asks for (none if exogenous)."""
    spec = scenario.network.hashrate
    if isinstance(spec, EndogenousHashrateSpec):
        params = supply_params_from_spec(spec, scenario.run.start, scenario.run.horizon_days)
        if spec.segments:  # the rest of the network as a sum of segments
            segs = tuple(
                segment_params_from_spec(s, params, scenario.run.start, scenario.run.horizon_days)
                for s in spec.segments
            )
            return [SegmentedSupply(segs, spec.start_ehs, scenario.network.hashrate_includes_fleet)]
        return [EndogenousSupply(params, spec.start_ehs, scenario.network.hashrate_includes_fleet)]
    if isinstance(spec, InstantResponseHashrateSpec):
        fees = scenario.network.fees
        fee_btc = float(getattr(fees, "btc_per_block", getattr(fees, "median_btc_per_block", 0.0)))
        return [
            InstantResponse(
                spec.cap_ehs,
                spec.centre_usd_per_ph_day,
                spec.slope_per_usd_per_ph_day,
                spec.resolution_hours,
                day0_fee_btc_per_block=fee_btc,
            )
        ]
    return []
