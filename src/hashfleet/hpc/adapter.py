"""The AI/HPC component's one window on the engine: the day's market, the fleet's units."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hashfleet.hpc.kernels import FloatArray
from hashfleet.numeric import segment_sums

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["EngineAdapter"]


class EngineAdapter:
    """Every read of (and write to) the engine's fleet, in one place.

    When the engine's day record changes, only this class changes.  Reads: BTC price and
    expected hashprice of the day, the day's mining revenue and power cost (ledger), the
    running fleet hashrate, site names and capacities, installed MW per site; writes:
    installed units of fleet columns.
    """

    def __init__(self, engine: ChunkEngine, pool_fee: float) -> None:
        from hashfleet.fleet.operations import FleetState

        self.engine = engine
        self.pool_fee = pool_fee
        self.fleet = engine.service(FleetState)
        fleet = self.fleet.fleet
        self.site_names: tuple[str, ...] = fleet.site_names
        self.site_capacity_mw: FloatArray = np.asarray(fleet.site_capacity_mw, dtype=float)
        self.col_site: NDArray[np.intp] = fleet.site
        self.unit_mw: FloatArray = fleet.unit_mw
        self.col_model: tuple[str, ...] = tuple(lb.split(" @ ")[0] for lb in fleet.labels)
        power = fleet.power
        # each contract's flat price, grid charges included (NaN where it varies)
        self._price = (
            np.array([s.terms.flat_price_usd_per_mwh() for s in power.sites])
            if power is not None
            else np.asarray(fleet.site_price_usd_per_mwh, dtype=float)
        )

    # -------------------------------------------------------------- market (stage ≥ 40)

    def btc_price_usd(self) -> FloatArray:
        """Today's BTC price (USD), (n_paths,)."""
        return np.asarray(self.engine.today.btc_price_usd, dtype=float)

    def hashprice_usd_per_ph_day(self) -> FloatArray:
        """Today's expected hashprice before pool fee (USD/PH/day), (n_paths,)."""
        return np.asarray(self.engine.today.expected_hashprice_usd_per_ph_day, dtype=float)

    def mining_margin_usd(self) -> FloatArray:
        """Today's mining revenue minus power cost (USD), (n_paths,)."""
        inflows, outflows = self.engine.booked()
        zero = np.zeros(self.engine.n_paths)
        return inflows.get("revenue_usd", zero) - outflows.get("power_cost_usd", zero)

    def fleet_hashrate_ehs(self) -> FloatArray:
        """Today's running hashrate (EH/s), (n_paths,)."""
        return np.asarray(self.engine.today.fleet_hs, dtype=float) / 1e18

    def site_price_usd_per_mwh_flat(self) -> FloatArray:
        """Each site's flat power price (USD/MWh), NaN where it varies by hour: (n_sites,)."""
        return np.asarray(self._price, dtype=float)

    def site_margin_usd_per_mw_day(self) -> FloatArray:
        """Mining margin per MW of the fleet available at each site today (USD/MW/day):
        expected revenue after pool fee minus power at the site's flat price (the fleet's
        average USD/MWh today where a site has no flat price), per cohort and never below 0
        (unprofitable machines are curtailed); NaN at a site with no machines.  Shape
        (n_paths, n_sites)."""
        e = self.engine
        fs = self.fleet
        rev_per_th = self.hashprice_usd_per_ph_day() / 1000.0 * (1.0 - self.pool_fee)
        avail = fs.available_mw
        th = avail * fs.th_per_mw
        _, outflows = e.booked()
        zero = np.zeros(e.n_paths)
        energy = e.values.get("energy_mwh", zero)
        cost = outflows.get("power_cost_usd", zero)
        # each path's own average price (a mean over the chunk would tie paths together)
        avg = np.divide(cost, energy, out=zero.copy(), where=energy > 0)
        flat = self._price[self.col_site]  # (n_cohorts,), NaN where the price varies
        price = np.where(np.isnan(flat)[None, :], avg[:, None], flat[None, :])
        # machines that would not cover their power are curtailed: they add no margin
        margin = np.maximum(th * rev_per_th[:, None] - avail * 24.0 * price, 0.0)
        bounds = fs.fleet.site_bounds
        with np.errstate(invalid="ignore", divide="ignore"):
            return segment_sums(margin, bounds) / segment_sums(avail, bounds)

    # -------------------------------------------------------------- fleet

    def installed_site_mw(self) -> FloatArray:
        """MW at the meter of the installed machines of each site, (n_paths, n_sites)."""
        return segment_sums(self.fleet.installed_units * self.unit_mw, self.fleet.fleet.site_bounds)

    def installed_units(self) -> FloatArray:
        """Installed units per path and fleet column (a view; change with the methods)."""
        return self.fleet.installed_units

    def take_units(self, col: int, units: FloatArray) -> None:
        """Remove ``units`` (n_paths,) of column ``col`` (no sale, no refresh)."""
        self.fleet.installed_units[:, col] -= units

    def put_units(self, col: int, units: FloatArray) -> None:
        """Add back ``units`` (n_paths,) to column ``col`` (no arrival hook, no refresh)."""
        self.fleet.installed_units[:, col] += units

    def sell_units(self, col: int, units: FloatArray) -> bool:
        """Sell at today's secondary price through the trading desk; False if none."""
        from hashfleet.fleet.orders import TradingDesk

        try:
            desk = self.engine.service(TradingDesk)
        except LookupError:
            return False
        desk.sell(col, units)
        return True

    def refresh(self) -> None:
        """Recompute the fleet's site limits after changing units."""
        self.fleet.refresh()
