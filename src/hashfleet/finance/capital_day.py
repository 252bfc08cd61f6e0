"""The capital plan's daily order of operations: :func:`run_day` and its steps.

:class:`~hashfleet.finance.capital.CapitalComponent` replaces the engine's ``settle`` step
(stage 80).  Each day it reads the day's operating flows through
:class:`~hashfleet.finance.capital.EngineAdapter` (the only code that knows the engine's
shape), then :func:`run_day` applies the **daily order of operations** to a
:class:`~hashfleet.finance.balance.CapitalState` (held by the chunk's
:class:`~hashfleet.finance.capital_book.CapitalBook`):

1. operating flows: production BTC into the treasury (the engine's ``revenue_usd``, which
   assumes every coin is sold, is replaced by the coins); booked inflows and outflows into
   cash by category;
2. debt: Actual/365 accrual; today's dated events (draws, 30/360 periods, monthly interest,
   puts — refinanced like a maturity when the note's refinancing is ``market`` and the market
   is open, the note then keeping its dates at the new coupon —, maturities with refinancing
   or conversion); soft-call conversions; project-debt
   sweeps; balances accelerated by yesterday's covenant default; cash taxes;
3. treasury policy: sell or buy BTC;
4. collateral: BTC-backed loans (margin call, top-up, cure, liquidation) and equipment loans
   (call, cure, demanded prepayment);
5. revolvers: draw to the floor, repay above the ceiling;
6. equity: ATM issuance when cash is below the trigger;
7. insolvency: a path with negative cash sells BTC, draws its revolvers and issues ATM
   equity (within the month's cap); what is still missing is **unpaid**: the path is
   insolvent from today, cash is floored at zero (the unpaid amount is the ledger's
   ``unpaid_due``) and the path stops: its flows are ignored from then on and its fleet is
   switched off;
8. covenants: on test dates, breaches, cures and defaults.

Insolvent paths are masked out of every step (``live``), so they stay stopped.  Events
(path, day, kind, instrument) are kept by the component:
:meth:`~hashfleet.finance.capital.CapitalComponent.events`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashfleet.finance import debt as dk
from hashfleet.finance.balance import CapitalState
from hashfleet.finance.capital_book import BoolArray, CapitalBook, DayInputs, FloatArray
from hashfleet.finance.covenants import covenant_breaches, covenant_metrics
from hashfleet.finance.equity import atm_issue, share_price_proxy_usd
from hashfleet.finance.treasury import TreasuryContext, treasury_orders
from hashfleet.scenario.capital import (
    BtcLoanSpec,
    ConvertibleSpec,
    EquipmentLoanSpec,
    ProjectLoanSpec,
    RevolverSpec,
)

__all__ = ["run_day"]

_CAP = 1e6


def run_day(book: CapitalBook, x: DayInputs) -> None:
    """Apply one day's order of operations (module docstring) to ``book``, in place."""
    st, spec, day = book.state, book.spec, x.day
    st.open_day()
    live = ~st.insolvent
    price = x.price_usd
    book.peak_price = np.maximum(book.peak_price, price)
    drawdown = 1.0 - price / book.peak_price
    for i in book._post_opening_collateral if day == 0 else ():
        s = spec.instruments[i]
        assert isinstance(s, BtcLoanSpec)
        st.collateral_btc[:, i] = st.debt_usd[:, i] / (s.initial_ltv * price)

    # 1. operating flows
    prod = np.where(live, x.production_btc, 0.0)
    st.treasury("production", prod)
    for cat, usd in x.cash_flows.items():
        st.cash(cat, np.where(live, usd, 0.0))
    op = sum(
        (np.where(live, u, 0.0) for c, u in x.cash_flows.items() if c != "capex"),
        np.zeros(book.n_paths),
    )
    ebitda = prod * price + op
    for t in (book.ebitda_cov, book.ebitda_eq):
        t.add(ebitda)

    # 2. debt service, dated events, conversions, sweeps, acceleration, taxes
    interest0 = st.ledger.cash.get("interest", 0.0)
    sched = _debt_day(book, x, live, drawdown)
    interest = -(st.ledger.cash.get("interest", 0.0) - interest0)
    tax = spec.tax_rate * np.maximum(ebitda - interest, 0.0)
    if spec.tax_rate:
        st.cash("taxes", -np.where(live, tax, 0.0))
    book.service.add(interest + sched)
    book.costs.add(-op + interest + sched)

    # 3. treasury policy
    _treasury(book, x, prod, live)

    # 4. collateral
    ltv_max = _collateral(book, x, live)

    # 5. revolvers, 6. equity
    share_price = share_price_proxy_usd(spec.equity, st, price, book.ebitda_eq.per_year())
    month = day // 31
    if month != book.atm_month:
        book.atm_month, book.atm_room[:] = month, spec.equity.atm_max_usd_per_month
    for i, s in enumerate(spec.instruments):
        if isinstance(s, RevolverSpec) and book.revolver_open[i]:
            _revolver(st, i, s, live)
    if spec.equity.atm:
        atm_issue(spec.equity, st, share_price, book.atm_room, live)

    # 7. insolvency after every policy has acted
    _insolvency(book, price, share_price, live, day)
    live = ~st.insolvent

    # 8. covenants
    m = _covenants(book, live, day)
    if spec.check_identities:
        st.check_identities()
    book.min_cash_usd = np.minimum(book.min_cash_usd, st.cash_usd)
    _values(book, price, share_price, ltv_max, m, x.fleet_value_usd)


