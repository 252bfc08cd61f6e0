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
  NaN where no rate in ``[-0.99, 1000]`` zeroes it (flows that never change sign): never
  a sentinel, so a mean of IRRs cannot average made-up values.  Memory:
  ``(n_paths, n_months)``, never paths × days.

At the horizon, :func:`hashfleet.results.decision.path_metrics` derives the ratios: all-in cost
per BTC, cash cost per BTC, hashcost and break-even hashprice over the run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hashfleet.finance.ledger import DAYS_PER_MONTH, DAYS_PER_YEAR, classify
from hashfleet.fleet.operations import FleetState
from hashfleet.fleet.orders import TradingDesk
from hashfleet.numeric import rows_dot
from hashfleet.scenario.schema import FinanceSpec

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["METRICS", "MetricsComponent", "irr_per_year", "npv_usd"]


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
    "irr_per_year": ("1/year", "IRR of the monthly flows (NaN where none exists)", True),
}


#: Daily variables of the metrics component: name -> (unit, description, totalled).
METRIC_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "capex_usd": ("USD", "Capital expenditure (outflows named capex*)", True),
    "ebitda_usd": ("USD", "Operating inflows − operating outflows", True),
    "free_cash_flow_usd": ("USD", "All inflows − all outflows (change in cash)", True),
    "hashcost_usd_per_ph_day": ("USD/(PH/s)/day", "Cash cost per running PH/s", False),
    "installed_j_per_th": ("J/TH", "Installed W per installed TH/s", False),
    "npv_usd": ("USD", "NPV to date (fleet values included, see docs)", False),
    "irr_per_year": ("1/year", "IRR of the run, last day only (0 before; NaN where none)", False),
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
        engine.nan_ok.add("irr_per_year")  # NaN: no IRR on the path
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
    monthly_usd: NDArray[np.float64],
    *,
    lo: float = -0.99,
    hi: float = 1000.0,
    grid: int = 64,
    refine: int = 30,
    xtol: float = 1e-13,
) -> NDArray[np.float64]:
    """IRR of monthly flows per path: vectorised bracketing, then :func:`scipy.optimize.brentq`.

    Parameters
    ----------
    monthly_usd : ndarray, shape (n_paths, n_months + 1)
        Column ``m`` is dated ``m / 12`` years (column 0 at t=0).
    lo, hi : float
        Range of annual rates searched.
    grid : int
        Rates scanned for a sign change of the NPV (evenly spaced in ``log(1 + r)``).
    refine : int
        Vectorised bisection steps that narrow every bracket before the root loop.
    xtol : float
        Tolerance of the root in ``log(1 + r)``.

    Returns
    -------
    ndarray, shape (n_paths,)
        Annual rate ``r`` with ``Σ_m F_m (1+r)^(−m/12) = 0``; where several brackets exist,
        the root nearest ``r = 0``.  NaN where no rate in ``[lo, hi]`` changes the NPV's
        sign (flows of one sign, all zero, or a root outside the range).
    """
    from scipy.optimize import brentq

    f = np.asarray(monthly_usd, dtype=float)
    n = f.shape[0]
    t = np.arange(f.shape[1]) / 12.0
    xs = np.linspace(np.log1p(lo), np.log1p(hi), grid)
    npv = rows_dot(f, np.exp(-np.outer(t, xs)))  # (n_paths, grid)
    sgn = np.sign(npv)
    # a bracket: opposite signs, or one end exactly zero (not both: all-zero flows)
    a, b = sgn[:, :-1], sgn[:, 1:]
    change = (a * b <= 0) & ((a != 0) | (b != 0))
    out = np.full(n, np.nan)
    mids = np.abs(0.5 * (xs[:-1] + xs[1:]))
    has = np.flatnonzero(change.any(axis=1))
    j = np.argmin(np.where(change[has], mids, np.inf), axis=1)
    # narrow every bracket together (vectorised bisection), so that brentq's Python loop
    # only polishes: ~3 evaluations per path instead of ~12
    fh = f[has]
    a_x, b_x = xs[j], xs[j + 1]
    fa = np.sign(sgn[has, j])
    for _ in range(refine):
        m = 0.5 * (a_x + b_x)
        fm = np.sign(np.sum(fh * np.exp(-m[:, None] * t[None, :]), axis=1))
        same = (fm == fa) & (fa != 0)
        a_x, b_x = np.where(same, m, a_x), np.where(same, b_x, m)
        fa = np.where(same, fm, fa)
    for i, p in enumerate(has):
        row = f[p]

        def g(x: float, row: NDArray[np.float64] = row) -> float:
            return float(np.sum(row * np.exp(-x * t)))

        lo_x, hi_x = float(a_x[i]), float(b_x[i])
        if g(lo_x) * g(hi_x) > 0:  # rounding at the tolerance: the scan's bracket
            lo_x, hi_x = float(xs[j[i]]), float(xs[j[i] + 1])
        out[p] = math.expm1(brentq(g, lo_x, hi_x, xtol=xtol, rtol=4 * np.finfo(float).eps))
    return out
