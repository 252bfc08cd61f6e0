"""Response lag of the network to a 60 % price crash as the price-insensitive share grows.

A fleet-less 2023 network (chain state from history, endogenous supply with its calibrated
defaults, constant 0.1 BTC fees, deterministic blocks), BTC price flat at USD 30,000 and
−60 % on day 60 (a CSV path).  The rest of the network is split into an elastic segment (the
default model) and a sovereign (price-insensitive) segment with share 0 %, 20 %, 40 %.
Printed per share: the network's fall (pre-crash day 59 to its minimum), the days from the
crash to half of that fall (the response lag: the crash is one step) and to the minimum, and
the share of hashprice's crash loss recovered 30 and 120 days after the crash (difficulty
falls only as far as the elastic miners switch off).

Usage: ``PYTHONPATH=src python scripts/segments_response_lag.py [paths]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario

DAYS, CRASH_DAY = 365, 60


def network_path(insensitive: float, price_csv: Path, paths: int) -> tuple[np.ndarray, np.ndarray]:
    segs = [{"name": "elastic", "start_share": 1.0 - insensitive}]
    if insensitive:
        segs.append({"name": "state", "kind": "sovereign", "start_share": insensitive})
    sc = Scenario.model_validate(
        {
            "name": "lag",
            "run": {"start": "2023-01-01", "horizon_days": DAYS, "paths": paths, "seed": 11},
            "network": {
                "start": {"from_history": True},
                "hashrate": {"model": "endogenous", "segments": segs},
                "fees": {"model": "constant", "btc_per_block": 0.1},
                "blocks": "deterministic",
            },
            "market": {"btc_price": {"model": "csv", "path": str(price_csv)}},
        }
    )
    d = simulate(sc).daily
    return d["network_hashrate_ehs_mean"].to_numpy(), d["hashprice_usd_per_ph_day_mean"].to_numpy()


def main() -> None:
    paths = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "crash.csv"
        price = np.r_[np.full(CRASH_DAY, 30_000.0), np.full(DAYS - CRASH_DAY, 12_000.0)]
        dates = pd.date_range("2023-01-01", periods=DAYS).strftime("%Y-%m-%d")
        pd.DataFrame({"date": dates, "price_usd": price}).to_csv(f, index=False)
        print("insensitive  fall   half-fall(d)  minimum(d)  hashprice loss recovered +30d +120d")
        for share in (0.0, 0.2, 0.4):
            h, hp = network_path(share, f, paths)
            pre = h[CRASH_DAY - 1]
            after = h[CRASH_DAY:]
            low = int(np.argmin(after))
            drop = pre - after[low]
            half = int(np.argmax(after <= pre - drop / 2))
            loss = hp[CRASH_DAY - 1] - hp[CRASH_DAY]
            r30, r120 = ((hp[CRASH_DAY + k] - hp[CRASH_DAY]) / loss for k in (30, 120))
            print(
                f"{share:10.0%}  {drop / pre:5.1%}  {half:12d}  {low:10d}  {r30:16.1%} {r120:6.1%}"
            )


if __name__ == "__main__":
    main()
