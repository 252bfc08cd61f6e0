"""Ledger categories: how the day's named cash flows are classified.

Components book flows by name (:meth:`~hashfleet.engine.core.ChunkEngine.book`).  Finance
reads them by category: **capex** (names starting ``capex``: deposits and balances of machine
purchases), **asset sales** (``asset_sales_usd``) and **operating** (everything else).  EBITDA is
operating inflows − operating outflows; free cash flow is all inflows − all outflows but the
**financing** and treasury flows (:data:`FINANCING`, booked by the capital plan): unlevered.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_MONTH, DAYS_PER_YEAR

__all__ = [
    "ASSET_SALES",
    "CAPEX_PREFIX",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "FINANCING",
    "DayFlows",
    "classify",
    "is_capex",
]

#: Outflows whose name starts with this are capital expenditure.
CAPEX_PREFIX = "capex"
#: The inflow of machines sold (not operating income).
ASSET_SALES = "asset_sales_usd"
#: Financing and treasury flows (the capital plan books them): neither operating nor capex,
#: so EBITDA and (unlevered) free cash flow leave them out.
FINANCING = frozenset(
    {
        "interest_usd",
        "principal_usd",
        "financing_fees_usd",
        "taxes_usd",
        "btc_sold_usd",
        "btc_bought_usd",
        "debt_drawn_usd",
        "atm_usd",
        "unpaid_due_usd",
        "production_to_treasury_usd",
    }
)

FloatArray = NDArray[np.float64]


def is_capex(name: str) -> bool:
    """Whether an outflow is capital expenditure."""
    return name.startswith(CAPEX_PREFIX)


class DayFlows:
    """One day's flows by category (all ``(n_paths,)`` USD).

    Attributes
    ----------
    capex, opex, sales, inflow : ndarray
        Capital outflows, operating outflows, asset sales, all inflows.
    """

    def __init__(self, capex: FloatArray, opex: FloatArray, sales: FloatArray, inflow: FloatArray):
        self.capex, self.opex, self.sales, self.inflow = capex, opex, sales, inflow

    @property
    def ebitda(self) -> FloatArray:
        """Operating inflows − operating outflows."""
        out: FloatArray = self.inflow - self.sales - self.opex
        return out

    @property
    def free_cash_flow(self) -> FloatArray:
        """All inflows − all outflows (the change in cash)."""
        out: FloatArray = self.inflow - self.capex - self.opex
        return out


def classify(
    inflows: Mapping[str, FloatArray], outflows: Mapping[str, FloatArray], n_paths: int
) -> DayFlows:
    """The day's ledger ``(inflows, outflows)`` by category (sums in booking order)."""
    zero = np.zeros(n_paths)
    capex = sum((v for k, v in outflows.items() if is_capex(k)), zero)
    opex = sum((v for k, v in outflows.items() if not is_capex(k) and k not in FINANCING), zero)
    sales = inflows.get(ASSET_SALES, zero)
    inflow = sum((v for k, v in inflows.items() if k not in FINANCING), zero)
    return DayFlows(capex, opex, sales, inflow)
