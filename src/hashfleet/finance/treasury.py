"""Treasury policies: how much BTC to sell (or buy) each day.

A policy sees the day's production, the treasury, cash, the price and the trailing daily
costs and returns BTC to sell and USD to spend on BTC, per path.  Built-in policies:

* ``sell_all``      sell each day's production;
* ``hodl``          keep everything;
* ``sell_share``    sell ``sell_share`` × the day's production;
* ``sell_to_cover`` sell what brings cash up to ``cover_days`` × the trailing daily costs;
* ``liquidity_floor`` sell what brings cash up to ``floor_usd``;
* ``custom``        a Python function ``f(ctx: TreasuryContext) -> ndarray`` of BTC to sell
  (negative: USD-equivalent BTC to buy), named ``'module:function'``.

With ``buy_above_usd`` set, cash above that ceiling buys BTC (after the sale).  Sales are
capped by the treasury (no negative BTC) and buys by cash.  Whatever the policy, the
insolvency step also sells BTC before a path is declared insolvent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.scenario.capital import TreasurySpec
from hashfleet.scenario.trust import load_target

__all__ = ["TreasuryContext", "load_custom", "treasury_orders"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TreasuryContext:
    """What a treasury policy sees (arrays of shape ``(n_paths,)``).

    Attributes
    ----------
    day : int
    price_usd : BTC price.
    production_btc : BTC mined today (already in the treasury).
    btc : treasury after today's production.
    cash_usd : cash after today's operating flows and debt service.
    cost_usd_per_day : trailing mean of daily cash costs (power, opex, interest, principal).
    """

    day: int
    price_usd: FloatArray
    production_btc: FloatArray
    btc: FloatArray
    cash_usd: FloatArray
    cost_usd_per_day: FloatArray


def load_custom(target: str) -> Callable[[TreasuryContext], FloatArray]:
    """Import ``'module:function'`` (an installed entry point or a module allowed with
    ``--allow-code`` only: :func:`hashfleet.scenario.trust.load_target`)."""
    return load_target(target, "capital.treasury.custom")


def treasury_orders(
    spec: TreasurySpec,
    ctx: TreasuryContext,
    custom: Callable[[TreasuryContext], FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """BTC to sell and USD to spend on BTC today, per path.

    Returns
    -------
    sell_btc, buy_usd : ndarray, shape (n_paths,)
        Both ≥ 0; ``sell_btc ≤ ctx.btc``.
    """
    net = ctx.price_usd * (1.0 - spec.trading_fee_share)
    p = spec.policy
    if p == "sell_all":
        sell = ctx.production_btc
    elif p == "hodl":
        sell = np.zeros_like(ctx.btc)
    elif p == "sell_share":
        sell = spec.sell_share * ctx.production_btc
    elif p == "sell_to_cover":
        sell = np.maximum(ctx.cost_usd_per_day * spec.cover_days - ctx.cash_usd, 0.0) / net
    elif p == "liquidity_floor":
        sell = np.maximum(spec.floor_usd - ctx.cash_usd, 0.0) / net
    else:
        assert custom is not None
        sell = np.asarray(custom(ctx), dtype=float)
    buy = np.zeros_like(ctx.btc)
    if p == "custom":
        buy = np.maximum(-sell, 0.0) * ctx.price_usd
    sell = np.clip(sell, 0.0, ctx.btc)
    if spec.buy_above_usd is not None:
        cash_after = ctx.cash_usd + sell * net
        buy = buy + np.maximum(cash_after - spec.buy_above_usd, 0.0)
    buy = np.minimum(buy, np.maximum(ctx.cash_usd + sell * net, 0.0))
    return sell, buy
