"""Equity: the share-price proxy and at-the-market (ATM) issuance.

**Share-price proxy** (a listed miner's market value without a stock-price model): equity
value = ``btc_nav_multiple`` × BTC held (treasury + collateral) × price + ``ebitda_multiple``
× trailing EBITDA annualised + cash − debt − accrued interest, floored at zero, per share.
With the defaults (1× BTC NAV, 6× EBITDA) this is an mNAV-plus-EV/EBITDA proxy: it falls
with the BTC price twice (treasury and margins), which is what drives ATM dilution and
convertible conversion in a downturn.

**ATM**: when cash is below ``atm_trigger_usd`` the company sells shares at the proxy less
``atm_discount_share`` to raise what brings cash back to the trigger, capped at
``atm_max_usd_per_month`` gross in each calendar month (31-day months from the start) and
by a zero proxy (no buyer for a worthless share); the agent's commission is a cost.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hashfleet.finance.balance import CapitalState
from hashfleet.scenario.capital import EquitySpec

__all__ = ["atm_issue", "share_price_proxy_usd"]

FloatArray = NDArray[np.float64]


def share_price_proxy_usd(
    spec: EquitySpec, state: CapitalState, price_usd: FloatArray, ebitda_usd_per_year: FloatArray
) -> FloatArray:
    """Share-price proxy (module docstring), USD per share, shape (n_paths,)."""
    btc = state.btc + state.collateral_btc.sum(axis=1)
    value = (
        spec.btc_nav_multiple * btc * price_usd
        + spec.ebitda_multiple * ebitda_usd_per_year
        + state.cash_usd
        - state.debt_usd.sum(axis=1)
        - state.accrued_usd.sum(axis=1)
    )
    return np.maximum(value, 0.0) / state.shares


def atm_issue(
    spec: EquitySpec,
    state: CapitalState,
    share_price_usd: FloatArray,
    room_usd: FloatArray,
    live: NDArray[np.bool_],
    *,
    need_usd: FloatArray | None = None,
) -> FloatArray:
    """Sell shares where cash is below the trigger (or ``need_usd`` > 0).

    Parameters
    ----------
    room_usd : ndarray, shape (n_paths,)
        Gross proceeds still allowed this month; reduced in place.
    need_usd : ndarray, optional
        Net proceeds wanted (default: what brings cash up to the trigger).

    Returns
    -------
    ndarray, shape (n_paths,)
        Gross proceeds (USD).
    """
    if need_usd is None:
        need_usd = np.maximum(spec.atm_trigger_usd - state.cash_usd, 0.0)
    price = share_price_usd * (1.0 - spec.atm_discount_share)
    gross = np.where(live & (price > 0), need_usd / (1.0 - spec.atm_fee_share), 0.0)
    gross = np.minimum(gross, room_usd)
    room_usd -= gross
    shares = np.divide(gross, price, out=np.zeros_like(gross), where=price > 0)
    state.shares += shares
    net = gross * (1.0 - spec.atm_fee_share)
    state.equity_raised_usd += net
    state.cash("equity_raised", net)
    return gross
