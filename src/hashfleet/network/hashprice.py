"""Hashprice: what a unit of hashrate earns per day.

Convention: one unit of difficulty is ``2^32`` hashes of expected work (Bitcoin Core's
``GetBlockProof`` gives ``2^256/(target+1)``, which at difficulty 1 is ``2^48/0xffff ≈
2^32·(1 + 1.5e-5)``; the industry, Coin Metrics and this engine use ``2^32``).  With ``D`` the
difficulty and ``R`` the reward per block (subsidy + fees, BTC), 1 H/s finds ``86400/(D·2^32)``
blocks a day in expectation, so

    hashprice [USD/(PH/s)/day] = 1e15 · 86400 · R · price / (D · 2^32).

This equals ``(subsidy + fees) × blocks per day × price / network PH/s`` whenever the network
hashrate is defined from blocks and difficulty as ``blocks · D · 2^32 / 86400`` (Coin Metrics'
definition), which is how history is checked.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["WORK_PER_DIFFICULTY", "hashprice_usd_per_ph_day"]

#: Expected hashes per unit of difficulty.
WORK_PER_DIFFICULTY: float = float(2**32)


def hashprice_usd_per_ph_day(
    btc_price_usd: ArrayLike, difficulty: ArrayLike, reward_btc_per_block: ArrayLike
) -> NDArray[np.float64]:
    """Expected USD earned by 1 PH/s over one day at a constant difficulty.

    Parameters
    ----------
    btc_price_usd : array_like
        BTC price (USD).
    difficulty : array_like
        Network difficulty (dimensionless, > 0).
    reward_btc_per_block : array_like
        Subsidy plus fees per block (BTC).

    Returns
    -------
    ndarray
        USD per PH/s per day (broadcast shape of the inputs).  Divide by 1000 for USD per TH/s.
    """
    price = np.asarray(btc_price_usd, dtype=np.float64)
    d = np.asarray(difficulty, dtype=np.float64)
    r = np.asarray(reward_btc_per_block, dtype=np.float64)
    return 1e15 * 86_400.0 * r * price / (d * WORK_PER_DIFFICULTY)
