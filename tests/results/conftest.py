"""A small saved run shared by the results tests (every path stored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashfleet.results import Results

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


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, Path]:
    """(results, saved directory) of 40 paths x 240 days with every path stored."""
    from hashfleet.runner import simulate
    from hashfleet.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios/strategies-baseline.yaml", set_args=SMALL_SET)
    res = simulate(sc, paths=40, seed=11, store_paths=True)
    out = tmp_path_factory.mktemp("small") / "run"
    res.save(out)
    return res, out
