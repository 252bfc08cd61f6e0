"""Capital metrics per path: EBITDA, capex, free cash flow, hashcost, NPV and IRR.

Daily, from the day's ledger (after the settle stage):

* ``capex_usd``: outflows whose name starts with ``capex`` (deposits, balances);
* ``ebitda_usd``: inflows other than ``asset_sales_usd`` minus non-capex outflows
  (revenue − power − opex − hosting − maintenance − …);
* ``free_cash_flow_usd``: all inflows − all outflows (the change in cash; no financing yet);
* ``hashcost_usd_per_ph_day``: cash operating cost per running PH/s (0 when nothing runs);
* ``installed_j_per_th``: installed W per installed TH/s (0 with no machine);
* ``npv_usd``: NPV to date at ``finance.discount_rate_per_year``; flows of day ``d`` are
  discounted at ``(1 + r)^(-(d + 1)/365.25)`` (end of day).  With
  ``finance.include_fleet_value`` the fleet's secondary value on day 0 is an outflow at
  ``t = 0`` and, on the last day, its value then is an inflow at the horizon.
* ``irr_per_year``: on the last day only (0 before): the annual rate that zeroes the NPV
  of the **monthly aggregated** flows (month ``m`` = days ``[m·30.4375, (m+1)·30.4375)``,
  dated at the month's end; the t=0 value at month 0; the terminal value in the last month).
  Clamped to ``[-0.99, 1000]`` when the flows do not change sign (all negative: −0.99;
  all positive: 1000; all zero: 0), so the value is always finite.  Memory:
  ``(n_paths, n_months)``, never paths × days.

At the horizon, :func:`path_metrics` derives the ratios: all-in cost per BTC, cash cost per
BTC, hashcost and break-even hashprice over the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray

from hashfleet.finance.ledger import DAYS_PER_MONTH, DAYS_PER_YEAR, classify
from hashfleet.fleet.operations import FleetState
from hashfleet.fleet.orders import TradingDesk
from hashfleet.numeric import rows_dot
from hashfleet.scenario.schema import FinanceSpec

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine
    from hashfleet.results import Results

__all__ = ["METRICS", "MetricsComponent", "irr_per_year", "npv_usd", "path_metrics"]


#: Per-path metrics of :func:`path_metrics`: name -> (unit, description, higher is better).
METRICS: dict[str, tuple[str, str, bool]] = {
    "production_btc": ("BTC", "BTC produced over the run", True),
    "revenue_usd": ("USD", "Revenue over the run", True),
    "ebitda_usd": ("USD", "EBITDA over the run", True),
    "capex_usd": ("USD", "Capital expenditure over the run", False),
    "asset_sales_usd": ("USD", "Machines sold over the run", True),
    "free_cash_flow_usd": ("USD", "Free cash flow over the run (change in cash)", True),
    "final_cash_usd": ("USD", "Cash at the end", True),
    "cash_cost_usd_per_btc": ("USD/BTC", "Cash operating cost per BTC produced", False),
    "all_in_cost_usd_per_btc": (
        "USD/BTC",
        "Cash cost plus capex net of sales, per BTC produced",
        False,
    ),
    "hashcost_usd_per_ph_day": ("USD/(PH/s)/day", "Cash cost per running PH/s-day", False),
    "break_even_hashprice_usd_per_ph_day": (
        "USD/(PH/s)/day",
        "Hashprice (before pool fee) at which revenue covers cash cost",
        False,
    ),
    "npv_usd": ("USD", "NPV at the scenario's discount rate", True),
    "irr_per_year": ("1/year", "IRR of the monthly flows (clamped to [-0.99, 1000])", True),
}


#: Daily variables of the metrics component: name -> (unit, description, totalled).
METRIC_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "capex_usd": ("USD", "Capital expenditure (outflows named capex*)", True),
    "ebitda_usd": ("USD", "Operating inflows − operating outflows", True),
    "free_cash_flow_usd": ("USD", "All inflows − all outflows (change in cash)", True),
    "hashcost_usd_per_ph_day": ("USD/(PH/s)/day", "Cash cost per running PH/s", False),
    "installed_j_per_th": ("J/TH", "Installed W per installed TH/s", False),
    "npv_usd": ("USD", "NPV to date (fleet values included, see docs)", False),
    "irr_per_year": ("1/year", "IRR of the run, last day only (0 before)", False),
}


class MetricsComponent:
    """Declares and computes the capital metrics in every chunk engine (stage 85)."""

    def __init__(self, finance: FinanceSpec) -> None:
        self.finance = finance

    def attach(self, engine: ChunkEngine) -> None:
        """Declare the variables and add the metrics step."""
        _EngineMetrics(engine, self.finance)


class _EngineMetrics:
    def __init__(self, engine: ChunkEngine, finance: FinanceSpec) -> None:
        self.engine = engine
        self.desk = engine.service(TradingDesk)
        self.fs = engine.service(FleetState)
        self.include_value = finance.include_fleet_value
        self.v = (1.0 + finance.discount_rate_per_year) ** (-1.0 / DAYS_PER_YEAR)
        n, n_days = engine.n_paths, engine.model.n_days
        self.n_days = n_days
        self.npv = np.zeros(n)
        self.monthly = np.zeros((n, int((n_days - 1) // DAYS_PER_MONTH) + 2))
        unit, desc = engine.variables["fleet_hashrate_ehs"]
        engine.declare("fleet_hashrate_ehs", unit, desc, total=True)  # EH/s-days over the run
        engine.declare_all(METRIC_VARIABLES)
        engine.add_step(85, "metrics", self.step)

    def step(self, day: int) -> None:
        e = self.engine
        flows = classify(*e.booked(), e.n_paths)  # the day's ledger, settled at stage 80
        capex, opex = flows.capex, flows.opex
        ebitda = flows.ebitda
        fcf = flows.free_cash_flow
        vals = e.values
        vals["capex_usd"] = capex
        vals["ebitda_usd"] = ebitda
        vals["free_cash_flow_usd"] = fcf
        running_ph = vals["fleet_hashrate_ehs"] * 1000.0
        vals["hashcost_usd_per_ph_day"] = np.divide(
            opex, running_ph, out=np.zeros(e.n_paths), where=running_ph > 0
        )
        f = self.fs
        th = f.installed_th_s
        watts = rows_dot(f.installed_units, f.fleet.unit_power_w)
        vals["installed_j_per_th"] = np.divide(watts, th, out=np.zeros(e.n_paths), where=th > 0)
        month = int(day // DAYS_PER_MONTH) + 1
        if day == 0 and self.include_value:
            v0 = self.desk.fleet_value_usd()
            self.npv -= v0
            self.monthly[:, 0] -= v0
        self.npv += fcf * self.v ** (day + 1)
        self.monthly[:, month] += fcf
        irr = np.zeros(e.n_paths)
        if day == self.n_days - 1:
            if self.include_value:
                vt = self.desk.fleet_value_usd()
                self.npv += vt * self.v**self.n_days
                self.monthly[:, month] += vt
            irr = irr_per_year(self.monthly[:, : month + 1])
        vals["npv_usd"] = self.npv.copy()
        vals["irr_per_year"] = irr


def npv_usd(
    flows_usd: NDArray[np.float64], times_years: NDArray[np.float64], rate_per_year: float
) -> NDArray[np.float64]:
    """NPV of flows at given times: ``Σ_j F[..., j] · (1 + r)^(−t_j)``.

    Parameters
    ----------
    flows_usd : ndarray, shape (n_paths, n_flows)
    times_years : ndarray, shape (n_flows,)
    rate_per_year : float

    Returns
    -------
    ndarray, shape (n_paths,)
    """
    disc = (1.0 + rate_per_year) ** (-np.asarray(times_years, dtype=float))
    return rows_dot(np.asarray(flows_usd, dtype=np.float64), disc)


def irr_per_year(
    monthly_usd: NDArray[np.float64], *, lo: float = -0.99, hi: float = 1000.0, iters: int = 100
) -> NDArray[np.float64]:
    """IRR of monthly flows per path, by vectorised bisection on ``log(1 + r)``.

    Parameters
    ----------
    monthly_usd : ndarray, shape (n_paths, n_months + 1)
        Column ``m`` is dated ``m / 12`` years (column 0 at t=0).
    lo, hi : float
        Search interval of the annual rate.
    iters : int
        Bisection steps (100 halve the log-interval to ~1e-29 of its width).

    Returns
    -------
    ndarray, shape (n_paths,)
        Annual rate ``r`` with ``Σ_m F_m (1+r)^(−m/12) = 0``.  Where the NPV has the same
        sign at both ends of the interval (flows that never change sign) the result is
        clamped: ``lo`` if the NPV is negative there, ``hi`` if positive, 0 if all flows
        are zero.
    """
    f = np.asarray(monthly_usd, dtype=float)
    t = np.arange(f.shape[1]) / 12.0

    def npv_at(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.sum(f * np.exp(-x[:, None] * t[None, :]), axis=1)

    a = np.full(f.shape[0], np.log1p(lo))
    b = np.full(f.shape[0], np.log1p(hi))
    fa = npv_at(a)
    fb = npv_at(b)
    ok = np.sign(fa) * np.sign(fb) < 0
    for _ in range(iters):
        m = 0.5 * (a + b)
        fm = npv_at(m)
        left = np.sign(fm) == np.sign(fa)
        a = np.where(left, m, a)
        fa = np.where(left, fm, fa)
        b = np.where(left, b, m)
    clamped = np.where(fa < 0, lo, np.where(fa > 0, hi, 0.0))
    return np.where(ok, np.expm1(0.5 * (a + b)), clamped)


def path_metrics(results: Results) -> pd.DataFrame:
    """Per-path metrics over the run (:data:`METRICS`), one row per path.

    Parameters
    ----------
    results : Results
        A run with the metrics component (every run compiled by ``compile_scenario``).

    Returns
    -------
    pandas.DataFrame
        Index ``path``; one column per key of :data:`METRICS`.  Ratios are NaN on a path
        that produced nothing.
    """
    pp = results.per_path
    fee = float(yaml.safe_load(results.resolved_scenario_yaml)["fleet"]["pool"]["fee_share"])

    def col(name: str) -> NDArray[np.float64]:
        return pp[name].to_numpy().astype(float)

    prod = col("total_production_btc")
    revenue = col("total_revenue_usd")
    ebitda = col("total_ebitda_usd")
    capex = col("total_capex_usd")
    sales = col("total_asset_sales_usd")
    cash_cost = revenue - ebitda
    ph_days = col("total_fleet_hashrate_ehs") * 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_btc = np.where(prod > 0, cash_cost / prod, np.nan)
        all_in = np.where(prod > 0, (cash_cost + capex - sales) / prod, np.nan)
        hashcost = np.where(ph_days > 0, cash_cost / ph_days, np.nan)
    out = {
        "production_btc": prod,
        "revenue_usd": revenue,
        "ebitda_usd": ebitda,
        "capex_usd": capex,
        "asset_sales_usd": sales,
        "free_cash_flow_usd": col("total_free_cash_flow_usd"),
        "final_cash_usd": col("final_cash_usd"),
        "cash_cost_usd_per_btc": per_btc,
        "all_in_cost_usd_per_btc": all_in,
        "hashcost_usd_per_ph_day": hashcost,
        "break_even_hashprice_usd_per_ph_day": hashcost / (1.0 - fee),
        "npv_usd": col("final_npv_usd"),
        "irr_per_year": col("final_irr_per_year"),
    }
    return pd.DataFrame(out, index=pd.Index(np.arange(prod.shape[0]), name="path"))
