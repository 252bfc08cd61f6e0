"""Finance: the money side of a run.

* :mod:`~hashfleet.finance.ledger` — how the day's booked flows are classified (capex, asset
  sales, operating, financing), EBITDA and free cash flow;
* :mod:`~hashfleet.finance.cash` — opening balances, fixed opex, the daily settlement;
* :mod:`~hashfleet.finance.capex` — purchase payments and the payment queue;
* :mod:`~hashfleet.finance.valuation` — NPV, IRR, the metrics component;
* :mod:`~hashfleet.finance.capital` — the capital plan (its run state in
  :mod:`~hashfleet.finance.capital_book`, its daily order of operations in
  :mod:`~hashfleet.finance.capital_day`; built on
  :mod:`~hashfleet.finance.balance`, :mod:`~hashfleet.finance.debt`,
  :mod:`~hashfleet.finance.treasury`, :mod:`~hashfleet.finance.equity`,
  :mod:`~hashfleet.finance.covenants` and :mod:`~hashfleet.finance.stats`): balance sheet,
  treasury, debt, equity, covenants and insolvency (``docs/capital.md``).

This file imports nothing, so any domain package may import one finance module without
importing the others.
"""
