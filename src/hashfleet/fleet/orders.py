"""Buying and selling machines: purchase orders, deliveries, sales, and variable opex.

A **purchase order** pays a deposit on its order date, then for each delivery tranche pays
the balance on the delivery date; the tranche's units hash from delivery + commissioning
delay.  Dates are SimPy events on the chunk's calendar (days).  Orders placed by policies are
per path: units and prices are ``(n_paths,)`` arrays (0 units = no order on that path).
A **sale** removes units from a column and books their secondary-market value.

Cash moves through the engine's daily ledger (``engine.book``) under these names:

=====================  =======  ================================================
name                   flow     what
=====================  =======  ================================================
``capex_deposits_usd``  out     deposits paid on order
``capex_balance_usd``   out     balances paid on delivery (and secondary purchases)
``asset_sales_usd``     in      machines sold at secondary prices
``hosting_usd``         out     USD/MW-month on installed MW at the meter (PUE incl.)
``maintenance_usd``     out     USD/TH/year on installed TH/s
=====================  =======  ================================================

Every ``capex_*`` name is capital expenditure for the metrics (:mod:`hashfleet.finance.valuation`).

Purchases need fleet columns that exist from the start: at compile time :func:`plan_trading`
adds one **slot** per (site, buyable model) to the fleet (``extra_cohorts``) with an install
date past the horizon, so the engine never installs them itself; the desk adds units to them.
Units bought at different dates share a slot (their age is not tracked separately).

Calendar and ledger: SimPy events dated day ``d`` run before day ``d``'s tick, when the
day's ledger is not open yet; flows they cause are queued and booked at stage 70 of that
day.  Policy reviews are SimPy events that mark a policy *due*; due policies act at stage 60
inside the tick, with the day's prices.  Sales at commissioning (before the tick) use the
previous day's secondary prices.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.errors import InputError
from hashfleet.finance.capex import CAPEX_BALANCE, CAPEX_DEPOSITS, PaymentQueue, purchase_payments
from hashfleet.fleet.operations import FleetArrays, FleetState
from hashfleet.fleet.trading_plan import TradingPlan, plan_trading
from hashfleet.market.asic import AsicPricing
from hashfleet.market.asic_dynamics import ASIC_DYNAMICS_VARIABLES, AsicDynamics, tier_of
from hashfleet.numeric import rows_dot

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["TradingComponent", "TradingDesk", "TradingPlan", "desk_of", "plan_trading"]

# TradingPlan and plan_trading live in fleet/trading_plan.py (compile time); re-exported here.

#: Ledger names of the desk: (name, outflow, description).
_FLOWS: tuple[tuple[str, bool, str], ...] = (
    (CAPEX_DEPOSITS, True, "deposits paid on purchase orders"),
    (CAPEX_BALANCE, True, "balances paid on delivery and secondary purchases"),
    ("asset_sales_usd", False, "machines sold at secondary prices"),
    ("hosting_usd", True, "hosting per MW installed"),
    ("maintenance_usd", True, "maintenance per TH/s installed"),
)


def desk_of(engine: ChunkEngine) -> TradingDesk:
    """The trading desk attached to ``engine`` (orders, sales, prices): its service."""
    return engine.service(TradingDesk)


class TradingComponent:
    """Attaches a :class:`TradingDesk` to every chunk engine and schedules the orders."""

    def __init__(self, plan: TradingPlan, fleet: FleetArrays) -> None:
        self.plan = plan
        models = [plan.catalogue.get(label.split(" @ ")[0]) for label in fleet.labels]
        self.pricing = AsicPricing.for_models(
            plan.scenario.asic_market, models, plan.scenario.run.start
        )
        self.pool_fee = plan.scenario.fleet.pool.fee_share
        n_sc = len(plan.scenario.fleet.cohorts)
        index = {int(s): col for col, s in enumerate(fleet.scenario_index)}
        self.slot_col = {key: index[n_sc + k] for k, key in enumerate(plan.slots)}

    def attach(self, engine: ChunkEngine) -> None:
        """Create the desk, its steps and the scenario's orders."""
        desk = engine.provide(TradingDesk(engine, self))
        start = self.plan.scenario.run.start
        for o in self.plan.scenario.orders:
            col = self.slot_col[(o.site, o.model)]
            order_day = (o.order_date - start).days
            if desk.dynamics is not None and order_day > 0:  # placed on the day, at its market
                desk.order_at_market(order_day, col, float(o.units), o)
                continue
            price = (
                o.price_usd_per_th
                if o.price_usd_per_th is not None
                else float(self.pricing.new(order_day)[col])
            )
            desk.order(
                order_day,
                col,
                np.full(engine.n_paths, float(o.units)),
                np.full(engine.n_paths, price),
                deposit_share=o.deposit_share,
                lead_time_days=o.lead_time_days,
                commissioning_days=o.commissioning_days,
                tranches=o.tranches,
                tranche_interval_days=o.tranche_interval_days,
            )