def _treasury(book: CapitalBook, x: DayInputs, prod: FloatArray, live: BoolArray) -> None:
    """Step 3: the treasury policy sells or buys BTC."""
    st, spec, day, price = book.state, book.spec, x.day, x.price_usd
    ctx = TreasuryContext(
        day,
        price,
        prod,
        st.btc.copy(),
        st.cash_usd.copy(),
        book.costs.total / max(book.costs.days, 1),
    )
    sell, buy = treasury_orders(spec.treasury, ctx, book.custom)
    fee = spec.treasury.trading_fee_share
    st.sell_btc(np.where(live, sell, 0.0), price, fee)
    st.buy_btc(np.where(live, buy, 0.0), price, fee)


def _collateral(book: CapitalBook, x: DayInputs, live: BoolArray) -> FloatArray:
    """Step 4: collateralised loans' calls, cures and liquidations; returns the highest LTV
    per path (0 if none), shape (n_paths,)."""
    st, spec, day, price = book.state, book.spec, x.day, x.price_usd
    ltv_max = np.zeros(book.n_paths)
    for i, s in enumerate(spec.instruments):
        if isinstance(s, BtcLoanSpec):
            ev = dk.btc_loan_collateral(st, i, s, price, book.deadline[:, i], day, live)
            owed = st.debt_usd[:, i] + st.accrued_usd[:, i]
            ltv = dk.ltv_ratio(owed, st.collateral_btc[:, i] * price)
        elif isinstance(s, EquipmentLoanSpec):
            ltv, ev = dk.equipment_ltv(st, i, s, x.fleet_value_usd, book.deadline[:, i], day, live)
        else:
            continue
        ltv_max = np.maximum(ltv_max, np.where(live, np.minimum(ltv, _CAP), 0.0))
        for kind, mask in ev.items():
            book.event(kind, mask, day, s.name)
    return ltv_max


def _insolvency(
    book: CapitalBook, price: FloatArray, share_price: FloatArray, live: BoolArray, day: int
) -> None:
    """Step 7: raise cash on short paths; what is still missing is unpaid and stops them."""
    st = book.state
    short = live & (st.cash_usd < 0)
    if short.any():
        _emergency(book, price, share_price, short)
        still = live & (st.cash_usd < -1e-6)
        unpaid = np.where(still, -st.cash_usd, 0.0)
        st.cash("unpaid_due", unpaid)
        st.unpaid_usd += unpaid
        st.set_insolvent(still, day)
        book.stopped_today = still
        book.event("insolvency", still, day)
    else:
        book.stopped_today = np.zeros(book.n_paths, dtype=bool)


def _covenants(book: CapitalBook, live: BoolArray, day: int) -> Any:
    """Step 8: the covenant metrics, and on test dates breaches, cures and defaults; returns
    the metrics."""
    st, spec = book.state, book.spec
    m = covenant_metrics(
        st.cash_usd,
        st.debt_usd.sum(axis=1),
        book.ebitda_cov.total,
        book.service.total,
        book.ebitda_cov.days or 1,
    )
    test = book.covenant_test_due if book.on_calendar else day in book.cov_days
    book.covenant_test_due = False
    if test:
        breaches = covenant_breaches(spec.covenants, m)
        now = np.zeros(book.n_paths, dtype=bool)
        for name, mask in breaches.items():
            now |= mask & live
            book.event("covenant_breach", mask & live & ~book.breach, day, name)
        book.event("covenant_cured", book.breach & ~now & live, day)
        default = book.breach & now
        book.event("covenant_default", default, day)
        if spec.covenants.default_accelerates:
            book.accelerate |= default
        book.breach = now & ~default
    return m


