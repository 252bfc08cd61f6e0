"""The balance sheet of every path and the ledger of its flows.

A :class:`CapitalState` holds, per path, cash (USD), the BTC treasury (unencumbered BTC),
BTC posted as collateral per instrument, debt principal and accrued interest per instrument,
shares outstanding, equity raised and the insolvency mask.  Every change goes through one of
its methods, which records the flow by category in the day's :class:`Ledger`; the identities

    cash_close   = cash_open   + Σ cash flows              (USD)
    btc_close    = btc_open    + Σ BTC flows               (BTC, treasury)
    debt_close_i = debt_open_i + Σ principal flows of i    (USD, per instrument)

then hold every day and :meth:`CapitalState.check_identities` verifies them (the tests turn it
on every day).  Arrays have the path axis first: ``(n_paths,)`` or
``(n_paths, n_instruments)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import HashfleetError

__all__ = ["CASH_CATEGORIES", "CapitalState", "IdentityError", "Ledger", "classify_flow"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Cash-flow categories (USD, signed: + into cash).
CASH_CATEGORIES: tuple[str, ...] = (
    "btc_sold",  # + proceeds of treasury sales (net of nothing; fees separate)
    "btc_bought",  # − cash spent on BTC
    "hpc_revenue",  # + booked inflows whose name starts with "hpc"
    "other_revenue",  # + other booked inflows (grid programmes, ASIC sales ...)
    "power",  # − power bill
    "opex",  # − fixed and variable opex, hosting, maintenance
    "capex",  # − machine purchases, deposits, conversion capex
    "other_costs",  # − other booked outflows
    "interest",  # − interest, coupons, commitment fees
    "principal",  # − scheduled and accelerated repayments, puts, redemptions
    "debt_drawn",  # + loans drawn
    "fees",  # − financing and trading fees
    "taxes",  # − cash taxes
    "equity_raised",  # + ATM proceeds net of commission
    "unpaid_due",  # + what was due and could not be paid (insolvency): cash floors at 0
)


def classify_flow(name: str, *, outflow: bool) -> str:
    """Ledger category of an engine-booked flow name (``power_cost_usd`` -> ``power``)."""
    if not outflow:
        return "hpc_revenue" if name.startswith("hpc") else "other_revenue"
    if name.startswith("power") or name == "cp_charge_usd":
        return "power"
    if name.startswith(("opex", "hosting", "maintenance", "repair")):
        return "opex"
    if name.startswith(("capex", "deposit", "hpc_capex", "conversion")):
        return "capex"
    return "other_costs"


class IdentityError(HashfleetError):
    """A balance-sheet identity (opening + flows = closing) failed."""


@dataclass
class Ledger:
    """One day's flows by category.

    Attributes
    ----------
    cash : dict of str -> ndarray, shape (n_paths,)
        USD into cash (signed).
    btc : dict of str -> ndarray, shape (n_paths,)
        BTC into the treasury (signed): ``production``, ``btc_sold``, ``btc_bought``,
        ``collateral_moved``, ``liquidated``.
    debt : dict of str -> ndarray, shape (n_paths, n_instruments)
        Change of principal (signed): ``drawn``, ``repaid``, ``converted``, ``put``,
        ``refinanced_in``, ``refinanced_out``, ``liquidated``.
    """

    n_paths: int
    n_instruments: int
    cash: dict[str, FloatArray] = field(default_factory=dict)
    btc: dict[str, FloatArray] = field(default_factory=dict)
    debt: dict[str, FloatArray] = field(default_factory=dict)

    def add_cash(self, category: str, usd: FloatArray) -> None:
        """Record ``usd`` (shape ``(n_paths,)``, signed) into cash under ``category``."""
        if category not in CASH_CATEGORIES:
            raise KeyError(f"cash category: expected one of {CASH_CATEGORIES}, got {category!r}")
        self.cash[category] = self.cash.get(category, 0.0) + usd

    def add_btc(self, category: str, btc: FloatArray) -> None:
        """Record ``btc`` (shape ``(n_paths,)``, signed) into the treasury."""
        self.btc[category] = self.btc.get(category, 0.0) + btc

    def add_debt(self, category: str, i: int, usd: FloatArray) -> None:
        """Record a change ``usd`` (shape ``(n_paths,)``) of instrument ``i``'s principal."""
        if category not in self.debt:
            self.debt[category] = np.zeros((self.n_paths, self.n_instruments))
        self.debt[category][:, i] += usd

    def total_cash(self) -> FloatArray:
        """Σ cash flows, shape (n_paths,)."""
        return sum(self.cash.values(), np.zeros(self.n_paths))

    def total_btc(self) -> FloatArray:
        """Σ treasury BTC flows, shape (n_paths,)."""
        return sum(self.btc.values(), np.zeros(self.n_paths))

    def total_debt(self) -> FloatArray:
        """Σ principal flows, shape (n_paths, n_instruments)."""
        return sum(self.debt.values(), np.zeros((self.n_paths, self.n_instruments)))


