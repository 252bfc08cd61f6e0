"""Cash: the opening balances, fixed operating costs and the daily settlement.

The engine's ledger (:meth:`~hashfleet.engine.core.ChunkEngine.book`) collects the day's
named flows; :class:`Settlement` moves cash by inflows − outflows at stage 80 and records
every flow and the closing cash.  :class:`FixedOpex` books the company's fixed operating costs
(staff, SG&A, ...) at stage 40.
"""

from __future__ import annotations

import numpy as np

from hashfleet.engine.core import ChunkEngine
from hashfleet.finance.ledger import DAYS_PER_YEAR

__all__ = ["FixedOpex", "Settlement", "opex_usd_per_day"]


def opex_usd_per_day(opex_usd_per_month: float) -> float:
    """A monthly cost as a daily one (12 months over a Julian year)."""
    return opex_usd_per_month * 12.0 / DAYS_PER_YEAR


class Settlement:
    """Opening cash and BTC; cash moves by the day's booked flows (stage 80).

    Parameters
    ----------
    starting_cash_usd, starting_btc : float
        Balances at t=0 (every path).
    """

    def __init__(self, starting_cash_usd: float, starting_btc: float) -> None:
        self.starting_cash_usd = starting_cash_usd
        self.starting_btc = starting_btc

    def attach(self, engine: ChunkEngine) -> None:
        """Set the opening balances, declare ``cash_usd`` and add the ``settle`` step."""
        engine.cash_usd = np.full(engine.n_paths, self.starting_cash_usd)
        engine.btc = np.full(engine.n_paths, self.starting_btc)
        engine.declare("cash_usd", "USD", "Cash at the end of the day")

        def settle(day: int) -> None:
            inflows, outflows = engine.booked()
            values = engine.values
            for name, usd in inflows.items():
                engine.cash_usd += usd
                values[name] = usd
            for name, usd in outflows.items():
                engine.cash_usd -= usd
                values[name] = usd
            values["cash_usd"] = engine.cash_usd.copy()

        engine.add_step(80, "settle", settle)


class FixedOpex:
    """Books the fixed operating costs every day (stage 40, ``opex_usd``).

    Parameters
    ----------
    usd_per_day : float
    """

    def __init__(self, usd_per_day: float) -> None:
        self.usd_per_day = usd_per_day

    def attach(self, engine: ChunkEngine) -> None:
        """Declare ``opex_usd`` and add the ``opex`` step."""
        engine.declare("opex_usd", "USD", "Fixed operating costs (staff, SG&A, ...)", total=True)
        flat = self.usd_per_day

        def opex(day: int) -> None:
            engine.book("opex_usd", np.full(engine.n_paths, flat), outflow=True)

        engine.add_step(40, "opex", opex)
