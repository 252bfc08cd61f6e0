"""The capital plan as an engine component: the balance sheet of every path, day by day.

:class:`CapitalComponent` replaces the engine's ``settle`` step (stage 80).  Each day it reads
the day's operating flows through :class:`EngineAdapter` (the only code that knows the
engine's shape), then :func:`run_day` applies the **daily order of operations** to a
:class:`~hashfleet.finance.balance.CapitalState`:

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
(path, day, kind, instrument) are kept by the component: :meth:`CapitalComponent.events`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy
from numpy.typing import NDArray

from hashfleet.finance import debt as dk
from hashfleet.finance.balance import CapitalState, classify_flow
from hashfleet.finance.covenants import Trailing, covenant_breaches, covenant_metrics
from hashfleet.finance.equity import atm_issue, share_price_proxy_usd
from hashfleet.finance.treasury import TreasuryContext, load_custom, treasury_orders
from hashfleet.numeric import rows_sum
from hashfleet.scenario.capital import (
    BtcLoanSpec,
    CapitalSpec,
    ConvertibleSpec,
    EquipmentLoanSpec,
    ProjectLoanSpec,
    RevolverSpec,
)

__all__ = [
    "CAPITAL_VARIABLES",
    "CapitalBook",
    "CapitalComponent",
    "DayInputs",
    "EngineAdapter",
    "calendar",
    "run_day",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Daily per-path variables the component declares: name -> (unit, description).
CAPITAL_VARIABLES: dict[str, tuple[str, str]] = {
    "btc_treasury": ("BTC", "Unencumbered BTC treasury at the end of the day"),
    "btc_collateral": ("BTC", "BTC posted to lenders"),
    "debt_usd": ("USD", "Principal outstanding, all instruments"),
    "equity_raised_usd": ("USD", "Cumulative ATM proceeds, net of commission"),
    "shares": ("share", "Shares outstanding"),
    "share_price_usd": ("USD/share", "Share-price proxy (finance.equity)"),
    "max_ltv": ("1", "Highest LTV of the collateralised loans (0 if none)"),
    "net_leverage": ("1", "(Debt − cash) / trailing annualised EBITDA (capped at 1e6)"),
    "dscr": ("1", "Trailing EBITDA / debt service (capped at 1e6)"),
    "equity_value_usd": ("USD", "Share-price proxy × shares"),
    "nav_usd": (
        "USD",
        "Net asset value: cash + BTC (treasury and collateral) at price + fleet at secondary "
        "value − debt − accrued interest (not floored)",
    ),
    "insolvent": ("1", "1 from the day the path became insolvent"),
}

#: Daily flows the component books: name -> description (USD, totalled).
CAPITAL_FLOWS: dict[str, str] = {
    "interest_usd": "outflow: interest, coupons and commitment fees",
    "principal_usd": "outflow: principal repaid (scheduled, puts, calls, maturities)",
    "financing_fees_usd": "outflow: upfront, refinancing and trading fees",
    "taxes_usd": "outflow: cash taxes",
    "btc_sold_usd": "inflow: BTC sold",
    "btc_bought_usd": "outflow: BTC bought",
    "debt_drawn_usd": "inflow: loans drawn",
    "atm_usd": "inflow: ATM proceeds net of commission",
    "unpaid_due_usd": "what was due and could not be paid (insolvency)",
}

#: Of :data:`CAPITAL_FLOWS`, those that take cash out (the others bring it in).
FINANCING_OUTFLOWS = frozenset(
    {"interest_usd", "principal_usd", "financing_fees_usd", "taxes_usd", "btc_bought_usd"}
)
#: The outflow that moves the fleet's production (booked as ``revenue_usd`` at the day's price)
#: into the BTC treasury; what is sold comes back as ``btc_sold_usd``.
PRODUCTION_TO_TREASURY = "production_to_treasury_usd"

_CAP = 1e6


@dataclass(frozen=True)
class DayInputs:
    """The engine's day as the capital plan sees it (arrays of shape ``(n_paths,)``).

    Attributes
    ----------
    day : int
    price_usd : BTC price (daily close).
    production_btc : BTC mined by the fleet today (after pool fee).
    cash_flows : category -> USD (signed) of the engine's booked flows, mining revenue
        excluded (it arrives as ``production_btc``).
    fleet_value_usd : the fleet at today's secondary ASIC price.
    """

    day: int
    price_usd: FloatArray
    production_btc: FloatArray
    cash_flows: dict[str, FloatArray]
    fleet_value_usd: FloatArray
    booked_inflows: dict[str, FloatArray] = field(default_factory=dict)


class EngineAdapter:
    """Every read from and write to the engine, in one place.

    Reads: ``engine.booked()`` (today's inflows/outflows by name, ``revenue_usd`` being the
    production sold at the day's price), ``engine.values["production_btc"]``,
    ``engine.today.btc_price_usd`` and ``.expected_hashprice_usd_per_ph_day``,
    the fleet state service's ``installed_units`` with the compiled cohorts' TH/s and J/TH, the
    scenario's
    ``asic_market`` (secondary-price parameters), ``company`` (opening cash and BTC),
    ``run.start`` and the shipped price history before the start.  Writes:
    ``engine.cash_usd``, ``engine.btc`` and ``engine.values``; stops insolvent paths by
    removing their installed units.
    """

    MINING_REVENUE = "revenue_usd"

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        sc = engine.model.scenario
        self.start: dt.date = sc.run.start
        self.n_days: int = engine.model.n_days
        self.n_paths: int = engine.n_paths
        self.path_offset: int = engine.path_offset
        self.starting_cash_usd = float(sc.company.starting_cash_usd)
        self.starting_btc = float(sc.company.starting_btc)
        am = sc.asic_market
        self._secondary = (am.reference_power_usd_per_mwh, am.payback_days, am.floor_usd_per_th)

    def _fleet(self) -> Any:
        from hashfleet.fleet.operations import FleetState

        return self.engine.service(FleetState)

    def pre_start_high_usd(self) -> float:
        """The highest BTC close of the shipped history over the 365 days before the start
        (0 if history does not cover them): the running maximum the stress indicator
        starts from, so a crash on day 0 counts as a drawdown."""
        from hashfleet import history

        daily = history.load_daily()["price_usd"]
        lo = np.datetime64(self.start - dt.timedelta(days=365))
        hi = np.datetime64(self.start - dt.timedelta(days=1))
        window = daily[(daily.index >= lo) & (daily.index <= hi)].dropna()
        return float(window.max()) if len(window) else 0.0

    def read(self, day: int) -> DayInputs:
        """Today's inputs (call at the settle stage)."""
        from hashfleet.market.asic import secondary_price_usd_per_th

        e = self.engine
        inflows, outflows = e.booked()
        flows: dict[str, FloatArray] = {}
        for name, usd in inflows.items():
            if name != self.MINING_REVENUE:
                cat = classify_flow(name, outflow=False)
                flows[cat] = flows.get(cat, 0.0) + usd
        for name, usd in outflows.items():
            cat = classify_flow(name, outflow=True)
            flows[cat] = flows.get(cat, 0.0) - usd
        fleet = e.model.fleet
        ref, payback, floor = self._secondary
        per_th = secondary_price_usd_per_th(
            fleet.efficiency_j_per_th,
            e.today.expected_hashprice_usd_per_ph_day / 1000.0,
            reference_power_usd_per_mwh=ref,
            payback_days=payback,
            floor_usd_per_th=floor,
        )
        units_th = self._fleet().installed_units * fleet.unit_hashrate_th_s
        value = rows_sum(units_th, per_th)
        return DayInputs(
            day,
            np.asarray(e.today.btc_price_usd, dtype=float),
            np.asarray(e.values["production_btc"], dtype=float),
            flows,
            value,
            inflows,
        )

    def write(self, book: CapitalBook) -> None:
        """Hand the balance sheet back to the engine and set the declared variables."""
        e, st = self.engine, book.state
        e.cash_usd[:] = st.cash_usd
        e.btc[:] = st.btc
        # The engine's ledger tells the same story as the balance sheet: production goes to
        # the treasury (not to cash) and every financing and treasury flow is booked, so
        # cash moves by booked inflows − outflows (the kernel's invariant guard checks it).
        inflows, _ = e.booked()
        if self.MINING_REVENUE in inflows:
            e.book(PRODUCTION_TO_TREASURY, inflows[self.MINING_REVENUE], outflow=True)
        for name in CAPITAL_FLOWS:
            e.book(name, book.values[name], outflow=name in FINANCING_OUTFLOWS)
        inflows, outflows = e.booked()
        for name, usd in (inflows | outflows).items():
            e.values[name] = usd
        e.values["cash_usd"] = st.cash_usd.copy()
        e.values.update(book.values)

    def log_events(self, book: CapitalBook) -> None:
        """Hand the plan's new events to the run's event log: one kind per event kind
        (``margin_call``, ``liquidation``, ``covenant_breach``, ``insolvency`` ...) with
        columns path, time_days and instrument (its index in ``capital.instruments``, −1 for
        company-wide events)."""
        index = {s.name: i for i, s in enumerate(book.spec.instruments)}
        for idx, day, kind, instrument in book._events[book.logged :]:
            self.engine.log_event(
                kind,
                {
                    "path": idx,
                    "time_days": np.full(idx.size, day, dtype=np.int64),
                    "instrument": np.full(idx.size, index.get(instrument, -1), dtype=np.int64),
                },
            )
        book.logged = len(book._events)

    def stop(self, mask: BoolArray) -> None:
        """Stop ``mask`` paths for the rest of the run (``engine.stop_paths``): their fleet runs
        nothing and every flow booked for them is 0."""
        self.engine.stop_paths(mask)


class CapitalBook:
    """The capital plan's run state for one chunk of paths (no engine inside).

    Parameters
    ----------
    spec : CapitalSpec
    start : datetime.date
        Day 0 of the run.
    n_days, n_paths : int
    cash_usd, btc : float
        Opening cash and unencumbered BTC.
    path_offset : int
        Global index of the first path (for events).
    """

    def __init__(
        self,
        spec: CapitalSpec,
        start: dt.date,
        n_days: int,
        n_paths: int,
        cash_usd: float,
        btc: float,
        path_offset: int = 0,
    ) -> None:
        self.spec = spec
        self.start = start
        self.n_paths = n_paths
        self.path_offset = path_offset
        inst = spec.instruments
        n = len(inst)
        self.state = CapitalState.start(n_paths, n, cash_usd, btc, spec.equity.shares_outstanding)
        for i, s in enumerate(inst):
            self.state.debt_usd[:, i] = dk.opening_balance_usd(s, start)
        #: Contract rate (coupon for convertibles) per path and instrument, 1/year; a
        #: refinancing changes it on the paths it rolls.
        contract = [
            s.coupon_per_year if isinstance(s, ConvertibleSpec) else s.rate_per_year for s in inst
        ]
        self.rate = np.tile(np.asarray(contract, dtype=float), (n_paths, 1))
        self.deadline = np.full((n_paths, n), -1, dtype=np.int64)
        #: Daily variable of each instrument's principal: ``debt_usd_<name>``.
        self.debt_variables = [
            "debt_usd_" + "".join(c if c.isalnum() else "_" for c in s.name) for s in inst
        ]
        self.events_by_day: dict[int, list[dk.DebtEvent]] = {}
        for i, s in enumerate(inst):
            for ev in dk.compile_events(s, i, start, n_days):
                self.events_by_day.setdefault(ev.day, []).append(ev)
        self.revolver_open = np.zeros(n, dtype=bool)
        for i, s in enumerate(inst):
            if isinstance(s, RevolverSpec):
                self.revolver_open[i] = (
                    (s.open_date - start).days <= 0 < (s.maturity_date - start).days
                )
        self._post_opening_collateral = [
            i for i, s in enumerate(inst) if isinstance(s, BtcLoanSpec) and s.draw_date < start
        ]
        cov = spec.covenants
        self.cov_days = set(range(cov.test_every_days, n_days, cov.test_every_days))
        self.ebitda_cov = Trailing(n_paths, cov.window_days)
        self.ebitda_eq = Trailing(n_paths, spec.equity.ebitda_window_days)
        self.service = Trailing(n_paths, cov.window_days)
        self.costs = Trailing(n_paths, spec.treasury.cover_days)
        self.breach = np.zeros(n_paths, dtype=bool)
        self.accelerate = np.zeros(n_paths, dtype=bool)
        self.peak_price = np.zeros(n_paths)
        self.atm_room = np.zeros(n_paths)
        self.atm_month = -1
        self.custom: Callable[[TreasuryContext], FloatArray] | None = (
            load_custom(spec.treasury.custom) if spec.treasury.custom else None
        )
        self.values: dict[str, FloatArray] = {}
        self.min_cash_usd = np.full(n_paths, np.inf)
        self._events: list[tuple[NDArray[np.int64], int, str, str]] = []
        self.logged = 0  # events handed to the engine's event log so far
        self.stopped_today = np.zeros(n_paths, dtype=bool)
        #: Filled by SimPy processes when attached to an engine (see :func:`calendar`);
        #: standalone, :func:`run_day` takes each day's events from ``events_by_day``.
        self.on_calendar = False
        self.due: list[dk.DebtEvent] = []
        self.covenant_test_due = False

    def event(self, kind: str, mask: BoolArray, day: int, instrument: str = "") -> None:
        """Record ``kind`` on the ``mask`` paths at ``day``."""
        idx = np.flatnonzero(mask)
        if idx.size:
            self._events.append((idx + self.path_offset, day, kind, instrument))

    def events(self) -> pd.DataFrame:
        """Events as a table: ``path, day, kind, instrument, date`` (UTC day)."""
        if not self._events:
            cols = ("path", "day", "kind", "instrument", "date")
            return pd.DataFrame({c: [] for c in cols})
        return pd.DataFrame(
            {
                "path": np.concatenate([p for p, _, _, _ in self._events]),
                "day": np.concatenate([np.full(p.size, d) for p, d, _, _ in self._events]),
                "kind": np.concatenate([np.full(p.size, k) for p, _, k, _ in self._events]),
                "instrument": np.concatenate(
                    [np.full(p.size, n, dtype=object) for p, _, _, n in self._events]
                ),
                "date": np.concatenate(
                    [np.full(p.size, np.datetime64(self.start) + d) for p, d, _, _ in self._events]
                ),
            }
        )


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

    # 4. collateral
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
    live = ~st.insolvent

    # 8. covenants
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
    if spec.check_identities:
        st.check_identities()
    book.min_cash_usd = np.minimum(book.min_cash_usd, st.cash_usd)
    _values(book, price, share_price, ltv_max, m, x.fleet_value_usd)


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
        else:
            _maturity(book, i, x, live, drawdown)
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
    return sched


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


class CapitalComponent:
    """The capital plan, attached to every chunk engine of a run.

    Parameters
    ----------
    spec : CapitalSpec

    Attributes
    ----------
    books : list of CapitalBook
        One per chunk engine attached (in attach order), for post-run reads.
    """

    def __init__(self, spec: CapitalSpec) -> None:
        self.spec = spec
        self.books: list[CapitalBook] = []

    def attach(self, engine: Any) -> None:
        """Replace ``settle``, declare the variables, start the dated processes."""
        adapter = EngineAdapter(engine)
        book = CapitalBook(
            self.spec,
            adapter.start,
            adapter.n_days,
            adapter.n_paths,
            adapter.starting_cash_usd,
            adapter.starting_btc,
            adapter.path_offset,
        )
        book.peak_price[:] = adapter.pre_start_high_usd()
        self.books.append(book)
        for name, (unit, desc) in CAPITAL_VARIABLES.items():
            engine.declare(name, unit, desc)
        for name, desc in CAPITAL_FLOWS.items():
            engine.declare(name, "USD", desc, total=True)
        engine.declare(
            PRODUCTION_TO_TREASURY,
            "USD",
            "outflow: production moved into the BTC treasury at the day's price",
            total=True,
        )
        engine.provide(book)
        for s, var in zip(self.spec.instruments, book.debt_variables, strict=True):
            engine.declare(var, "USD", f"Principal outstanding of {s.name} ({s.kind})")

        def settle(day: int) -> None:
            run_day(book, adapter.read(day))
            adapter.write(book)  # books today's flows, the stopping day's included
            adapter.log_events(book)
            if book.stopped_today.any():
                adapter.stop(book.stopped_today)

        engine.replace_step("settle", settle)
        for proc in calendar(engine.env, book):
            engine.add_process(proc)

    def events(self) -> pd.DataFrame:
        """Every chunk's events: ``path, day, kind, instrument, date``, sorted by day and path."""
        frames = [b.events() for b in self.books]
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return df.sort_values(["day", "path"], kind="stable").reset_index(drop=True)

    def final(self, name: str) -> FloatArray:
        """A per-path end-of-run array over all chunks (``cash_usd``, ``insolvent``, ...)."""
        parts = []
        for b in self.books:
            st = b.state
            if name == "min_cash_usd":
                parts.append(b.min_cash_usd)
            elif name in b.values:
                parts.append(b.values[name])
            else:
                parts.append(np.asarray(getattr(st, name), dtype=float))
        return np.concatenate(parts)


def calendar(env: simpy.Environment, book: CapitalBook) -> list[Generator[simpy.Event, Any, None]]:
    """SimPy processes for everything dated: one per instrument (its draws, periods, puts,
    maturities and rolls, handed to the day's step through ``book.due``; a revolver's
    opening), one for the covenant test dates.  Events dated day ``d`` are due in day
    ``d``'s tick."""
    book.on_calendar = True
    by_instrument: dict[int, list[dk.DebtEvent]] = {}
    for evs in book.events_by_day.values():
        for ev in evs:
            by_instrument.setdefault(ev.instrument, []).append(ev)

    def instrument(evs: list[dk.DebtEvent]) -> Generator[simpy.Event, Any, None]:
        for ev in sorted(evs, key=lambda e: e.day):
            if ev.day > env.now:
                yield env.timeout(ev.day - env.now)
            book.due.append(ev)

    def opens(i: int, day: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(day)
        book.revolver_open[i] = True

    def covenants() -> Generator[simpy.Event, Any, None]:
        for day in sorted(book.cov_days):
            yield env.timeout(day - env.now)
            book.covenant_test_due = True

    procs = [instrument(evs) for _, evs in sorted(by_instrument.items())]
    for i, s in enumerate(book.spec.instruments):
        if isinstance(s, RevolverSpec) and (s.open_date - book.start).days > 0:
            procs.append(opens(i, (s.open_date - book.start).days))
    if book.cov_days:
        procs.append(covenants())
    return procs
