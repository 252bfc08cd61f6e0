"""Capital expenditure: purchase-order payments and the queue that books them.

A purchase order of cost ``C`` (units × TH/s per unit × USD/TH) pays a deposit ``C·s`` on the
order day and the balance ``C·(1 − s)/n`` on the delivery of each of its ``n`` tranches
(``capex_deposits_usd``, ``capex_balance_usd``); secondary purchases pay their price at once
(``capex_balance_usd``).  Payments decided during a day (by deliveries, policies) wait in a
:class:`PaymentQueue` and are booked together in the engine's ledger at one stage.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.core import ChunkEngine

__all__ = ["CAPEX_BALANCE", "CAPEX_DEPOSITS", "PaymentQueue", "purchase_payments"]

#: Deposits paid on purchase orders (outflow).
CAPEX_DEPOSITS = "capex_deposits_usd"
#: Balances paid on delivery and secondary purchases (outflow).
CAPEX_BALANCE = "capex_balance_usd"

FloatArray = NDArray[np.float64]


def purchase_payments(
    cost_usd: FloatArray, deposit_share: float, tranches: int
) -> tuple[FloatArray, FloatArray]:
    """The deposit and the balance paid per tranche of an order costing ``cost_usd``."""
    deposit: FloatArray = cost_usd * deposit_share
    balance: FloatArray = cost_usd * (1.0 - deposit_share) / tranches
    return deposit, balance


class PaymentQueue:
    """Cash flows decided during a day, booked together by :meth:`flush`.

    Parameters
    ----------
    engine : ChunkEngine
        Whose ledger receives the flows.
    """

    def __init__(self, engine: ChunkEngine) -> None:
        self.engine = engine
        self._pending: dict[str, tuple[FloatArray, bool]] = {}

    def pay(self, name: str, usd: FloatArray, *, outflow: bool) -> None:
        """Queue a flow (USD per path); flows of one name add up."""
        if name in self._pending:
            self._pending[name] = (self._pending[name][0] + usd, outflow)
        else:
            self._pending[name] = (np.asarray(usd, dtype=float).copy(), outflow)

    def flush(self, day: int) -> None:
        """Book every queued flow in today's ledger (a step function)."""
        pending, self._pending = self._pending, {}
        for name, (usd, outflow) in pending.items():
            self.engine.book(name, usd, outflow=outflow)
