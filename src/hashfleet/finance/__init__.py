"""Finance: the money side of a run.

* :mod:`~hashfleet.finance.ledger` — how the day's booked flows are classified (capex, asset
  sales, operating), EBITDA and free cash flow;
* :mod:`~hashfleet.finance.cash` — opening balances, fixed opex, the daily settlement;
* :mod:`~hashfleet.finance.capex` — purchase payments and the payment queue;
* :mod:`~hashfleet.finance.valuation` — NPV, IRR, the metrics component, per-path metrics.

Treasury, debt, equity, covenants and capital plans live here too.  This file imports
nothing, so any domain package may import one finance module without importing the others.
"""
