"""The capital plan as an engine component: the balance sheet of every path, day by day.

:class:`CapitalComponent` replaces the engine's ``settle`` step (stage 80).  Each day it reads
the day's operating flows through :class:`EngineAdapter` (the only code that knows the
engine's shape), then :func:`~hashfleet.finance.capital_day.run_day` applies the **daily order
of operations** (documented in :mod:`hashfleet.finance.capital_day`) to the chunk's
:class:`~hashfleet.finance.capital_book.CapitalBook`; :func:`calendar` hands it the dated
events.  ``CapitalBook``, ``DayInputs`` and ``run_day`` are importable from here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd
import simpy

from hashfleet.finance import debt as dk
from hashfleet.finance.balance import classify_flow
from hashfleet.finance.capital_book import BoolArray, CapitalBook, DayInputs, FloatArray
from hashfleet.finance.capital_day import run_day
from hashfleet.numeric import rows_sum
from hashfleet.scenario.capital import CapitalSpec, RevolverSpec

__all__ = [
    "CAPITAL_VARIABLES",
    "CapitalBook",
    "CapitalComponent",
    "DayInputs",
    "EngineAdapter",
    "calendar",
    "run_day",
]

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
        (0 if history does not cover them, or its non-commercial price data is not enabled:
        :mod:`hashfleet.history.licence`): the running maximum the stress indicator starts
        from, so a crash on day 0 counts as a drawdown."""
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