@dataclass
class _Retire:
    col: int
    units: NDArray[np.float64]


@dataclass
class TradingDesk:
    """Per-engine buying, selling and prices.  Policies reach it with :func:`desk_of`.

    Attributes
    ----------
    secondary_usd_per_th : ndarray, shape (n_paths, n_cohorts)
        Today's secondary prices of every column (yesterday's before the day's stage 52).
    hashprice_usd_per_th_day : ndarray, shape (n_paths,)
        Today's expected hashprice before pool fee (USD/TH/day).
    frontier_release_day : ndarray, shape (n_paths, G + 1)
        Release day of each frontier generation on each path.
    due : list
        Policies whose review is due today (run at stage 60).
    """

    engine: ChunkEngine
    component: TradingComponent
    _secondary: NDArray[np.float64] | None = field(init=False)
    hashprice_usd_per_th_day: NDArray[np.float64] = field(init=False)
    frontier_release_day: NDArray[np.float64] = field(init=False)
    due: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        e, c = self.engine, self.component
        self.fs: FleetState = e.service(FleetState)
        self.payments = PaymentQueue(e)
        self.pool_fee: float = c.pool_fee
        n, k = e.n_paths, self.fs.fleet.n_cohorts
        spec = c.plan.scenario
        self.pricing = c.pricing
        self.frontier = c.plan.frontier
        self.slot_col = c.slot_col
        self.site_names = list(self.fs.fleet.site_names)
        self._secondary = np.full((n, k), spec.asic_market.floor_usd_per_th)
        self._price_factor: NDArray[np.float64] | None = None
        self.hashprice_usd_per_th_day = np.zeros(n)
        G1 = len(self.frontier.names)
        delay = np.zeros((n, G1))
        bound = self.frontier.release_delay_max_days
        if bound > 0 and G1 > 1:
            rng = e.rng("frontier")
            for b, gen in enumerate(rng.generators):
                sl = slice(b * rng.block_paths, (b + 1) * rng.block_paths)
                delay[sl, 1:] = gen.uniform(0.0, bound, size=(sl.stop - sl.start, G1 - 1))
        self.frontier_release_day = self.frontier.release_day[None, :] + delay
        self._noise = spec.asic_market.noise_sigma
        dyn = spec.asic_market.dynamics
        #: The stochastic market (``asic_market.dynamics``), or None: the fixed decline.
        self.dynamics = AsicDynamics(dyn, n, e.rng("asic_dynamics")) if dyn else None
        if dyn is not None:
            self._col_tier = tier_of(self.pricing.efficiency_j_per_th, dyn.tier_bounds_j_per_th)
            e.declare_all(ASIC_DYNAMICS_VARIABLES)
        opex = spec.opex
        self._hosting_per_mw_day = opex.hosting_usd_per_mw_month * 12.0 / DAYS_PER_YEAR
        self._maint_per_th_day = opex.maintenance_usd_per_th_year / DAYS_PER_YEAR
        #: Units per path and column sold when pending replacements are commissioned.
        self.retiring = np.zeros((n, k))
        for name, out, what in _FLOWS:
            e.declare(name, "USD", ("outflow: " if out else "inflow: ") + what, total=True)
        e.add_step(52, "asic_market", self._step_prices)
        e.add_step(55, "variable_opex", self._step_opex)
        e.add_step(60, "policies", self._step_policies)
        e.add_step(70, "trading_ledger", self.payments.flush)

    # ------------------------------------------------------------------ queries

    @property
    def secondary_usd_per_th(self) -> NDArray[np.float64]:
        """Today's secondary prices, ``(n_paths, n_cohorts)`` USD/TH; computed on first use
        each day (most days nothing reads them), from the hashprice and noise of the day."""
        if self._secondary is None:
            self._secondary = self.pricing.secondary(
                self.hashprice_usd_per_th_day, self._price_factor
            )
            if self.dynamics is not None:  # each machine's efficiency tier moves apart
                self._secondary = self._secondary * self.dynamics.tier_factor[:, self._col_tier]
        return self._secondary

    def slot(self, site: str, model: str) -> int:
        """Fleet column of the slot for ``model`` at ``site``.

        Raises
        ------
        InputError
            If no slot was planned for that pair (see :func:`plan_trading`).
        """
        try:
            return self.slot_col[(site, model)]
        except KeyError:
            raise InputError(
                f"purchase: no cohort slot for model {model!r} at site {site!r}; slots: "
                f"{sorted(self.slot_col)}"
            ) from None

    def new_price_usd_per_th(self, day: int) -> NDArray[np.float64]:
        """New price per path and column, never below secondary: ``(n_paths, n_cohorts)``
        (with ``dynamics``, the list price after the decline times the day's price index)."""
        new = self.pricing.new(day)[None, :]
        if self.dynamics is not None:
            new = new * self.dynamics.index[:, None]
        return np.maximum(new, self.secondary_usd_per_th)

    def fleet_value_usd(self) -> NDArray[np.float64]:
        """Secondary-market value of the installed fleet per path (USD), ``(n_paths,)``."""
        f = self.fs
        return rows_dot(f.installed_units * self.secondary_usd_per_th, f.fleet.unit_hashrate_th_s)

    # ------------------------------------------------------------------ actions

    def pay(self, name: str, usd: NDArray[np.float64], *, outflow: bool) -> None:
        """Queue a cash flow; it is booked at stage 70 of the current (or coming) day."""
        self.payments.pay(name, usd, outflow=outflow)

    def sell(self, col: int, units: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sell up to ``units`` (per path) of column ``col`` at today's secondary price.

        Returns
        -------
        ndarray, shape (n_paths,)
            Units actually sold (never more than installed).
        """
        removed = self.fs.remove_units(col, units)
        th = self.fs.fleet.unit_hashrate_th_s[col]
        self.pay("asset_sales_usd", removed * th * self.secondary_usd_per_th[:, col], outflow=False)
        return removed

    def order(
        self,
        day: int,
        col: int,
        units: NDArray[np.float64],
        price_usd_per_th: NDArray[np.float64],
        *,
        deposit_share: float,
        lead_time_days: int,
        commissioning_days: int,
        tranches: int = 1,
        tranche_interval_days: int = 30,
        retire: Sequence[tuple[int, NDArray[np.float64]]] = (),
    ) -> None:
        """Place a purchase order (per path) on ``day``.

        Parameters
        ----------
        day : int
            Order day (days since the start; ≥ the current day, or negative for an order
            placed before the run, whose deposit is not booked).
        col : int
            Fleet column the units go to (a slot).
        units : ndarray, shape (n_paths,)
            Machines ordered on each path (0: no order).
        price_usd_per_th : ndarray, shape (n_paths,)
            Contract price per TH/s.
        deposit_share : float
            Share paid on ``day``; the rest is paid per tranche on delivery.
        lead_time_days, commissioning_days, tranches, tranche_interval_days : int
        retire : sequence of (column, units per path)
            Units sold when the *last* tranche is commissioned (a replacement).
        """
        if self.dynamics is not None and lead_time_days > 0 and day >= 0:
            self._order_by_lead_time(
                day,
                col,
                units,
                price_usd_per_th,
                deposit_share=deposit_share,
                lead_time_days=lead_time_days,
                commissioning_days=commissioning_days,
                tranches=tranches,
                tranche_interval_days=tranche_interval_days,
                retire=retire,
            )
            return
        self._order(
            day,
            col,
            units,
            price_usd_per_th,
            deposit_share=deposit_share,
            lead_time_days=lead_time_days,
            commissioning_days=commissioning_days,
            tranches=tranches,
            tranche_interval_days=tranche_interval_days,
            retire=retire,
        )

    def _order_by_lead_time(
        self,
        day: int,
        col: int,
        units: NDArray[np.float64],
        price_usd_per_th: NDArray[np.float64],
        *,
        lead_time_days: int,
        retire: Sequence[tuple[int, NDArray[np.float64]]],
        **terms: Any,
    ) -> None:
        """An order whose lead time follows the market: paths grouped by their lead time
        (nominal × the day's factor, changed in whole weeks), one order per group."""
        assert self.dynamics is not None
        factor = self.dynamics.lead_time_factor()
        weeks = np.rint((factor - 1.0) * lead_time_days / 7.0)
        for w in np.unique(weeks[units > 0]) if (units > 0).any() else [0.0]:
            mask = (weeks == w).astype(np.float64)
            self._order(
                day,
                col,
                units * mask,
                price_usd_per_th,
                lead_time_days=max(int(lead_time_days + 7 * w), 0),
                retire=[(c, u * mask) for c, u in retire],
                **terms,
            )

    def order_at_market(self, day: int, col: int, units: float, o: Any) -> None:
        """A scenario order placed on ``day`` with that day's lead time and, without a
        contract price, at the path's new price (both as of the day before: SimPy events run
        before the day's prices)."""

        def place() -> None:
            price = (
                np.full(self.engine.n_paths, float(o.price_usd_per_th))
                if o.price_usd_per_th is not None
                else self.new_price_usd_per_th(day)[:, col]
            )
            self.order(
                day,
                col,
                np.full(self.engine.n_paths, units),
                price,
                deposit_share=o.deposit_share,
                lead_time_days=o.lead_time_days,
                commissioning_days=o.commissioning_days,
                tranches=o.tranches,
                tranche_interval_days=o.tranche_interval_days,
            )

        self._at(day, place)

    def _order(
        self,
        day: int,
        col: int,
        units: NDArray[np.float64],
        price_usd_per_th: NDArray[np.float64],
        *,
        deposit_share: float,
        lead_time_days: int,
        commissioning_days: int,
        tranches: int = 1,
        tranche_interval_days: int = 30,
        retire: Sequence[tuple[int, NDArray[np.float64]]] = (),
    ) -> None:
        fleet = self.fs.fleet
        cost = units * fleet.unit_hashrate_th_s[col] * price_usd_per_th
        now = int(self.engine.env.now)
        deposit, balance = purchase_payments(cost, deposit_share, tranches)
        if day >= 0:
            if day <= now:  # placed today (inside the tick or before the first one)
                self.pay(CAPEX_DEPOSITS, deposit, outflow=True)
            else:
                self._at(day, lambda: self.pay(CAPEX_DEPOSITS, deposit, outflow=True))
        per = units / tranches
        for t in range(tranches):
            deliver = day + lead_time_days + t * tranche_interval_days
            last = t == tranches - 1
            rets = [_Retire(c, u) for c, u in retire] if last else []
            for r in rets:
                self.retiring[:, r.col] += r.units
            if 0 <= deliver <= now:  # delivered today: pay now, not after the tick
                self.pay(CAPEX_BALANCE, balance, outflow=True)
            self.engine.add_process(
                self._delivery(deliver, commissioning_days, col, per, balance, rets, deliver > now)
            )

    def buy_secondary(
        self,
        col: int,
        units: NDArray[np.float64],
        *,
        commissioning_days: int,
        retire: Sequence[tuple[int, NDArray[np.float64]]] = (),
    ) -> None:
        """Buy used machines today at today's secondary price (paid now, no lead time)."""
        th = self.fs.fleet.unit_hashrate_th_s[col]
        self.pay(CAPEX_BALANCE, units * th * self.secondary_usd_per_th[:, col], outflow=True)
        day = int(self.engine.env.now)
        rets = [_Retire(c, u) for c, u in retire]
        for r in rets:
            self.retiring[:, r.col] += r.units
        self.engine.add_process(
            self._delivery(day, commissioning_days, col, units, np.zeros_like(units), rets, False)
        )

    # ------------------------------------------------------------------ calendar

    def _at(self, day: int, fn: Callable[[], None]) -> None:
        env = self.engine.env

        def proc() -> Generator[simpy.Event, Any, None]:
            yield env.timeout(max(day - env.now, 0))
            fn()

        self.engine.add_process(proc())

    def _delivery(
        self,
        day: int,
        commissioning_days: int,
        col: int,
        units: NDArray[np.float64],
        balance_usd: NDArray[np.float64],
        retire: list[_Retire],
        pay_on_delivery: bool,
    ) -> Generator[simpy.Event, Any, None]:
        env = self.engine.env
        if pay_on_delivery:
            yield env.timeout(max(day - env.now, 0))
            self.pay(CAPEX_BALANCE, balance_usd, outflow=True)
        # delivered before the run: hashing at the start at the latest
        hashing = max(day + commissioning_days, 0)
        if hashing > env.now:
            yield env.timeout(hashing - env.now)
        self.fs.add_units(col, units)
        for r in retire:
            self.retiring[:, r.col] -= r.units
            self.sell(r.col, r.units)

    # ------------------------------------------------------------------ steps

    def _step_prices(self, day: int) -> None:
        e = self.engine
        self.hashprice_usd_per_th_day = e.today.expected_hashprice_usd_per_ph_day / 1000.0
        factor = None
        if self._noise > 0:
            rng = e.rng("asic_prices")
            factor = np.empty(e.n_paths)
            s = self._noise
            for b, gen in enumerate(rng.generators):
                sl = slice(b * rng.block_paths, (b + 1) * rng.block_paths)
                factor[sl] = np.exp(s * gen.standard_normal(sl.stop - sl.start) - 0.5 * s * s)
        self._price_factor = factor
        self._secondary = None  # computed when first read today
        if self.dynamics is not None:
            self._step_dynamics()

    def _step_dynamics(self) -> None:
        """Advance the stochastic market; record the index, tier prices and lead factor."""
        assert self.dynamics is not None
        self.dynamics.step(self.hashprice_usd_per_th_day)
        self.dynamics.record(
            self.engine.values,
            self.hashprice_usd_per_th_day,
            self.component.plan.scenario.asic_market,
            self._price_factor,
        )

    def _step_opex(self, day: int) -> None:
        f = self.fs
        if self._hosting_per_mw_day > 0:
            mw = rows_dot(f.installed_units, f.fleet.unit_mw)
            self.engine.book("hosting_usd", mw * self._hosting_per_mw_day, outflow=True)
        if self._maint_per_th_day > 0:
            self.engine.book(
                "maintenance_usd", f.installed_th_s * self._maint_per_th_day, outflow=True
            )

    def _step_policies(self, day: int) -> None:
        due, self.due = self.due, []
        for policy in due:
            policy.review(self.engine, day)
