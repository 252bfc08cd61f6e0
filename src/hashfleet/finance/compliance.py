"""Energy, emissions and compliance: what the fleet draws per site, what it emits, what the
network draws, and the compliance costs (``compliance:`` section, docs/emissions.md).

Fleet, per site ``s`` and day
    ``E_s`` (MWh, PUE included) from the day's dispatch: at a flat-price site the MW it ran
    all day × 24 h; at hour-level sites (index, time of use, programmes) the fleet's energy
    less the flat sites' (exact with one hour-level site; with several the remainder is
    shared in proportion to each one's peak hourly load).  Emissions
    ``tCO2e_s = E_s × (1 − r_s) × f_s`` with ``f_s`` the site's grid emission factor
    (tCO2e/MWh, location-based) and ``r_s`` the renewable share of its supply (zero emissions,
    market-based); renewable energy ``E_s × r_s``.

Network, per day (the Cambridge Bitcoin Electricity Consumption Index method, CBECI, CCAF:
https://ccaf.io/cbnsi/cbeci/methodology)
    Hardware: the catalogue's models released by the day (stock J/TH).  A model is profitable
    when the day's expected revenue per TH/s (hashprice before pool fee, USD/TH/day) covers
    its electricity at the reference price ``p`` (CBECI: 0.05 USD/kWh):
    ``J/TH ≤ hashprice_TH × 10^6 / (24 × p)``.  Lower bound: all the network's hashrate on the
    most efficient model, PUE ``pue_low`` (1.01); upper bound: on the least efficient
    *profitable* model, PUE ``pue_high`` (1.20); best guess: the equal-weight mean of the
    profitable models, PUE ``pue_guess`` (1.10) — CBECI's original basket.  (If no model is
    profitable every estimate falls back to the most efficient one.)  Energy
    ``H [TH/s] × J/TH × PUE × 24 h / 10^6`` MWh per day.

Compliance costs booked through the ledger (operating outflows, so in opex and EBITDA):
``carbon_cost_usd = tCO2e × carbon price``, ``compliance_energy_usd = MWh × USD/MWh``,
``compliance_fixed_usd = USD per year × 1/365.25`` per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from hashfleet.day import DayRecord
from hashfleet.engine.core import ChunkEngine
from hashfleet.finance.ledger import DAYS_PER_YEAR
from hashfleet.fleet.catalogue import Catalogue
from hashfleet.fleet.operations import FleetArrays
from hashfleet.scenario.power import ComplianceSpec, SiteEmissionsSpec

__all__ = ["ComplianceComponent", "NetworkEnergyBounds", "network_j_per_th_bounds"]

FloatArray = NDArray[np.float64]
HOURS_PER_DAY = 24.0


class NetworkEnergyBounds:
    """The catalogue's hardware for the CBECI-style network bounds.

    Parameters
    ----------
    catalogue : Catalogue
        Models (with the frontier's future ones).
    start : datetime.date
        Day 0 (release dates become day indices; a model without a date is always on the market).
    """

    def __init__(self, catalogue: Catalogue, start: dt.date) -> None:
        eff, day = [], []
        for name in catalogue:
            m = catalogue.get(name)
            eff.append(m.power_w / m.hashrate_th_s)
            day.append((m.release_date - start).days if m.release_date is not None else -1)
        order = np.argsort(eff, kind="stable")
        self.efficiency_j_per_th = np.asarray(eff, dtype=np.float64)[order]
        self.release_day = np.asarray(day, dtype=np.int64)[order]

    def released(self, day: int) -> FloatArray:
        """Efficiencies (J/TH, ascending) of the models released by ``day``."""
        return self.efficiency_j_per_th[self.release_day <= day]


def network_j_per_th_bounds(
    released_j_per_th: FloatArray, revenue_usd_per_th_day: FloatArray, price_usd_per_mwh: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Lower, best-guess and upper J/TH of the network (CBECI's hardware rule), per path.

    Parameters
    ----------
    released_j_per_th : ndarray, shape (n_models,)
        Efficiencies of the hardware on the market, ascending (J/TH); at least one.
    revenue_usd_per_th_day : ndarray, shape (n_paths,)
        Expected revenue of 1 TH/s for the day (USD).
    price_usd_per_mwh : float
        Reference electricity price.

    Returns
    -------
    low, guess, high : ndarray, shape (n_paths,)
        Most efficient; mean of the profitable; least efficient profitable (J/TH).
    """
    e = released_j_per_th
    n_paths = revenue_usd_per_th_day.shape[0]
    threshold = revenue_usd_per_th_day * 1e6 / (HOURS_PER_DAY * price_usd_per_mwh)
    k = np.searchsorted(e, threshold, side="right")  # profitable models: e[:k]
    low = np.full(n_paths, e[0])
    kk = np.maximum(k, 1)
    high = e[kk - 1]
    cum = np.cumsum(e)
    guess = cum[kk - 1] / kk
    return low, guess, high


class ComplianceComponent:
    """Energy per site, emissions, renewable share, network energy bounds and compliance
    costs (stage 42, after production; costs settle at 80).

    Parameters
    ----------
    spec : ComplianceSpec
    sites : sequence of SiteEmissionsSpec
        Per site (the scenario requires one per site with a ``compliance:`` section).
    fleet : FleetArrays
    catalogue : Catalogue
    start : datetime.date
    """

    def __init__(
        self,
        spec: ComplianceSpec,
        sites: Sequence[SiteEmissionsSpec | None],
        fleet: FleetArrays,
        catalogue: Catalogue,
        start: dt.date,
    ) -> None:
        self.spec = spec
        self.fleet = fleet
        self.factor = np.array([s.grid_tco2e_per_mwh if s else 0.0 for s in sites])
        self.renewable = np.array([s.renewable_share if s else 0.0 for s in sites])
        self.bounds = NetworkEnergyBounds(catalogue, start) if spec.network_energy else None
        power = fleet.power
        self.hourly_sites = (
            [s.index for s in power.sites if not s.simple] if power is not None else []
        )

    def attach(self, engine: ChunkEngine) -> None:
        """Declare the variables and flows; add the ``compliance`` step."""
        names = self.fleet.site_names
        for i, site in enumerate(names):
            engine.declare(f"energy_mwh_site{i}", "MWh", f"Energy drawn at {site}", total=True)
            engine.declare(
                f"emissions_tco2e_site{i}", "tCO2e", f"Emissions of {site}'s supply", total=True
            )
        engine.declare("emissions_tco2e", "tCO2e", "Emissions of the fleet's supply", total=True)
        engine.declare(
            "renewable_energy_mwh", "MWh", "Energy covered by renewable supply", total=True
        )
        engine.declare("renewable_share", "1", "Renewable share of the fleet's energy")
        s = self.spec
        for name, rate, what in (
            ("carbon_cost_usd", s.carbon_price_usd_per_tco2e, "carbon price on emissions"),
            ("compliance_energy_usd", s.compliance_usd_per_mwh, "compliance cost per MWh"),
            ("compliance_fixed_usd", s.fixed_usd_per_year, "fixed compliance cost"),
        ):
            if rate > 0:
                engine.declare(name, "USD", f"outflow: {what}", total=True)
        if self.bounds is not None:
            for which in ("low", "guess", "high"):
                engine.declare(
                    f"network_energy_mwh_{which}",
                    "MWh",
                    f"Network energy, {which} estimate (CBECI method)",
                    total=True,
                )
                engine.declare(
                    f"network_j_per_th_{which}",
                    "J/TH",
                    f"Network hardware efficiency, {which} estimate (no PUE)",
                )
        engine.add_step(42, "compliance", lambda day: self._step(engine, day))

    def site_energy_mwh(self, engine: ChunkEngine) -> FloatArray:
        """The day's energy per site (MWh, PUE included): shape (n_paths, n_sites)."""
        t: DayRecord = engine.today
        d = t.dispatch
        e = d.site_power_mw * HOURS_PER_DAY
        h = self.hourly_sites
        if h:
            flat = np.delete(e, h, axis=1).sum(axis=1)
            rest = np.maximum(d.energy_mwh - flat, 0.0)
            if len(h) == 1:
                e[:, h[0]] = rest
            else:
                peak = d.site_power_mw[:, h]
                tot = peak.sum(axis=1, keepdims=True)
                share = np.divide(peak, tot, out=np.zeros_like(peak), where=tot > 0)
                e[:, h] = rest[:, None] * share
        return e

    def _step(self, engine: ChunkEngine, day: int) -> None:
        v = engine.values
        e = self.site_energy_mwh(engine)
        emitted = e * (1.0 - self.renewable) * self.factor
        for i in range(e.shape[1]):
            v[f"energy_mwh_site{i}"] = e[:, i]
            v[f"emissions_tco2e_site{i}"] = emitted[:, i]
        total_e = e.sum(axis=1)
        total_t = emitted.sum(axis=1)
        ren = (e * self.renewable).sum(axis=1)
        v["emissions_tco2e"] = total_t
        v["renewable_energy_mwh"] = ren
        v["renewable_share"] = np.divide(ren, total_e, out=np.zeros_like(ren), where=total_e > 0)
        s = self.spec
        if s.carbon_price_usd_per_tco2e > 0:
            engine.book("carbon_cost_usd", total_t * s.carbon_price_usd_per_tco2e, outflow=True)
        if s.compliance_usd_per_mwh > 0:
            engine.book("compliance_energy_usd", total_e * s.compliance_usd_per_mwh, outflow=True)
        if s.fixed_usd_per_year > 0:
            fixed = np.full(engine.n_paths, s.fixed_usd_per_year / DAYS_PER_YEAR)
            engine.book("compliance_fixed_usd", fixed, outflow=True)
        if self.bounds is not None:
            self._network(engine, day)

    def _network(self, engine: ChunkEngine, day: int) -> None:
        assert self.bounds is not None
        t: DayRecord = engine.today
        v = engine.values
        s = self.spec
        released = self.bounds.released(day)
        if released.size == 0:  # no dated hardware yet: all catalogue models
            released = self.bounds.efficiency_j_per_th
        revenue = t.expected_hashprice_usd_per_ph_day / 1000.0
        low, guess, high = network_j_per_th_bounds(released, revenue, s.reference_price_usd_per_mwh)
        th_s = t.network_hs / 1e12
        for name, j, pue in (
            ("low", low, s.pue_low),
            ("guess", guess, s.pue_guess),
            ("high", high, s.pue_high),
        ):
            v[f"network_j_per_th_{name}"] = j
            v[f"network_energy_mwh_{name}"] = th_s * j * pue * HOURS_PER_DAY / 1e6