@dataclass
class CapitalState:
    """The balance sheet of ``n_paths`` paths.

    Attributes
    ----------
    cash_usd, btc : ndarray, shape (n_paths,)
        Cash and unencumbered BTC treasury.
    debt_usd, accrued_usd, collateral_btc : ndarray, shape (n_paths, n_instruments)
        Principal outstanding, interest accrued and not yet paid, BTC posted.
    shares : ndarray, shape (n_paths,)
    equity_raised_usd, unpaid_usd : ndarray, shape (n_paths,)
        Cumulative ATM proceeds (net) and cumulative unpaid dues.
    insolvent : ndarray of bool, shape (n_paths,)
        Once set, never cleared: the path has stopped.
    insolvent_day : ndarray of int, shape (n_paths,)
        Day of insolvency, −1 if solvent.
    ledger : Ledger
        Today's flows (reset by :meth:`open_day`).
    """

    cash_usd: FloatArray
    btc: FloatArray
    debt_usd: FloatArray
    accrued_usd: FloatArray
    collateral_btc: FloatArray
    shares: FloatArray
    equity_raised_usd: FloatArray
    unpaid_usd: FloatArray
    insolvent: BoolArray
    insolvent_day: NDArray[np.int64]
    ledger: Ledger
    _opening: tuple[FloatArray, FloatArray, FloatArray] | None = None

    @classmethod
    def start(
        cls, n_paths: int, n_instruments: int, cash_usd: float, btc: float, shares: float
    ) -> CapitalState:
        """Every path with the same opening balances and no debt."""
        z = np.zeros((n_paths, n_instruments))
        return cls(
            cash_usd=np.full(n_paths, float(cash_usd)),
            btc=np.full(n_paths, float(btc)),
            debt_usd=z.copy(),
            accrued_usd=z.copy(),
            collateral_btc=z.copy(),
            shares=np.full(n_paths, float(shares)),
            equity_raised_usd=np.zeros(n_paths),
            unpaid_usd=np.zeros(n_paths),
            insolvent=np.zeros(n_paths, dtype=bool),
            insolvent_day=np.full(n_paths, -1, dtype=np.int64),
            ledger=Ledger(n_paths, n_instruments),
        )

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return self.cash_usd.shape[0]

    @property
    def operating(self) -> BoolArray:
        """Paths still operating (not insolvent), shape (n_paths,)."""
        return ~self.insolvent

    # ---------------------------------------------------------------- day bookkeeping

    def open_day(self) -> None:
        """Start a day: a fresh ledger and the opening balances for the identity check."""
        self.ledger = Ledger(self.n_paths, self.debt_usd.shape[1])
        self._opening = (self.cash_usd.copy(), self.btc.copy(), self.debt_usd.copy())

    def check_identities(self, *, atol_usd: float = 1e-4, atol_btc: float = 1e-10) -> None:
        """Raise :class:`IdentityError` unless opening + flows = closing for cash, BTC, debt.

        Tolerances are absolute per path, scaled by the balances' magnitude (float64 sums).
        """
        if self._opening is None:
            return
        cash0, btc0, debt0 = self._opening
        lg = self.ledger
        checks = (
            ("cash_usd", cash0 + lg.total_cash(), self.cash_usd, atol_usd),
            ("btc", btc0 + lg.total_btc(), self.btc, atol_btc),
            ("debt_usd", debt0 + lg.total_debt(), self.debt_usd, atol_usd),
        )
        for name, expected, got, atol in checks:
            scale = 1.0 + np.abs(expected) + np.abs(got)
            bad = np.abs(expected - got) > atol + 1e-12 * scale
            if bad.any():
                p = np.argwhere(bad)[0]
                raise IdentityError(
                    f"{name}: opening + flows = {expected[tuple(p)]!r}, closing = "
                    f"{got[tuple(p)]!r} at path index {tuple(int(x) for x in p)}"
                )
        if (self.btc < -atol_btc).any():
            p = int(np.argmin(self.btc))
            raise IdentityError(f"btc: expected a treasury ≥ 0, got {self.btc[p]!r} at path {p}")

    # ---------------------------------------------------------------- mutations

    def cash(self, category: str, usd: FloatArray) -> None:
        """Move ``usd`` (signed, shape ``(n_paths,)``) into cash under ``category``."""
        self.cash_usd += usd
        self.ledger.add_cash(category, usd)

    def treasury(self, category: str, btc: FloatArray) -> None:
        """Move ``btc`` (signed) into the treasury under ``category``."""
        self.btc += btc
        self.ledger.add_btc(category, btc)

    def principal(self, category: str, i: int, usd: FloatArray) -> None:
        """Change instrument ``i``'s principal by ``usd`` (signed) under ``category``."""
        self.debt_usd[:, i] += usd
        self.ledger.add_debt(category, i, usd)

    def sell_btc(self, btc: FloatArray, price_usd: FloatArray, fee_share: float) -> None:
        """Sell ``btc`` (≥ 0, ≤ treasury) at ``price_usd``; the fee is a cash ``fees`` flow."""
        gross = btc * price_usd
        self.treasury("btc_sold", -btc)
        self.cash("btc_sold", gross)
        if fee_share:
            self.cash("fees", -gross * fee_share)

    def buy_btc(self, usd: FloatArray, price_usd: FloatArray, fee_share: float) -> None:
        """Spend ``usd`` (≥ 0, fee included) on BTC at ``price_usd``."""
        self.cash("btc_bought", -usd)
        self.treasury("btc_bought", usd * (1.0 - fee_share) / price_usd)

    def set_insolvent(self, mask: BoolArray, day: int) -> None:
        """Mark ``mask`` paths insolvent on ``day`` (already insolvent paths keep their day)."""
        new = mask & ~self.insolvent
        self.insolvent_day[new] = day
        self.insolvent |= new
