"""Scenario sections for power over time, grid charges, emissions and compliance (issue 16).

Every field is opt-in: without these sections a run is identical to one before they existed.
Like :mod:`hashfleet.scenario.hpc` this module imports only :mod:`hashfleet.scenario.fields`,
so :mod:`hashfleet.scenario.schema` can use its classes without an import cycle.

* :class:`PpaTermsSpec` (``fleet.sites[*].power.terms`` of a fixed contract): an escalator,
  an end date and what follows it (re-contracting at the then forward price, or spot);
* :class:`SpotTrendSpec` (``fleet.sites[*].spot.trend``): a drift of the spot median and a
  long-run level it moves to;
* :class:`GridChargesSpec` (``fleet.sites[*].grid_charges``): transmission per MWh and a
  demand charge per kW-month of peak load;
* :class:`SiteEmissionsSpec` (``fleet.sites[*].emissions``): the grid mix's emission factor
  and the renewable share of the site's supply;
* :class:`ComplianceSpec` (top-level ``compliance:``): carbon price, compliance cost per MWh
  and per year, the network energy bounds' reference electricity price and PUE.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import model_validator

from hashfleet.scenario.fields import Spec, _f

__all__ = [
    "ComplianceSpec",
    "GridChargesSpec",
    "PpaTermsSpec",
    "SiteEmissionsSpec",
    "SpotTrendSpec",
]


class PpaTermsSpec(Spec):
    """A PPA's terms over time: escalator, expiry and re-contracting (docs/power.md)."""

    escalator_per_year: float = _f(
        0.0,
        unit="1/year",
        ge=-0.5,
        le=1.0,
        description="Price escalation per contract year (0.025 = +2.5 %/yr), applied in steps "
        "on each anniversary of the run's start: price × (1 + e)^⌊years⌋.",
    )
    end_date: dt.date | None = _f(
        None, description="Last day of the contract; None: it runs past the horizon."
    )
    recontract: Literal["forward", "spot"] = _f(
        "forward",
        description="After the end date: forward = a new fixed price for `recontract_term_years` "
        "at the then forward price (needs the site's `spot`), again at each expiry; spot = pay "
        "the spot daily level plus `recontract_premium_usd_per_mwh` (needs `spot`).",
    )
    recontract_term_years: float = _f(
        3.0, unit="year", gt=0, le=30, description="Term of each new contract (forward)."
    )
    recontract_premium_usd_per_mwh: float = _f(
        0.0,
        unit="USD/MWh",
        ge=-1000,
        le=1000,
        description="Added to the forward price (a seller's risk premium) or to spot.",
    )


class SpotTrendSpec(Spec):
    """A trend in the spot median: a drift and a long-run level it reverts to.

    The log median of day ``d`` (``t = d/365.25`` years) is ``log m_∞ + (log m_0 − log m_∞)·
    2^(−t/h) + g·t`` with ``m_0`` the spot's ``median_usd_per_mwh``, ``m_∞`` the long-run
    median (default ``m_0``), ``h`` the level's half-life and ``g`` the drift.
    """

    drift_per_year: float = _f(
        0.0,
        unit="1/year",
        ge=-0.5,
        le=0.5,
        description="Continuous growth of the median per year (0.03 ≈ +3 %/yr).",
    )
    long_run_median_usd_per_mwh: float | None = _f(
        None,
        unit="USD/MWh",
        gt=0,
        description="Median the level moves to (before drift); None: the spot median.",
    )
    level_half_life_years: float = _f(
        2.0,
        unit="year",
        gt=0,
        le=100,
        description="Half-life of the move from the spot median to the long-run median.",
    )


class GridChargesSpec(Spec):
    """Delivery charges on top of the energy price: transmission and a demand charge."""

    transmission_usd_per_mwh: float = _f(
        0.0,
        unit="USD/MWh",
        ge=0,
        le=1000,
        description="Transmission/distribution charge on every MWh drawn (part of the "
        "marginal price: machines run only where they cover it).",
    )
    demand_charge_usd_per_kw_month: float = _f(
        0.0,
        unit="USD/(kW·month)",
        ge=0,
        le=1000,
        description="Charge on the day's peak load, accrued daily as rate × 12/365.25 × kW "
        "(a monthly bill on the average daily peak; a tariff on the month's single highest "
        "interval bills at least this).",
    )


class SiteEmissionsSpec(Spec):
    """The emission factor of a site's grid supply and its renewable share."""

    grid_tco2e_per_mwh: float = _f(
        unit="tCO2e/MWh",
        ge=0,
        le=2,
        description="Emission factor of the grid power drawn (location-based): for US sites "
        "the EPA eGRID subregion output rate (e.g. ERCT ≈ 0.35), elsewhere the national "
        "inventory or IEA factor; write where it comes from in `source`.",
    )
    renewable_share: float = _f(
        0.0,
        ge=0,
        le=1,
        description="Share of the energy drawn covered by renewable supply (PPA, RECs): "
        "zero emissions on that share (market-based).",
    )
    source: str = _f("", description="Where the factor comes from (shown in the report).")


class ComplianceSpec(Spec):
    """Energy and emissions reporting and compliance costs (docs/emissions.md)."""

    carbon_price_usd_per_tco2e: float = _f(
        0.0, unit="USD/tCO2e", ge=0, le=10000, description="Price on every tCO2e emitted."
    )
    compliance_usd_per_mwh: float = _f(
        0.0,
        unit="USD/MWh",
        ge=0,
        le=1000,
        description="Compliance cost on every MWh drawn (levies, grid-rule costs).",
    )
    fixed_usd_per_year: float = _f(
        0.0,
        unit="USD/year",
        ge=0,
        description="Fixed compliance cost (energy disclosure, audits), accrued daily.",
    )
    network_energy: bool = _f(
        True,
        description="Report the network's energy bounds (CBECI-style, from the catalogue's "
        "hardware efficiencies).",
    )
    reference_price_usd_per_mwh: float = _f(
        50.0,
        unit="USD/MWh",
        gt=0,
        description="Electricity price at which hardware is judged profitable for the network "
        "bounds (CBECI assumes 0.05 USD/kWh).",
    )
    pue_low: float = _f(1.01, ge=1, le=3, description="PUE of the lower bound (CBECI 1.01).")
    pue_high: float = _f(1.20, ge=1, le=3, description="PUE of the upper bound (CBECI 1.20).")
    pue_guess: float = _f(1.10, ge=1, le=3, description="PUE of the best guess (CBECI 1.10).")

    @model_validator(mode="after")
    def _pues(self) -> ComplianceSpec:
        if not self.pue_low <= self.pue_guess <= self.pue_high:
            raise ValueError(
                "pue_guess: expected pue_low ≤ pue_guess ≤ pue_high, got "
                f"{self.pue_low}, {self.pue_guess}, {self.pue_high}"
            )
        return self
