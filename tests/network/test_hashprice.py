"""Hashprice against the daily history's revenue per hash."""

from __future__ import annotations

import numpy as np
import pytest

from hashfleet import history
from hashfleet.network.hashprice import hashprice_usd_per_ph_day


@pytest.mark.usefixtures("non_commercial_data")
def test_hashprice_reproduces_history_revenue_per_hash() -> None:
    """(price, difficulty, reward per block) → USD/PH/day equals the history's
    miner_revenue_usd / network PH/s to 1e-9 relative on every day with complete data.

    Work per difficulty is 2^32 (Coin Metrics' and the industry's convention); Core's exact
    2^48/0xffff would miss by 1.5e-5 and fail this test.
    """
    df = history.load_daily().dropna(
        subset=["miner_revenue_usd", "hashrate_ehs", "difficulty", "blocks", "price_usd"]
    )
    df = df[df["blocks"] > 0]
    assert len(df) > 3000
    reward = (df["subsidy_btc"] + df["fees_btc"]) / df["blocks"]
    hp = hashprice_usd_per_ph_day(df["price_usd"], df["difficulty"], reward)
    ref = df["miner_revenue_usd"] / (df["hashrate_ehs"] * 1000.0)
    rel = np.abs(hp / ref - 1.0)
    assert rel.max() < 1e-9
    core_work = 2.0**48 / 0xFFFF
    assert np.abs(hp * 2.0**32 / core_work / ref - 1).min() > 1e-5