def _debt_day(book: CapitalBook, x: DayInputs, live: BoolArray, drawdown: FloatArray) -> FloatArray:
    """Step 2; returns the scheduled principal paid today (for DSCR), shape (n_paths,)."""
    st, spec, day = book.state, book.spec, x.day
    sched = np.zeros(book.n_paths)
    for i, s in enumerate(spec.instruments):
        if isinstance(s, RevolverSpec) and not book.on_calendar:
            book.revolver_open[i] |= (s.open_date - book.start).days == day
        if isinstance(s, BtcLoanSpec | RevolverSpec):
            fee = s.commitment_fee_per_year if isinstance(s, RevolverSpec) else 0.0
            limit = s.limit_usd if isinstance(s, RevolverSpec) else 0.0
            if not isinstance(s, RevolverSpec) or book.revolver_open[i]:
                dk.accrue(st, i, book.rate[:, i], live, fee, limit)
    if book.on_calendar:
        due, book.due = book.due, []
    else:
        due = list(book.events_by_day.get(day, ()))
    for ev in due:
        i, s = ev.instrument, spec.instruments[ev.instrument]
        if ev.kind == "draw":
            assert not isinstance(s, RevolverSpec)
            dk.draw(st, i, np.where(live, s.principal_usd, 0.0), s.fee_share)
            if isinstance(s, BtcLoanSpec):
                need = np.where(live, s.principal_usd / (s.initial_ltv * x.price_usd), 0.0)
                post = np.minimum(need, st.btc)
                st.treasury("collateral_moved", -post)
                st.collateral_btc[:, i] += post
        elif ev.kind == "period":
            _, paid = dk.pay_period(st, i, book.rate[:, i], ev.months, ev.fraction, live)
            sched += paid
        elif ev.kind == "accrued":
            dk.pay_accrued(st, i, live)
        elif ev.kind == "put":
            _put(book, i, x, live, drawdown)
        else:
            _maturity(book, i, x, live, drawdown)
    _calls_sweeps_acceleration(book, x, live)
    return sched


def _put(book: CapitalBook, i: int, x: DayInputs, live: BoolArray, drawdown: FloatArray) -> None:
    """A convertible's put date: holders put below the conversion price (refinanced like a
    maturity when the market is open)."""
    st, s, day = book.state, book.spec.instruments[i], x.day
    assert isinstance(s, ConvertibleSpec)
    px = _share_price(book, x)
    put = live & (px < s.conversion_price_usd_per_share) & (st.debt_usd[:, i] > 0)
    amount = np.where(put, s.put_share * st.debt_usd[:, i], 0.0)
    ref = s.refinance
    rolled = put & (ref.mode == "market") & (drawdown <= ref.max_drawdown)
    if rolled.any():  # the put is refinanced: the note keeps its dates, new coupon
        st.principal("refinanced_out", i, -np.where(rolled, amount, 0.0))
        st.principal("refinanced_in", i, np.where(rolled, amount, 0.0))
        st.cash("fees", -np.round(np.where(rolled, amount, 0.0) * ref.fee_share, 2))
        book.rate[rolled, i] = (
            ref.base_rate_per_year + ref.stress_spread_per_year * drawdown[rolled]
        )
        book.event("refinanced", rolled, day, s.name)
    dk.pay_due(st, i, np.where(rolled, 0.0, amount), "put")
    book.event("put", put & ~rolled, day, s.name)


def _calls_sweeps_acceleration(book: CapitalBook, x: DayInputs, live: BoolArray) -> None:
    """End of step 2: soft-call conversions, project-debt sweeps, acceleration."""
    st, spec, day = book.state, book.spec, x.day
    for i, s in enumerate(spec.instruments):
        if (
            isinstance(s, ConvertibleSpec)
            and s.call_from_date is not None
            and day >= (s.call_from_date - book.start).days
        ):
            px = _share_price(book, x)
            conv = (
                live
                & (st.debt_usd[:, i] > 0)
                & (px >= s.call_trigger * s.conversion_price_usd_per_share)
            )
            dk.convert(st, i, conv, s.conversion_price_usd_per_share)
            book.event("conversion", conv, day, s.name)
        if isinstance(s, ProjectLoanSpec) and s.sweep_share > 0:
            swept = sum(
                (x.booked_inflows.get(n, 0.0) for n in s.sweep_flows), np.zeros(book.n_paths)
            )
            pay = np.where(live, np.minimum(s.sweep_share * swept, st.debt_usd[:, i]), 0.0)
            dk.pay_due(st, i, pay, "repaid")
    acc = book.accelerate & live
    if acc.any():
        for i in range(len(spec.instruments)):
            dk.pay_accrued(st, i, acc)
            dk.pay_due(st, i, np.where(acc, st.debt_usd[:, i], 0.0), "accelerated")
        book.event("acceleration", acc, day)
        book.accelerate[:] = False


