"""Constants shared by the results tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: A stressed refresh-frontier company: a low BTC price and a short horizon, so that some
#: paths run out of cash, some pay back and some have no IRR.
SMALL_SET = [
    "run.horizon_days=240",
    "market.btc_price.start_usd=52000",
    "market.btc_price.volatility_per_year=0.9",
    "policies.upgrade={kind: refresh_frontier, every_months: 3, budget_usd: 150000000, "
    "min_gain: 0.2, lead_time_days: 30, deposit_share: 0.3}",
]
