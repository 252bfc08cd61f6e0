"""Debt instruments: dated schedules and vectorised kernels over paths.

**Calendar.**  Each instrument compiles to a list of :class:`DebtEvent` (draw, periodic
payment, put, maturity, monthly settlement of accrued interest), dated in simulation days
since the run's start.  The dates are the same on every path; what differs per path (the
balance after puts, conversions, liquidations or prepayments; the rate after a refinancing)
lives in ``(n_paths, n_instruments)`` arrays, so one SimPy process per instrument serves all
paths.  Months are calendar months from the draw/issue date (the day of month clipped to the
month's length).

**Day-count conventions.**

* Term, equipment and project loans, convertible coupons and refinanced (rolled) balances of
  those: **30/360** — a period of ``m`` months accrues ``balance × rate × m / 12``, rounded to
  the cent.  An annuity's payment is ``round(P · r/12 / (1 − (1 + r/12)^−n), 2)``; each
  period's principal is the payment less the period's interest, and the last period repays
  what remains (so the schedule is exactly reproducible by hand, see
  :func:`amortisation_schedule`).  A linear loan repays ``round(P/n, 2)`` a month, the
  remainder at maturity; a bullet all at maturity.
* BTC-backed loans and revolvers: **Actual/365 Fixed** — each simulated day accrues
  ``balance × rate / 365`` (the revolver also ``undrawn × fee / 365``), settled in cash on
  monthly dates and at maturity.

**Maturity.**  What remains is repaid in cash, except on paths where the instrument's
:class:`~hashfleet.scenario.capital.RefinanceSpec` is ``market`` and the market is open
(the BTC drawdown from its running maximum — which starts at history's highest close
of the year before the run — is at most ``max_drawdown``): there the balance is
rolled into a bullet at ``base + spread × drawdown`` for ``term_months`` (a fee paid in
cash), and the calendar continues with monthly interest dates and the next maturity.
A convertible converts at maturity instead when the share-price proxy is at or above its
conversion price.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.finance.balance import CapitalState
from hashfleet.scenario.capital import (
    BtcLoanSpec,
    ConvertibleSpec,
    EquipmentLoanSpec,
    InstrumentSpec,
    RefinanceSpec,
    RevolverSpec,
    TermLoanSpec,
)

__all__ = [
    "DebtEvent",
    "ScheduleRow",
    "add_months",
    "amortisation_schedule",
    "btc_loan_collateral",
    "compile_events",
    "convert",
    "draw",
    "equipment_ltv",
    "ltv_ratio",
    "opening_balance_usd",
    "pay_accrued",
    "pay_due",
    "pay_period",
    "refinance_or_repay",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus ``months`` calendar months, the day clipped to the month's length."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ScheduleRow:
    """One monthly period of a 30/360 term loan (USD, cents)."""

    date: dt.date
    interest_usd: float
    principal_usd: float
    balance_usd: float  # after the payment


def amortisation_schedule(spec: TermLoanSpec) -> list[ScheduleRow]:
    """The contractual schedule of a term loan, to the cent (module docstring).

    Returns
    -------
    list of ScheduleRow
        One row per month from the first payment to maturity.
    """
    r = spec.rate_per_year / 12.0
    n = spec.term_months
    balance = round(spec.principal_usd, 2)
    if spec.amortisation == "annuity":
        pay = round(balance * r / (1.0 - (1.0 + r) ** -n), 2) if r > 0 else round(balance / n, 2)
    rows = []
    for k in range(1, n + 1):
        interest = round(balance * r, 2)
        if k == n:
            principal = balance
        elif spec.amortisation == "annuity":
            principal = round(pay - interest, 2)
        elif spec.amortisation == "linear":
            principal = round(spec.principal_usd / n, 2)
        else:
            principal = 0.0
        balance = round(balance - principal, 2)
        rows.append(ScheduleRow(add_months(spec.draw_date, k), interest, principal, balance))
    return rows


@dataclass(frozen=True)
class DebtEvent:
    """A dated action of one instrument.

    ``kind``: ``draw``; ``period`` (30/360 interest for ``months`` then repay ``fraction`` of
    the balance); ``accrued`` (settle Actual/365 interest); ``put``; ``maturity``.
    """

    day: int
    instrument: int
    kind: str
    months: int = 0
    fraction: float = 0.0


def _day(d: dt.date, start: dt.date) -> int:
    return (d - start).days


def _maturity_date(spec: InstrumentSpec) -> dt.date:
    if isinstance(spec, ConvertibleSpec | RevolverSpec):
        return spec.maturity_date
    return add_months(spec.draw_date, spec.term_months)


def _start_date(spec: InstrumentSpec) -> dt.date:
    if isinstance(spec, ConvertibleSpec):
        return spec.issue_date
    if isinstance(spec, RevolverSpec):
        return spec.open_date
    return spec.draw_date


def compile_events(spec: InstrumentSpec, i: int, start: dt.date, n_days: int) -> list[DebtEvent]:
    """Events of instrument ``i`` dated in ``[0, n_days)`` (days since ``start``), in order.

    Events before the start are already reflected in :func:`opening_balance_usd`.
    """
    ev: list[DebtEvent] = []
    first = _start_date(spec)
    maturity = _maturity_date(spec)
    if isinstance(spec, TermLoanSpec):
        ev.append(DebtEvent(_day(first, start), i, "draw"))
        for row, balance_before in _periods(spec):
            frac = 0.0 if row.date == maturity else row.principal_usd / balance_before
            ev.append(DebtEvent(_day(row.date, start), i, "period", 1, frac))
    elif isinstance(spec, ConvertibleSpec):
        ev.append(DebtEvent(_day(first, start), i, "draw"))
        k = 1
        while (d := add_months(first, k * spec.coupon_months)) <= maturity:
            ev.append(DebtEvent(_day(d, start), i, "period", spec.coupon_months, 0.0))
            k += 1
        ev += [DebtEvent(_day(d, start), i, "put") for d in spec.put_dates]
    else:  # Actual/365 instruments: BTC-backed loan, revolver
        if isinstance(spec, BtcLoanSpec):
            ev.append(DebtEvent(_day(first, start), i, "draw"))
        k = 1
        while (d := add_months(first, k)) < maturity:
            ev.append(DebtEvent(_day(d, start), i, "accrued"))
            k += 1
    ev.append(DebtEvent(_day(maturity, start), i, "maturity"))
    ev += _rolls(spec, i, maturity, start, n_days)
    order = {"draw": 0, "accrued": 1, "period": 1, "put": 2, "maturity": 3}
    ev = [e for e in ev if 0 <= e.day < n_days]
    return sorted(ev, key=lambda e: (e.day, order[e.kind]))


def _periods(spec: TermLoanSpec) -> list[tuple[ScheduleRow, float]]:
    out, before = [], round(spec.principal_usd, 2)
    for row in amortisation_schedule(spec):
        out.append((row, before))
        before = row.balance_usd
    return out


def _rolls(
    spec: InstrumentSpec, i: int, maturity: dt.date, start: dt.date, n_days: int
) -> list[DebtEvent]:
    """Monthly dates and maturities of successive market rolls, up to the horizon."""
    ref: RefinanceSpec = spec.refinance
    if ref.mode != "market":
        return []
    thirty = isinstance(spec, TermLoanSpec | ConvertibleSpec)
    ev, m = [], maturity
    while _day(m, start) < n_days:
        nxt = add_months(m, ref.term_months)
        for k in range(1, ref.term_months + 1):
            d = add_months(m, k)
            ev.append(DebtEvent(_day(d, start), i, "period" if thirty else "accrued", 1, 0.0))
        ev.append(DebtEvent(_day(nxt, start), i, "maturity"))
        m = nxt
    return ev


def opening_balance_usd(spec: InstrumentSpec, start: dt.date) -> float:
    """Principal outstanding at 00:00 of ``start`` (scheduled; 0 if drawn later)."""
    if isinstance(spec, RevolverSpec) or _start_date(spec) >= start:
        return 0.0
    if _maturity_date(spec) <= start:
        return 0.0
    if isinstance(spec, TermLoanSpec):
        paid = [row for row in amortisation_schedule(spec) if row.date < start]
        return paid[-1].balance_usd if paid else round(spec.principal_usd, 2)
    return spec.principal_usd


# ----------------------------------------------------------------------------- kernels


def draw(state: CapitalState, i: int, usd: FloatArray, fee_share: float) -> None:
    """Draw ``usd`` (shape ``(n_paths,)``) on instrument ``i``; the upfront fee is paid."""
    state.principal("drawn", i, usd)
    state.cash("debt_drawn", usd)
    if fee_share:
        state.cash("fees", -np.round(usd * fee_share, 2))


def pay_period(
    state: CapitalState, i: int, rate: FloatArray, months: int, fraction: float, live: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """A 30/360 period on live paths: interest ``round(B·rate·months/12, 2)`` and principal
    ``round(B·fraction, 2)`` paid in cash.

    Returns
    -------
    interest_usd, principal_usd : ndarray, shape (n_paths,)
    """
    b = np.where(live, state.debt_usd[:, i], 0.0)
    interest = np.round(b * rate * months / 12.0, 2)
    principal = b if fraction >= 1.0 else np.minimum(np.round(b * fraction, 2), b)
    state.cash("interest", -interest)
    pay_due(state, i, principal, "repaid")
    return interest, principal


def accrue(
    state: CapitalState,
    i: int,
    rate: FloatArray,
    live: BoolArray,
    undrawn_fee: float = 0.0,
    limit_usd: float = 0.0,
) -> None:
    """One day of Actual/365 interest (and commitment fee on ``limit − drawn``) on live paths."""
    b = state.debt_usd[:, i]
    day = b * rate / 365.0
    if undrawn_fee:
        day = day + np.maximum(limit_usd - b, 0.0) * undrawn_fee / 365.0
    state.accrued_usd[:, i] += np.where(live, day, 0.0)


def pay_accrued(state: CapitalState, i: int, live: BoolArray) -> FloatArray:
    """Settle accrued interest of instrument ``i`` in cash on live paths; return it (USD)."""
    due = np.where(live, state.accrued_usd[:, i], 0.0)
    state.accrued_usd[:, i] -= due
    state.cash("interest", -due)
    return due


def pay_due(state: CapitalState, i: int, usd: FloatArray, category: str) -> None:
    """Repay ``usd`` of principal in cash (``category``: repaid, put, accelerated ...)."""
    state.principal(category, i, -usd)
    state.cash("principal", -usd)


def convert(
    state: CapitalState, i: int, mask: BoolArray, conversion_price_usd_per_share: float
) -> FloatArray:
    """Convert the whole balance on ``mask`` paths into shares; return the shares issued."""
    face = np.where(mask, state.debt_usd[:, i], 0.0)
    shares = face / conversion_price_usd_per_share
    state.principal("converted", i, -face)
    state.shares += shares
    return shares


def refinance_or_repay(
    state: CapitalState,
    i: int,
    ref: RefinanceSpec,
    rate: FloatArray,
    drawdown: FloatArray,
    live: BoolArray,
) -> BoolArray:
    """At maturity: roll the balance where the market is open, repay it elsewhere.

    Parameters
    ----------
    rate : ndarray, shape (n_paths,)
        Instrument ``i``'s rate per path; updated in place on rolled paths.
    drawdown : ndarray, shape (n_paths,)
        The stress indicator (BTC fall from its running maximum, 0..1).

    Returns
    -------
    ndarray of bool, shape (n_paths,)
        Paths rolled.
    """
    b = np.where(live, state.debt_usd[:, i], 0.0)
    owing = b > 0
    rolled = owing & (ref.mode == "market") & (drawdown <= ref.max_drawdown)
    if rolled.any():
        moved = np.where(rolled, b, 0.0)
        state.principal("refinanced_out", i, -moved)
        state.principal("refinanced_in", i, moved)
        state.cash("fees", -np.round(moved * ref.fee_share, 2))
        rate[rolled] = ref.base_rate_per_year + ref.stress_spread_per_year * drawdown[rolled]
    pay_due(state, i, np.where(owing & ~rolled, b, 0.0), "repaid")
    return rolled


def btc_loan_collateral(
    state: CapitalState,
    i: int,
    spec: BtcLoanSpec,
    price_usd: FloatArray,
    call_deadline: NDArray[np.int64],
    day: int,
    live: BoolArray,
) -> dict[str, BoolArray]:
    """Margin calls, top-ups and liquidations of a BTC-backed loan (daily close convention).

    A call opens on the first day the closing LTV is at or above ``margin_call_ltv`` (the
    engine's price is a daily close: no intraday path).  The treasury then tops up: BTC moved
    to the lender first, then cash (if positive) prepays principal, back to ``initial_ltv``.
    An open call whose LTV falls below ``margin_call_ltv`` is cured.  A loan at or above
    ``liquidation_ltv``, or with a call still open ``cure_days`` after it opened, is
    liquidated: collateral sold at ``price·(1 − haircut)`` repays interest then principal,
    the rest returns to the treasury, and a deficiency is due in cash.

    Parameters
    ----------
    call_deadline : ndarray of int, shape (n_paths,)
        Day an open call must be cured by, −1 if none; updated in place.

    Returns
    -------
    dict of str -> ndarray of bool, shape (n_paths,)
        ``margin_call``, ``margin_call_cured``, ``liquidation``: where each happened today.
    """
    owed = state.debt_usd[:, i] + state.accrued_usd[:, i]
    active = live & (owed > 0)
    ltv = ltv_ratio(owed, state.collateral_btc[:, i] * price_usd)
    called = active & (ltv >= spec.margin_call_ltv) & (call_deadline < 0)
    call_deadline[called] = day + spec.cure_days
    open_ = active & (call_deadline >= 0)
    # top up: BTC first, then cash prepays principal
    need_btc = np.maximum(owed / (spec.initial_ltv * price_usd) - state.collateral_btc[:, i], 0)
    move = np.where(open_ & (ltv >= spec.margin_call_ltv), np.minimum(need_btc, state.btc), 0.0)
    state.treasury("collateral_moved", -move)
    state.collateral_btc[:, i] += move
    value = state.collateral_btc[:, i] * price_usd
    excess = np.maximum(owed - spec.initial_ltv * value, 0.0)
    prepay = np.where(open_ & (ltv_ratio(owed, value) >= spec.margin_call_ltv), excess, 0.0)
    prepay = np.minimum(np.minimum(prepay, np.maximum(state.cash_usd, 0.0)), state.debt_usd[:, i])
    pay_due(state, i, prepay, "repaid")
    owed = state.debt_usd[:, i] + state.accrued_usd[:, i]
    ltv = ltv_ratio(owed, value)
    cured = open_ & (ltv < spec.margin_call_ltv)
    call_deadline[cured] = -1
    expired = open_ & ~cured & (day >= call_deadline)
    liquidate = active & ((ltv >= spec.liquidation_ltv) | expired)
    if liquidate.any():
        _liquidate(state, i, spec, price_usd, liquidate)
        call_deadline[liquidate] = -1
    return {"margin_call": called, "margin_call_cured": cured, "liquidation": liquidate}


def _liquidate(
    state: CapitalState, i: int, spec: BtcLoanSpec, price_usd: FloatArray, mask: BoolArray
) -> None:
    net = price_usd * (1.0 - spec.liquidation_haircut)
    acc = np.where(mask, state.accrued_usd[:, i], 0.0)
    debt = np.where(mask, state.debt_usd[:, i], 0.0)
    coll = np.where(mask, state.collateral_btc[:, i], 0.0)
    sold = np.minimum(coll, (acc + debt) / net)
    proceeds = sold * net
    to_interest = np.minimum(proceeds, acc)
    to_principal = np.minimum(proceeds - to_interest, debt)
    state.accrued_usd[:, i] -= to_interest
    state.principal("liquidated", i, -to_principal)
    state.collateral_btc[:, i] -= coll
    state.treasury("collateral_moved", coll - sold)
    # a deficiency (collateral short of the debt) is due now, in cash
    pay_due(state, i, debt - to_principal, "repaid")
    state.cash("interest", -(acc - to_interest))
    state.accrued_usd[:, i] -= acc - to_interest


def equipment_ltv(
    state: CapitalState,
    i: int,
    spec: EquipmentLoanSpec,
    fleet_value_usd: FloatArray,
    call_deadline: NDArray[np.int64],
    day: int,
    live: BoolArray,
) -> tuple[FloatArray, dict[str, BoolArray]]:
    """Margin calls of a loan secured on the fleet at its secondary value.

    A call opens when ``LTV = debt / (collateral_share × fleet value)`` exceeds ``max_ltv``
    and is cured when the LTV is back at or below it; ``cure_days`` after it opened, the
    prepayment that restores ``max_ltv`` is due in cash (paid here: cash may go negative and
    the insolvency step decides).

    Returns
    -------
    ltv : ndarray, shape (n_paths,)
    events : dict of str -> ndarray of bool
        ``margin_call``, ``margin_call_cured``, ``prepayment_demanded``.
    """
    debt = state.debt_usd[:, i]
    value = spec.collateral_share * fleet_value_usd
    active = live & (debt > 0)
    ltv = ltv_ratio(debt, value)
    called = active & (ltv > spec.max_ltv) & (call_deadline < 0)
    call_deadline[called] = day + spec.cure_days
    open_ = active & (call_deadline >= 0)
    cured = open_ & (ltv <= spec.max_ltv)
    call_deadline[cured] = -1
    demanded = open_ & ~cured & (day >= call_deadline)
    pay_due(
        state,
        i,
        np.where(demanded, np.maximum(debt - spec.max_ltv * value, 0.0), 0.0),
        "accelerated",
    )
    call_deadline[demanded] = -1
    ltv = ltv_ratio(state.debt_usd[:, i], value)
    return ltv, {"margin_call": called, "margin_call_cured": cured, "prepayment_demanded": demanded}


def ltv_ratio(owed: FloatArray, value: FloatArray) -> FloatArray:
    """``owed / value``; ``inf`` where something is owed against nothing, 0 where nothing."""
    safe = np.where(value > 0, value, 1.0)
    return np.where(value > 0, owed / safe, np.where(owed > 0, np.inf, 0.0))