def _maturity(
    book: CapitalBook, i: int, x: DayInputs, live: BoolArray, drawdown: FloatArray
) -> None:
    st, s = book.state, book.spec.instruments[i]
    if isinstance(s, BtcLoanSpec | RevolverSpec):
        dk.pay_accrued(st, i, live)
    if isinstance(s, RevolverSpec):
        book.revolver_open[i] = s.refinance.mode == "market"
    if isinstance(s, ConvertibleSpec):
        px = _share_price(book, x)
        conv = live & (st.debt_usd[:, i] > 0) & (px >= s.conversion_price_usd_per_share)
        dk.convert(st, i, conv, s.conversion_price_usd_per_share)
        book.event("conversion", conv, x.day, s.name)
    owing = live & (st.debt_usd[:, i] > 0)
    rolled = dk.refinance_or_repay(st, i, s.refinance, book.rate[:, i], drawdown, live)
    book.event("refinanced", rolled, x.day, s.name)
    book.event("repaid_at_maturity", owing & ~rolled, x.day, s.name)
    if isinstance(s, BtcLoanSpec):
        back = np.where(live & ~rolled, st.collateral_btc[:, i], 0.0)
        st.collateral_btc[:, i] -= back
        st.treasury("collateral_moved", back)


def _share_price(book: CapitalBook, x: DayInputs) -> FloatArray:
    return share_price_proxy_usd(
        book.spec.equity, book.state, x.price_usd, book.ebitda_eq.per_year()
    )


def _revolver(st: CapitalState, i: int, s: RevolverSpec, live: BoolArray) -> None:
    drawn = st.debt_usd[:, i]
    want = np.maximum(s.draw_below_usd - st.cash_usd, 0.0)
    d = np.where(live, np.minimum(want, s.limit_usd - drawn), 0.0)
    dk.draw(st, i, d, 0.0)
    if s.repay_above_usd > 0:
        r = np.where(live, np.minimum(np.maximum(st.cash_usd - s.repay_above_usd, 0), drawn), 0)
        dk.pay_due(st, i, r, "repaid")


def _emergency(
    book: CapitalBook, price: FloatArray, share_price: FloatArray, short: BoolArray
) -> None:
    """Raise cash on ``short`` paths: sell BTC, draw revolvers, then ATM equity."""
    st, spec = book.state, book.spec
    fee = spec.treasury.trading_fee_share
    need_btc = np.where(short, -st.cash_usd / (price * (1.0 - fee)), 0.0)
    st.sell_btc(np.minimum(need_btc, st.btc), price, fee)
    for i, s in enumerate(spec.instruments):
        if isinstance(s, RevolverSpec) and book.revolver_open[i]:
            need = np.where(short, np.maximum(-st.cash_usd, 0.0), 0.0)
            dk.draw(st, i, np.minimum(need, s.limit_usd - st.debt_usd[:, i]), 0.0)
    if spec.equity.atm:
        need = np.where(short, np.maximum(-st.cash_usd, 0.0), 0.0)
        atm_issue(spec.equity, st, share_price, book.atm_room, short, need_usd=need)


def _values(
    book: CapitalBook,
    price: FloatArray,
    share_price: FloatArray,
    ltv_max: FloatArray,
    m: Any,
    fleet_value_usd: FloatArray,
) -> None:
    st = book.state
    cash = st.ledger.cash
    z = np.zeros(book.n_paths)

    def out(cat: str) -> FloatArray:
        return -np.asarray(cash.get(cat, z)) + z

    inflow = {
        "btc_sold": "btc_sold_usd",
        "debt_drawn": "debt_drawn_usd",
        "equity_raised": "atm_usd",
        "unpaid_due": "unpaid_due_usd",
    }
    v = {name: np.asarray(cash.get(cat, z)) + z for cat, name in inflow.items()}
    v["interest_usd"] = out("interest")
    v["principal_usd"] = out("principal")
    v["financing_fees_usd"] = out("fees")
    v["taxes_usd"] = out("taxes")
    v["btc_bought_usd"] = out("btc_bought")
    v["btc_treasury"] = st.btc.copy()
    v["btc_collateral"] = st.collateral_btc.sum(axis=1)
    v["debt_usd"] = st.debt_usd.sum(axis=1)
    for i, var in enumerate(book.debt_variables):
        v[var] = st.debt_usd[:, i].copy()
    v["equity_raised_usd"] = st.equity_raised_usd.copy()
    v["shares"] = st.shares.copy()
    v["share_price_usd"] = share_price
    v["equity_value_usd"] = share_price * st.shares
    v["nav_usd"] = (
        st.cash_usd
        + (st.btc + v["btc_collateral"]) * price
        + fleet_value_usd
        - v["debt_usd"]
        - st.accrued_usd.sum(axis=1)
    )
    v["max_ltv"] = ltv_max
    v["net_leverage"] = np.clip(m.net_leverage, -_CAP, _CAP)
    v["dscr"] = np.clip(m.dscr, -_CAP, _CAP)
    v["insolvent"] = st.insolvent.astype(float)
    book.values = v
