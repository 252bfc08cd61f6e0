"""The power market as an engine component: grid-programme flows and spot levels.

:class:`GridProgrammes` declares the flows the sites' programmes book (sell-back,
demand-response energy and capacity, coincident-peak charges — booked by the fleet's
``production`` step from its dispatch) and records, at stage 40 after production, the energy
shed in demand-response calls and each spot site's daily level.
"""

from __future__ import annotations

from hashfleet.day import DayRecord
from hashfleet.engine.core import ChunkEngine
from hashfleet.market.power import FleetPower, spot_output
from hashfleet.market.power.terms import contract_output

__all__ = ["PROGRAMME_FLOWS", "GridProgrammes"]

#: Grid-programme flows booked when a site takes part: name -> description.
PROGRAMME_FLOWS: dict[str, str] = {
    "sell_back_usd": "inflow: contracted power resold above the strike",
    "dr_energy_usd": "inflow: demand-response energy credits",
    "dr_capacity_usd": "inflow: demand-response capacity payments",
    "cp_charge_usd": "outflow: coincident-peak transmission charge",
    "demand_charge_usd": "outflow: demand charge on the day's peak load (USD/kW-month)",
}


class GridProgrammes:
    """Declare the programme flows and record shed energy and spot levels.

    Parameters
    ----------
    power : FleetPower
        The sites' compiled power.
    site_names : sequence of str
    """

    def __init__(self, power: FleetPower, site_names: tuple[str, ...] | list[str]) -> None:
        self.power = power
        self.site_names = tuple(site_names)

    def attach(self, engine: ChunkEngine) -> None:
        """Declare the flows and variables; add the ``grid_record`` step."""
        power = self.power
        names = []
        self.shed = any(s.demand_response is not None for s in power.sites)
        if self.shed:
            engine.declare("dr_shed_mwh", "MWh", "Energy shed in demand-response calls", total=True)
            names += ["dr_energy_usd", "dr_capacity_usd"]
        if any(s.coincident_peak is not None for s in power.sites):
            names.append("cp_charge_usd")
        for s in power.sites:  # what each contract books besides the power bill
            names += [f for f in s.terms.flows if f not in names]
        for name in names:
            engine.declare(name, "USD", PROGRAMME_FLOWS[name], total=True)
        spot_sites = power.process.sites if power.process is not None else ()
        for i in spot_sites:
            site = self.site_names[i]
            engine.declare(f"spot_usd_per_mwh_site{i}", "USD/MWh", f"Spot daily level at {site}")
        timed = [s.index for s in power.sites if s.terms.time_varying]
        for i in timed:
            site = self.site_names[i]
            engine.declare(
                f"contract_usd_per_mwh_site{i}", "USD/MWh", f"Contract energy price at {site}"
            )
        if not self.shed and not spot_sites and not timed:
            return

        def record(day: int) -> None:
            t: DayRecord = engine.today
            v = engine.values
            if self.shed and t.dispatch.shed_mwh is not None:
                v["dr_shed_mwh"] = t.dispatch.shed_mwh
            for i in spot_sites:
                v[f"spot_usd_per_mwh_site{i}"] = t.exogenous[spot_output(i)]
            for i in timed:
                v[f"contract_usd_per_mwh_site{i}"] = t.exogenous[contract_output(i)]

        engine.add_step(40, "grid_record", record)
