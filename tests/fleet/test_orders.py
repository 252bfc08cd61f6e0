"""Purchase orders, deliveries and variable opex: dates and cash on a hand-checked case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from builders import CHAIN_2026, build
from hashfleet.engine.core import ChunkEngine
from hashfleet.errors import InputError
from hashfleet.fleet.component import fleet_state
from hashfleet.model import compile_scenario
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario

# Fully deterministic: no price volatility, constant fees, no hashrate noise, fluid blocks.
BASE: dict[str, Any] = {
    "name": "orders-test",
    "run": {
        "start": "2026-01-01",
        "horizon_days": 60,
        "paths": 2,
        "seed": 1,
        "outputs": {"store_paths": True, "event_log": False},
    },
    "network": {
        "start": CHAIN_2026,
        "hashrate": {"model": "growth", "growth_per_year": 0.0},
        "fees": {"model": "constant", "btc_per_block": 0.02},
        "blocks": "deterministic",
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 88_000, "volatility_per_year": 0.0}},
    "fleet": {
        "models": [{"name": "TestMiner", "hashrate_th_s": 200, "power_w": 3500}],
        "sites": [
            {
                "name": "A",
                "capacity_mw": 100,
                "pue": 1.0,
                "power": {"contract": "fixed", "price_usd_per_mwh": 30},
            }
        ],
        "cohorts": [{"model": "TestMiner", "site": "A", "units": 1000}],
    },
    "company": {"starting_cash_usd": 1e7},
    "orders": [
        {
            "model": "TestMiner",
            "site": "A",
            "units": 1000,
            "order_date": "2026-01-11",
            "price_usd_per_th": 20.0,
            "deposit_share": 0.3,
            "lead_time_days": 20,
            "tranches": 2,
            "tranche_interval_days": 10,
            "commissioning_days": 5,
        }
    ],
    "opex": {"hosting_usd_per_mw_month": 1000.0, "maintenance_usd_per_th_year": 1.0},
}


def make(**changes: Any) -> Scenario:
    """BASE with changes at ``a__b`` paths."""
    return build(BASE, **changes)


@pytest.fixture(scope="module")
def run():
    return simulate(make())


def test_deposit_and_balances_are_paid_on_their_dates(run) -> None:
    """Cost 1000 × 200 TH × 20 USD/TH = 4.0 m: 1.2 m deposit on day 10 (2026-01-11),
    1.4 m balance on each delivery (days 30 and 40), nothing on other days."""
    p = run.paths
    dep = p["capex_deposits_usd"].values[0]
    bal = p["capex_balance_usd"].values[0]
    assert np.flatnonzero(dep).tolist() == [10]
    assert dep[10] == pytest.approx(1.2e6, rel=1e-12)
    assert np.flatnonzero(bal).tolist() == [30, 40]
    assert bal[[30, 40]] == pytest.approx([1.4e6, 1.4e6], rel=1e-12)
    assert p["capex_usd"].values[0].sum() == pytest.approx(4.0e6, rel=1e-12)


def test_units_hash_after_commissioning(run) -> None:
    """Tranches of 500 units (100,000 TH/s) hash from delivery + 5 days: days 35 and 45."""
    h = run.paths["fleet_hashrate_ehs"].values[0] * 1e6  # TH/s
    assert h[34] == pytest.approx(200_000, rel=1e-12)
    assert h[35] == pytest.approx(300_000, rel=1e-12)
    assert h[44] == pytest.approx(300_000, rel=1e-12)
    assert h[45] == pytest.approx(400_000, rel=1e-12)


def test_cash_moves_by_the_booked_flows(run) -> None:
    """cash[d] − cash[d−1] = free cash flow[d] = revenue − power − opex − hosting −
    maintenance − capex, every day."""
    p = run.paths
    cash = p["cash_usd"].values[0]
    fcf = p["free_cash_flow_usd"].values[0]
    assert np.diff(cash) == pytest.approx(fcf[1:], rel=1e-9, abs=1e-3)
    flows = (
        p["revenue_usd"].values[0]
        - p["power_cost_usd"].values[0]
        - p["opex_usd"].values[0]
        - p["hosting_usd"].values[0]
        - p["maintenance_usd"].values[0]
        - p["capex_deposits_usd"].values[0]
        - p["capex_balance_usd"].values[0]
    )
    assert fcf == pytest.approx(flows, rel=1e-9, abs=1e-3)


def test_hosting_and_maintenance(run) -> None:
    """Hosting: installed MW × 1000 USD/MW-month × 12/365.25; maintenance: TH/s / 365.25."""
    p = run.paths
    mw = 1000 * 3500 / 1e6
    assert p["hosting_usd"].values[0, 0] == pytest.approx(mw * 1000 * 12 / 365.25, rel=1e-12)
    assert p["hosting_usd"].values[0, 50] == pytest.approx(2 * mw * 1000 * 12 / 365.25)
    assert p["maintenance_usd"].values[0, 0] == pytest.approx(200_000 / 365.25, rel=1e-12)


def test_order_placed_before_the_start() -> None:
    """An order placed and delivered before the run: no cash, units hash from day 0."""
    sc = make(
        orders=[
            {
                "model": "TestMiner",
                "site": "A",
                "units": 100,
                "order_date": "2025-10-01",
                "lead_time_days": 30,
            }
        ]
    )
    res = simulate(sc)
    p = res.paths
    assert p["capex_usd"].values.sum() == 0.0
    assert p["fleet_hashrate_ehs"].values[0, 0] * 1e6 == pytest.approx(220_000)


def test_default_price_is_the_new_price_on_the_order_date() -> None:
    """Without a contract price the order pays the model's list price declined by age."""
    sc = make(
        fleet__models=[
            {
                "name": "TestMiner",
                "hashrate_th_s": 200,
                "power_w": 3500,
                "release_date": "2025-01-11",
                "price_usd_per_th": 10.0,
            }
        ],
        asic_market={"new_price_decline_per_year": 0.2},
        orders=[
            {
                "model": "TestMiner",
                "site": "A",
                "units": 10,
                "order_date": "2026-01-11",
                "deposit_share": 1.0,
                "lead_time_days": 5,
            }
        ],
    )
    res = simulate(sc)
    age_years = 365 / 365.25
    want = 10 * 200 * 10.0 * 0.8**age_years
    assert res.paths["capex_deposits_usd"].values[0, 10] == pytest.approx(want, rel=1e-12)


def test_unknown_order_model_or_site_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"orders\[0\]\.model"):
        compile_scenario(
            make(orders=[{"model": "Nope", "site": "A", "units": 1, "order_date": "2026-01-02"}])
        )
    with pytest.raises(InputError, match=r"orders\[0\]\.site"):
        compile_scenario(
            make(
                orders=[{"model": "TestMiner", "site": "B", "units": 1, "order_date": "2026-01-02"}]
            )
        )


def test_sale_books_secondary_value() -> None:
    """Selling units books units × TH/s × today's secondary USD/TH as asset sales."""
    from hashfleet.fleet.orders import desk_of

    model = compile_scenario(make(orders=[]))
    engine = ChunkEngine(model, 1, 0, 1, lambda *a: None, record_events=False)
    engine.run_until(3)
    desk = desk_of(engine)
    col = fleet_state(engine).position(0)
    price = desk.secondary_usd_per_th[:, col].copy()
    sold = desk.sell(col, np.full(engine.n_paths, 400.0))
    assert sold == pytest.approx(400.0)
    assert fleet_state(engine).installed_units[0, col] == 600.0
    usd, outflow = desk.payments._pending["asset_sales_usd"]
    assert not outflow
    assert usd == pytest.approx(400 * 200 * price)
